// Checked against the real kernel: kdp's model of a two-node flannel cluster is built from real network
// namespaces, veths, Linux bridges and a vxlan over a veth underlay (inside this machine only), with the very
// names, MACs, addresses, neighbours, FDB entries and routes kdp computed. Then the real kernel's
// `ip route get` must print what kdp's does, and real packets must fare as kdp's traces say.
// Root only: skipped (with the reason) elsewhere. CI runs as root.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { spawn, spawnSync } from 'node:child_process';
import { ClusterNetwork } from '../../src/kubelet/network.ts';
import { traceFlow } from '../../src/netns/forward.ts';
import { ipRouteGet } from '../../src/netns/iproute2.ts';
import type { Netns } from '../../src/netns/netns.ts';
import { cluster, get, NO_COREDNS, podDoc } from '../helpers/cluster.ts';

const canRun = process.getuid?.() === 0 && spawnSync('ip', ['netns', 'list']).status === 0 && spawnSync('/usr/bin/python3', ['--version']).status === 0;
const why = canRun ? '' : 'needs root, iproute2 and /usr/bin/python3 to build real network namespaces';
if (!canRun) console.warn(`real-kernel test skipped: ${why}`);

const PREFIX = `kdpr${process.pid % 10000}`;

function sh(cmd: string): string {
  const r = spawnSync('bash', ['-c', cmd], { encoding: 'utf8' });
  if (r.status !== 0) throw new Error(`${cmd}\n${r.stderr}`);
  return r.stdout;
}

