// Building clusters from inline YAML in tests, with a pinned clock.
import { loadClusterFromText, type Cluster } from '../../src/cluster/cluster.ts';
import type { KubeObject } from '../../src/cluster/objects.ts';
import { formatProblem } from '../../src/cluster/problems.ts';

export const NOW = new Date('2026-11-23T12:00:00Z');

export function cluster(yaml: string, file = 'topo.yaml'): Cluster {
  return loadClusterFromText([{ file, text: yaml }], { now: () => NOW });
}

export function errors(c: Cluster): string[] {
  return c.problems.filter((p) => p.severity === 'error').map(formatProblem);
}

export function warnings(c: Cluster): string[] {
  return c.problems.filter((p) => p.severity === 'warning').map(formatProblem);
}

/** The objects of a kind in a namespace ('' for all), as plain values. */
export function list<T = KubeObject>(c: Cluster, kind: string, namespace?: string): T[] {
  return c.store.list(kind, namespace === undefined ? {} : { namespace }) as T[];
}

export function get<T = KubeObject>(c: Cluster, kind: string, namespace: string | undefined, name: string): T {
  const o = c.store.get(kind, namespace, name);
  if (!o) throw new Error(`${kind} ${namespace}/${name} not found`);
  return o as T;
}

export const NODES3 = `
apiVersion: kdp.dev/v1alpha1
kind: Cluster
metadata: {name: t}
spec:
  nodes:
    - {name: node1, ip: 192.168.1.11, labels: {topology.kubernetes.io/zone: a}}
    - {name: node2, ip: 192.168.1.12, labels: {topology.kubernetes.io/zone: a}}
    - {name: node3, ip: 192.168.1.13, labels: {topology.kubernetes.io/zone: b}}
`;

/** A pod document pinned to a node, listening on the given TCP ports (UDP as "53/UDP"). */
export function podDoc(name: string, node: string, ports: (number | string)[] = []): string {
  const list = ports.map((p) => (typeof p === 'number' ? `{containerPort: ${p}}` : `{containerPort: ${p.split('/')[0]}, protocol: ${p.split('/')[1]}}`));
  return `---\napiVersion: v1\nkind: Pod\nmetadata: {name: ${name}}\nspec: {nodeName: ${node}, containers: [{name: c${list.length ? `, ports: [${list.join(', ')}]` : ''}}]}\n`;
}

/** Replaces kubeadm's coredns Deployment with an empty one, so the only pods are the test's own. */
export const NO_COREDNS = `---
apiVersion: apps/v1
kind: Deployment
metadata: {name: coredns, namespace: kube-system}
spec:
  replicas: 0
  selector: {matchLabels: {k8s-app: kube-dns}}
  template: {metadata: {labels: {k8s-app: kube-dns}}, spec: {containers: [{name: c}]}}
`;

/** kube-flannel.yml's ConfigMap (and its namespace) with `json` as cni-conf.json, documents to append to a topology. */
export const kubeFlannelCfg = (json: string, namespace = 'kube-flannel') => `
---
apiVersion: v1
kind: Namespace
metadata: {name: kube-flannel}
---
apiVersion: v1
kind: ConfigMap
metadata: {name: kube-flannel-cfg, namespace: ${namespace}}
data:
  cni-conf.json: |
${json.split('\n').map((l) => `    ${l}`).join('\n')}
`;
