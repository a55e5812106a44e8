// Benchmark (not a test): a generated cluster of 1,000 nodes, 100,000 pods and 10,000 services.
// Measures load + controllers (YAML text to settled model), peak RSS, and the time from "pod deleted" to
// "its EndpointSlice updated" (synchronous: the delete returns after every controller reacted).
//   npm run bench:cluster [-- --nodes 1000 --services 10000 --replicas 10]
import { readFileSync } from 'node:fs';
import { loadClusterFromText } from '../src/cluster/cluster.ts';
import type { KubeObject } from '../src/cluster/objects.ts';
import { formatProblem } from '../src/cluster/problems.ts';
import { clusterTopology } from './cluster-topology.ts';

const arg = (name: string, def: number) => {
  const i = process.argv.indexOf(`--${name}`);
  return i > 0 ? Number(process.argv[i + 1]) : def;
};
const NODES = arg('nodes', 1000);
const SERVICES = arg('services', 10000);
const REPLICAS = arg('replicas', 10);
const NAMESPACES = 100;

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];
const p99 = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length * 0.99)];

/**
 * CPU time of the main thread alone (Linux: its /proc task entry, in clock ticks of 10 ms), without the GC's
 * helper threads: on an idle 2-core machine the wall time follows it, whatever else the machine runs meanwhile.
 */
function mainThreadCpuMs(): number | undefined {
  try {
    const fields = readFileSync(`/proc/self/task/${process.pid}/stat`, 'utf8').split(') ')[1].split(' ');
    return (Number(fields[11]) + Number(fields[12])) * 10;
  } catch {
    return undefined;
  }
}

const text = clusterTopology({ nodes: NODES, services: SERVICES, replicas: REPLICAS, namespaces: NAMESPACES });
const main0 = mainThreadCpuMs();
const cpu0 = process.cpuUsage();
const t0 = performance.now();
const cluster = loadClusterFromText([{ file: 'bench.yaml', text }]);
const loadMs = performance.now() - t0;
const loadCpu = process.cpuUsage(cpu0);
const main1 = mainThreadCpuMs();
const errors = cluster.problems.filter((p) => p.severity === 'error');
if (errors.length) throw new Error(`bench topology has errors:\n${errors.slice(0, 5).map(formatProblem).join("\n")}`);
const pods = cluster.store.count('Pod');
const services = cluster.store.count('Service');
const slices = cluster.store.count('EndpointSlice');

// One pod deleted -> its EndpointSlice updated. The slice's update is stamped by a watcher as it happens;
// the delete call returns later, after the whole cascade (the ReplicaSet's replacement pod scheduled, started
// and added back), which is reported separately.
let sliceUpdatedAt = 0;
let watching = '';
cluster.store.watch({ kind: 'EndpointSlice' }, (e) => {
  if (!sliceUpdatedAt && e.type === 'MODIFIED' && e.object.metadata.labels?.['kubernetes.io/service-name'] === watching) sliceUpdatedAt = performance.now();
});
const toSlice: number[] = [];
const cascade: number[] = [];
const step = Math.max(1, Math.floor(SERVICES / 1000));
for (let s = 0; s < SERVICES; s += step) {
  const ns = `ns-${s % NAMESPACES}`;
  const [pod] = cluster.store.list<KubeObject>('Pod', { namespace: ns, selector: { requirements: [{ key: 'app', operator: 'Equals', values: [`app-${s}`] }] } });
  watching = `app-${s}`;
  sliceUpdatedAt = 0;
  const t = performance.now();
  cluster.api.delete('Pod', ns, pod.metadata.name);
  const done = performance.now();
  if (!sliceUpdatedAt) throw new Error(`the slice of app-${s} was not updated`);
  const [slice] = cluster.store.list<KubeObject & { endpoints: { targetRef?: { name: string } }[] }>('EndpointSlice', { namespace: ns, selector: { requirements: [{ key: 'kubernetes.io/service-name', operator: 'Equals', values: [`app-${s}`] }] } });
  if (slice.endpoints.some((e) => e.targetRef?.name === pod.metadata.name)) throw new Error(`${pod.metadata.name} is still in its slice`);
  toSlice.push(sliceUpdatedAt - t);
  cascade.push(done - t);
}

const maxRSS = process.resourceUsage().maxRSS / 1024;
console.log(JSON.stringify({
  nodes: cluster.store.count('Node'), pods, services, endpointslices: slices,
  yamlMB: +(text.length / 1e6).toFixed(1),
  loadAndControllersMs: Math.round(loadMs),
  // CPU time of the whole process (GC helper threads included) during the load: steadier than wall time on a shared machine.
  loadAndControllersCpuMs: Math.round((loadCpu.user + loadCpu.system) / 1000),
  loadAndControllersMainThreadCpuMs: main0 !== undefined && main1 !== undefined ? main1 - main0 : undefined,
  peakRSSMB: Math.round(maxRSS),
  podDeleteToSliceUpdateMs: { median: +median(toSlice).toFixed(3), p99: +p99(toSlice).toFixed(3), samples: toSlice.length },
  podDeleteWholeCascadeMs: { median: +median(cascade).toFixed(3), p99: +p99(cascade).toFixed(3) },
}, null, 2));
