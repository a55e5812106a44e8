// The namespace controller's deletion (pkg/controller/namespace/deletion): a deleted Namespace takes every
// object in it along. Owners go before what they own, so the garbage collector sees each dependent once.
import { KINDS } from '../objects.ts';
import type { Controller, ControllerContext } from './controller.ts';

/** Owners first (a Deployment before its ReplicaSets and Pods, a Service before its EndpointSlices). */
const ORDER = ['Deployment', 'StatefulSet', 'DaemonSet', 'ReplicaSet', 'Service', 'Endpoints'];

export class NamespaceController implements Controller {
  readonly name = 'namespace';

  start(ctx: ControllerContext): void {
    const kinds = KINDS.filter((k) => k.namespaced).map((k) => k.kind)
      .sort((a, b) => (ORDER.indexOf(a) + 1 || ORDER.length + 1) - (ORDER.indexOf(b) + 1 || ORDER.length + 1));
    ctx.store.watch({ kind: 'Namespace' }, (e) => {
      if (e.type !== 'DELETED') return;
      const ns = e.object.metadata.name;
      for (const kind of kinds) {
        for (const o of ctx.store.list(kind).filter((x) => x.metadata.namespace === ns)) {
          ctx.api.delete(kind, ns, o.metadata.name);
        }
      }
    });
  }
}
