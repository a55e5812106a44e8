// Benchmark (not a test): the netfilter engine on a kube-proxy-shaped ruleset of N ClusterIP services x E
// endpoints (the layout of perf-baselines.md's gen-iptables.js: sha256/base32 chain names, a KUBE-SVC chain
// with statistic jumps and KUBE-SEP chains with DNAT per service) — loading it with restore(), and the median
// time of one connection's decision (conntrack + PREROUTING, FORWARD, POSTROUTING through every table), indexed
// and linear. With --real (root), the real iptables-restore of the same text in a scratch namespace, for the ratio.
//   npm run bench:netfilter [-- --services 10000 --endpoints 10 --samples 20000 --real]
import { createHash } from 'node:crypto';
import { spawnSync } from 'node:child_process';
import { evaluation } from '../src/netns/netfilter/evaluate.ts';
import { Netfilter } from '../src/netns/netfilter/netfilter.ts';
import { seeded } from '../src/netns/netfilter/random.ts';

const arg = (name: string, def: number) => {
  const i = process.argv.indexOf(`--${name}`);
  return i > 0 ? Number(process.argv[i + 1]) : def;
};
const N = arg('services', 10000);
const E = arg('endpoints', 10);
const SAMPLES = arg('samples', 20000);
const REAL = process.argv.includes('--real');

const B32 = 'ABCDEFGHIJKLMNOPQRSTUVWXYZ234567';
function hash16(s: string): string {
  const h = createHash('sha256').update(s).digest();
  let bits = 0;
  let acc = 0;
  let out = '';
  for (const byte of h) {
    acc = (acc << 8) | byte;
    bits += 8;
    while (bits >= 5 && out.length < 16) {
      out += B32[(acc >>> (bits - 5)) & 31];
      bits -= 5;
    }
    if (out.length === 16) break;
  }
  return out;
}

const clusterIP = (s: number) => `10.96.${(s >> 8) & 255}.${s & 255}`;
const endpoint = (s: number, e: number) => `10.${244 + ((s * E + e) >> 16)}.${((s * E + e) >> 8) & 255}.${(s * E + e) & 255}`;

function generate(): string {
  const chains: string[] = [':KUBE-SERVICES - [0:0]', ':KUBE-NODEPORTS - [0:0]', ':KUBE-POSTROUTING - [0:0]', ':KUBE-MARK-MASQ - [0:0]'];
  const rules: string[] = [
    '-A PREROUTING -m comment --comment "kubernetes service portals" -j KUBE-SERVICES',
    '-A OUTPUT -m comment --comment "kubernetes service portals" -j KUBE-SERVICES',
    '-A POSTROUTING -m comment --comment "kubernetes postrouting rules" -j KUBE-POSTROUTING',
    '-A KUBE-POSTROUTING -m mark ! --mark 0x4000/0x4000 -j RETURN',
    '-A KUBE-POSTROUTING -j MARK --xor-mark 0x4000',
    '-A KUBE-POSTROUTING -m comment --comment "kubernetes service traffic requiring SNAT" -j MASQUERADE --random-fully',
    '-A KUBE-MARK-MASQ -j MARK --or-mark 0x4000',
  ];
  const svcRules: string[] = [];
  for (let s = 0; s < N; s++) {
    const name = `ns${s % 100}/svc${s}:http`;
    const svc = `KUBE-SVC-${hash16(`${name}tcp`)}`;
    chains.push(`:${svc} - [0:0]`);
    svcRules.push(`-A KUBE-SERVICES -m comment --comment "${name} cluster IP" -m tcp -p tcp -d ${clusterIP(s)} --dport 80 -j ${svc}`);
    rules.push(`-A ${svc} -m comment --comment "${name} cluster IP" -m tcp -p tcp -d ${clusterIP(s)} --dport 80 ! -s 10.244.0.0/15 -j KUBE-MARK-MASQ`);
    for (let e = 0; e < E; e++) {
      const ep = `${endpoint(s, e)}:8080`;
      const sep = `KUBE-SEP-${hash16(`${name}tcp${ep}`)}`;
      chains.push(`:${sep} - [0:0]`);
      const prob = e < E - 1 ? ` -m statistic --mode random --probability ${(1 / (E - e)).toFixed(10)}` : '';
      rules.push(`-A ${svc} -m comment --comment "${name} -> ${ep}"${prob} -j ${sep}`);
      rules.push(`-A ${sep} -m comment --comment ${name} -s ${endpoint(s, e)} -j KUBE-MARK-MASQ`);
      rules.push(`-A ${sep} -m comment --comment ${name} -m tcp -p tcp -j DNAT --to-destination ${ep}`);
    }
  }
  svcRules.push('-A KUBE-SERVICES -m comment --comment "kubernetes service nodeports; NOTE: this must be the last rule in this chain" -m addrtype --dst-type LOCAL -j KUBE-NODEPORTS');
  const filter = ['*filter', ':KUBE-FORWARD - [0:0]', '-A FORWARD -m comment --comment "kubernetes forwarding rules" -j KUBE-FORWARD',
    '-A KUBE-FORWARD -m conntrack --ctstate INVALID -j DROP', '-A KUBE-FORWARD -m comment --comment "kubernetes forwarding rules" -m mark --mark 0x4000/0x4000 -j ACCEPT',
    '-A KUBE-FORWARD -m comment --comment "kubernetes forwarding conntrack rule" -m conntrack --ctstate RELATED,ESTABLISHED -j ACCEPT', 'COMMIT'];
  return [...filter, '*nat', ':PREROUTING ACCEPT [0:0]', ':INPUT ACCEPT [0:0]', ':OUTPUT ACCEPT [0:0]', ':POSTROUTING ACCEPT [0:0]', ...chains, ...rules, ...svcRules, 'COMMIT', ''].join('\n');
}

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];
const p99 = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length * 0.99)];

