// The generated cluster bench/cluster.ts loads, also dumped at mid size by bench/golden-cluster.ts.
export interface ClusterShape {
  nodes: number;
  services: number;
  replicas: number;
  namespaces: number;
}

export function clusterTopology({ nodes, services, replicas, namespaces }: ClusterShape): string {
  const out: string[] = [`apiVersion: kdp.dev/v1alpha1
kind: Cluster
metadata: {name: bench}
spec:
  podCIDR: 10.128.0.0/14
  serviceCIDR: 10.96.0.0/12
  nodes:`];
  for (let n = 0; n < nodes; n++) out.push(`    - {name: node-${n}, ip: 172.16.${(n + 1) >> 8}.${(n + 1) & 255}, labels: {topology.kubernetes.io/zone: zone-${n % 3}}}`);
  for (let ns = 0; ns < namespaces; ns++) out.push(`---\napiVersion: v1\nkind: Namespace\nmetadata: {name: ns-${ns}}`);
  for (let s = 0; s < services; s++) {
    const ns = `ns-${s % namespaces}`;
    const app = `app-${s}`;
    out.push(`---
apiVersion: apps/v1
kind: Deployment
metadata: {name: ${app}, namespace: ${ns}}
spec:
  replicas: ${replicas}
  selector: {matchLabels: {app: ${app}}}
  template:
    metadata: {labels: {app: ${app}, tier: backend}}
    spec:
      containers:
      - name: app
        image: registry.k8s.io/e2e-test-images/agnhost:2.52
        ports: [{name: http, containerPort: 8080}]
---
apiVersion: v1
kind: Service
metadata: {name: ${app}, namespace: ${ns}}
spec:
  selector: {app: ${app}}
  ports: [{name: http, port: 80, targetPort: http}]`);
  }
  return out.join('\n') + '\n';
}
