// What a controller gets: the store to read and watch, the apiserver to write through, the cluster settings,
// and a way to report a problem about an object (the problem lands on the object's file line when it has one).
import type { Store } from '../store.ts';
import type { ApiServer, ReportFn } from '../apiserver.ts';
import type { ClusterConfig } from '../config.ts';
import type { KubeObject } from '../objects.ts';

export interface ControllerContext {
  store: Store;
  api: ApiServer;
  config: ClusterConfig;
  report: ReportFn;
}

/**
 * A control loop. `start` reconciles everything already in the store, then watches for changes; controllers
 * are started in dependency order, so each initial pass sees the settled work of those before it.
 */
export interface Controller {
  readonly name: string;
  start(ctx: ControllerContext): void;
}

/** The controlling owner reference of an object, if any. */
export function controllerOf(o: KubeObject): { kind: string; name: string; uid?: string } | undefined {
  // A loop, not find(): this runs on every pod event, and find's callback would be a closure per call.
  for (const r of o.metadata.ownerReferences ?? []) if (r.controller) return r;
  return undefined;
}

type OwnerReference = NonNullable<KubeObject['metadata']['ownerReferences']>[number];

/** One ownerReferences list per owner, shared by everything it owns: objects are immutable. */
const refs = new WeakMap<KubeObject, OwnerReference[]>();

export function ownerReferences(owner: KubeObject): OwnerReference[] {
  let list = refs.get(owner);
  if (!list) {
    list = [{ apiVersion: owner.apiVersion, kind: owner.kind, name: owner.metadata.name, uid: owner.metadata.uid!, controller: true, blockOwnerDeletion: true }];
    refs.set(owner, list);
  }
  return list;
}

/**
 * A workload controller's loop: every object of `kind` now, then each one added or whose spec changed (a status
 * write leaves spec as it was). Deletions are the garbage collector's to follow.
 */
export function syncDesiredState<T extends KubeObject>(ctx: ControllerContext, kind: string, sync: (o: T) => void): void {
  for (const o of ctx.store.list<T>(kind)) sync(o);
  ctx.store.watch({ kind }, (e) => {
    if (e.type === 'ADDED' || (e.type === 'MODIFIED' && e.old?.spec !== e.object.spec)) sync(e.object as T);
  });
}

/** Re-syncs the workload of `kind` that controlled a deleted pod: it has a replica to replace. */
export function resyncOwnerOfDeletedPods<T extends KubeObject>(ctx: ControllerContext, kind: string, sync: (owner: T) => void): void {
  ctx.store.watch({ kind: 'Pod' }, (e) => {
    if (e.type !== 'DELETED') return;
    const owner = controllerOf(e.object);
    if (owner?.kind !== kind) return;
    const current = ctx.store.get<T>(kind, e.object.metadata.namespace, owner.name);
    if (current && current.metadata.uid === owner.uid) sync(current);
  });
}
