// Benchmark (not a test): kdp's cluster DNS against nsd serving the same 1,000 service names, measured
// alternately in the same run with dnsperf (A queries, closed loop, 200 outstanding). Servers are pinned to
// CPU 1 and dnsperf to CPU 0, as in /work/shared/reference/perf-baselines.md section 1.
//   npm run bench:dns [-- --rounds 5 --seconds 10]
import { spawn, execFileSync, type ChildProcess } from 'node:child_process';
import { mkdtempSync, readdirSync, readFileSync, writeFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { loadClusterFromText } from '../src/cluster/cluster.ts';
import type { KubeObject, Service } from '../src/cluster/objects.ts';

const arg = (name: string, def: number) => {
  const i = process.argv.indexOf(`--${name}`);
  return i > 0 ? Number(process.argv[i + 1]) : def;
};
const ROUNDS = arg('rounds', 5);
const SECONDS = arg('seconds', 10);
const KDP_PORT = 5391;
const NSD_PORT = 5392;

for (const tool of ['dnsperf', 'nsd', 'taskset']) {
  try {
    execFileSync('sh', ['-c', `command -v ${tool}`]);
  } catch {
    console.error(`bench:dns needs ${tool} (apt-get install -y dnsperf nsd util-linux)`);
    process.exit(1);
  }
}

// 50 namespaces x 20 selector-less ClusterIP services, as the baseline's zone.
const docs = ['apiVersion: kdp.dev/v1alpha1\nkind: Cluster\nmetadata: {name: bench}\nspec:\n  nodes: [{name: node1, ip: 192.168.1.11}]'];
for (let n = 0; n < 50; n++) {
  docs.push(`apiVersion: v1\nkind: Namespace\nmetadata: {name: ns-${n}}`);
  for (let s = 0; s < 20; s++) docs.push(`apiVersion: v1\nkind: Service\nmetadata: {name: svc-${s}, namespace: ns-${n}}\nspec: {ports: [{port: 80}]}`);
}
const topology = docs.join('\n---\n');
const cluster = loadClusterFromText([{ file: 'bench.yaml', text: topology }]);
const names: [string, string][] = cluster.store.list<Service & KubeObject>('Service')
  .filter((s) => s.metadata.namespace?.startsWith('ns-'))
  .map((s) => [`${s.metadata.name}.${s.metadata.namespace}.svc.cluster.local`, s.spec!.clusterIP!]);

const dir = mkdtempSync(join(tmpdir(), 'kdp-bench-dns-'));
writeFileSync(join(dir, 'topology.yaml'), topology);
writeFileSync(join(dir, 'queries.txt'), names.map(([n]) => `${n} A`).join('\n') + '\n');
let zone = '$ORIGIN cluster.local.\n$TTL 30\n@ IN SOA ns.dns.cluster.local. hostmaster.cluster.local. 1 7200 1800 86400 30\n@ IN NS ns.dns.cluster.local.\nns.dns IN A 127.0.0.1\n';
for (const [n, ip] of names) zone += `${n}. IN A ${ip}\n`;
writeFileSync(join(dir, 'cluster.local.zone'), zone);
writeFileSync(join(dir, 'nsd.conf'), `server:
    ip-address: 127.0.0.1@${NSD_PORT}
    server-count: 1
    username: ""
    chroot: ""
    zonesdir: "${dir}"
    database: ""
    zonelistfile: "${dir}/nsd-zone.list"
    xfrdfile: "${dir}/nsd-xfrd.state"
    xfrdir: "${dir}"
    pidfile: "${dir}/nsd.pid"
    logfile: "${dir}/nsd.log"
    verbosity: 0
    hide-version: yes
remote-control:
    control-enable: no
zone:
    name: "cluster.local"
    zonefile: "cluster.local.zone"
`);

function waitFor(child: ChildProcess, check: () => boolean, what: string): Promise<void> {
  return new Promise((resolve, reject) => {
    const t0 = Date.now();
    const tick = () => {
      if (check()) return resolve();
      if (child.exitCode !== null) return reject(new Error(`${what} exited with ${child.exitCode}`));
      if (Date.now() - t0 > 30_000) return reject(new Error(`${what} did not start`));
      setTimeout(tick, 100);
    };
    tick();
  });
}

const answers = (port: number) => {
  try {
    return execFileSync('dig', ['@127.0.0.1', '-p', String(port), '+short', '+time=1', '+tries=1', names[0][0]], { encoding: 'utf8' }).trim() === names[0][1];
  } catch {
    return false;
  }
};

// `kdp up` itself, as a user runs it: the model, the data plane, the Ingress and the pods' listeners share
// its event loop with the DNS server.
const kdp = spawn('taskset', ['-c', '1', process.execPath, 'bin/kdp.js', 'up', '-f', join(dir, 'topology.yaml'), '--dns-port', String(KDP_PORT)], { stdio: ['ignore', 'ignore', 'inherit'] });
const nsd = spawn('taskset', ['-c', '1', 'nsd', '-d', '-c', join(dir, 'nsd.conf')], { stdio: ['ignore', 'ignore', 'inherit'] });
const stop = () => {
  kdp.kill('SIGTERM');
  nsd.kill('SIGTERM');
};
process.on('exit', () => {
  stop();
  rmSync(dir, { recursive: true, force: true });
});

/**
 * CPU time (utime + stime, every thread) in seconds of a process and its descendants (nsd serves from a
 * forked child), from /proc in clock ticks of 1/100 s (Linux's USER_HZ). taskset execs the server, so the
 * spawned child's pid is the server's.
 */
const cpuSeconds = (pid: number): number => {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    let total = (Number(fields[11]) + Number(fields[12])) / 100;
    for (const task of readdirSync(`/proc/${pid}/task`)) {
      for (const child of readFileSync(`/proc/${pid}/task/${task}/children`, 'utf8').split(' ').filter(Boolean)) total += cpuSeconds(Number(child));
    }
    return total;
  } catch {
    return 0; // gone between the listing and the read
  }
};

