// The overlay's per-peer entries, held once for the cluster (PeerTable) and seen by every node's namespace as
// its own: lookups, listings in the kernel's order, a private copy when one node's entries change, and
// flanneld's handling of peers that come and go.
import { describe, expect, it } from 'vitest';
import { ClusterNetwork } from '../../src/kubelet/network.ts';
import { traceFlow } from '../../src/netns/forward.ts';
import { bridgeFdb, ipNeigh, ipRoute } from '../../src/netns/iproute2.ts';
import { Netns, makeRoute } from '../../src/netns/netns.ts';
import { PeerTable } from '../../src/netns/peers.ts';
import { parseCIDR, type Cidr } from '../../src/cluster/net.ts';
import { cluster, get, NODES3, podDoc } from '../helpers/cluster.ts';

const PODS = NODES3 + podDoc('a', 'node1', [80]) + podDoc('b', 'node2', [80]) + podDoc('c', 'node3', [80]);
const ip = (c: ReturnType<typeof cluster>, name: string) => get<any>(c, 'Pod', 'default', name).status.podIP as string;
const lease = (text: string) => parseCIDR(text) as Cidr;

function peerTable(): PeerTable {
  const t = new PeerTable('flannel.1');
  for (const [node, n] of [['n1', 1], ['n2', 2], ['n3', 3]] as const) {
    t.set(node, {
      neighbour: { ip: `10.244.${n}.0`, dev: 'flannel.1', lladdr: `02:00:00:00:00:0${n}`, state: 'PERMANENT' },
      fdb: { mac: `02:00:00:00:00:0${n}`, dev: 'flannel.1', dst: `192.168.1.1${n}`, self: true, permanent: true },
      route: makeRoute({ dst: lease(`10.244.${n}.0/24`), via: `10.244.${n}.0`, dev: 'flannel.1', onlink: true }),
    });
  }
  return t;
}

function node(self: string, t: PeerTable): Netns {
  const ns = new Netns(self);
  ns.addDevice({ name: 'flannel.1', kind: 'vxlan', mtu: 1450, mac: '02:00:00:00:00:00', up: false });
  ns.setUp('flannel.1');
  ns.attachPeers(t, self);
  return ns;
}

describe('a PeerTable seen from a node', () => {
  it('answers lookups for every peer but the node itself', () => {
    const t = peerTable();
    const n1 = node('n1', t);
    expect(n1.lookup('10.244.2.7')).toMatchObject({ via: '10.244.2.0', dev: 'flannel.1', onlink: true });
    expect(n1.lookup('10.244.1.7')).toBeUndefined();
    expect(n1.neighbour('10.244.3.0', 'flannel.1')?.lladdr).toBe('02:00:00:00:00:03');
    expect(n1.neighbour('10.244.1.0', 'flannel.1')).toBeUndefined();
    expect(n1.neighbour('10.244.3.0', 'eth0')).toBeUndefined();
    expect(n1.fdbEntry('02:00:00:00:00:02', { dev: 'flannel.1', self: true })?.dst).toBe('192.168.1.12');
    expect(n1.fdbEntry('02:00:00:00:00:01', { dev: 'flannel.1', self: true })).toBeUndefined();
    expect(ipNeigh(n1)).toBe('10.244.2.0 dev flannel.1 lladdr 02:00:00:00:00:02 PERMANENT \n10.244.3.0 dev flannel.1 lladdr 02:00:00:00:00:03 PERMANENT \n');
  });

  it('lists entries in the order a kernel got them: its own learned before a later peer, after the earlier ones', () => {
    const t = peerTable();
    const n1 = node('n1', t);
    n1.addNeighbour({ ip: '10.244.0.5', dev: 'cni0', lladdr: '02:00:00:00:00:05', state: 'REACHABLE' });
    t.set('n4', { neighbour: { ip: '10.244.4.0', dev: 'flannel.1', lladdr: '02:00:00:00:00:04', state: 'PERMANENT' } });
    n1.addNeighbour({ ip: '10.244.0.6', dev: 'cni0', lladdr: '02:00:00:00:00:06', state: 'REACHABLE' });
    expect(n1.neighbours.map((n) => n.ip)).toEqual(['10.244.2.0', '10.244.3.0', '10.244.0.5', '10.244.4.0', '10.244.0.6']);
    // A peer set again with the same entries keeps its place; one that leaves is gone.
    t.set('n2', { ...[...t.inOrder()][1].entries });
    t.delete('n3');
    expect(n1.neighbours.map((n) => n.ip)).toEqual(['10.244.2.0', '10.244.0.5', '10.244.4.0', '10.244.0.6']);
    expect(n1.lookup('10.244.3.9')).toBeUndefined();
  });

  it('keeps a private copy once one of the peer entries is changed in this namespace, and leaves the others alone', () => {
    const t = peerTable();
    const n1 = node('n1', t);
    const n2 = node('n2', t);
    n1.addNeighbour({ ip: '10.244.3.0', dev: 'flannel.1', lladdr: '02:00:00:00:00:99', state: 'PERMANENT' });
    expect(n1.neighbours.map((n) => `${n.ip} ${n.lladdr}`)).toEqual(['10.244.2.0 02:00:00:00:00:02', '10.244.3.0 02:00:00:00:00:99']);
    expect(n2.neighbour('10.244.3.0', 'flannel.1')?.lladdr).toBe('02:00:00:00:00:03');
    // The copy no longer follows the table.
    t.delete('n2');
    expect(n1.lookup('10.244.2.9')).toMatchObject({ via: '10.244.2.0' });
    expect(n2.lookup('10.244.1.9')).toMatchObject({ via: '10.244.1.0' });
    n2.removeRoutes((r) => r.via === '10.244.1.0');
    expect(n2.lookup('10.244.1.9')).toBeUndefined();
    expect(n2.lookup('10.244.3.9')).toMatchObject({ via: '10.244.3.0' });
    expect(node('n3', t).lookup('10.244.1.9')).toMatchObject({ via: '10.244.1.0' });
  });

  it('loses the peer entries with their device', () => {
    const n1 = node('n1', peerTable());
    n1.removeDevice('flannel.1');
    expect([n1.neighbours, n1.fdb, n1.routes.filter((r) => r.table === 'main')]).toEqual([[], [], []]);
    expect(n1.lookup('10.244.2.7')).toBeUndefined();
  });

  it('refuses an entry on another device, or an FDB entry of a bridge', () => {
    expect(() => new PeerTable('flannel.1').set('x', { route: makeRoute({ dst: lease('10.244.9.0/24'), via: '192.168.1.9', dev: 'eth0' }) })).toThrow(/on eth0, not on flannel.1/);
    expect(() => new PeerTable('flannel.1').set('x', { fdb: { mac: '02:00:00:00:00:09', dev: 'flannel.1', master: 'cni0' } })).toThrow(/not a self entry/);
  });
});

