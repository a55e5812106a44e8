// The EndpointSliceMirroring controller: Endpoints written by hand for a Service without a selector are
// mirrored into EndpointSlices (managed-by endpointslicemirroring-controller.k8s.io), so everything that
// reads slices — kube-proxy, CoreDNS — sees them.
import { isDeepStrictEqual } from 'node:util';
import type { Controller, ControllerContext } from './controller.ts';
import { ownerReferences } from './controller.ts';
import type { Endpoint, EndpointSlice, Endpoints, KubeObject } from '../objects.ts';
import type * as discovery from 'kubernetes-types/discovery/v1.js';
import { familyOf } from '../net.ts';
import { repackSubsets } from './endpoints.ts';
import { MANAGED_BY, SERVICE_NAME } from './endpointslice.ts';
import type { Svc } from './servicepods.ts';

type EP = Endpoints & KubeObject;
type Slice = EndpointSlice & KubeObject;

const CONTROLLER_NAME = 'endpointslicemirroring-controller.k8s.io';
const SKIP_MIRROR = 'endpointslice.kubernetes.io/skip-mirror';
const MAX_PER_SUBSET = 1000;
const SKIPPED_ANNOTATIONS = new Set(['endpoints.kubernetes.io/last-change-trigger-time', 'kubectl.kubernetes.io/last-applied-configuration']);

export class EndpointSliceMirroringController implements Controller {
  readonly name = 'endpointslicemirroring';

  start(ctx: ControllerContext): void {
    for (const ep of ctx.store.list<EP>('Endpoints')) this.sync(ctx, ep.metadata.namespace!, ep.metadata.name);
    ctx.store.watch({ kind: 'Endpoints' }, (e) => this.sync(ctx, e.object.metadata.namespace!, e.object.metadata.name));
    ctx.store.watch({ kind: 'Service' }, (e) => this.sync(ctx, e.object.metadata.namespace!, e.object.metadata.name));
  }

  private mirrored(ctx: ControllerContext, namespace: string, name: string): Slice[] {
    return ctx.store.list<Slice>('EndpointSlice', {
      namespace,
      selector: { requirements: [
        { key: SERVICE_NAME, operator: 'Equals', values: [name] },
        { key: MANAGED_BY, operator: 'Equals', values: [CONTROLLER_NAME] },
      ] },
    });
  }

  sync(ctx: ControllerContext, namespace: string, name: string): void {
    const ep = ctx.store.get<EP>('Endpoints', namespace, name);
    const svc = ctx.store.get<Svc>('Service', namespace, name);
    const existing = this.mirrored(ctx, namespace, name);
    const mirror = ep && svc && (svc.spec?.selector === undefined || svc.spec?.selector === null) &&
      ep.metadata.labels?.[SKIP_MIRROR] !== 'true' && !ep.metadata.annotations?.['control-plane.alpha.kubernetes.io/leader'];
    if (!mirror) {
      for (const sl of existing) ctx.api.delete('EndpointSlice', sl.metadata.namespace, sl.metadata.name);
      return;
    }
    const labels = { ...ep.metadata.labels, [SERVICE_NAME]: name, [MANAGED_BY]: CONTROLLER_NAME };
    const annotations: Record<string, string> = {};
    for (const [k, v] of Object.entries(ep.metadata.annotations ?? {})) if (!SKIPPED_ANNOTATIONS.has(k)) annotations[k] = v;
    const wanted = new Map<string, { addressType: string; ports: discovery.EndpointPort[]; endpoints: Endpoint[] }>();
    const subsets = repackSubsets(ep.subsets ?? []);
    for (const s of subsets) {
      const ports = (s.ports ?? []).map((p) => ({ name: p.name ?? '', port: p.port, protocol: p.protocol ?? 'TCP', ...(p.appProtocol ? { appProtocol: p.appProtocol } : {}) }));
      const all = [...(s.addresses ?? []).map((a) => ({ a, ready: true })), ...(s.notReadyAddresses ?? []).map((a) => ({ a, ready: false }))];
      for (const { a, ready } of all.slice(0, MAX_PER_SUBSET)) {
        const addressType = familyOf(a.ip);
        if (!addressType) continue;
        const key = `${addressType}-${JSON.stringify(ports)}`;
        let w = wanted.get(key);
        if (!w) wanted.set(key, (w = { addressType, ports, endpoints: [] }));
        w.endpoints.push({
          addresses: [a.ip],
          conditions: { ready },
          ...(a.hostname ? { hostname: a.hostname } : {}),
          ...(a.nodeName ? { nodeName: a.nodeName } : {}),
          ...(a.targetRef ? { targetRef: a.targetRef } : {}),
        });
      }
    }
    const spare = [...existing];
    for (const w of wanted.values()) {
      const slice = spare.shift();
      const body = { addressType: w.addressType, ports: w.ports, endpoints: w.endpoints };
      if (slice) {
        if (!isDeepStrictEqual({ addressType: slice.addressType, ports: slice.ports, endpoints: slice.endpoints }, body) || !isDeepStrictEqual(slice.metadata.labels, labels)) {
          ctx.api.update({ ...slice, ...body, metadata: { ...slice.metadata, labels, annotations } });
        }
      } else {
        ctx.api.create<Slice>({
          apiVersion: 'discovery.k8s.io/v1',
          kind: 'EndpointSlice',
          metadata: { name: '', generateName: `${name}-`, namespace, labels, annotations, ownerReferences: ownerReferences(ep) },
          ...body,
        });
      }
    }
    for (const sl of spare) ctx.api.delete('EndpointSlice', sl.metadata.namespace, sl.metadata.name);
  }
}
