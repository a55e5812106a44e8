import { describe, expect, it } from 'vitest';
import { cluster, NODES3, NO_COREDNS, podDoc } from '../../helpers/cluster.ts';
import { Ipvs } from '../../../src/netns/ipvs.ts';
import { Ipsets as IpsetTable } from '../../../src/netns/ipset.ts';
import { loadIntoKernel, proxierInput } from '../../../src/proxy/ipvs/rules.ts';
import { IpvsProxier, ipvsRules } from '../../../src/proxy/ipvs/controller.ts';
import { syncIpvsProxier } from '../../../src/proxy/ipvs/proxier.ts';
import { ClusterNetwork } from '../../../src/kubelet/network.ts';

const pod = (name: string, node: string) => podDoc(name, node, [8080]).replace('metadata: {name: ', 'metadata: {labels: {app: web}, name: ');
const TOPO = NODES3 + NO_COREDNS + pod('web-a', 'node1') + pod('web-b', 'node2') + `---
apiVersion: v1
kind: Service
metadata: {name: web}
spec: {type: NodePort, clusterIP: 10.96.100.10, selector: {app: web}, ports: [{name: http, port: 80, targetPort: 8080, nodePort: 30080}]}
`;

describe('ipvsRules(cluster, node)', () => {
  it('programs the node from the store and prints ipvsadm -Ln and ipset list from the kernel side', () => {
    const c = cluster(TOPO);
    const r = ipvsRules(c, 'node1');
    const ips = r.virtualServers.find((v) => v.spec.address === '10.96.100.10')!.realServers.map((x) => x.address);
    expect(ips).toHaveLength(2);
    const out = r.ipvsadm();
    expect(out.split('\n').slice(0, 3)).toEqual([
      'IP Virtual Server version 1.2.1 (size=4096)',
      'Prot LocalAddress:Port Scheduler Flags',
      '  -> RemoteAddress:Port           Forward Weight ActiveConn InActConn',
    ]);
    expect(out).toContain('TCP  10.96.100.10:80 rr\n');
    expect(out).toContain('TCP  192.168.1.11:30080 rr\n');
    expect(out).toContain('TCP  127.0.0.1:30080 rr\n');
    for (const ip of ips) expect(out).toContain(`  -> ${`${ip}:8080`.padEnd(28)} Masq    1      0          0         \n`);
    const list = r.ipsetList();
    expect(list).toContain('Name: KUBE-CLUSTER-IP\nType: hash:ip,port\n');
    expect(list).toContain('10.96.100.10,tcp:80\n');
    expect(list).toContain('Name: KUBE-NODE-PORT-TCP\nType: bitmap:port\nRevision: 3\nHeader: range 0-65535\n');
    // Once the iptables text is loaded each rule matching a set holds a reference to it.
    expect(list).toContain('Name: KUBE-CLUSTER-IP\nType: hash:ip,port\nRevision: 7\n');
    // KUBE-SERVICES' masquerade and ACCEPT rules, and KUBE-IPVS-FILTER's RETURN.
    expect(/Name: KUBE-CLUSTER-IP\n(?:.*\n){4}References: (\d+)/.exec(list)![1]).toBe('3');
    expect(r.dummyAddresses).toContain('10.96.100.10');
    // The kube-proxy on node1 loops back only to its own pod.
    const local = r.kernel.ipsets.save('KUBE-LOOP-BACK').split('\n').filter((l) => l.startsWith('add'));
    expect(local).toHaveLength(1);
    // A packet to the ClusterIP is scheduled by the node's IPVS, and its -m set matches agree.
    const d = r.kernel.ipvs.schedule({ protocol: 'tcp', src: '10.244.0.5', dst: '10.96.100.10', sport: 40000, dport: 80 });
    expect(ips).toContain(d?.destination?.address);
    expect(r.ipvsadmConnections().split('\n')[2]).toBe(`TCP 01:00  SYN_RECV    10.244.0.5:40000   10.96.100.10:80    ${d!.destination!.address}:8080`);
    expect(r.kernel.ipsets.test('KUBE-CLUSTER-IP', { src: '10.244.0.5', dst: '10.96.100.10', protocol: 'tcp', sport: 40000, dport: 80 }, ['dst', 'dst'])).toBe(true);
  });

  it('with the node\'s network namespace, every local address of it gets the NodePort (cni0, flannel.1 too)', () => {
    const c = cluster(TOPO);
    const host = new ClusterNetwork(c).host('node1')!;
    const addrs = host.addresses.filter((a) => a.family === 'IPv4').map((a) => a.ip);
    expect(addrs.length).toBeGreaterThan(2);
    const r = ipvsRules(c, 'node1', { netns: host });
    const nodePortVS = r.virtualServers.filter((v) => v.spec.port === 30080).map((v) => v.spec.address).sort();
    expect(nodePortVS).toEqual([...addrs].sort());
  });

  it('takes the scheduler, masquerade settings and local-traffic detection from the KubeProxyConfiguration', () => {
    const c = cluster(TOPO + `---
apiVersion: kubeproxy.config.k8s.io/v1alpha1
kind: KubeProxyConfiguration
mode: ipvs
clusterCIDR: 10.244.0.0/16
ipvs: {scheduler: wlc}
`);
    const input = proxierInput(c, 'node2');
    expect(input).toMatchObject({ scheduler: 'wlc', ifNotLocal: ['!', '-s', '10.244.0.0/16'], nodeIP: '192.168.1.12', masqueradeBit: 14 });
    expect(ipvsRules(c, 'node2').ipvsadm()).toContain('TCP  10.96.100.10:80 wlc\n');
    expect(() => proxierInput(c, 'nope')).toThrow('kube-proxy: node "nope" not found (known: node1, node2, node3)');
  });

  it('builds the local-traffic detector as iptables mode does: BridgeInterface and InterfaceNamePrefix too', () => {
    const withMode = (extra: string) => cluster(TOPO + `---
apiVersion: kubeproxy.config.k8s.io/v1alpha1
kind: KubeProxyConfiguration
mode: ipvs
${extra}
`);
    expect(proxierInput(withMode('detectLocalMode: BridgeInterface\ndetectLocal: {bridgeInterface: cni0}'), 'node1').ifNotLocal).toEqual(['!', '-i', 'cni0']);
    expect(proxierInput(withMode('detectLocalMode: InterfaceNamePrefix\ndetectLocal: {interfaceNamePrefix: veth}'), 'node1').ifNotLocal).toEqual(['!', '-i', 'veth+']);
    const c = withMode('detectLocalMode: BridgeInterface\ndetectLocal: {bridgeInterface: cni0}');
    expect(ipvsRules(c, 'node1').iptablesRestore).toContain('--match-set KUBE-CLUSTER-IP dst,dst ! -i cni0 -j KUBE-MARK-MASQ\n');
  });

  it('reads the node\'s random-fully capability as iptables mode does, and names a bad annotation', () => {
    const c = cluster(TOPO);
    const annotate = (value: string) => {
      const node = c.store.get('Node', undefined, 'node1')!;
      c.store.update({ ...node, metadata: { ...node.metadata, annotations: { 'kdp.dev/iptables-random-fully': value } } });
    };
    annotate('false');
    expect(proxierInput(c, 'node1').randomFully).toBe(false);
    annotate('no');
    expect(() => proxierInput(c, 'node1')).toThrow('Node node1: metadata.annotations["kdp.dev/iptables-random-fully"]: Invalid value: "no": must be "true" or "false"');
  });
});

