// Which pods a Service selects and which Services select a pod: the question both endpoint controllers ask
// on every change.
import type { ControllerContext } from './controller.ts';
import type { KubeObject, Pod, Service } from '../objects.ts';
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

/** Services (with selectors) in the pod's namespace selecting it now or before the change. */
export function servicesSelecting(ctx: ControllerContext, pod: P, old?: P): Svc[] {
  return ctx.store.list<Svc>('Service', { namespace: pod.metadata.namespace }).filter((s) => hasSelector(s) && (
    matches(fromMap(s.spec!.selector!), pod.metadata.labels) || (old !== undefined && matches(fromMap(s.spec!.selector!), old.metadata.labels))));
}

/** Calls sync for each service a pod event concerns. */
export function watchPodsForServices(ctx: ControllerContext, sync: (svc: Svc) => void): void {
  ctx.store.watch({ kind: 'Pod' }, (e) => {
    for (const s of servicesSelecting(ctx, e.object as P, e.old as P | undefined)) {
      const current = ctx.store.get<Svc>('Service', s.metadata.namespace, s.metadata.name);
      if (current) sync(current);
    }
  });
}
