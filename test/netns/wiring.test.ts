import { describe, expect, it } from 'vitest';
import { ClusterNetwork } from '../../src/kubelet/network.ts';
import { cluster, get, NODES3, podDoc } from '../helpers/cluster.ts';
import { FLANNEL_CONFLIST, flannelDelegate, subnetEnvText } from '../../src/cni/flannel.ts';
import { parseCIDR, type Cidr } from '../../src/cluster/net.ts';
import { linkLocal } from '../../src/netns/netns.ts';

const TWO_PODS = NODES3 + podDoc('a', 'node1') + podDoc('b', 'node2');

const routes = (ns: { routes: any[] }, table = 'main') => ns.routes.filter((r) => r.table === table && r.dst?.family !== 'IPv6')
  .map((r) => [r.dst?.text ?? 'default', r.via, r.dev, r.onlink ? 'onlink' : '', r.src].filter(Boolean).join(' '));

describe('node and pod namespaces, as the bridge plugin and flannel wire them', () => {
  it('gives each node lo, eth0, cni0, flannel.1 and one route, neighbour and FDB entry per peer', () => {
    const c = cluster(TWO_PODS);
    const net = new ClusterNetwork(c);
    const n1 = net.host('node1')!;
    expect([...n1.devices.values()].map((d) => `${d.index}:${d.name}:${d.kind}:${d.mtu}`)).toEqual([
      '1:lo:loopback:65536', '2:eth0:ether:1500', '3:flannel.1:vxlan:1450', '4:cni0:bridge:1450',
      // pod a, then a coredns pod the scheduler put here
      expect.stringMatching(/^5:veth[0-9a-f]{8}:veth:1450$/), expect.stringMatching(/^6:veth[0-9a-f]{8}:veth:1450$/),
    ]);
    expect(n1.device('flannel.1')!.vxlan).toEqual({ vni: 1, local: '192.168.1.11', dev: 'eth0', port: 8472, learning: false });
    expect(routes(n1)).toEqual([
      '192.168.1.0/24 eth0 192.168.1.11',
      'default 192.168.1.1 eth0',
      '10.244.1.0/24 10.244.1.0 flannel.1 onlink',
      '10.244.2.0/24 10.244.2.0 flannel.1 onlink',
      '10.244.0.0/24 cni0 10.244.0.1',
    ]);
    expect(n1.neighbours).toEqual([
      { ip: '10.244.1.0', dev: 'flannel.1', lladdr: net.host('node2')!.device('flannel.1')!.mac, state: 'PERMANENT' },
      { ip: '10.244.2.0', dev: 'flannel.1', lladdr: net.host('node3')!.device('flannel.1')!.mac, state: 'PERMANENT' },
    ]);
    expect(n1.fdb.filter((e) => e.dev === 'flannel.1')).toEqual([
      { mac: net.host('node2')!.device('flannel.1')!.mac, dev: 'flannel.1', dst: '192.168.1.12', self: true, permanent: true },
      { mac: net.host('node3')!.device('flannel.1')!.mac, dev: 'flannel.1', dst: '192.168.1.13', self: true, permanent: true },
    ]);
    expect(n1.addressesOf('flannel.1').map((a) => `${a.ip}/${a.prefix}`)).toEqual(['10.244.0.0/32', `${linkLocal(n1.device('flannel.1')!.mac)}/64`]);
    expect(n1.sysctls).toEqual({ ipForward: true, bridgeNfCallIptables: true });
  });

  it('gives each pod lo and eth0 (a veth into cni0) with its IP, the gateway route and the cluster route', () => {
    const c = cluster(TWO_PODS);
    const net = new ClusterNetwork(c);
    const a = net.pod('default', 'a')!;
    const ip = get<any>(c, 'Pod', 'default', 'a').status.podIP;
    expect(ip).toBe('10.244.0.2');
    expect(a.node).toBe('node1');
    expect(a.netnsPath).toMatch(/^\/var\/run\/netns\/cni-[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/);
    const eth0 = a.netns.device('eth0')!;
    const hostEnd = net.host('node1')!.device(eth0.peer!.name)!;
    expect(hostEnd).toMatchObject({ kind: 'veth', master: 'cni0', hairpin: true, peer: { netns: a.netns.name, name: 'eth0', index: eth0.index } });
    // containerd names the sandbox's namespace after its bind mount: cni-<uuid>.
    expect(a.netns.name).toBe(a.netnsPath.slice('/var/run/netns/'.length));
    expect(a.netns.addressesOf('eth0').map((x) => `${x.ip}/${x.prefix} ${x.scope}`)).toEqual([`${linkLocal(eth0.mac)}/64 link`, '10.244.0.2/24 global']);
    expect(routes(a.netns)).toEqual([
      '10.244.0.0/24 eth0 10.244.0.2',
      'default 10.244.0.1 eth0',
      '10.244.0.0/16 10.244.0.1 eth0',
    ]);
    expect(a.result).toEqual({
      cniVersion: '0.3.1',
      interfaces: [
        { name: 'cni0', mac: net.host('node1')!.device('cni0')!.mac },
        { name: hostEnd.name, mac: hostEnd.mac },
        { name: 'eth0', mac: eth0.mac, sandbox: a.netnsPath },
      ],
      ips: [{ address: '10.244.0.2/24', gateway: '10.244.0.1', interface: 2 }],
      routes: [{ dst: '10.244.0.0/16' }, { dst: '0.0.0.0/0', gw: '10.244.0.1' }],
      dns: {},
    });
  });

  it('picks routes as the kernel does: longest prefix, local table first, onlink via the overlay', () => {
    const c = cluster(TWO_PODS);
    const net = new ClusterNetwork(c);
    const n1 = net.host('node1')!;
    expect(n1.lookup('10.244.1.7')).toMatchObject({ via: '10.244.1.0', dev: 'flannel.1', onlink: true });
    expect(n1.lookup('10.244.0.2')).toMatchObject({ dev: 'cni0', src: '10.244.0.1' });
    expect(n1.lookup('10.244.0.1')).toMatchObject({ table: 'local', type: 'local', dev: 'cni0' });
    expect(n1.lookup('8.8.8.8')).toMatchObject({ via: '192.168.1.1', dev: 'eth0' });
    const a = net.pod('default', 'a')!.netns;
    expect(a.lookup('10.244.2.9')).toMatchObject({ via: '10.244.0.1', dev: 'eth0' });
    expect(a.lookup('10.96.0.10')).toMatchObject({ via: '10.244.0.1', dev: 'eth0' });
    expect(a.lookup('10.96.0.10')!.dst).toBeUndefined();
  });

  it('uses host-gw routes when the topology asks for them', () => {
    const c = cluster(TWO_PODS.replace('metadata: {name: t}\nspec:', 'metadata: {name: t}\nspec:\n  network: {overlay: host-gw}'));
    const n1 = new ClusterNetwork(c).host('node1')!;
    expect(n1.device('flannel.1')).toBeUndefined();
    expect(routes(n1)).toContain('10.244.1.0/24 192.168.1.12 eth0');
    expect(n1.device('cni0')!.mtu).toBe(1500);
  });

  it('follows the store: a deleted pod loses its veth, a new one gets its own', () => {
    const c = cluster(TWO_PODS);
    const net = new ClusterNetwork(c);
    const veth = net.pod('default', 'a')!.netns.device('eth0')!.peer!.name;
    c.api.delete('Pod', 'default', 'a');
    expect(net.pod('default', 'a')).toBeUndefined();
    expect(net.host('node1')!.device(veth)).toBeUndefined();
    c.api.create({ apiVersion: 'v1', kind: 'Pod', metadata: { name: 'c', namespace: 'default' }, spec: { nodeName: 'node1', containers: [{ name: 'c' }] } });
    // host-local is round-robin: a had .2, the coredns pod .3; .2 is not reused before the range wraps.
    expect(net.pod('default', 'c')!.netns.addressesOf('eth0').find((x) => x.family === 'IPv4')!.ip).toBe('10.244.0.4');
  });
});

describe('link-local addresses', () => {
  it('are the EUI-64 of the MAC, as the kernel derives them', () => {
    // The real kernel's: 06:cb:8b:f6:2c:14 -> fe80::4cb:8bff:fef6:2c14, ae:20:0f:5d:af:6c -> fe80::ac20:fff:fe5d:af6c
    expect(linkLocal('06:cb:8b:f6:2c:14')).toBe('fe80::4cb:8bff:fef6:2c14');
    expect(linkLocal('ae:20:0f:5d:af:6c')).toBe('fe80::ac20:fff:fe5d:af6c');
  });
});

describe('flannel configuration', () => {
  it('writes subnet.env and delegates to bridge as flannel-io/cni-plugin does', () => {
    const env = { network: parseCIDR('10.244.0.0/16') as Cidr, lease: parseCIDR('10.244.1.0/24') as Cidr, mtu: 1450, ipMasq: true };
    expect(subnetEnvText(env)).toBe('FLANNEL_NETWORK=10.244.0.0/16\nFLANNEL_SUBNET=10.244.1.1/24\nFLANNEL_MTU=1450\nFLANNEL_IPMASQ=true\n');
    expect(flannelDelegate(FLANNEL_CONFLIST, env)).toEqual({
      name: 'cbr0', cniVersion: '0.3.1', type: 'bridge', hairpinMode: true, isDefaultGateway: true, isGateway: true, ipMasq: false, mtu: 1450,
      ipam: { type: 'host-local', ranges: [[{ subnet: '10.244.1.0/24' }]], routes: [{ dst: '10.244.0.0/16' }] },
    });
  });
});

describe('the bridge plugin\'s CHECK and DEL', () => {
  it('CHECK passes on what ADD made and fails, with a CNI error, when it is gone; DEL is idempotent', async () => {
    const { bridgeCheck, bridgeDel } = await import('../../src/cni/bridge.ts');
    const { CniError } = await import('../../src/cni/types.ts');
    const c = cluster(TWO_PODS);
    const net = new ClusterNetwork(c);
    const s = net.pod('default', 'a')!;
    const host = net.host('node1')!;
    const inv = { containerId: s.containerId, netnsPath: s.netnsPath, ifName: 'eth0', args: {} };
    const conf = { type: 'bridge' as const, bridge: 'cni0', ipam: { type: 'host-local' } };
    expect(() => bridgeCheck(conf, inv, host, s.netns, s.result)).not.toThrow();
    bridgeDel(inv, host, s.netns);
    expect(host.device(s.result.interfaces![1].name)).toBeUndefined();
    expect(() => bridgeDel(inv, host, s.netns)).not.toThrow();
    let err: unknown;
    try {
      bridgeCheck(conf, inv, host, s.netns, s.result);
    } catch (e) {
      err = e;
    }
    expect(err).toBeInstanceOf(CniError);
    expect((err as InstanceType<typeof CniError>).toJSON('0.3.1')).toEqual({ cniVersion: '0.3.1', code: 100, msg: `${s.result.interfaces![1].name} is not a port of cni0`, details: '' });
  });
});