describe('a node\'s IPVS deciding connections', () => {
  it('ClientIP affinity: every connection of a client to a NodePort goes to one pod, through a persistence template', () => {
    const c = cluster(TOPO.replace('ports: [{name: http', 'sessionAffinity: ClientIP, ports: [{name: http'));
    const r = ipvsRules(c, 'node1');
    expect(r.ipvsadm()).toContain('TCP  192.168.1.11:30080 rr persistent 10800\n');
    const to = (src: string, sport: number) => r.kernel.ipvs.schedule({ protocol: 'tcp', src, dst: '192.168.1.11', sport, dport: 30080 })!.destination!.address;
    const first = to('203.0.113.5', 1000);
    expect([to('203.0.113.5', 1001), to('203.0.113.5', 1002)]).toEqual([first, first]);
    expect(to('203.0.113.9', 1000)).not.toBe(first); // rr moves on for a new client
    const lines = r.ipvsadmConnections().split('\n');
    expect(lines).toContain(`TCP 180:00 NONE        203.0.113.5:0      192.168.1.11:30080 ${first}:8080`);
  });
});

describe('IpvsProxier: the node agent', () => {
  it('binds the VIPs to kube-ipvs0 in the node\'s netns and follows the store', () => {
    const c = cluster(TOPO);
    const host = new ClusterNetwork(c).host('node1')!;
    const proxier = new IpvsProxier(c, 'node1', { netns: host, now: () => 0 }).start();
    const dev = host.device('kube-ipvs0')!;
    expect(dev).toMatchObject({ kind: 'dummy', up: false });
    const bound = host.addressesOf('kube-ipvs0').map((a) => `${a.ip}/${a.prefix}`);
    expect(bound).toContain('10.96.100.10/32');
    expect(host.lookup('10.96.100.10')).toMatchObject({ table: 'local', type: 'local', dev: 'kube-ipvs0' });
    const vs = { address: '10.96.100.10', protocol: 'tcp' as const, port: 80 };
    expect(proxier.ipvs.getService(vs)!.destinations).toHaveLength(2);
    // A pod goes: its EndpointSlice changes, and the watch re-syncs the real servers.
    c.store.delete('Pod', 'default', 'web-b');
    expect(proxier.ipvs.getService(vs)!.destinations).toHaveLength(1);
    // The Service goes: its virtual servers and its VIP on kube-ipvs0 go too.
    c.store.delete('Service', 'default', 'web');
    expect(proxier.ipvs.getService(vs)).toBeUndefined();
    expect(host.addressesOf('kube-ipvs0').map((a) => a.ip)).not.toContain('10.96.100.10');
    expect(host.lookup('10.96.100.10')?.dev).not.toBe('kube-ipvs0');
    proxier.stop();
  });
});

