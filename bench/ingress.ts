// Ingress throughput: wrk (keep-alive, 50 connections) against a 13-byte answer, directly, through kdp's Ingress
// controller, and through nginx as a reverse proxy to the same listener — with one worker process (what the
// target is set against) and with `worker_processes auto` (a worker per CPU, as kdp's Ingress workers) —
// alternated round by round in one run (the method of /work/shared/reference/perf-baselines.md section 2).
// Needs wrk and nginx (Debian packages). A proxy's CPU is its process's and its children's (kdp's Ingress
// workers, nginx's workers).
// The controller measured is `kdp up` itself, the product path: a one-pod Service whose port is the backend
// (kdp.dev/upstream), dialled through the data plane, one access-log line per request (to a file, as a user's
// `kdp up > log` writes it).
//   npm run bench:ingress [-- --rounds 3 --duration 10 --pin --kdp DIR --node-options '--cpu-prof']
// --pin: wrk on CPU 0, backend and proxy share CPU 1 (server-side budget of one core); default: unpinned.
// --kdp: the kdp checkout whose `kdp up` to measure (default: this one), e.g. a worktree of an older commit
// to A/B against, alternated in the same run as a fourth contender.
// --workers 0,2: a `kdp up --ingress-workers N` for each N, each a contender (default: one kdp up, its default).
// --http-proxy: adds a bare http-proxy server (keep-alive Agent, nothing else) to the same listener: the floor
// of a Node proxy built on it, to tell kdp's own cost from the library's and Node's.
// --node-options: flags for kdp up's node ('--cpu-prof --cpu-prof-dir=/tmp/prof': its profile, written as the
// bench stops it).
import { spawn, execFileSync, type ChildProcess } from 'node:child_process';
import { mkdirSync, mkdtempSync, openSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { createRequire } from 'node:module';
import { join } from 'node:path';

const arg = (name: string, dflt: string) => {
  const i = process.argv.indexOf(`--${name}`);
  return i > 0 ? process.argv[i + 1] : dflt;
};
const ROUNDS = Number(arg('rounds', '3'));
const DURATION = Number(arg('duration', '10'));
const PIN = process.argv.includes('--pin');
const OTHER = arg('kdp', '');
/** --workers 0,2: one `kdp up` per --ingress-workers value, each a contender; default: kdp up's own default. */
const WORKERS = arg('workers', '').split(',').filter(Boolean).map(Number);
const NODE_OPTIONS = arg('node-options', '').split(' ').filter(Boolean);
const BARE = process.argv.includes('--http-proxy');
const taskset = (cpu: number, cmd: string[]) => (PIN ? ['taskset', '-c', String(cpu), ...cmd] : cmd);

for (const tool of ['wrk', 'nginx']) {
  try {
    execFileSync('sh', ['-c', `command -v ${tool}`]);
  } catch {
    console.error(`bench:ingress needs ${tool}: apt-get install -y wrk nginx`);
    process.exit(1);
  }
}

const children: ChildProcess[] = [];
const dir = mkdtempSync(join(tmpdir(), 'kdp-bench-ingress-'));
function cleanup() {
  // SIGINT: kdp up stops cleanly on it (and writes a --cpu-prof profile).
  for (const c of children) if (c.exitCode === null) c.kill('SIGINT');
  rmSync(dir, { recursive: true, force: true });
}
process.on('exit', cleanup);
process.on('SIGINT', () => process.exit(130));

function start(cmd: string[], ready: RegExp): Promise<{ proc: ChildProcess; match: RegExpMatchArray }> {
  const proc = spawn(cmd[0], cmd.slice(1), { stdio: ['ignore', 'pipe', 'inherit'] });
  children.push(proc);
  return new Promise((resolve, reject) => {
    let out = '';
    proc.stdout!.on('data', (d: Buffer) => {
      out += d.toString();
      const m = ready.exec(out);
      if (m) resolve({ proc, match: m });
    });
    proc.once('exit', (code) => reject(new Error(`${cmd.join(' ')} exited with ${code} before it was ready: ${out}`)));
  });
}

const BACKEND = `
const http = require('node:http');
const body = Buffer.from('Hello, World!');
const srv = http.createServer((req, res) => { res.writeHead(200, { 'Content-Type': 'text/plain', 'Content-Length': body.length }); res.end(body); });
srv.keepAliveTimeout = 75000;
srv.listen(0, '127.0.0.1', () => console.log('READY ' + srv.address().port));
`;

const HTTP_PROXY = `
const http = require('node:http');
const httpProxy = require(process.argv[2]);
const agent = new http.Agent({ keepAlive: true, maxSockets: Infinity, maxFreeSockets: 256, scheduling: 'lifo' });
const proxy = httpProxy.createProxyServer({ agent, target: 'http://127.0.0.1:' + process.argv[1] });
proxy.on('error', () => {});
const srv = http.createServer({ keepAliveTimeout: 75000 }, (req, res) => proxy.web(req, res));
srv.listen(0, '127.0.0.1', () => console.log('READY ' + srv.address().port));
`;

/** CPU seconds a process has used (utime + stime from /proc/PID/stat). */
function ownCpuSeconds(pid: number): number {
  const f = readFileSync(`/proc/${pid}/stat`, 'utf8');
  const fields = f.slice(f.lastIndexOf(')') + 2).split(' ');
  return (Number(fields[11]) + Number(fields[12])) / 100;
}

/** A process's CPU seconds with its children's (kdp up's Ingress worker processes). */
function cpuSeconds(pid: number): number {
  let children: number[] = [];
  try {
    children = execFileSync('pgrep', ['-P', String(pid)], { encoding: 'utf8' }).trim().split('\n').filter(Boolean).map(Number);
  } catch {
    // pgrep exits 1 when there are none.
  }
  return children.reduce((sum, c) => sum + ownCpuSeconds(c), ownCpuSeconds(pid));
}

interface Sample {
  rps: number;
  p50: number;
  p99: number;
  backendCpu: number;
  proxyCpu?: number;
  non2xx: number;
}

function wrk(port: number, host: string | undefined, pids: { backend: number; proxy?: number }): Sample {
  const b0 = cpuSeconds(pids.backend);
  const p0 = pids.proxy ? cpuSeconds(pids.proxy) : 0;
  const cmd = taskset(0, ['wrk', '-t1', '-c50', `-d${DURATION}s`, '--latency', ...(host ? ['-H', `Host: ${host}`] : []), `http://127.0.0.1:${port}/`]);
  const out = execFileSync(cmd[0], cmd.slice(1), { encoding: 'utf8' });
  const b1 = cpuSeconds(pids.backend);
  const p1 = pids.proxy ? cpuSeconds(pids.proxy) : 0;
  const ms = (re: RegExp) => {
    const m = re.exec(out);
    if (!m) return NaN;
    return Number(m[1]) * (m[2] === 'us' ? 0.001 : m[2] === 's' ? 1000 : 1);
  };
  const rps = Number(/Requests\/sec:\s+([\d.]+)/.exec(out)?.[1]);
  const non2xx = Number(/Non-2xx or 3xx responses: (\d+)/.exec(out)?.[1] ?? 0);
  return {
    rps,
    p50: ms(/50%\s+([\d.]+)(us|ms|s)/),
    p99: ms(/99%\s+([\d.]+)(us|ms|s)/),
    backendCpu: (b1 - b0) / DURATION,
    proxyCpu: pids.proxy ? (p1 - p0) / DURATION : undefined,
    non2xx,
  };
}

const median = (xs: number[]) => {
  const s = [...xs].sort((a, b) => a - b);
  return s.length % 2 ? s[(s.length - 1) / 2] : (s[s.length / 2 - 1] + s[s.length / 2]) / 2;
};

const backend = await start(taskset(1, ['node', '-e', BACKEND]), /READY (\d+)/);
const backendPort = Number(backend.match[1]);
writeFileSync(join(dir, 'topology.yaml'), `
apiVersion: kdp.dev/v1alpha1
kind: Cluster
metadata: {name: bench}
spec: {nodes: [{name: node1, ip: 192.168.1.11}]}
---
apiVersion: v1
kind: Pod
metadata: {name: hello, labels: {app: hello}, annotations: {kdp.dev/upstream.8080: "http://127.0.0.1:${backendPort}"}}
spec: {nodeName: node1, containers: [{name: c, image: registry.k8s.io/e2e-test-images/agnhost:2.52, ports: [{containerPort: 8080}]}]}
---
apiVersion: v1
kind: Service
metadata: {name: hello}
spec: {selector: {app: hello}, ports: [{port: 80, targetPort: 8080}]}
---
apiVersion: networking.k8s.io/v1
kind: Ingress
metadata: {name: hello}
spec:
  rules:
    - host: bench.example
      http: {paths: [{path: /, pathType: Prefix, backend: {service: {name: hello, port: {number: 80}}}}]}
`);
/** `kdp up` of a checkout, its stdout (the banner, then the access log) to a file read back for its port. */
async function kdpUp(checkout: string, name: string, workers?: number): Promise<{ pid: number; port: number }> {
  const log = join(dir, `${name}.log`);
  const cmd = taskset(1, ['node', ...NODE_OPTIONS, join(checkout, 'bin', 'kdp.js'), 'up', '-f', join(dir, 'topology.yaml'), ...(workers === undefined ? [] : ['--ingress-workers', String(workers)])]);
  const proc = spawn(cmd[0], cmd.slice(1), { stdio: ['ignore', openSync(log, 'w'), 'inherit'], cwd: checkout });
  children.push(proc);
  const port = await new Promise<number>((resolve, reject) => {
    const poll = setInterval(() => {
      const out = readFileSync(log, 'utf8');
      const m = /^Ingress controller on http:\/\/127\.0\.0\.1:(\d+) /m.exec(out);
      if (m && out.includes('Press Ctrl-C to stop.')) {
        clearInterval(poll);
        resolve(Number(m[1]));
      }
    }, 100);
    proc.once('exit', (code) => {
      clearInterval(poll);
      reject(new Error(`${cmd.join(' ')} exited with ${code} before it was ready: ${readFileSync(log, 'utf8')}`));
    });
  });
  return { pid: proc.pid!, port };
}
const kdps = WORKERS.length
  ? await Promise.all(WORKERS.map(async (n) => ({ name: `kdp ingress (${n} workers)`, ...(await kdpUp(join(import.meta.dirname, '..'), `kdp-${n}`, n)) })))
  : [{ name: 'kdp ingress', ...(await kdpUp(join(import.meta.dirname, '..'), 'kdp')) }];
const other = OTHER ? await kdpUp(OTHER, 'other') : undefined;

/** nginx as the reverse proxy, its master's pid (its CPU counted with its workers'). */
async function startNginx(name: string, workers: string, port: number): Promise<number> {
  const d = join(dir, name);
  mkdirSync(d);
  writeFileSync(join(d, 'nginx.conf'), `
worker_processes ${workers};
daemon off;
pid ${d}/nginx.pid;
error_log ${d}/error.log;
events { worker_connections 1024; }
http {
  access_log off;
  client_body_temp_path ${d}/body;
  proxy_temp_path ${d}/proxy;
  fastcgi_temp_path ${d}/fastcgi;
  uwsgi_temp_path ${d}/uwsgi;
  scgi_temp_path ${d}/scgi;
  upstream backend { server 127.0.0.1:${backendPort}; keepalive 64; }
  server {
    listen 127.0.0.1:${port};
    location / { proxy_pass http://backend; proxy_http_version 1.1; proxy_set_header Connection ""; }
  }
}
`);
  const cmd = taskset(1, ['nginx', '-c', join(d, 'nginx.conf'), '-p', d]);
  const nginx = spawn(cmd[0], cmd.slice(1), { stdio: 'inherit' });
  children.push(nginx);
  await new Promise((r) => setTimeout(r, 500));
  return nginx.pid!;
}
const nginxPort = 20000 + (process.pid % 20000);
const nginx = await startNginx('nginx', '1', nginxPort);
// What Debian's nginx.conf says and ingress-nginx does: a worker per CPU, the fair match for kdp's workers.
const nginxAuto = await startNginx('nginx-auto', 'auto', nginxPort + 1);

const bare = BARE ? await start(taskset(1, ['node', '-e', HTTP_PROXY, String(backendPort), createRequire(import.meta.url).resolve('http-proxy')]), /READY (\d+)/) : undefined;

const contenders = [
  { name: 'direct', port: backendPort, host: undefined, proxy: undefined },
  ...kdps.map((k) => ({ name: k.name, port: k.port, host: 'bench.example', proxy: k.pid })),
  ...(other ? [{ name: `kdp ingress (${OTHER})`, port: other.port, host: 'bench.example', proxy: other.pid }] : []),
  { name: 'nginx', port: nginxPort, host: undefined, proxy: nginx },
  { name: 'nginx (worker_processes auto)', port: nginxPort + 1, host: undefined, proxy: nginxAuto },
  ...(bare ? [{ name: 'bare http-proxy', port: Number(bare.match[1]), host: undefined, proxy: bare.proc.pid }] : []),
];
// Warm up (JIT, keep-alive pools), then alternate, rotating the order each round.
for (const c of contenders) execFileSync('wrk', ['-t1', '-c50', '-d2s', ...(c.host ? ['-H', `Host: ${c.host}`] : []), `http://127.0.0.1:${c.port}/`]);
const samples = new Map<string, Sample[]>(contenders.map((c) => [c.name, []]));
for (let r = 0; r < ROUNDS; r++) {
  for (let i = 0; i < contenders.length; i++) {
    const c = contenders[(i + r) % contenders.length];
    const s = wrk(c.port, c.host, { backend: backend.proc.pid!, proxy: c.proxy });
    samples.get(c.name)!.push(s);
    console.error(`round ${r + 1} ${c.name}: ${s.rps.toFixed(0)} req/s`);
  }
}

const nginxRps = median(samples.get('nginx')!.map((s) => s.rps));
const nginxAutoRps = median(samples.get('nginx (worker_processes auto)')!.map((s) => s.rps));
const directRps = median(samples.get('direct')!.map((s) => s.rps));
console.log(`\n${new Date().toISOString()} rounds ${ROUNDS} x ${DURATION}s, ${PIN ? 'pinned: wrk CPU0, backend+proxy CPU1' : 'unpinned'}; load average after: ${readFileSync('/proc/loadavg', 'utf8').split(' ').slice(0, 3).join(' ')}\n`);
console.log('| contender | req/s median [min–max] | vs direct | vs nginx | vs nginx auto | p50 ms | p99 ms | backend CPU % | proxy CPU % | proxy CPU µs/req | non-2xx |');
console.log('|---|---|---|---|---|---|---|---|---|---|---|');
for (const [name, ss] of samples) {
  const rps = ss.map((s) => s.rps);
  const m = median(rps);
  const proxyCpu = ss[0].proxyCpu === undefined ? undefined : median(ss.map((s) => s.proxyCpu!));
  console.log(`| ${name} | ${m.toFixed(0)} [${Math.min(...rps).toFixed(0)}–${Math.max(...rps).toFixed(0)}] | ${(m / directRps).toFixed(3)} | ${(m / nginxRps).toFixed(3)} | ${(m / nginxAutoRps).toFixed(3)} | ${median(ss.map((s) => s.p50)).toFixed(2)} | ${median(ss.map((s) => s.p99)).toFixed(2)} | ${(median(ss.map((s) => s.backendCpu)) * 100).toFixed(0)} | ${proxyCpu === undefined ? '-' : (proxyCpu * 100).toFixed(0)} | ${proxyCpu === undefined ? '-' : ((proxyCpu / m) * 1e6).toFixed(0)} | ${ss.reduce((a, s) => a + s.non2xx, 0)} |`);
}
process.exit(0);
