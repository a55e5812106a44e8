// Benchmark (not a test): the pods' real listeners — starting them for N pods (one agnhost netexec port each),
// the memory they take, requests per second through connect() (the PROXY front door) on one keep-alive
// connection at a time, and closing them.
//   npx tsx bench/listeners.ts [--pods 1000] [--requests 5000]
import http from 'node:http';
import { loadClusterFromText } from '../src/cluster/cluster.ts';
import { ClusterNetwork } from '../src/kubelet/network.ts';
import { ContainerRuntime } from '../src/kubelet/runtime.ts';
import type { KubeObject, Pod } from '../src/cluster/objects.ts';

const arg = (name: string, def: number) => {
  const i = process.argv.indexOf(`--${name}`);
  return i > 0 ? Number(process.argv[i + 1]) : def;
};
const PODS = arg('pods', 1000);
const REQUESTS = arg('requests', 5000);

const yaml = `apiVersion: kdp.dev/v1alpha1
kind: Cluster
metadata: {name: bench}
spec:
  nodes: [{name: node1, ip: 192.168.1.11}, {name: node2, ip: 192.168.1.12}, {name: node3, ip: 192.168.1.13}]
---
apiVersion: apps/v1
kind: Deployment
metadata: {name: web}
spec:
  replicas: ${PODS}
  selector: {matchLabels: {app: web}}
  template:
    metadata: {labels: {app: web}}
    spec: {containers: [{name: web, image: "registry.k8s.io/e2e-test-images/agnhost:2.52", args: [netexec], ports: [{containerPort: 8080}]}]}
`;
const cluster = loadClusterFromText([{ file: 'bench.yaml', text: yaml }]);
const network = new ClusterNetwork(cluster);
global.gc?.();
const rss0 = process.memoryUsage().rss;
const t0 = performance.now();
const rt = await ContainerRuntime.start(cluster, { network, warn: (m) => console.error(m) });
const startMs = performance.now() - t0;
const rssMB = (process.memoryUsage().rss - rss0) / 1e6;

const podIP = cluster.store.list<Pod & KubeObject>('Pod').find((p) => p.metadata.name.startsWith('web-'))!.status!.podIP!;
const agent = new http.Agent({ keepAlive: true, maxSockets: 1 });
// An agent's createConnection: every socket it opens goes through the registry.
(agent as unknown as { createConnection: () => unknown }).createConnection = () => rt.connect(podIP, 8080, { ip: '10.244.0.9', port: 40000 });
const get = () => new Promise<void>((resolve, reject) => {
  http.get({ host: podIP, port: 8080, path: '/hostname', agent }, (res) => {
    res.resume();
    res.on('end', resolve);
  }).on('error', reject);
});
for (let i = 0; i < 200; i++) await get();
const t1 = performance.now();
for (let i = 0; i < REQUESTS; i++) await get();
const rps = REQUESTS / ((performance.now() - t1) / 1000);
agent.destroy();

const t2 = performance.now();
await rt.close();
const closeMs = performance.now() - t2;
console.log(`${PODS} pods: listeners started in ${startMs.toFixed(0)} ms (+${rssMB.toFixed(0)} MB RSS), ` +
  `${rps.toFixed(0)} sequential requests/s through connect(), closed in ${closeMs.toFixed(0)} ms`);
