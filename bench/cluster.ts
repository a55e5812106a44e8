// Benchmark (not a test): a generated cluster of 1,000 nodes, 100,000 pods and 10,000 services.
// Measures load + controllers (YAML text to settled model), peak RSS, and the time from "pod deleted" to
// "its EndpointSlice updated" (synchronous: the delete returns after every controller reacted).
//   npm run bench:cluster [-- --nodes 1000 --services 10000 --replicas 10]
import { loadClusterFromText } from '../src/cluster/cluster.ts';
import type { KubeObject } from '../src/cluster/objects.ts';
import { formatProblem } from '../src/cluster/problems.ts';

const arg = (name: string, def: number) => {
  const i = process.argv.indexOf(`--${name}`);
  return i > 0 ? Number(process.argv[i + 1]) : def;
};
const NODES = arg('nodes', 1000);
const SERVICES = arg('services', 10000);
const REPLICAS = arg('replicas', 10);
const NAMESPACES = 100;

function topology(): string {
  const out: string[] = [`apiVersion: kdp.dev/v1alpha1
kind: Cluster
metadata: {name: bench}
spec:
  podCIDR: 10.128.0.0/14
  serviceCIDR: 10.96.0.0/12
  nodes:`];
  for (let n = 0; n < NODES; n++) out.push(`    - {name: node-${n}, ip: 172.16.${(n + 1) >> 8}.${(n + 1) & 255}, labels: {topology.kubernetes.io/zone: zone-${n % 3}}}`);
  for (let ns = 0; ns < NAMESPACES; ns++) out.push(`---\napiVersion: v1\nkind: Namespace\nmetadata: {name: ns-${ns}}`);
  for (let s = 0; s < SERVICES; s++) {
    const ns = `ns-${s % NAMESPACES}`;
    const app = `app-${s}`;
    out.push(`---
apiVersion: apps/v1
kind: Deployment
metadata: {name: ${app}, namespace: ${ns}}
spec:
  replicas: ${REPLICAS}
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

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];

const text = topology();
const t0 = performance.now();
const cluster = loadClusterFromText([{ file: 'bench.yaml', text }]);
const loadMs = performance.now() - t0;
const errors = cluster.problems.filter((p) => p.severity === 'error');
if (errors.length) throw new Error(`bench topology has errors:\n${errors.slice(0, 5).map(formatProblem).join("\n")}`);
const pods = cluster.store.count('Pod');
const services = cluster.store.count('Service');
const slices = cluster.store.count('EndpointSlice');

// One pod deleted -> its EndpointSlice updated, timed per deletion.
const samples: number[] = [];
const step = Math.max(1, Math.floor(SERVICES / 1000));
for (let s = 0; s < SERVICES; s += step) {
  const ns = `ns-${s % NAMESPACES}`;
  const [pod] = cluster.store.list<KubeObject>('Pod', { namespace: ns, selector: { requirements: [{ key: 'app', operator: 'Equals', values: [`app-${s}`] }] } });
  const sliceBefore = cluster.store.list<KubeObject>('EndpointSlice', { namespace: ns, selector: { requirements: [{ key: 'kubernetes.io/service-name', operator: 'Equals', values: [`app-${s}`] }] } })[0];
  const t = performance.now();
  cluster.api.delete('Pod', ns, pod.metadata.name);
  samples.push(performance.now() - t);
  const sliceAfter = cluster.store.get<KubeObject & { endpoints: { targetRef?: { name: string } }[] }>('EndpointSlice', ns, sliceBefore.metadata.name)!;
  if (sliceAfter.metadata.resourceVersion === sliceBefore.metadata.resourceVersion || sliceAfter.endpoints.some((e) => e.targetRef?.name === pod.metadata.name)) {
    throw new Error(`slice ${sliceBefore.metadata.name} was not updated`);
  }
}

const maxRSS = process.resourceUsage().maxRSS / 1024;
console.log(JSON.stringify({
  nodes: cluster.store.count('Node'), pods, services, endpointslices: slices,
  yamlMB: +(text.length / 1e6).toFixed(1),
  loadAndControllersMs: Math.round(loadMs),
  peakRSSMB: Math.round(maxRSS),
  podDeleteToSliceUpdateMs: { median: +median(samples).toFixed(3), p99: +[...samples].sort((a, b) => a - b)[Math.floor(samples.length * 0.99)].toFixed(3), samples: samples.length },
}, null, 2));