const tg = performance.now();
const text = generate();
const genMs = performance.now() - tg;

const nf = new Netfilter({ addrType: (_f, ip) => (ip === '192.168.1.11' ? 'LOCAL' : 'UNICAST'), primaryAddress: () => '10.244.0.1' });
const tr = performance.now();
nf.iptables.restore(text);
const restoreMs = performance.now() - tr;
const rules = [...nf.iptables.tables.get('nat')!.chains.values()].reduce((n, c) => n + c.rules.length, 0);

/** One connection's first packet on a node: conntrack, then the three hooks a forwarded packet crosses. */
function decide(i: number, random: ReturnType<typeof seeded>): string {
  const s = (i * 7919) % N;
  const pkt = { src: '10.244.0.5', dst: clusterIP(s), protocol: 'tcp', sport: 1024 + (i % 60000), dport: 80, flags: 'SYN', length: 60, ttl: 64 };
  const ct = nf.track(pkt);
  const pre = nf.hook('PREROUTING', pkt, ct, { in: 'cni0', mark: 0, random });
  const io = { in: 'cni0', out: 'flannel.1', mark: 0, random };
  const fwd = nf.hook('FORWARD', pre.packet, ct, io);
  const post = nf.hook('POSTROUTING', fwd.packet, ct, io);
  return post.packet.dst;
}

function measure(indexed: boolean, samples: number): number[] {
  evaluation.indexed = indexed;
  // Every sample is a new connection: no flow of an earlier run may answer for it.
  nf.conntrack.delete(() => true);
  const random = seeded(1);
  const out: number[] = [];
  for (let i = 0; i < samples; i++) {
    const t = performance.now();
    const to = decide(i, random);
    out.push((performance.now() - t) * 1000);
    if (!to.startsWith('10.24')) throw new Error(`connection ${i} was not DNATed to an endpoint: ${to}`);
  }
  return out;
}

measure(true, 2000); // warm-up (and the index is built on first use)
const indexed = measure(true, SAMPLES);
const linear = measure(false, Math.min(200, SAMPLES));
evaluation.indexed = true;

console.log(`ruleset: ${N} services x ${E} endpoints: ${rules} nat rules, ${(text.length / 1e6).toFixed(1)} MB of restore text (generated in ${genMs.toFixed(0)} ms)`);
console.log(`restore() of the whole text: ${restoreMs.toFixed(0)} ms`);
console.log(`one connection's decision (conntrack + PREROUTING + FORWARD + POSTROUTING), indexed: median ${median(indexed).toFixed(1)} µs, p99 ${p99(indexed).toFixed(1)} µs (${SAMPLES} samples)`);
console.log(`the same, linear evaluation: median ${median(linear).toFixed(0)} µs (${linear.length} samples)`);
console.log(`peak RSS ${(process.resourceUsage().maxRSS / 1024).toFixed(0)} MB`);

if (REAL) {
  const ns = `kdpbench${process.pid}`;
  spawnSync('ip', ['netns', 'add', ns]);
  try {
    const t = performance.now();
    const r = spawnSync('ip', ['netns', 'exec', ns, 'iptables-restore'], { input: text, encoding: 'utf8', maxBuffer: 1 << 26 });
    const realMs = performance.now() - t;
    if (r.status !== 0) throw new Error(`iptables-restore failed: ${r.stderr}`);
    console.log(`real iptables-restore (nf_tables) of the same text: ${realMs.toFixed(0)} ms; ours/real = ${(restoreMs / realMs).toFixed(3)}`);
  } finally {
    spawnSync('ip', ['netns', 'del', ns]);
  }
}
