// Which pods a Service selects and which Services select a pod: the question both endpoint controllers ask
// on every change.
import type { ControllerContext } from './controller.ts';
import type { KubeObject, Pod, Service } from '../objects.ts';
import type { Store } from '../store.ts';
import { fromMap, matches } from '../labels.ts';

export type Svc = Service & KubeObject;
export type P = Pod & KubeObject;

/** A nil selector means "no selector" (endpoints are managed by hand); an empty map selects every pod. */
export function hasSelector(svc: Service): boolean {
  return svc.spec?.type !== 'ExternalName' && svc.spec?.selector !== undefined && svc.spec?.selector !== null;
}

export function selectedPods(ctx: ControllerContext, svc: Svc): P[] {
  return ctx.store.list<P>('Pod', { namespace: svc.metadata.namespace, selector: fromMap(svc.spec!.selector!) });
}

/**
 * Services with a selector, indexed per namespace by one of their selector's key=value pairs (any one will
 * do: a pod must carry all of them), so a pod event looks only at Services that could select it.
 */
class SelectorIndex {
  /** namespace -> "key=value" (or "" for an empty selector) -> service names */
  private readonly buckets = new Map<string, Map<string, Set<string>>>();
  private readonly bucketOf = new Map<string, string>();

  constructor(store: Store) {
    for (const s of store.list<Svc>('Service')) this.add(s);
    store.watch({ kind: 'Service' }, (e) => {
      this.remove(e.old ?? e.object);
      if (e.type !== 'DELETED') this.add(e.object as Svc);
    });
  }

  private add(s: Svc): void {
    if (!hasSelector(s)) return;
    const sel = s.spec!.selector!;
    const first = Object.keys(sel).sort()[0];
    const bucket = first === undefined ? '' : `${first}=${sel[first]}`;
    const ns = s.metadata.namespace!;
    let m = this.buckets.get(ns);
    if (!m) this.buckets.set(ns, (m = new Map()));
    let set = m.get(bucket);
    if (!set) m.set(bucket, (set = new Set()));
    set.add(s.metadata.name);
    this.bucketOf.set(`${ns}/${s.metadata.name}`, bucket);
  }

  private remove(s: KubeObject): void {
    const key = `${s.metadata.namespace}/${s.metadata.name}`;
    const bucket = this.bucketOf.get(key);
    if (bucket === undefined) return;
    this.bucketOf.delete(key);
    this.buckets.get(s.metadata.namespace!)?.get(bucket)?.delete(s.metadata.name);
  }

  /** Services in the namespace that could select a pod with these labels (a superset; callers match). */
  candidates(namespace: string, labels: Record<string, string> | undefined, into: Set<string>): void {
    const m = this.buckets.get(namespace);
    if (!m) return;
    for (const name of m.get('') ?? []) into.add(name);
    for (const k in labels) for (const name of m.get(`${k}=${labels[k]}`) ?? []) into.add(name);
  }
}

const indexes = new WeakMap<Store, SelectorIndex>();

/** Services (with selectors) in the pod's namespace selecting it now or before the change. */
export function servicesSelecting(ctx: ControllerContext, pod: P, old?: P): Svc[] {
  let index = indexes.get(ctx.store);
  if (!index) indexes.set(ctx.store, (index = new SelectorIndex(ctx.store)));
  const ns = pod.metadata.namespace!;
  const names = new Set<string>();
  index.candidates(ns, pod.metadata.labels, names);
  if (old) index.candidates(ns, old.metadata.labels, names);
  const out: Svc[] = [];
  for (const name of names) {
    const s = ctx.store.get<Svc>('Service', ns, name);
    if (!s || !hasSelector(s)) continue;
    const sel = fromMap(s.spec!.selector!);
    if (matches(sel, pod.metadata.labels) || (old !== undefined && matches(sel, old.metadata.labels))) out.push(s);
  }
  return out;
}

/** Calls sync for each service a pod event concerns. */
export function watchPodsForServices(ctx: ControllerContext, sync: (svc: Svc) => void): void {
  ctx.store.watch({ kind: 'Pod' }, (e) => {
    for (const s of servicesSelecting(ctx, e.object as P, e.old as P | undefined)) sync(s);
  });
}