describe('flanneld\'s peers as nodes come and go', () => {
  it('a node that leaves takes its ARP entry, FDB entry and route from every other node', () => {
    const c = cluster(PODS);
    const net = new ClusterNetwork(c);
    const n1 = net.host('node1')!;
    const vtep3 = net.host('node3')!.device('flannel.1')!.mac;
    expect(ipNeigh(n1)).toContain('10.244.2.0 dev flannel.1');
    c.api.delete('Node', undefined, 'node3');
    expect(ipNeigh(n1)).not.toContain('10.244.2.0');
    expect(bridgeFdb(n1)).not.toContain(vtep3);
    expect(ipRoute(n1)).not.toContain('10.244.2.0/24');
    expect(ipRoute(net.host('node2')!)).toContain('10.244.0.0/24 via 10.244.0.0 dev flannel.1 onlink');
  });

  it('a node that joins is every other node\'s peer, listed after what they learned before it came', () => {
    const c = cluster(PODS);
    const net = new ClusterNetwork(c);
    expect(traceFlow(net, net.pod('default', 'a')!.netns, { protocol: 'tcp', dst: ip(c, 'c'), dport: 80 }).request.verdict.kind).toBe('delivered');
    c.api.create({ apiVersion: 'v1', kind: 'Node', metadata: { name: 'node4' }, status: { addresses: [{ type: 'InternalIP', address: '192.168.1.14' }] } } as any);
    const vtep4 = net.host('node4')!.device('flannel.1')!.mac;
    const neigh = ipNeigh(net.host('node3')!).split('\n').filter(Boolean);
    expect(neigh.at(-1)).toBe(`10.244.3.0 dev flannel.1 lladdr ${vtep4} PERMANENT `);
    expect(neigh.some((l) => l.includes('dev cni0') && l.includes('REACHABLE'))).toBe(true);
    expect(ipNeigh(net.host('node4')!).split('\n').filter(Boolean).map((l) => l.split(' ')[0])).toEqual(['10.244.0.0', '10.244.1.0', '10.244.2.0']);
    c.api.create({ apiVersion: 'v1', kind: 'Pod', metadata: { name: 'd', namespace: 'default' }, spec: { nodeName: 'node4', containers: [{ name: 'c', ports: [{ containerPort: 80 }] }] } } as any);
    expect(traceFlow(net, net.pod('default', 'a')!.netns, { protocol: 'tcp', dst: ip(c, 'd'), dport: 80 }).reply?.verdict.kind).toBe('delivered');
  });
});
