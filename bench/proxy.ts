// Benchmark (not a test): kube-proxy's iptables mode at 10,000 Services x 10 endpoints.
// Measures a full syncProxyRules (plans + restore text), a partial sync after one Service's endpoints
// changed, and — as root, with iptables-restore and nfacct — kdp and the real kernel's iptables-restore
// (into a scratch network namespace) on the same rules for --kernel services, reporting the ratio.
//   npm run bench:proxy [-- --services 10000 --endpoints 10 --runs 5 --kernel 1000]
// (the script gives Node a 64 MB young generation: the full sync makes ~500,000 short-lived strings)
import { spawnSync } from 'node:child_process';
import { IPTablesProxier, type IPTablesSettings } from '../src/proxy/iptables/proxier.ts';
import { detectLocalByCIDR } from '../src/proxy/localdetector.ts';
import { servicePorts } from '../src/proxy/serviceport.ts';
import { endpointsByServicePort } from '../src/proxy/endpoints.ts';
import type { EndpointSlice, Service } from '../src/cluster/objects.ts';

const arg = (name: string, def: number) => {
  const i = process.argv.indexOf(`--${name}`);
  return i > 0 ? Number(process.argv[i + 1]) : def;
};
const SERVICES = arg('services', 10000);
const ENDPOINTS = arg('endpoints', 10);
const RUNS = arg('runs', 5);
/**
 * Services whose rules the real kernel restores, compared with kdp writing the same rules (0: skip). Not
 * 10,000: iptables-restore's (nf_tables backend) time grows faster than linearly, ~20 s of CPU at 1,000.
 */
const KERNEL = arg('kernel', 1000);

const settings: IPTablesSettings = {
  ipFamily: 'IPv4',
  nodeName: 'node-0',
  nodeIP: '172.16.0.1',
  nodeLabels: {},
  masqueradeMark: '0x4000',
  masqueradeAll: false,
  localhostNodePorts: true,
  localDetector: detectLocalByCIDR('10.128.0.0/14'),
  nodePortAddresses: [],
  localAddresses: ['127.0.0.1', '::1', '172.16.0.1'],
  randomFully: true,
  nfacct: true,
  conntrackTCPBeLiberal: false,
};

const ip = (base: number, n: number) => `${base}.${(n >> 16) & 255}.${(n >> 8) & 255}.${n & 255}`;

function service(s: number): Service {
  // Every tenth Service is a NodePort one, so KUBE-NODEPORTS and KUBE-EXT chains are in the mix.
  const nodePort = s % 10 === 0 ? { type: 'NodePort' as const, ports: [{ name: 'http', port: 80, protocol: 'TCP' as const, nodePort: 30000 + (s / 10) }] } : { ports: [{ name: 'http', port: 80, protocol: 'TCP' as const }] };
  return { metadata: { namespace: `ns-${s % 100}`, name: `svc-${s}` }, spec: { clusterIP: ip(10, (96 << 16) + s + 1), ...nodePort } };
}

function slice(s: number, generation: number): EndpointSlice {
  const endpoints = Array.from({ length: ENDPOINTS }, (_, e) => ({
    addresses: [ip(10, (128 << 16) + s * ENDPOINTS + e + generation * 7)],
    conditions: { ready: true },
    nodeName: `node-${(s + e) % 1000}`,
  }));
  return {
    addressType: 'IPv4',
    metadata: { namespace: `ns-${s % 100}`, name: `svc-${s}-abcde`, labels: { 'kubernetes.io/service-name': `svc-${s}` } },
    endpoints,
    ports: [{ name: 'http', port: 8080, protocol: 'TCP' }],
  };
}

function loaded(services = SERVICES): IPTablesProxier {
  const p = new IPTablesProxier(settings);
  for (let s = 0; s < services; s++) {
    const svc = service(s);
    const nn = `${svc.metadata!.namespace}/${svc.metadata!.name}`;
    p.setService(nn, servicePorts(svc, 'IPv4'));
    p.setEndpoints(nn, endpointsByServicePort([slice(s, 0)], 'IPv4', 'node-0'));
  }
  return p;
}

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];
const ms = (t0: bigint) => Number(process.hrtime.bigint() - t0) / 1e6;
// CPU time too: on a machine shared with other work, wall time mostly measures the neighbours.
const cpuMs = (c0: NodeJS.CpuUsage) => {
  const c = process.cpuUsage(c0);
  return (c.user + c.system) / 1000;
};

