import { describe, expect, it } from 'vitest';
import { ClusterNetwork } from '../../src/kubelet/network.ts';
import { traceFlow, traceFromOutside } from '../../src/netns/forward.ts';
import { renderTrace } from '../../src/netns/trace.ts';
import { cluster, get, NODES3, podDoc } from '../helpers/cluster.ts';

const PODS = NODES3 + podDoc('a', 'node1', [8080]) + podDoc('b', 'node1', [8080, '53/UDP']) + podDoc('c', 'node2', [8080]);

function setup(text = PODS) {
  const c = cluster(text);
  const net = new ClusterNetwork(c);
  const ipOf = (name: string) => get<any>(c, 'Pod', 'default', name).status.podIP as string;
  return { c, net, ipOf, pod: (name: string) => net.pod('default', name)!.netns };
}

const kinds = (t: { hops: { kind: string; netns: string; what: string }[] }) => t.hops.map((h) => `${h.netns} ${h.kind}`);

describe('the packet path', () => {
  it('pod to pod on one node: veth, cni0 bridging with br_netfilter hooks, veth, socket — and back', () => {
    const { net, ipOf, pod } = setup();
    const t = traceFlow(net, pod('a'), { protocol: 'tcp', dst: ipOf('b'), dport: 8080 });
    expect(t.request.verdict).toEqual({ kind: 'delivered', by: `socket ${ipOf('b')}:8080/tcp in p/default/b`, socket: { netns: 'p/default/b', address: ipOf('b'), port: 8080, protocol: 'tcp', peer: { address: ipOf('a'), port: t.request.verdict.socket!.peer!.port } } });
    const whats = t.request.hops.map((h) => h.what);
    expect(whats).toContain('FORWARD (bridged, br_netfilter): mangle, filter: no rules, policy ACCEPT');
    // Bridged between ports: the node never routes it.
    expect(t.request.hops.filter((h) => h.netns === 'node/node1' && h.kind === 'route')).toEqual([]);
    expect(t.reply!.verdict.kind).toBe('delivered');
    // The node's conntrack (br_netfilter) saw both directions; the pods' namespaces load no rules, so they track nothing.
    expect(net.host('node1')!.netfilter.conntrack.list()).toEqual([expect.stringMatching(new RegExp(`^tcp      6 86399 ESTABLISHED src=${ipOf('a')} dst=${ipOf('b')} sport=\\d+ dport=8080 src=${ipOf('b')} dst=${ipOf('a')} .* \\[ASSURED\\] mark=0 use=1$`))]);
    expect(t.reply!.hops.some((h) => h.kind === 'conntrack')).toBe(false);
  });

  it('pod to pod across nodes: routed by node1 onto flannel.1, VXLAN over the underlay, decapsulated on node2', () => {
    const { net, ipOf, pod } = setup();
    const t = traceFlow(net, pod('a'), { protocol: 'tcp', dst: ipOf('c'), dport: 8080 });
    expect(t.request.verdict.kind).toBe('delivered');
    const path = t.request.hops.map((h) => `${h.netns}:${h.kind}`).filter((x, i, all) => x !== all[i - 1]);
    expect(path).toEqual([
      'p/default/a:route', 'p/default/a:hook', 'p/default/a:neigh', 'p/default/a:device',
      'node/node1:device', 'node/node1:bridge', 'node/node1:conntrack', 'node/node1:hook', 'node/node1:route', 'node/node1:hook',
      'node/node1:neigh', 'node/node1:vxlan', 'node/node1:route', 'node/node1:hook', 'node/node1:neigh', 'node/node1:underlay',
      'node/node2:device', 'node/node2:conntrack', 'node/node2:hook', 'node/node2:route', 'node/node2:hook', 'node/node2:vxlan',
      'node/node2:device', 'node/node2:conntrack', 'node/node2:hook', 'node/node2:route', 'node/node2:hook', 'node/node2:neigh',
      'node/node2:device', 'node/node2:bridge', 'node/node2:device',
      'p/default/c:device', 'p/default/c:hook', 'p/default/c:route', 'p/default/c:hook', 'p/default/c:socket',
    ]);
    const encap = t.request.hops.find((h) => h.kind === 'vxlan')!;
    expect(encap.what).toMatch(/^flannel\.1: fdb [0-9a-f:]{17} dst 192\.168\.1\.12: encapsulate in VXLAN VNI 1$/);
    expect(encap.after).toMatch(/^UDP 192\.168\.1\.11:\d+ > 192\.168\.1\.12:8472 \[VXLAN VNI 1\] \{ .* TCP 10\.244\.0\.2:\d+ > 10\.244\.1\.2:8080 SYN ttl 63 len 60 \}$/);
    // node1 forwarded it: TTL 64 -> 63; node2 forwards once more.
    expect(t.request.hops.at(-1)!.what).toBe('tcp 0.0.0.0:8080 LISTEN (c)');
    expect(t.reply!.verdict.kind).toBe('delivered');
  });

  it('host-gw: routed to the peer node\'s address, no encapsulation', () => {
    const { net, ipOf, pod } = setup(PODS.replace('metadata: {name: t}\nspec:', 'metadata: {name: t}\nspec:\n  network: {overlay: host-gw}'));
    const t = traceFlow(net, pod('a'), { protocol: 'tcp', dst: ipOf('c'), dport: 8080 });
    expect(t.request.verdict.kind).toBe('delivered');
    expect(t.request.hops.some((h) => h.kind === 'vxlan')).toBe(false);
    expect(t.request.hops.map((h) => h.what)).toContain(`ip route get ${ipOf('c')} from ${ipOf('a')} iif cni0: 10.244.1.0/24 via 192.168.1.12 dev eth0`);
  });

  it('refuses a port nothing listens on, as the kernel does (TCP RST, ICMP port unreachable)', () => {
    const { net, ipOf, pod } = setup();
    const tcp = traceFlow(net, pod('a'), { protocol: 'tcp', dst: ipOf('c'), dport: 9999 });
    expect(tcp.request.verdict).toEqual({ kind: 'refused', by: `p/default/c: nothing listens on ${ipOf('c')}:9999/tcp`, target: { netns: 'p/default/c', address: ipOf('c'), port: 9999 } });
    expect(tcp.request.hops.at(-1)!.what).toBe(`no tcp socket on ${ipOf('c')}:9999: TCP RST (Connection refused)`);
    expect(tcp.reply).toBeUndefined();
    const udp = traceFlow(net, pod('a'), { protocol: 'udp', dst: ipOf('b'), dport: 53 });
    expect(udp.request.verdict.kind).toBe('delivered');
    const closed = traceFlow(net, pod('a'), { protocol: 'udp', dst: ipOf('b'), dport: 54 });
    expect(closed.request.hops.at(-1)!.what).toMatch(/ICMP port unreachable$/);
  });

  it('answers ICMP echo from the kernel, on pods and nodes', () => {
    const { net, ipOf, pod } = setup();
    const ping = traceFlow(net, pod('a'), { protocol: 'icmp', dst: '192.168.1.13' });
    expect(ping.request.verdict).toMatchObject({ kind: 'delivered', by: 'kernel of node/node3' });
    expect(ping.reply!.verdict).toMatchObject({ kind: 'delivered', by: 'ping socket of p/default/a' });
    const toPod = traceFlow(net, net.host('node3')!, { protocol: 'icmp', dst: ipOf('c') });
    expect(toPod.request.verdict).toMatchObject({ kind: 'delivered', by: 'kernel of p/default/c' });
  });

  it('ends at the router for addresses outside the cluster, and lets outside clients reach only nodes', () => {
    const { net, ipOf, pod } = setup();
    const out = traceFlow(net, pod('a'), { protocol: 'tcp', dst: '8.8.8.8', dport: 443 });
    expect(out.request.verdict).toEqual({ kind: 'unreachable', by: '8.8.8.8 is outside the emulated cluster (sent to the router 192.168.1.1)' });
    const kubelet = traceFromOutside(net, '203.0.113.7', { protocol: 'tcp', dst: '192.168.1.12', dport: 10250 });
    expect(kubelet.request.verdict.kind).toBe('delivered');
    expect(kubelet.reply!.verdict).toEqual({ kind: 'delivered', by: expect.stringMatching(/^the outside client 203\.0\.113\.7:\d+$/) });
    // The payload size applies to outside flows as to any (an MTU question from outside).
    const sized = traceFromOutside(net, '203.0.113.7', { protocol: 'tcp', dst: '192.168.1.12', dport: 10250, size: 1000 });
    expect(sized.request.frames[0].packet.l3.length).toBe(20 + 20 + 1000);
    const podFromOutside = traceFromOutside(net, '203.0.113.7', { protocol: 'tcp', dst: ipOf('c'), dport: 8080 });
    expect(podFromOutside.request.verdict.kind).toBe('unreachable');
  });

  it('drops what the node may not forward, and bridged frames skip iptables with bridge-nf-call-iptables=0', () => {
    const { net, ipOf, pod } = setup();
    net.host('node1')!.sysctls.ipForward = false;
    expect(traceFlow(net, pod('a'), { protocol: 'tcp', dst: ipOf('c'), dport: 8080 }).request.verdict).toEqual({ kind: 'dropped', by: 'node/node1: net.ipv4.ip_forward=0' });
    net.host('node1')!.sysctls.bridgeNfCallIptables = false;
    const same = traceFlow(net, pod('a'), { protocol: 'tcp', dst: ipOf('b'), dport: 8080 });
    expect(same.request.verdict.kind).toBe('delivered');
    expect(same.request.hops.map((h) => h.what)).toContain('bridge-nf-call-iptables=0: the bridged frame skips iptables');
  });

  it('drops a hairpin frame when the port has hairpin off', () => {
    const { net, pod } = setup();
    // A frame addressed back to its own port: the pod sends to its own MAC via the bridge.
    const a = pod('a');
    const veth = net.host('node1')!.device(a.device('eth0')!.peer!.name)!;
    veth.hairpin = false;
    a.addNeighbour({ ip: '10.244.0.77', dev: 'eth0', lladdr: a.device('eth0')!.mac, state: 'PERMANENT' });
    a.addRoute({ dst: { family: 'IPv4', base: BigInt(0x0af4004d), prefix: 32, size: 1n, text: '10.244.0.77/32' }, via: '10.244.0.77', dev: 'eth0' });
    const t = traceFlow(net, a, { protocol: 'tcp', dst: '10.244.0.77', dport: 80 });
    expect(t.request.verdict).toEqual({ kind: 'dropped', by: `cni0: the frame would leave by ${veth.name}, its way in, and hairpin is off on that port` });
    veth.hairpin = true;
    expect(traceFlow(net, a, { protocol: 'tcp', dst: '10.244.0.77', dport: 80 }).request.hops.map((h) => h.what)).toContain('receive on eth0');
  });

  it('renders text a person who knows ip and iptables can read', () => {
    const { net, ipOf, pod } = setup();
    const text = renderTrace(traceFlow(net, pod('a'), { protocol: 'tcp', dst: ipOf('c'), dport: 8080 }));
    expect(text).toMatch(/^request:\n  1\. \[p\/default\/a\] route     ip route get 10\.244\.1\.2: 10\.244\.0\.0\/16 via 10\.244\.0\.1 dev eth0\n/);
    expect(text).toContain('  => DELIVERED: socket 10.244.1.2:8080/tcp in p/default/c\n\nreply:\n');
    expect(kinds(traceFlow(net, pod('a'), { protocol: 'tcp', dst: ipOf('c'), dport: 8080 }).request)).toContain('node/node1 underlay');
  });
});

describe('an underlay of several subnets', () => {
  it('carries VXLAN between nodes on different /24s through the underlay\'s router', () => {
    const c = cluster(`apiVersion: kdp.dev/v1alpha1
kind: Cluster
metadata: {name: t}
spec:
  nodes: [{name: a, ip: 192.168.1.11}, {name: b, ip: 192.168.2.11}]
` + podDoc('x', 'a') + podDoc('y', 'b', [80]));
    const net = new ClusterNetwork(c);
    const y = get<any>(c, 'Pod', 'default', 'y').status.podIP;
    const t = traceFlow(net, net.pod('default', 'x')!.netns, { protocol: 'tcp', dst: y, dport: 80 });
    expect(t.request.verdict.kind).toBe('delivered');
    expect(t.request.hops.map((h) => h.what)).toContain('eth0 -> router 192.168.1.1 -> eth0 of node/b');
    expect(t.reply!.verdict.kind).toBe('delivered');
  });
});
