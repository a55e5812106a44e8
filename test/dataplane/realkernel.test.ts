// Checked against the real kernel (root only; skipped with the reason elsewhere). kube-proxy's restore text for
// a multi-service topology, loaded into a scratch namespace by the real iptables-restore, must read back through
// the real iptables-save exactly as `kdp rules --format iptables-save` prints it (counters and date lines aside).
// Then a real TCP connection to a ClusterIP through those rules must be DNATed to one of the endpoints that
// kdp's enumerated trace lists.
import { afterAll, describe, expect, it } from 'vitest';
import { spawn, spawnSync } from 'node:child_process';
import { join } from 'node:path';
import { loadCluster } from '../../src/cluster/cluster.ts';
import { DataPlane } from '../../src/dataplane/dataplane.ts';
import { traceBranches, traceFlow } from '../../src/netns/forward.ts';
import { renderSave } from '../../src/netns/netfilter/iptables.ts';
import { iptablesRules, KubeProxy, type ProxySync } from '../../src/proxy/kubeproxy.ts';
import type { KubeObject, Pod, Service } from '../../src/cluster/objects.ts';
import { NOW } from '../helpers/cluster.ts';

const has = (cmd: string) => spawnSync('bash', ['-c', `command -v ${cmd}`]).status === 0;
const canRun = process.getuid?.() === 0 && has('ip') && has('iptables-restore') && has('ip6tables-restore') && has('nfacct');
if (!canRun) console.warn('real-kernel data-plane test skipped: needs root, iproute2, iptables-restore, ip6tables-restore and nfacct');

const tag = process.pid % 100000;
const RULES = `kdprules${tag}`;
const CLIENT = `kdpcli${tag}`;

const run = (args: string[], input?: string) => spawnSync(args[0], args.slice(1), { input, encoding: 'utf8' });
const inNs = (ns: string, args: string[], input?: string) => run(['ip', 'netns', 'exec', ns, ...args], input);
const sh = (ns: string, cmd: string) => {
  const r = inNs(ns, ['bash', '-c', cmd]);
  expect(r.stderr, cmd).toBe('');
  expect(r.status, cmd).toBe(0);
};

/** iptables-save without what differs between two loads of the same rules: the date lines and counters. */
const comparable = (text: string) => text.split('\n').filter((l) => !l.startsWith('#')).map((l) => l.replace(/\[\d+:\d+\]$/, '[0:0]')).join('\n');

const topology = () => loadCluster([join(import.meta.dirname, '..', 'proxy', 'topologies', 'multi-service.yaml')], { now: () => NOW });

function freshNamespace(ns: string): void {
  run(['ip', 'netns', 'del', ns]);
  expect(run(['ip', 'netns', 'add', ns]).status).toBe(0);
}

