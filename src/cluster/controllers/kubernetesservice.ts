// kube-apiserver's endpoint reconciler for default/kubernetes: an Endpoints object (skip-mirror) and a slice
// named "kubernetes" listing the API servers — here, the control-plane nodes (or the first node) on :6443.
import { isDeepStrictEqual } from 'node:util';
import type { Controller, ControllerContext } from './controller.ts';
import type { EndpointSlice, Endpoints, KubeObject, Node } from '../objects.ts';
import { CONTROL_PLANE_LABEL, internalIPs } from './nodes.ts';
import { APISERVER_PORT } from '../bootstrap.ts';
import { familyOf } from '../net.ts';

export class KubernetesServiceController implements Controller {
  readonly name = 'kubernetes-service-endpoints';

  constructor(private readonly managed: { endpoints: boolean; slice: boolean }) {}

  start(ctx: ControllerContext): void {
    this.sync(ctx);
    ctx.store.watch({ kind: 'Node' }, () => this.sync(ctx));
  }

  private sync(ctx: ControllerContext): void {
    const nodes = ctx.store.list<Node & KubeObject>('Node');
    const masters = nodes.filter((n) => n.metadata.labels?.[CONTROL_PLANE_LABEL] !== undefined);
    const family = ctx.config.serviceCIDRs[0].family;
    const ips = (masters.length ? masters : nodes.slice(0, 1))
      .flatMap((n) => internalIPs(n).filter((ip) => familyOf(ip) === family).slice(0, 1))
      .sort();
    const port = { name: 'https', port: APISERVER_PORT, protocol: 'TCP' };
    if (this.managed.endpoints) {
      const want: Endpoints & KubeObject = {
        apiVersion: 'v1',
        kind: 'Endpoints',
        metadata: { name: 'kubernetes', namespace: 'default', labels: { 'endpointslice.kubernetes.io/skip-mirror': 'true' } },
        ...(ips.length ? { subsets: [{ addresses: ips.map((ip) => ({ ip })), ports: [port] }] } : {}),
      };
      const cur = ctx.store.get<Endpoints & KubeObject>('Endpoints', 'default', 'kubernetes');
      if (!cur || !isDeepStrictEqual(cur.subsets, want.subsets)) ctx.api.apply({ ...want, metadata: { ...cur?.metadata, ...want.metadata } });
    }
    if (this.managed.slice) {
      const want: EndpointSlice & KubeObject = {
        apiVersion: 'discovery.k8s.io/v1',
        kind: 'EndpointSlice',
        metadata: { name: 'kubernetes', namespace: 'default', labels: { 'kubernetes.io/service-name': 'kubernetes' } },
        addressType: family,
        endpoints: ips.map((ip) => ({ addresses: [ip], conditions: { ready: true } })),
        ports: [port],
      };
      const cur = ctx.store.get<EndpointSlice & KubeObject>('EndpointSlice', 'default', 'kubernetes');
      if (!cur || !isDeepStrictEqual(cur.endpoints, want.endpoints)) ctx.api.apply({ ...want, metadata: { ...cur?.metadata, ...want.metadata } });
    }
  }
}
