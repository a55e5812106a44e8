// Benchmark (not a test): the pod network of a generated 1,000-node cluster — building every node's and pod's
// namespace (CNI wiring, flannel's overlay), and the median time of one pod->pod trace across nodes.
//   npm run bench:network [-- --nodes 1000 --deployments 10000]
import { loadClusterFromText } from '../src/cluster/cluster.ts';
import { ClusterNetwork } from '../src/kubelet/network.ts';
import { traceFlow } from '../src/netns/forward.ts';

const arg = (name: string, def: number) => {
  const i = process.argv.indexOf(`--${name}`);
  return i > 0 ? Number(process.argv[i + 1]) : def;
};
const NODES = arg('nodes', 1000);
const DEPLOYMENTS = arg('deployments', 10000);

const out: string[] = [`apiVersion: kdp.dev/v1alpha1\nkind: Cluster\nmetadata: {name: bench}\nspec:\n  podCIDR: 10.128.0.0/14\n  nodes:`];
// 200 nodes a /24 (addresses .10 to .209), so the underlay spans several subnets joined by its router.
for (let n = 0; n < NODES; n++) out.push(`    - {name: node-${n}, ip: 172.16.${Math.floor(n / 200)}.${10 + (n % 200)}}`);
for (let s = 0; s < DEPLOYMENTS; s++) {
  out.push(`---\napiVersion: apps/v1\nkind: Deployment\nmetadata: {name: app-${s}, namespace: ns-${s % 100}}\nspec:\n  replicas: 10\n  selector: {matchLabels: {app: app-${s}}}\n  template:\n    metadata: {labels: {app: app-${s}}}\n    spec:\n      containers: [{name: app, ports: [{name: http, containerPort: 8080}]}]`);
}
const cluster = loadClusterFromText([{ file: 'bench.yaml', text: out.join('\n') }]);

const c0 = process.cpuUsage();
const t0 = performance.now();
const net = new ClusterNetwork(cluster);
const buildMs = performance.now() - t0;
// CPU time (this process, all its threads, the garbage collector's included): steadier than wall time when
// the machine is shared.
const buildCpu = process.cpuUsage(c0);

// Pairs of pods on different nodes, spread over the cluster; each trace is the SYN and the SYN-ACK.
const pods = [...net.sandboxes.values()];
const samples: number[] = [];
for (let i = 0; samples.length < 1000; i++) {
  const a = pods[(i * 7919) % pods.length];
  const b = pods[(i * 104729 + 13) % pods.length];
  if (a.node === b.node) continue;
  const dst = b.result.ips![0].address.split('/')[0];
  const t = performance.now();
  const trace = traceFlow(net, a.netns, { protocol: 'tcp', dst, dport: 8080 });
  samples.push(performance.now() - t);
  if (trace.request.verdict.kind !== 'delivered') throw new Error(`trace ${a.pod} -> ${b.pod}: ${trace.request.verdict.by}`);
}
samples.sort((x, y) => x - y);
console.log(JSON.stringify({
  nodes: net.hosts.size,
  pods: net.sandboxes.size,
  buildNetworkMs: Math.round(buildMs),
  buildNetworkCpuMs: Math.round((buildCpu.user + buildCpu.system) / 1000),
  podToPodTraceAcrossNodesMs: { median: +samples[500].toFixed(3), p99: +samples[990].toFixed(3), samples: samples.length },
  peakRSSMB: Math.round(process.resourceUsage().maxRSS / 1024),
}, null, 2));