describe.skipIf(!canRun)('the data plane against the real kernel', () => {
  afterAll(() => {
    run(['ip', 'netns', 'del', RULES]);
    run(['ip', 'netns', 'del', CLIENT]);
  });

  it('the real iptables-save of kube-proxy\'s rules equals kdp rules --format iptables-save', () => {
    const c = topology();
    for (const family of ['IPv4', 'IPv6'] as const) {
      freshNamespace(RULES);
      for (const counter of ['ct_state_invalid_dropped_pkts', 'localhost_nps_accepted_pkts']) inNs(RULES, ['nfacct', 'add', counter]);
      const text = iptablesRules(c.store, c.config, 'node1', family).restoreText;
      const r = inNs(RULES, [family === 'IPv4' ? 'iptables-restore' : 'ip6tables-restore'], text);
      expect(r.stderr).toBe('');
      const real = inNs(RULES, [family === 'IPv4' ? 'iptables-save' : 'ip6tables-save']).stdout;
      expect(comparable(renderSave(text, { family }))).toBe(comparable(real));
    }
  });

  it('a real connection to a ClusterIP is DNATed to an endpoint kdp\'s enumerated trace lists', async () => {
    const c = topology();
    const svc = c.store.get<Service & KubeObject>('Service', 'default', 'web')!;
    const clusterIP = svc.spec!.clusterIP!;
    const endpoints = c.store.list<Pod & KubeObject>('Pod', { namespace: 'default' }).filter((p) => p.metadata.labels?.app === 'web').map((p) => p.status!.podIP!);
    const client = c.store.list<Pod & KubeObject>('Pod', { namespace: 'default' }).find((p) => p.metadata.labels?.app !== 'web' && p.status?.podIP);

    // What kdp says: every branch from a pod on node1 to the ClusterIP, with its endpoint.
    const dp = new DataPlane(c);
    const from = client ? dp.network.pod('default', client.metadata.name)!.netns : dp.network.host('node1')!;
    const listed = new Set(traceBranches((o) => traceFlow(dp.network, from, { protocol: 'tcp', dst: clusterIP, dport: 80 }, o)).map((b) => b.trace.request.verdict.socket?.address));
    expect([...listed].sort()).toEqual([...endpoints].sort());

    // The real kernel: node1's rules (and kube-proxy's jumps) in one namespace that holds every endpoint's
    // address and a listener on :8080; a client namespace behind a veth sends to the ClusterIP.
    freshNamespace(RULES);
    freshNamespace(CLIENT);
    for (const counter of ['ct_state_invalid_dropped_pkts', 'localhost_nps_accepted_pkts']) inNs(RULES, ['nfacct', 'add', counter]);
    const syncs: ProxySync[] = [];
    const kp = new KubeProxy(c.store, c.config, 'node1', (_n, s) => syncs.push(s));
    kp.start();
    kp.stop();
    const v4 = syncs.find((s) => s.family === 'IPv4')!;
    for (const j of v4.jumps) {
      inNs(RULES, ['iptables', '-w', '-t', j.table, '-N', j.target]);
      expect(inNs(RULES, ['iptables', '-w', '-t', j.table, '-I', j.chain, '1', ...j.args]).status).toBe(0);
    }
    expect(inNs(RULES, ['iptables-restore', '--noflush', '--counters'], v4.restoreText).stderr).toBe('');
    sh(RULES, `ip link set lo up && ${endpoints.map((e) => `ip addr add ${e}/32 dev lo`).join(' && ')}`);
    expect(run(['ip', 'link', 'add', 'veth-c', 'netns', CLIENT, 'type', 'veth', 'peer', 'name', 'veth-r', 'netns', RULES]).status).toBe(0);
    sh(RULES, 'ip addr add 10.250.0.1/24 dev veth-r && ip link set veth-r up');
    sh(CLIENT, 'ip link set lo up && ip addr add 10.250.0.2/24 dev veth-c && ip link set veth-c up && ip route add default via 10.250.0.1');

    // The listener answers each connection with the address it was accepted on: the endpoint DNAT chose.
    const server = spawn('ip', ['netns', 'exec', RULES, process.execPath, '-e',
      "require('net').createServer((s) => s.end(s.localAddress)).listen(8080, '0.0.0.0', () => console.log('up'))"], { stdio: ['ignore', 'pipe', 'inherit'] });
    try {
      await new Promise<void>((resolve) => server.stdout!.once('data', () => resolve()));
      const seen = new Set<string>();
      for (let i = 0; i < 8; i++) {
        const r = inNs(CLIENT, [process.execPath, '-e',
          `const s = require('net').connect(80, '${clusterIP}'); let d = ''; s.on('data', (b) => (d += b)); s.on('end', () => process.stdout.write(d)); s.setTimeout(3000, () => process.exit(3));`]);
        expect(r.status).toBe(0);
        seen.add(r.stdout);
      }
      for (const endpoint of seen) expect(listed).toContain(endpoint);
    } finally {
      server.kill();
    }
  });
});
