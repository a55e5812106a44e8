// The status half of the workload controllers: replica counts for ReplicaSets, Deployments, StatefulSets and
// DaemonSets from the pods they own, so `kdp get deploy` shows READY 3/3 as kubectl would.
import { isDeepStrictEqual } from 'node:util';
import type { Controller, ControllerContext } from './controller.ts';
import { controllerOf } from './controller.ts';
import type { Deployment, KubeObject, Pod, ReplicaSet } from '../objects.ts';
import { isPodReady, isPodTerminal } from '../podutil.ts';

type Counts = { replicas: number; ready: number; scheduled: number };

const OWNER_KINDS = ['ReplicaSet', 'StatefulSet', 'DaemonSet'];
const OMIT_WHEN_ZERO = ['availableReplicas', 'fullyLabeledReplicas', 'readyReplicas', 'currentReplicas', 'updatedReplicas', 'numberAvailable', 'numberReady', 'updatedNumberScheduled'];
const DEPLOYMENT_OMIT_WHEN_ZERO = ['availableReplicas', 'readyReplicas', 'updatedReplicas'];

/**
 * Go's omitempty on these counters: the status without those that are zero. Copied rather than deleted from,
 * since a delete turns an object into a slow dictionary (and every workload's status is one).
 */
function omitZero(status: Record<string, unknown>, counters: readonly string[]): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const k in status) if (status[k] !== 0 || !counters.includes(k)) out[k] = status[k];
  return out;
}

export class WorkloadStatusController implements Controller {
  readonly name = 'workload-status';

  start(ctx: ControllerContext): void {
    // One pass over all pods, then one status write per workload.
    const counts = new Map<string, Counts>();
    for (const p of ctx.store.list<Pod & KubeObject>('Pod')) {
      const o = controllerOf(p);
      if (o?.uid) this.add(counts, o.uid, p);
    }
    for (const kind of OWNER_KINDS) {
      for (const w of ctx.store.list(kind)) this.write(ctx, w, counts.get(w.metadata.uid!));
    }
    for (const d of ctx.store.list<Deployment & KubeObject>('Deployment')) this.writeDeployment(ctx, d);

    ctx.store.watch({ kind: 'Pod' }, (e) => {
      const o = controllerOf(e.object);
      if (!o || !OWNER_KINDS.includes(o.kind)) return;
      const w = ctx.store.get(o.kind, e.object.metadata.namespace, o.name);
      if (w && w.metadata.uid === o.uid) this.recount(ctx, w);
    });
    for (const kind of OWNER_KINDS) {
      ctx.store.watch({ kind }, (e) => {
        if (e.type === 'DELETED' || e.old?.spec === e.object.spec) return;
        this.recount(ctx, e.object);
      });
    }
    ctx.store.watch({ kind: 'ReplicaSet' }, (e) => {
      const o = controllerOf(e.object);
      if (o?.kind !== 'Deployment') return;
      const d = ctx.store.get<Deployment & KubeObject>('Deployment', e.object.metadata.namespace, o.name);
      if (d && d.metadata.uid === o.uid) this.writeDeployment(ctx, d);
    });
    ctx.store.watch({ kind: 'Deployment' }, (e) => {
      if (e.type !== 'DELETED' && e.old?.spec !== e.object.spec) this.writeDeployment(ctx, e.object as Deployment & KubeObject);
    });
  }

  private add(counts: Map<string, Counts>, uid: string, p: Pod): void {
    if (isPodTerminal(p) || p.metadata?.deletionTimestamp) return;
    let c = counts.get(uid);
    if (!c) counts.set(uid, (c = { replicas: 0, ready: 0, scheduled: 0 }));
    c.replicas++;
    if (isPodReady(p)) c.ready++;
    if (p.spec?.nodeName) c.scheduled++;
  }

  private recount(ctx: ControllerContext, w: KubeObject): void {
    const counts = new Map<string, Counts>();
    for (const p of ctx.store.listOwnedBy<Pod & KubeObject>('Pod', w.metadata.uid!)) this.add(counts, w.metadata.uid!, p);
    this.write(ctx, w, counts.get(w.metadata.uid!));
  }

  private write(ctx: ControllerContext, w: KubeObject, c: Counts = { replicas: 0, ready: 0, scheduled: 0 }): void {
    const observedGeneration = w.metadata.generation ?? 1;
    let status: Record<string, unknown>;
    if (w.kind === 'ReplicaSet') {
      status = { availableReplicas: c.ready, fullyLabeledReplicas: c.replicas, observedGeneration, readyReplicas: c.ready, replicas: c.replicas };
    } else if (w.kind === 'StatefulSet') {
      const revision = ctx.store.listOwnedBy<Pod & KubeObject>('Pod', w.metadata.uid!)[0]?.metadata.labels?.['controller-revision-hash'];
      status = {
        availableReplicas: c.ready, collisionCount: 0, currentReplicas: c.replicas, ...(revision ? { currentRevision: revision, updateRevision: revision } : {}),
        observedGeneration, readyReplicas: c.ready, replicas: c.replicas, updatedReplicas: c.replicas,
      };
    } else {
      status = {
        currentNumberScheduled: c.scheduled, desiredNumberScheduled: c.replicas, numberAvailable: c.ready, numberMisscheduled: 0,
        numberReady: c.ready, observedGeneration, updatedNumberScheduled: c.scheduled,
      };
    }
    // Go's omitempty: these counters vanish at zero; replicas and the DaemonSet's scheduling numbers do not.
    status = omitZero(status, OMIT_WHEN_ZERO);
    if (!isDeepStrictEqual(w.status, status)) ctx.store.update({ ...w, status });
  }

  private writeDeployment(ctx: ControllerContext, d: Deployment & KubeObject): void {
    const rss = ctx.store.listOwnedBy<ReplicaSet & KubeObject>('ReplicaSet', d.metadata.uid!);
    const current = rss.find((rs) => (rs.spec?.replicas ?? 0) > 0) ?? rss[rss.length - 1];
    let replicas = 0;
    let ready = 0;
    for (const rs of rss) {
      replicas += rs.status?.replicas ?? 0;
      ready += rs.status?.readyReplicas ?? 0;
    }
    const want = d.spec?.replicas ?? 1;
    const since = d.metadata.creationTimestamp;
    // Available once no more than maxUnavailable (25%, rounded down) replicas are missing.
    const available = ready >= want - Math.floor(want / 4);
    const status = omitZero({
      availableReplicas: ready,
      conditions: [
        available
          ? { type: 'Available', status: 'True', reason: 'MinimumReplicasAvailable', message: 'Deployment has minimum availability.', lastTransitionTime: since, lastUpdateTime: since }
          : { type: 'Available', status: 'False', reason: 'MinimumReplicasUnavailable', message: 'Deployment does not have minimum availability.', lastTransitionTime: since, lastUpdateTime: since },
        { type: 'Progressing', status: 'True', reason: 'NewReplicaSetAvailable', message: `ReplicaSet "${current?.metadata.name ?? ''}" has successfully progressed.`, lastTransitionTime: since, lastUpdateTime: since },
      ],
      observedGeneration: d.metadata.generation ?? 1,
      readyReplicas: ready,
      replicas,
      ...(replicas - ready > 0 ? { unavailableReplicas: replicas - ready } : {}),
      updatedReplicas: current?.status?.replicas ?? 0,
    }, DEPLOYMENT_OMIT_WHEN_ZERO);
    if (!isDeepStrictEqual(d.status, status)) ctx.store.update({ ...d, status });
  }
}
