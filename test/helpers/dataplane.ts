// Topologies for data-plane tests: pods labelled for a Service, Services in front of them, and a cluster with
// its data plane built, addressed by name.
import { DataPlane } from '../../src/dataplane/dataplane.ts';
import { cluster, get, podDoc } from './cluster.ts';

/** A pod on `node` listening on 8080, labelled app=`app`. */
export const appPod = (name: string, node: string, app: string) => podDoc(name, node, [8080]).replace(`metadata: {name: ${name}}`, `metadata: {name: ${name}, labels: {app: ${app}}}`);

/** A Service selecting app=`app`, port 80 -> 8080; `extra` adds spec fields (", type: NodePort"). */
export const serviceDoc = (name: string, app: string, extra = '') => `---
apiVersion: v1
kind: Service
metadata: {name: ${name}}
spec: {selector: {app: ${app}}, ports: [{port: 80, targetPort: 8080}]${extra}}
`;

/** The cluster of `topology` with its data plane; `ip` names a Pod's IP or a Service's ClusterIP; `client` is pod client's netns. */
export function dataPlaneOf(topology: string) {
  const c = cluster(topology);
  const dp = new DataPlane(c);
  const ip = (kind: 'Pod' | 'Service', name: string) => (kind === 'Pod' ? get<any>(c, 'Pod', 'default', name).status.podIP : get<any>(c, 'Service', 'default', name).spec.clusterIP) as string;
  return { c, dp, ip, client: dp.network.pod('default', 'client')?.netns as NonNullable<ReturnType<typeof dp.network.pod>>['netns'] };
}

/** An Ingress sending every path of one host to a Service port. */
export function ingressDoc(name: string, host: string, service: string, port: number): string {
  return `---
apiVersion: networking.k8s.io/v1
kind: Ingress
metadata: {name: ${name}}
spec:
  rules:
    - host: ${host}
      http: {paths: [{path: /, pathType: Prefix, backend: {service: {name: ${service}, port: {number: ${port}}}}}]}
`;
}
