// The garbage collector: when an object is deleted, so are the objects whose controlling ownerReference names
// it — a Deployment's ReplicaSets, their Pods, a Service's EndpointSlices — and theirs in turn.
import type { Controller, ControllerContext } from './controller.ts';

/** Kinds that own others, and the kinds their dependents can be. */
const OWNERS = ['Deployment', 'ReplicaSet', 'StatefulSet', 'DaemonSet', 'Service', 'Endpoints'];
const DEPENDENTS = ['ReplicaSet', 'Pod', 'EndpointSlice'];

export class GarbageCollector implements Controller {
  readonly name = 'garbage-collector';

  start(ctx: ControllerContext): void {
    for (const kind of OWNERS) {
      ctx.store.watch({ kind }, (e) => {
        if (e.type !== 'DELETED') return;
        for (const dependentKind of DEPENDENTS) {
          for (const d of ctx.store.listOwnedBy(dependentKind, e.object.metadata.uid!)) {
            ctx.api.delete(dependentKind, d.metadata.namespace, d.metadata.name);
          }
        }
      });
    }
  }
}