describe('loadIntoKernel: re-syncs as kube-proxy applies them', () => {
  const base = {
    family: 'IPv4' as const, nodeName: 'n', nodeLabels: {}, nodeAddresses: [], scheduler: 'rr', masqueradeAll: false,
    masqueradeBit: 14, nodePortAddresses: [], randomFully: true,
  };
  const service = (protocol: string) => ({ apiVersion: 'v1', kind: 'Service', metadata: { namespace: 'ns', name: 's' }, spec: { clusterIP: '10.96.0.5', ports: [{ port: 80, protocol }] } });
  const slices = (protocol: string, ips: string[]) => [{
    apiVersion: 'discovery.k8s.io/v1', kind: 'EndpointSlice', addressType: 'IPv4',
    metadata: { namespace: 'ns', name: 's-1', labels: { 'kubernetes.io/service-name': 's' } },
    ports: [{ port: 8080, protocol }], endpoints: ips.map((ip) => ({ addresses: [ip] })),
  }];
  const sync = (protocol: string, ips: string[]) => syncIpvsProxier({ ...base, services: [service(protocol)] as never, endpointSlices: slices(protocol, ips) as never });

  it('a removed TCP real server with connections drains at weight 0, then goes; UDP goes at once', () => {
    const clock = { t: 0 };
    const ipvs = new Ipvs({ now: () => clock.t, expireQuiescentTemplate: true });
    const sets = new IpsetTable({ now: () => clock.t });
    loadIntoKernel(sync('TCP', ['10.244.0.1', '10.244.0.2']), ipvs, sets);
    const vs = { address: '10.96.0.5', protocol: 'tcp' as const, port: 80 };
    const conn = ipvs.schedule({ protocol: 'tcp', src: '1.1.1.1', dst: '10.96.0.5', sport: 1, dport: 80 })!;
    const busy = conn.destination!.address;

    loadIntoKernel(sync('TCP', []), ipvs, sets);
    expect(ipvs.getService(vs)!.destinations.map((d) => [d.address, d.weight])).toEqual([[busy, 0]]);
    clock.t += 61_000; // the SYN_RECV connection expires
    loadIntoKernel(sync('TCP', []), ipvs, sets);
    expect(ipvs.getService(vs)!.destinations).toEqual([]);

    const u = new Ipvs({ now: () => 0 });
    loadIntoKernel(sync('UDP', ['10.244.0.1']), u, new IpsetTable({ now: () => 0 }));
    u.schedule({ protocol: 'udp', src: '1.1.1.1', dst: '10.96.0.5', sport: 1, dport: 80 });
    loadIntoKernel(sync('UDP', []), u, new IpsetTable({ now: () => 0 }));
    expect(u.getService({ ...vs, protocol: 'udp' })!.destinations).toEqual([]);
  });

  it('Test_syncService: a changed virtual server (flags, scheduler) is updated in place', () => {
    const ipvs = new Ipvs({ now: () => 0 });
    const sets = new IpsetTable({ now: () => 0 });
    const withSvc = (spec: object, scheduler = 'rr') => syncIpvsProxier({ ...base, scheduler, services: [{ ...service('TCP'), spec: { ...service('TCP').spec, ...spec } }] as never, endpointSlices: slices('TCP', ['10.244.0.1']) as never });
    loadIntoKernel(withSvc({}), ipvs, sets);
    const vs = { address: '10.96.0.5', protocol: 'tcp' as const, port: 80 };
    loadIntoKernel(withSvc({ sessionAffinity: 'ClientIP' }), ipvs, sets);
    expect(ipvs.getService(vs)!.spec).toMatchObject({ flags: 1, timeout: 10800, scheduler: 'rr' });
    loadIntoKernel(withSvc({ sessionAffinity: 'ClientIP' }, 'wlc'), ipvs, sets);
    expect(ipvs.getService(vs)!.spec.scheduler).toBe('wlc');
    expect(ipvs.services()).toHaveLength(1);
    expect(ipvs.getService(vs)!.destinations.map((d) => d.address)).toEqual(['10.244.0.1']);
  });

  it('stale ipset entries and virtual servers are removed', () => {
    const ipvs = new Ipvs({ now: () => 0 });
    const sets = new IpsetTable({ now: () => 0 });
    loadIntoKernel(sync('TCP', ['10.244.0.1']), ipvs, sets);
    expect(sets.save('KUBE-CLUSTER-IP')).toContain('add KUBE-CLUSTER-IP 10.96.0.5,tcp:80\n');
    loadIntoKernel(syncIpvsProxier({ ...base, services: [], endpointSlices: [] }), ipvs, sets);
    expect(sets.save('KUBE-CLUSTER-IP')).not.toContain('add ');
    expect(ipvs.services()).toEqual([]);
  });
});