interface Run { server: string; qps: number; lostPct: number; latencyMs: number; cpuUsPerQuery: number }
const runs: Run[] = [];
try {
  await waitFor(kdp, () => answers(KDP_PORT), 'kdp');
  await waitFor(nsd, () => answers(NSD_PORT), 'nsd');
  for (let r = 1; r <= ROUNDS; r++) {
    for (const [server, port, child] of [['kdp', KDP_PORT, kdp], ['nsd', NSD_PORT, nsd]] as const) {
      const cpu0 = cpuSeconds(child.pid!);
      const out = execFileSync('taskset', ['-c', '0', 'dnsperf', '-s', '127.0.0.1', '-p', String(port), '-d', join(dir, 'queries.txt'), '-l', String(SECONDS), '-c', '4', '-q', '200', '-Q', '400000'], { encoding: 'utf8' });
      const qps = Number(/Queries per second:\s+([\d.]+)/.exec(out)?.[1]);
      const lostPct = Number(/Queries lost:\s+\d+ \(([\d.]+)%\)/.exec(out)?.[1]);
      const latencyMs = Number(/Average Latency \(s\):\s+([\d.]+)/.exec(out)?.[1]) * 1000;
      const noerror = /NOERROR (\d+)/.exec(out)?.[1];
      const completed = Number(/Queries completed:\s+(\d+)/.exec(out)?.[1]);
      const cpuUsPerQuery = ((cpuSeconds(child.pid!) - cpu0) * 1e6) / completed;
      runs.push({ server, qps, lostPct, latencyMs, cpuUsPerQuery });
      console.log(`round ${r} ${server.padEnd(4)} ${qps.toFixed(0).padStart(7)} QPS  lost ${lostPct.toFixed(2)}%  avg ${latencyMs.toFixed(3)} ms  ` +
        `server CPU ${cpuUsPerQuery.toFixed(1)} µs/query  NOERROR ${noerror}`);
      await new Promise((res) => setTimeout(res, 1000));
    }
  }
} finally {
  stop();
}

const median = (xs: number[]) => {
  const s = [...xs].sort((a, b) => a - b);
  return s.length % 2 ? s[(s.length - 1) / 2] : (s[s.length / 2 - 1] + s[s.length / 2]) / 2;
};
const of = (s: string) => runs.filter((r) => r.server === s);
const k = median(of('kdp').map((r) => r.qps));
const n = median(of('nsd').map((r) => r.qps));
console.log(`\nmedian kdp ${k.toFixed(0)} QPS [${Math.min(...of('kdp').map((r) => r.qps)).toFixed(0)}-${Math.max(...of('kdp').map((r) => r.qps)).toFixed(0)}], ` +
  `nsd ${n.toFixed(0)} QPS [${Math.min(...of('nsd').map((r) => r.qps)).toFixed(0)}-${Math.max(...of('nsd').map((r) => r.qps)).toFixed(0)}]; ` +
  `ratio ${(k / n).toFixed(2)} (target >= 0.60); kdp lost ${Math.max(...of('kdp').map((r) => r.lostPct)).toFixed(2)}% max; ` +
  `server CPU per query: kdp ${median(of('kdp').map((r) => r.cpuUsPerQuery)).toFixed(1)} µs, nsd ${median(of('nsd').map((r) => r.cpuUsPerQuery)).toFixed(1)} µs`);