describe.skipIf(!canRun)('against the real kernel', () => {
  const c = cluster(`apiVersion: kdp.dev/v1alpha1
kind: Cluster
metadata: {name: t}
spec:
  nodes: [{name: node1, ip: 192.168.1.11}, {name: node2, ip: 192.168.1.12}]
` + NO_COREDNS + podDoc('a', 'node1') + podDoc('b', 'node1', [8080]) + podDoc('c', 'node2', [8080]));
  const net = new ClusterNetwork(c);
  const real = new Map<Netns, string>();
  const listeners: ReturnType<typeof spawn>[] = [];
  const ip = (pod: string) => get<any>(c, 'Pod', 'default', pod).status.podIP as string;

  /** The commands that make a namespace of kdp's model real. */
  function build(ns: Netns, name: string): void {
    const n = `ip -n ${name}`;
    for (const d of [...ns.devices.values()].sort((x, y) => x.index - y.index)) {
      if (d.kind === 'loopback') sh(`${n} link set lo up`);
      if (d.kind === 'bridge') sh(`${n} link add ${d.name} type bridge && ${n} link set ${d.name} address ${d.mac} mtu ${d.mtu}`);
      if (d.kind === 'vxlan') sh(`${n} link add ${d.name} type vxlan id ${d.vxlan!.vni} local ${d.vxlan!.local} dev ${d.vxlan!.dev} dstport ${d.vxlan!.port} nolearning && ${n} link set ${d.name} address ${d.mac} mtu ${d.mtu}`);
      if (d.kind === 'veth' && d.master) {
        const peer = net.netns(d.peer!.netns)!;
        sh(`${n} link add ${d.name} type veth peer name ${d.peer!.name} netns ${real.get(peer)} && ${n} link set ${d.name} address ${d.mac} mtu ${d.mtu} master ${d.master}`);
        const pd = peer.device(d.peer!.name)!;
        sh(`ip -n ${real.get(peer)} link set ${pd.name} address ${pd.mac} mtu ${pd.mtu}`);
      }
    }
    for (const a of ns.addresses) if (a.family === 'IPv4' && a.dev !== 'lo') sh(`${n} addr add ${a.ip}/${a.prefix}${a.broadcast ? ' brd +' : ''} dev ${a.dev}`);
    for (const d of ns.devices.values()) if (d.kind !== 'loopback') sh(`${n} link set ${d.name} up`);
    for (const r of ns.routes) {
      if (r.table !== 'main' || r.proto === 'kernel' || (r.dst && r.dst.family !== 'IPv4')) continue;
      sh(`${n} route add ${r.dst?.text ?? 'default'}${r.via ? ` via ${r.via}` : ''} dev ${r.dev}${r.onlink ? ' onlink' : ''}`);
    }
    for (const nb of ns.neighbours) sh(`${n} neigh add ${nb.ip} dev ${nb.dev} lladdr ${nb.lladdr} nud permanent`);
    for (const e of ns.fdb) if (e.self && e.dst) sh(`ip netns exec ${name} bridge fdb append ${e.mac} dev ${e.dev} dst ${e.dst} self permanent`);
    if (ns.sysctls.ipForward) sh(`ip netns exec ${name} sysctl -qw net.ipv4.ip_forward=1`);
  }

  beforeAll(() => {
    // The underlay: each node's eth0 is a veth into one bridge, in a namespace of its own.
    sh(`ip netns add ${PREFIX}-sw && ip -n ${PREFIX}-sw link add br0 type bridge && ip -n ${PREFIX}-sw link set br0 up`);
    for (const [node, host] of net.hosts) {
      const name = `${PREFIX}-${node}`;
      real.set(host, name);
      sh(`ip netns add ${name}`);
      const eth0 = host.device('eth0')!;
      sh(`ip -n ${PREFIX}-sw link add u-${node} type veth peer name eth0 netns ${name} && ip -n ${PREFIX}-sw link set u-${node} master br0 up && ip -n ${name} link set eth0 address ${eth0.mac} mtu ${eth0.mtu}`);
    }
    for (const s of net.sandboxes.values()) {
      const name = `${PREFIX}-${s.pod.split('/')[1]}`;
      real.set(s.netns, name);
      sh(`ip netns add ${name}`);
    }
    for (const host of net.hosts.values()) build(host, real.get(host)!);
    for (const s of net.sandboxes.values()) build(s.netns, real.get(s.netns)!);
    // Real listeners where kdp's model has them: pods b and c on 8080.
    for (const pod of ['b', 'c']) {
      const p = spawn('ip', ['netns', 'exec', `${PREFIX}-${pod}`, '/usr/bin/python3', '-c',
        'import socket,sys\ns=socket.socket()\ns.setsockopt(socket.SOL_SOCKET,socket.SO_REUSEADDR,1)\ns.bind(("0.0.0.0",8080))\ns.listen()\nprint("ready",flush=True)\nwhile True:\n  c,_=s.accept(); c.close()'], { stdio: ['ignore', 'pipe', 'inherit'] });
      listeners.push(p);
    }
    return Promise.all(listeners.map((p) => new Promise<void>((resolve) => p.stdout!.once('data', () => resolve()))));
  }, 30_000);

  afterAll(() => {
    for (const p of listeners) p.kill('SIGKILL');
    for (const name of [...real.values(), `${PREFIX}-sw`]) spawnSync('ip', ['netns', 'del', name]);
  });

  it('picks the same routes: `ip route get` prints what kdp prints, in pods and on nodes', () => {
    const cases: [Netns, string][] = [
      [net.pod('default', 'a')!.netns, ip('c')],
      [net.pod('default', 'a')!.netns, ip('b')],
      [net.pod('default', 'c')!.netns, '192.168.1.11'],
      [net.host('node1')!, ip('c')],
      [net.host('node1')!, ip('a')],
      [net.host('node2')!, '192.168.1.11'],
      [net.host('node2')!, '8.8.8.8'],
    ];
    for (const [ns, dst] of cases) {
      expect(`${real.get(ns)} ${dst}: ${sh(`ip -n ${real.get(ns)} route get ${dst}`)}`).toBe(`${real.get(ns)} ${dst}: ${ipRouteGet(ns, dst)}`);
    }
  });

  it('gives real packets the outcome kdp traces: ping across nodes, TCP delivered or refused', () => {
    const a = net.pod('default', 'a')!.netns;
    const connect = (dst: string, port: number) => spawnSync('ip', ['netns', 'exec', real.get(a)!, '/usr/bin/python3', '-c',
      `import socket\ntry:\n  socket.create_connection(("${dst}",${port}),timeout=3).close(); print("delivered")\nexcept ConnectionRefusedError: print("refused")\nexcept OSError as e: print("error", e)`], { encoding: 'utf8' }).stdout.trim();
    for (const [dst, port] of [[ip('c'), 8080], [ip('b'), 8080], [ip('c'), 9999]] as const) {
      expect(`${dst}:${port} ${connect(dst, port)}`).toBe(`${dst}:${port} ${traceFlow(net, a, { protocol: 'tcp', dst, dport: port }).request.verdict.kind}`);
    }
    if (spawnSync('bash', ['-c', 'command -v ping']).status === 0) {
      const ping = spawnSync('ip', ['netns', 'exec', real.get(a)!, 'ping', '-c', '1', '-W', '2', ip('c')]);
      expect(ping.status === 0 ? 'delivered' : 'lost').toBe(traceFlow(net, a, { protocol: 'icmp', dst: ip('c') }).reply!.verdict.kind);
    }
  });
});