const fulls: number[] = [];
const fullCpus: number[] = [];
const partials: number[] = [];
const partialCpus: number[] = [];
let text = '';
for (let r = 0; r < RUNS; r++) {
  const p = loaded();
  let t0 = process.hrtime.bigint();
  let c0 = process.cpuUsage();
  text = p.sync().restoreText;
  fulls.push(ms(t0));
  fullCpus.push(cpuMs(c0));
  // One Service's endpoints change (a pod replaced): the change tracker, then a partial sync.
  for (let k = 1; k <= 20; k++) {
    const s = (k * 4999) % SERVICES;
    const svc = service(s);
    t0 = process.hrtime.bigint();
    c0 = process.cpuUsage();
    p.setEndpoints(`${svc.metadata!.namespace}/${svc.metadata!.name}`, endpointsByServicePort([slice(s, k)], 'IPv4', 'node-0'));
    p.sync();
    partials.push(ms(t0));
    partialCpus.push(cpuMs(c0));
  }
}
const lines = text.split('\n').length - 1;
console.log(`services=${SERVICES} endpoints/service=${ENDPOINTS} restore text: ${lines} lines, ${(text.length / 1e6).toFixed(1)} MB`);
console.log(`full sync (plans + restore text): median ${median(fulls).toFixed(0)} ms wall, ${median(fullCpus).toFixed(0)} ms CPU, of ${RUNS} runs [${fulls.map((x) => x.toFixed(0)).join(', ')}]`);
console.log(`one service's endpoints changed -> partial sync: median ${median(partials).toFixed(2)} ms wall (${median(partialCpus).toFixed(2)} ms CPU), max ${Math.max(...partials).toFixed(2)} ms of ${partials.length}`);

const has = (cmd: string) => spawnSync('bash', ['-c', `command -v ${cmd}`]).status === 0;
if (KERNEL > 0 && process.getuid?.() === 0 && has('iptables-restore') && has('nfacct') && has('ip')) {
  const ns = `kdpbench${process.pid % 100000}`;
  const sh = (args: string[], input?: string) => spawnSync(args[0], args.slice(1), { input, encoding: 'utf8', maxBuffer: 1 << 30 });
  sh(['ip', 'netns', 'add', ns]);
  try {
    for (const c of ['ct_state_invalid_dropped_pkts', 'localhost_nps_accepted_pkts']) sh(['ip', 'netns', 'exec', ns, 'nfacct', 'add', c]);
    // The same rules from both: kdp's full sync of KERNEL services, then the kernel loading that text.
    const small = loaded(KERNEL);
    const k0 = process.hrtime.bigint();
    const kc0 = process.cpuUsage();
    const smallText = small.sync().restoreText;
    const kdpWall = ms(k0);
    const kdpCpu = cpuMs(kc0);
    const t0 = process.hrtime.bigint();
    // bash's `time` reports the restore's own CPU seconds (user, system) on the last line of stderr.
    const r = sh(['bash', '-c', `TIMEFORMAT='%U %S'; time ip netns exec ${ns} iptables-restore --noflush --counters`], smallText);
    const kernel = ms(t0);
    if (r.status !== 0) throw new Error(`iptables-restore failed: ${r.stderr.slice(0, 500)}`);
    const [user, sys] = r.stderr.trim().split('\n').pop()!.split(' ').map(Number);
    const kernelCpu = (user + sys) * 1000;
    console.log(`${KERNEL} services (${smallText.split('\n').length - 1} lines): kdp full sync ${kdpWall.toFixed(0)} ms wall, ${kdpCpu.toFixed(0)} ms CPU; real iptables-restore of that text (nf_tables backend, scratch netns) ${kernel.toFixed(0)} ms wall, ${kernelCpu.toFixed(0)} ms CPU`);
    console.log(`ratio iptables-restore / kdp: ${(kernel / kdpWall).toFixed(1)}x wall, ${(kernelCpu / kdpCpu).toFixed(1)}x CPU`);
  } finally {
    sh(['ip', 'netns', 'del', ns]);
  }
} else {
  console.log('real iptables-restore: skipped (needs root, iproute2, iptables-restore and nfacct)');
}
