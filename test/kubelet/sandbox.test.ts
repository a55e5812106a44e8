// A pod's namespace is set up when first used: building the network makes none, and the first use makes
// exactly what ADD would have made at once (the bridge plugin's two halves give the same namespace).
import { describe, expect, it } from 'vitest';
import { ClusterNetwork } from '../../src/kubelet/network.ts';
import { linkLocal, macOfLinkLocal, Netns } from '../../src/netns/netns.ts';
import { bridgeAdd } from '../../src/cni/bridge.ts';
import { FLANNEL_CONFLIST, flannelDelegate } from '../../src/cni/flannel.ts';
import { parseCIDR, type Cidr } from '../../src/cluster/net.ts';
import { traceFlow } from '../../src/netns/forward.ts';
import { ipAddr, ipLink, ipRoute } from '../../src/netns/iproute2.ts';
import { cluster, NO_COREDNS, NODES3, podDoc } from '../helpers/cluster.ts';

const PODS = NODES3 + NO_COREDNS + podDoc('a', 'node1', [8080]) + podDoc('b', 'node2', [8080, '53/UDP']) + podDoc('c', 'node2');
const podIP = (net: ClusterNetwork, name: string) => net.pod('default', name)!.result.ips![0].address.split('/')[0];

describe('pod sandboxes set up on first use', () => {
  it('building the network, listing the nodes and looking owners up by MAC make no pod namespace', () => {
    const net = new ClusterNetwork(cluster(PODS));
    expect(net.sandboxes.size).toBe(3);
    const named = net.namedNamespaces();
    expect([...named]).toEqual([...net.sandboxes.values()].map((s) => s.netnsName));
    // The node's view of its veths names each pod's namespace and eth0's ifindex there.
    const b = net.pod('default', 'b')!;
    expect(ipLink(net.host('node2')!, named)).toContain(`@if2: <BROADCAST,MULTICAST,UP,LOWER_UP> mtu 1450 qdisc noqueue master cni0 state UP mode DEFAULT group default qlen 1000\n    link/ether ${b.result.interfaces![1].mac} brd ff:ff:ff:ff:ff:ff link-netns ${b.netnsName}\n`);
    expect([...net.sandboxes.values()].map((s) => s.loadedNetns)).toEqual([undefined, undefined, undefined]);
  });

  it('a trace makes the namespaces it crosses, and only those', () => {
    const net = new ClusterNetwork(cluster(PODS));
    const a = net.pod('default', 'a')!;
    const trace = traceFlow(net, a.netns, { protocol: 'tcp', dst: podIP(net, 'b'), dport: 8080 });
    expect(trace.request.verdict.kind).toBe('delivered');
    expect(trace.reply?.verdict.kind).toBe('delivered');
    expect(net.pod('default', 'b')!.loadedNetns).toBe(net.netns(net.pod('default', 'b')!.netnsName));
    expect(net.pod('default', 'c')!.loadedNetns).toBeUndefined();
    // The same namespace every time it is asked for, known to the fabric by its label.
    expect(a.netns).toBe(a.loadedNetns);
    expect(net.label(a.netns)).toBe('p/default/a');
    expect(net.nodeOf(a.netns)).toBe('node1');
  });

  it('sets up exactly what the bridge plugin sets up at once: ifindexes, MACs, addresses, routes, sockets', () => {
    const net = new ClusterNetwork(cluster(PODS));
    const b = net.pod('default', 'b')!;
    // The same ADD, eagerly, into a fresh sandbox beside a host namespace that already holds the same devices.
    const lease = parseCIDR('10.244.1.0/24', false) as Cidr;
    const conf = flannelDelegate(FLANNEL_CONFLIST, { network: parseCIDR('10.244.0.0/16', false) as Cidr, lease, mtu: 1450, ipMasq: true });
    const eager = new Netns(b.netnsName, {}, true);
    eager.addDevice({ name: 'lo', kind: 'loopback', mtu: 65536, mac: '00:00:00:00:00:00', up: false });
    eager.addAddress('lo', '127.0.0.1', 8, 'host', false);
    eager.setUp('lo');
    const host = new Netns('node2');
    for (const d of [...net.host('node2')!.devices.values()].filter((x) => x.index < net.host('node2')!.device(b.result.interfaces![1].name)!.index)) {
      host.addDevice({ name: d.name, kind: d.kind, mtu: d.mtu, mac: d.mac, up: false, index: d.index });
    }
    const result = bridgeAdd(conf, { containerId: b.containerId, netnsPath: b.netnsPath, ifName: 'eth0', args: { IP: podIP(net, 'b') } }, host, eager, '0.3.1');
    expect(result).toEqual(b.result);
    for (const show of [ipLink, ipAddr, ipRoute, (ns: Netns) => ipRoute(ns, 'local')]) expect(show(b.netns)).toBe(show(eager));
    expect(b.netns.listeners).toEqual([
      { protocol: 'tcp', address: '0.0.0.0', port: 8080, owner: 'c' },
      { protocol: 'udp', address: '0.0.0.0', port: 53, owner: 'c' },
    ]);
  });

  it('finds a pod by each address of its eth0, the link-local one too', () => {
    const net = new ClusterNetwork(cluster(PODS));
    const b = net.pod('default', 'b')!;
    const mac = b.result.interfaces![2].mac;
    expect(net.owner({ ip: podIP(net, 'b') })).toEqual({ netns: b.netns, dev: b.netns.device('eth0') });
    for (const a of b.netns.addressesOf('eth0')) expect(net.owner({ ip: a.ip })?.dev).toBe(b.netns.device('eth0'));
    expect(net.owner({ ip: linkLocal(mac) })?.netns).toBe(b.netns);
    expect(net.owner({ mac })?.netns).toBe(b.netns);
    // Written otherwise than the kernel writes it, the address is not one the index knows (as a key was not).
    expect(net.owner({ ip: linkLocal(mac).toUpperCase() })).toBeUndefined();
    expect(net.owner({ ip: 'fe80::1' })).toBeUndefined();
    // A node's bridge has a link-local address too, but is no pod.
    const cni0 = net.host('node2')!.device('cni0')!;
    expect(net.owner({ ip: linkLocal(cni0.mac) })?.dev).toBe(cni0);
  });

  it('a pod deleted before anyone used it takes its veth and its addresses with it', () => {
    const c = cluster(PODS);
    const net = new ClusterNetwork(c);
    const s = net.pod('default', 'c')!;
    const ip = podIP(net, 'c');
    c.store.delete('Pod', 'default', 'c');
    expect(net.pod('default', 'c')).toBeUndefined();
    expect(s.loadedNetns).toBeUndefined();
    expect(net.owner({ ip })).toBeUndefined();
    expect(net.owner({ mac: s.result.interfaces![2].mac })).toBeUndefined();
    expect(net.owner({ ip: linkLocal(s.result.interfaces![2].mac) })).toBeUndefined();
    expect(net.netns(s.netnsName)).toBeUndefined();
    expect(net.host('node2')!.device(s.result.interfaces![1].name)).toBeUndefined();
  });
});

describe('link-local addresses and MACs (EUI-64)', () => {
  it('maps a MAC to its link-local address and back', () => {
    expect(linkLocal('02:42:ac:11:00:02')).toBe('fe80::42:acff:fe11:2');
    expect(macOfLinkLocal('fe80::42:acff:fe11:2')).toBe('02:42:ac:11:00:02');
    expect(linkLocal('52:54:00:12:34:56')).toBe('fe80::5054:ff:fe12:3456');
    expect(macOfLinkLocal('fe80::5054:ff:fe12:3456')).toBe('52:54:00:12:34:56');
    for (const ip of ['fe80::1', '10.0.0.1', 'fe80::5054:ff:fe12:3456:1', 'fe80::5054:fe:fe12:3456', 'fe80::5054:ff:ff12:3456', 'fe81::5054:ff:fe12:3456']) {
      expect(macOfLinkLocal(ip)).toBeUndefined();
    }
  });
});
