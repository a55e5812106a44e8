// Conformance cases ported from kubernetes/kubernetes pkg/proxy/ipvs/proxier_test.go: the same Services and
// endpoints, the virtual servers, ipset entries and iptables jumps those tests expect. Upstream's older cases
// feed one proxier both families; today's kube-proxy runs one proxier per family, so each case is checked for
// the family its addresses belong to.
import { describe, expect, it } from 'vitest';
import type { EndpointSlice, Service } from '../../../src/cluster/objects.ts';
import { syncIpvsProxier, type IpvsProxierInput } from '../../../src/proxy/ipvs/proxier.ts';

const HOST = 'test-hostname';

function svc(ns: string, name: string, spec: Record<string, unknown>, status: Record<string, unknown> = {}): Service {
  return { apiVersion: 'v1', kind: 'Service', metadata: { namespace: ns, name }, spec, status } as Service;
}

interface Ep { ip: string; node?: string; ready?: boolean; serving?: boolean; terminating?: boolean }
function slice(ns: string, service: string, port: { name?: string; port: number; protocol?: string }, eps: Ep[], family: 'IPv4' | 'IPv6' = 'IPv4'): EndpointSlice {
  return {
    apiVersion: 'discovery.k8s.io/v1', kind: 'EndpointSlice', addressType: family,
    metadata: { namespace: ns, name: `${service}-${family.toLowerCase()}`, labels: { 'kubernetes.io/service-name': service } },
    ports: [{ name: port.name, port: port.port, protocol: port.protocol ?? 'TCP' }],
    endpoints: eps.map((e) => ({
      addresses: [e.ip], nodeName: e.node,
      conditions: { ready: e.ready, serving: e.serving, terminating: e.terminating },
    })),
  } as EndpointSlice;
}

function sync(over: Partial<IpvsProxierInput>) {
  return syncIpvsProxier({
    family: 'IPv4', nodeName: HOST, nodeLabels: {}, nodeAddresses: [], services: [], endpointSlices: [],
    scheduler: 'rr', masqueradeAll: false, masqueradeBit: 14, nodePortAddresses: [], randomFully: true, ...over,
  });
}

type State = ReturnType<typeof sync>;
/** virtual server -> its real servers, as "ip:port/PROTO" -> ["ip:port", ...] */
const vsMap = (s: State) => Object.fromEntries(s.virtualServers.map((v) => [
  `${v.spec.address.includes(':') ? `[${v.spec.address}]` : v.spec.address}:${v.spec.port}/${v.spec.protocol.toUpperCase()}`,
  v.realServers.map((r) => `${r.address.includes(':') ? `[${r.address}]` : r.address}:${r.port}`).sort(),
]));
const entries = (s: State, set: string) => s.ipsets.find((x) => x.name === set)!.entries;
/** upstream's hasJump: some rule of the chain jumps to `target` (matching `set` if given). */
function hasJump(s: State, chain: string, target: string, set = ''): boolean {
  return s.iptablesRestore.split('\n').some((l) => l.startsWith(`-A ${chain} `)
    && (l.endsWith(`-j ${target}`) || l.includes(`-j ${target} `)) && (set === '' || l.includes(`--match-set ${set} `)));
}

/** A chain's rules as upstream's ExpectedIptablesChain lists them: [jump, match set or "-s source"], in order. */
function chainRules(s: State, chain: string, table: 'nat' | 'filter' = 'nat'): [string, string][] {
  const text = s.iptablesRestore.split('*filter\n')[table === 'nat' ? 0 : 1];
  return text.split('\n').filter((l) => l.startsWith(`-A ${chain} `)).map((l) => [
    / -j (\S+)/.exec(l)![1],
    / --match-set (\S+)/.exec(l)?.[1] ?? (/ -s (\S+)/.exec(l) ? `-s ${/ -s (\S+)/.exec(l)![1]}` : ''),
  ]);
}

const P80 = { name: 'p80', port: 80, protocol: 'TCP' };
const nodePortSvc = (protocol = 'TCP', extra: Record<string, unknown> = {}) =>
  svc('ns1', 'svc1', { type: 'NodePort', clusterIP: '10.20.30.41', ports: [{ name: 'p80', port: 80, protocol, nodePort: 3001 }], ...extra });

describe('TestNodePort', () => {
  it('1 service with node port, has 2 endpoints (one per family)', () => {
    const services = [nodePortSvc()];
    const slices = [slice('ns1', 'svc1', P80, [{ ip: '10.180.0.1' }]), slice('ns1', 'svc1', P80, [{ ip: '1002:ab8::2:10' }], 'IPv6')];
    expect(vsMap(sync({ services, endpointSlices: slices, nodeAddresses: ['100.101.102.103'] }))).toEqual({
      '10.20.30.41:80/TCP': ['10.180.0.1:80'],
      '100.101.102.103:3001/TCP': ['10.180.0.1:80'],
    });
    // The IPv6 proxier: the Service has no IPv6 ClusterIP, so it programs nothing for it.
    expect(vsMap(sync({ family: 'IPv6', services, endpointSlices: slices, nodeAddresses: ['2001:db8::1:1'] }))).toEqual({});
  });

  it('1 UDP service with node port, has endpoints', () => {
    const s = sync({
      services: [nodePortSvc('UDP')], endpointSlices: [slice('ns1', 'svc1', { ...P80, protocol: 'UDP' }, [{ ip: '10.180.0.1' }])],
      nodeAddresses: ['100.101.102.103'], nodePortAddresses: ['0.0.0.0/0'],
    });
    expect(vsMap(s)).toEqual({ '10.20.30.41:80/UDP': ['10.180.0.1:80'], '100.101.102.103:3001/UDP': ['10.180.0.1:80'] });
    expect(entries(s, 'KUBE-NODE-PORT-UDP')).toEqual(['3001']);
    expect(hasJump(s, 'KUBE-NODE-PORT', 'KUBE-MARK-MASQ', 'KUBE-NODE-PORT-UDP')).toBe(true);
    expect(hasJump(s, 'KUBE-SERVICES', 'KUBE-NODE-PORT')).toBe(true);
  });

  it('service has node port but no endpoints', () => {
    expect(vsMap(sync({ services: [nodePortSvc()], nodeAddresses: ['100.101.102.103'] }))).toEqual({
      '10.20.30.41:80/TCP': [], '100.101.102.103:3001/TCP': [],
    });
  });

  it('node port service with protocol sctp on a node with multiple nodeIPs', () => {
    const nodeAddresses = ['100.101.102.103', '100.101.102.104', '100.101.102.105'];
    const s = sync({ services: [nodePortSvc('SCTP')], endpointSlices: [slice('ns1', 'svc1', { ...P80, protocol: 'SCTP' }, [{ ip: '10.180.0.1' }])], nodeAddresses });
    expect(vsMap(s)).toEqual({
      '10.20.30.41:80/SCTP': ['10.180.0.1:80'],
      '100.101.102.103:3001/SCTP': ['10.180.0.1:80'], '100.101.102.104:3001/SCTP': ['10.180.0.1:80'], '100.101.102.105:3001/SCTP': ['10.180.0.1:80'],
    });
    expect(entries(s, 'KUBE-NODE-PORT-SCTP-HASH')).toEqual(nodeAddresses.map((ip) => `${ip},sctp:3001`));
    const v6 = sync({
      family: 'IPv6', services: [svc('ns1', 'svc1', { type: 'NodePort', clusterIP: 'fd00::41', ports: [{ name: 'p80', port: 80, protocol: 'SCTP', nodePort: 3001 }] })],
      nodeAddresses: ['2001:db8::1:1', '2001:db8::1:2'],
    });
    expect(entries(v6, 'KUBE-6-NODE-PORT-SCTP-HASH')).toEqual(['2001:db8::1:1,sctp:3001', '2001:db8::1:2,sctp:3001']);
  });
});

describe('TestClusterIP', () => {
  it('2 services with Cluster IP, each with endpoints (IPv4 and IPv6 proxiers)', () => {
    const services = [
      svc('ns1', 'svc1', { clusterIP: '10.20.30.41', ports: [P80] }),
      svc('ns2', 'svc2', { clusterIP: '1002:ab8::2:1', ports: [{ name: 'p8080', port: 8080, protocol: 'TCP' }] }),
    ];
    const endpointSlices = [
      slice('ns1', 'svc1', P80, [{ ip: '10.180.0.1' }]),
      slice('ns2', 'svc2', { name: 'p8080', port: 8080 }, [{ ip: '1009:ab8::5:6' }], 'IPv6'),
    ];
    expect(vsMap(sync({ services, endpointSlices }))).toEqual({ '10.20.30.41:80/TCP': ['10.180.0.1:80'] });
    expect(vsMap(sync({ family: 'IPv6', services, endpointSlices }))).toEqual({ '[1002:ab8::2:1]:8080/TCP': ['[1009:ab8::5:6]:8080'] });
  });

  it('cluster IP service with no endpoints', () => {
    expect(vsMap(sync({ services: [svc('ns1', 'svc1', { clusterIP: '10.20.30.41', ports: [P80] })] }))).toEqual({ '10.20.30.41:80/TCP': [] });
  });
});

describe('TestMasqueradeRule', () => {
  for (const randomFully of [false, true]) {
    it(`MASQUERADE in KUBE-POSTROUTING, --random-fully iff supported (${randomFully})`, () => {
      const s = sync({ randomFully });
      expect(hasJump(s, 'KUBE-POSTROUTING', 'MASQUERADE')).toBe(true);
      expect(s.iptablesRestore.includes('-j MASQUERADE --random-fully')).toBe(randomFully);
    });
  }
});

describe('external IPs', () => {
  const extSvc = (ips: string[], extra: Record<string, unknown> = {}) =>
    svc('ns1', 'svc1', { type: 'ClusterIP', clusterIP: '10.20.30.41', externalIPs: ips, ports: [{ ...P80, targetPort: 80 }], ...extra });

  it('TestExternalIPsNoEndpoint', () => {
    expect(vsMap(sync({ services: [extSvc(['50.60.70.81'])] }))).toEqual({ '10.20.30.41:80/TCP': [], '50.60.70.81:80/TCP': [] });
  });

  it('TestExternalIPs: a virtual server per external IP of the family, bound to kube-ipvs0 unless local', () => {
    const s = sync({ services: [extSvc(['50.60.70.81', '2012::51', '127.0.0.1'])], endpointSlices: [slice('ns1', 'svc1', P80, [{ ip: '10.180.0.1' }])], nodeAddresses: ['127.0.0.1'] });
    expect(vsMap(s)).toEqual({ '10.20.30.41:80/TCP': ['10.180.0.1:80'], '50.60.70.81:80/TCP': ['10.180.0.1:80'], '127.0.0.1:80/TCP': ['10.180.0.1:80'] });
    expect(entries(s, 'KUBE-EXTERNAL-IP')).toEqual(['127.0.0.1,tcp:80', '50.60.70.81,tcp:80']);
    expect(s.dummyAddresses).toEqual(['10.20.30.41', '50.60.70.81']);
  });

  it('TestOnlyLocalExternalIPs: only the local endpoint is a real server; the set is KUBE-EXTERNAL-IP-LOCAL', () => {
    const s = sync({
      services: [extSvc(['50.60.70.81'], { type: 'NodePort', externalTrafficPolicy: 'Local' })],
      endpointSlices: [slice('ns1', 'svc1', P80, [{ ip: '10.180.0.1', node: HOST }, { ip: '10.180.1.1', node: 'other-hostname' }])],
    });
    expect(vsMap(s)['50.60.70.81:80/TCP']).toEqual(['10.180.0.1:80']);
    expect(vsMap(s)['10.20.30.41:80/TCP']).toEqual(['10.180.0.1:80', '10.180.1.1:80']);
    expect(entries(s, 'KUBE-EXTERNAL-IP-LOCAL')).toEqual(['50.60.70.81,tcp:80']);
    expect(entries(s, 'KUBE-EXTERNAL-IP')).toEqual([]);
  });
});

describe('load balancers', () => {
  const lbSvc = (extra: Record<string, unknown> = {}) =>
    svc('ns1', 'svc1', { type: 'LoadBalancer', clusterIP: '10.20.30.41', ports: [{ ...P80, nodePort: 3001 }], ...extra }, { loadBalancer: { ingress: [{ ip: '1.2.3.4' }] } });

  it('TestLoadBalancer', () => {
    const s = sync({ services: [lbSvc()], endpointSlices: [slice('ns1', 'svc1', P80, [{ ip: '10.180.0.1' }])] });
    expect(chainRules(s, 'KUBE-SERVICES')).toEqual([
      ['RETURN', '-s 127.0.0.0/8'], ['KUBE-LOAD-BALANCER', 'KUBE-LOAD-BALANCER'], ['KUBE-MARK-MASQ', 'KUBE-CLUSTER-IP'],
      ['KUBE-NODE-PORT', ''], ['ACCEPT', 'KUBE-CLUSTER-IP'], ['ACCEPT', 'KUBE-LOAD-BALANCER'],
    ]);
    expect(vsMap(s)).toEqual({ '10.20.30.41:80/TCP': ['10.180.0.1:80'], '1.2.3.4:80/TCP': ['10.180.0.1:80'] });
    expect(entries(s, 'KUBE-LOAD-BALANCER')).toEqual(['1.2.3.4,tcp:80']);
    expect(hasJump(s, 'KUBE-SERVICES', 'KUBE-LOAD-BALANCER', 'KUBE-LOAD-BALANCER')).toBe(true);
    expect(hasJump(s, 'KUBE-LOAD-BALANCER', 'KUBE-MARK-MASQ')).toBe(true);
  });

  it('TestOnlyLocalLoadBalancing', () => {
    const s = sync({ services: [lbSvc({ externalTrafficPolicy: 'Local', healthCheckNodePort: 32000 })], endpointSlices: [slice('ns1', 'svc1', P80, [{ ip: '10.180.0.1', node: HOST }, { ip: '10.180.1.1', node: 'other-hostname' }])] });
    expect(vsMap(s)['1.2.3.4:80/TCP']).toEqual(['10.180.0.1:80']);
    expect(entries(s, 'KUBE-LOAD-BALANCER')).toEqual(['1.2.3.4,tcp:80']);
    expect(entries(s, 'KUBE-LOAD-BALANCER-LOCAL')).toEqual(['1.2.3.4,tcp:80']);
    expect(hasJump(s, 'KUBE-SERVICES', 'KUBE-LOAD-BALANCER', 'KUBE-LOAD-BALANCER')).toBe(true);
    expect(hasJump(s, 'KUBE-LOAD-BALANCER', 'RETURN', 'KUBE-LOAD-BALANCER-LOCAL')).toBe(true);
    expect(hasJump(s, 'KUBE-LOAD-BALANCER', 'KUBE-MARK-MASQ')).toBe(true);
    expect(entries(s, 'KUBE-HEALTH-CHECK-NODE-PORT')).toEqual(['32000']);
    expect(entries(s, 'KUBE-LOOP-BACK')).toEqual(['10.180.0.1,tcp:80,10.180.0.1']);
  });

  it('TestLoadBalanceSourceRanges (today\'s chains: KUBE-PROXY-FIREWALL -> KUBE-SOURCE-RANGES-FIREWALL)', () => {
    const s = sync({ services: [lbSvc({ loadBalancerSourceRanges: ['10.0.0.0/8'], ports: [P80] })], endpointSlices: [slice('ns1', 'svc1', P80, [{ ip: '10.180.0.1' }])], nodeIP: '100.101.102.103' });
    expect(vsMap(s)).toEqual({ '10.20.30.41:80/TCP': ['10.180.0.1:80'], '1.2.3.4:80/TCP': ['10.180.0.1:80'] });
    expect(entries(s, 'KUBE-LOAD-BALANCER-FW')).toEqual(['1.2.3.4,tcp:80']);
    expect(entries(s, 'KUBE-LOAD-BALANCER-SOURCE-CIDR')).toEqual(['1.2.3.4,tcp:80,10.0.0.0/8']);
    expect(entries(s, 'KUBE-LOAD-BALANCER-SOURCE-IP')).toEqual([]);
    expect(hasJump(s, 'KUBE-PROXY-FIREWALL', 'KUBE-SOURCE-RANGES-FIREWALL', 'KUBE-LOAD-BALANCER-FW')).toBe(true);
    expect(hasJump(s, 'KUBE-SOURCE-RANGES-FIREWALL', 'RETURN', 'KUBE-LOAD-BALANCER-SOURCE-CIDR')).toBe(true);
    expect(hasJump(s, 'KUBE-SOURCE-RANGES-FIREWALL', 'DROP')).toBe(true);
    // The node is outside the ranges: it may not reach the LB IP either (#119656).
    expect(s.iptablesRestore).toContain('-A KUBE-IPVS-OUT-FILTER -s 1.2.3.4 -m ipvs --vaddr 1.2.3.4 --vproto tcp --vport 80 -j DROP\n');
    const inside = sync({ services: [lbSvc({ loadBalancerSourceRanges: ['100.101.0.0/16'], ports: [P80] })], nodeIP: '100.101.102.103' });
    expect(entries(inside, 'KUBE-LOAD-BALANCER-SOURCE-IP')).toEqual(['1.2.3.4,tcp:80,1.2.3.4']);
    expect(inside.iptablesRestore).not.toContain('KUBE-IPVS-OUT-FILTER -s');
  });

  it('TestAcceptIPVSTraffic', () => {
    const services = [
      svc('ns1', 'svc1', { type: 'ClusterIP', clusterIP: '10.20.30.40', externalIPs: ['5.6.7.8'], ports: [{ ...P80, nodePort: 80 }] }),
      svc('ns1', 'svc2', { type: 'LoadBalancer', clusterIP: '10.20.30.41', ports: [{ ...P80, nodePort: 80 }] }, { loadBalancer: { ingress: [{ ip: '1.2.3.4' }] } }),
      svc('ns1', 'svc3', { type: 'NodePort', clusterIP: '10.20.30.42', ports: [{ ...P80, nodePort: 80 }] }),
    ];
    const s = sync({ services });
    expect(chainRules(s, 'KUBE-SERVICES')).toEqual([
      ['RETURN', '-s 127.0.0.0/8'], ['KUBE-LOAD-BALANCER', 'KUBE-LOAD-BALANCER'], ['KUBE-MARK-MASQ', 'KUBE-CLUSTER-IP'],
      ['KUBE-MARK-MASQ', 'KUBE-EXTERNAL-IP'], ['ACCEPT', 'KUBE-EXTERNAL-IP'], ['ACCEPT', 'KUBE-EXTERNAL-IP'],
      ['KUBE-NODE-PORT', ''], ['ACCEPT', 'KUBE-CLUSTER-IP'], ['ACCEPT', 'KUBE-LOAD-BALANCER'],
    ]);
    expect(hasJump(s, 'KUBE-SERVICES', 'ACCEPT', 'KUBE-CLUSTER-IP')).toBe(true);
    expect(hasJump(s, 'KUBE-SERVICES', 'ACCEPT', 'KUBE-LOAD-BALANCER')).toBe(true);
    expect(hasJump(s, 'KUBE-SERVICES', 'ACCEPT', 'KUBE-EXTERNAL-IP')).toBe(true);
  });
});

describe('TestHealthCheckNodePort', () => {
  it('only LoadBalancer Services with eTP=Local put their health check node port in the set', () => {
    const mk = (name: string, etp: string, hc: number) => svc('ns1', name, {
      type: 'LoadBalancer', clusterIP: '10.20.30.41', externalTrafficPolicy: etp, healthCheckNodePort: hc, ports: [{ ...P80, nodePort: 3000 }],
    });
    const s = sync({ services: [mk('valid-svc1', 'Local', 30000), mk('valid-svc2', 'Local', 30001), mk('invalid-svc3', 'Cluster', 30002)], nodeAddresses: ['100.101.102.103'], nodePortAddresses: ['100.101.102.0/24'] });
    expect(entries(s, 'KUBE-HEALTH-CHECK-NODE-PORT')).toEqual(['30000', '30001']);
    expect(chainRules(s, 'KUBE-NODE-PORT')).toEqual([['RETURN', 'KUBE-NODE-PORT-LOCAL-TCP'], ['KUBE-MARK-MASQ', 'KUBE-NODE-PORT-TCP']]);
    expect(chainRules(s, 'KUBE-NODE-PORT', 'filter')).toEqual([['ACCEPT', 'KUBE-HEALTH-CHECK-NODE-PORT']]);
  });
});

describe('TestOnlyLocalNodePorts', () => {
  it('NodePorts on the nodePortAddresses only, with local real servers and both port sets', () => {
    const s = sync({
      services: [nodePortSvc('TCP', { externalTrafficPolicy: 'Local' })],
      endpointSlices: [slice('ns1', 'svc1', P80, [{ ip: '10.180.0.1', node: HOST }, { ip: '10.180.1.1', node: 'other-hostname' }])],
      nodeAddresses: ['100.101.102.103', '127.0.0.1', '10.244.0.1'], nodePortAddresses: ['100.101.102.0/24', '2001:db8::0/64'],
    });
    expect(vsMap(s)).toEqual({ '10.20.30.41:80/TCP': ['10.180.0.1:80', '10.180.1.1:80'], '100.101.102.103:3001/TCP': ['10.180.0.1:80'] });
    expect(entries(s, 'KUBE-NODE-PORT-TCP')).toEqual(['3001']);
    expect(entries(s, 'KUBE-NODE-PORT-LOCAL-TCP')).toEqual(['3001']);
    expect(hasJump(s, 'KUBE-SERVICES', 'KUBE-NODE-PORT')).toBe(true);
    expect(hasJump(s, 'KUBE-NODE-PORT', 'RETURN', 'KUBE-NODE-PORT-LOCAL-TCP')).toBe(true);
    expect(hasJump(s, 'KUBE-NODE-PORT', 'KUBE-MARK-MASQ', 'KUBE-NODE-PORT-TCP')).toBe(true);
  });

  it('with no nodePortAddresses every local address gets the NodePort, loopback included', () => {
    const s = sync({ services: [nodePortSvc()], nodeAddresses: ['192.168.1.11', '127.0.0.1'] });
    expect(Object.keys(vsMap(s)).sort()).toEqual(['10.20.30.41:80/TCP', '127.0.0.1:3001/TCP', '192.168.1.11:3001/TCP']);
  });

  it('eTP=Local without local endpoints still programs the cluster\'s endpoints (PR #97081)', () => {
    const s = sync({ services: [nodePortSvc('TCP', { externalTrafficPolicy: 'Local' })], endpointSlices: [slice('ns1', 'svc1', P80, [{ ip: '10.180.1.1', node: 'other-hostname' }])], nodeAddresses: ['100.101.102.103'] });
    expect(vsMap(s)['100.101.102.103:3001/TCP']).toEqual(['10.180.1.1:80']);
  });
});

describe('session affinity, schedulers, traffic policies, terminating endpoints', () => {
  it('ClientIP affinity makes every virtual server persistent with the timeout; mh adds the source-hash flag', () => {
    const s = sync({
      scheduler: 'mh',
      services: [svc('ns1', 'svc1', { clusterIP: '10.20.30.41', sessionAffinity: 'ClientIP', sessionAffinityConfig: { clientIP: { timeoutSeconds: 60 } }, ports: [P80] })],
    });
    expect(s.virtualServers[0].spec).toMatchObject({ scheduler: 'mh', flags: 0x1 | 0x10, timeout: 60, netmask: 32 });
    const def = sync({ services: [svc('ns1', 'svc1', { clusterIP: '10.20.30.41', sessionAffinity: 'ClientIP', ports: [P80] })] });
    expect(def.virtualServers[0].spec).toMatchObject({ scheduler: 'rr', flags: 1, timeout: 10800 });
  });

  it('internalTrafficPolicy Local: the ClusterIP uses local endpoints, or the cluster\'s when there are none', () => {
    const base = { clusterIP: '10.20.30.41', internalTrafficPolicy: 'Local', ports: [P80] };
    const both = sync({ services: [svc('ns1', 'svc1', base)], endpointSlices: [slice('ns1', 'svc1', P80, [{ ip: '10.180.0.1', node: HOST }, { ip: '10.180.1.1', node: 'other' }])] });
    expect(vsMap(both)['10.20.30.41:80/TCP']).toEqual(['10.180.0.1:80']);
    const none = sync({ services: [svc('ns1', 'svc1', base)], endpointSlices: [slice('ns1', 'svc1', P80, [{ ip: '10.180.1.1', node: 'other' }])] });
    expect(vsMap(none)['10.20.30.41:80/TCP']).toEqual([]);
  });

  it('terminating endpoints: used only when no endpoint is ready, and only serving ones', () => {
    const eps: Ep[] = [
      { ip: '10.180.0.1', ready: false, serving: true, terminating: true },
      { ip: '10.180.0.2', ready: false, serving: false, terminating: true },
    ];
    const s = sync({ services: [svc('ns1', 'svc1', { clusterIP: '10.20.30.41', ports: [P80] })], endpointSlices: [slice('ns1', 'svc1', P80, eps)] });
    expect(vsMap(s)['10.20.30.41:80/TCP']).toEqual(['10.180.0.1:80']);
    const withReady = sync({ services: [svc('ns1', 'svc1', { clusterIP: '10.20.30.41', ports: [P80] })], endpointSlices: [slice('ns1', 'svc1', P80, [...eps, { ip: '10.180.0.3' }])] });
    expect(vsMap(withReady)['10.20.30.41:80/TCP']).toEqual(['10.180.0.3:80']);
  });

  it('an unset serving condition counts as serving, as endpointslicecache.go reads it', () => {
    const s = sync({ services: [svc('ns1', 'svc1', { clusterIP: '10.20.30.41', ports: [P80] })], endpointSlices: [slice('ns1', 'svc1', P80, [{ ip: '10.180.0.9', ready: false, terminating: true }])] });
    expect(vsMap(s)['10.20.30.41:80/TCP']).toEqual(['10.180.0.9:80']);
  });

  it('topology hints: same-zone endpoints when every ready endpoint has hints and some are for this zone', () => {
    const hinted = (ip: string, zone: string) => ({ addresses: [ip], conditions: { ready: true }, hints: { forZones: [{ name: zone }] } });
    const sl = slice('ns1', 'svc1', P80, []);
    (sl as { endpoints: unknown[] }).endpoints = [hinted('10.180.0.1', 'a'), hinted('10.180.0.2', 'b')];
    const services = [svc('ns1', 'svc1', { clusterIP: '10.20.30.41', ports: [P80] })];
    expect(vsMap(sync({ services, endpointSlices: [sl], nodeLabels: { 'topology.kubernetes.io/zone': 'b' } }))['10.20.30.41:80/TCP']).toEqual(['10.180.0.2:80']);
    // No endpoint hinted for this zone: hints are ignored.
    expect(vsMap(sync({ services, endpointSlices: [sl], nodeLabels: { 'topology.kubernetes.io/zone': 'c' } }))['10.20.30.41:80/TCP']).toEqual(['10.180.0.1:80', '10.180.0.2:80']);
  });

  it('headless and ExternalName Services get nothing', () => {
    const s = sync({ services: [svc('ns1', 'h', { clusterIP: 'None', ports: [P80] }), svc('ns1', 'e', { type: 'ExternalName', externalName: 'example.com' })] });
    expect(s.virtualServers).toEqual([]);
  });
});

describe('iptables-restore text as writeIptablesRules writes it', () => {
  it('a NodePort with a local endpoint, ClusterCIDR detector, default mark', () => {
    const s = sync({
      services: [nodePortSvc()], endpointSlices: [slice('ns1', 'svc1', P80, [{ ip: '10.180.0.1', node: HOST }])],
      nodeAddresses: ['192.168.1.11'], ifNotLocal: ['!', '-s', '10.244.0.0/16'],
    });
    expect(s.iptablesRestore).toBe(`*nat
:KUBE-SERVICES - [0:0]
:KUBE-POSTROUTING - [0:0]
:KUBE-NODE-PORT - [0:0]
:KUBE-LOAD-BALANCER - [0:0]
:KUBE-MARK-MASQ - [0:0]
-A KUBE-SERVICES -s 127.0.0.0/8 -j RETURN
-A KUBE-POSTROUTING -m comment --comment "Kubernetes endpoints dst ip:port, source ip for solving hairpin purpose" -m set --match-set KUBE-LOOP-BACK dst,dst,src -j MASQUERADE
-A KUBE-NODE-PORT -p tcp -m comment --comment "Kubernetes nodeport TCP port for masquerade purpose" -m set --match-set KUBE-NODE-PORT-TCP dst -j KUBE-MARK-MASQ
-A KUBE-SERVICES -m comment --comment "Kubernetes service cluster ip + port for masquerade purpose" -m set --match-set KUBE-CLUSTER-IP dst,dst ! -s 10.244.0.0/16 -j KUBE-MARK-MASQ
-A KUBE-SERVICES -m addrtype --dst-type LOCAL -j KUBE-NODE-PORT
-A KUBE-LOAD-BALANCER -j KUBE-MARK-MASQ
-A KUBE-SERVICES -m set --match-set KUBE-CLUSTER-IP dst,dst -j ACCEPT
-A KUBE-POSTROUTING -m mark ! --mark 0x00004000/0x00004000 -j RETURN
-A KUBE-POSTROUTING -j MARK --xor-mark 0x00004000
-A KUBE-POSTROUTING -m comment --comment "kubernetes service traffic requiring SNAT" -j MASQUERADE --random-fully
-A KUBE-MARK-MASQ -j MARK --or-mark 0x00004000
COMMIT
*filter
:KUBE-FORWARD - [0:0]
:KUBE-NODE-PORT - [0:0]
:KUBE-PROXY-FIREWALL - [0:0]
:KUBE-SOURCE-RANGES-FIREWALL - [0:0]
:KUBE-IPVS-FILTER - [0:0]
:KUBE-IPVS-OUT-FILTER - [0:0]
-A KUBE-SOURCE-RANGES-FIREWALL -j DROP
-A KUBE-FORWARD -m comment --comment "kubernetes forwarding rules" -m mark --mark 0x00004000/0x00004000 -j ACCEPT
-A KUBE-FORWARD -m comment --comment "kubernetes forwarding conntrack rule" -m conntrack --ctstate RELATED,ESTABLISHED -j ACCEPT
-A KUBE-NODE-PORT -m comment --comment "Kubernetes health check node port" -m set --match-set KUBE-HEALTH-CHECK-NODE-PORT dst -j ACCEPT
-A KUBE-IPVS-FILTER -m set --match-set KUBE-LOAD-BALANCER dst,dst -j RETURN
-A KUBE-IPVS-FILTER -m set --match-set KUBE-CLUSTER-IP dst,dst -j RETURN
-A KUBE-IPVS-FILTER -m set --match-set KUBE-EXTERNAL-IP dst,dst -j RETURN
-A KUBE-IPVS-FILTER -m set --match-set KUBE-EXTERNAL-IP-LOCAL dst,dst -j RETURN
-A KUBE-IPVS-FILTER -m set --match-set KUBE-HEALTH-CHECK-NODE-PORT dst -j RETURN
-A KUBE-IPVS-FILTER -m conntrack --ctstate NEW -m set --match-set KUBE-IPVS-IPS dst -j REJECT
COMMIT
`);
    expect(s.ipsetRestore.split('\n').filter((l) => l.includes('KUBE-CLUSTER-IP') || l.includes('KUBE-NODE-PORT-TCP ') || l.startsWith('add'))).toEqual([
      'add KUBE-LOOP-BACK 10.180.0.1,tcp:80,10.180.0.1',
      'create KUBE-CLUSTER-IP hash:ip,port family inet hashsize 1024 maxelem 65536',
      'add KUBE-CLUSTER-IP 10.20.30.41,tcp:80',
      'create KUBE-NODE-PORT-TCP bitmap:port range 0-65535',
      'add KUBE-NODE-PORT-TCP 3001',
      'add KUBE-IPVS-IPS 10.20.30.41',
    ]);
    expect(s.jumpRules[0]).toEqual({ table: 'nat', chain: 'OUTPUT', args: '-m comment --comment "kubernetes service portals" -j KUBE-SERVICES' });
  });

  it('without a local-traffic detector the ClusterIP masquerade matches src,dst; masqueradeAll matches every source', () => {
    const services = [svc('ns1', 'svc1', { clusterIP: '10.20.30.41', ports: [P80] })];
    expect(sync({ services }).iptablesRestore).toContain('--match-set KUBE-CLUSTER-IP src,dst -j KUBE-MARK-MASQ\n');
    expect(sync({ services, masqueradeAll: true, ifNotLocal: ['!', '-s', '10.0.0.0/8'] }).iptablesRestore).toContain('--match-set KUBE-CLUSTER-IP dst,dst -j KUBE-MARK-MASQ\n');
  });

  it('the IPv6 proxier names its sets KUBE-6-* (cut to 31 characters) and returns ::1', () => {
    const s = sync({ family: 'IPv6', services: [svc('ns1', 'svc1', { clusterIP: 'fd00::1', ports: [P80] })] });
    expect(s.ipsets.map((x) => x.name)).toContain('KUBE-6-LOAD-BALANCER-SOURCE-CID');
    expect(s.iptablesRestore).toContain('-A KUBE-SERVICES -s ::1/128 -j RETURN\n');
    expect(s.iptablesRestore).toContain('--match-set KUBE-6-CLUSTER-IP dst,dst -j ACCEPT\n');
    expect(s.ipsetRestore).toContain('create KUBE-6-CLUSTER-IP hash:ip,port family inet6 hashsize 1024 maxelem 65536\nadd KUBE-6-CLUSTER-IP fd00::1,tcp:80\n');
  });
});

// IPVS mode reads Services and EndpointSlices through src/proxy's serviceport.ts and endpoints.ts, as iptables
// mode does: what those readings handle, IPVS mode handles too.
describe('the Service and EndpointSlice reading both modes share', () => {
  it('sloppy addresses (leading-zero IPv4 octets) are read as ParseIPSloppy reads them', () => {
    const s = sync({
      services: [svc('ns1', 'svc1', { clusterIP: '010.020.030.041', externalIPs: ['050.060.070.081'], ports: [P80] })],
      endpointSlices: [slice('ns1', 'svc1', P80, [{ ip: '010.180.000.001' }])],
    });
    expect(vsMap(s)).toEqual({ '10.20.30.41:80/TCP': ['10.180.0.1:80'], '50.60.70.81:80/TCP': ['10.180.0.1:80'] });
  });

  it('loadBalancerSourceRanges are trimmed and canonicalized; those of the other family or invalid are dropped', () => {
    const lb = svc('ns1', 'svc1', { type: 'LoadBalancer', clusterIP: '10.20.30.41', loadBalancerSourceRanges: [' 010.0.0.0/8 ', 'fd00::/64', 'bogus'], ports: [{ ...P80, nodePort: 3001 }] },
      { loadBalancer: { ingress: [{ ip: '1.2.3.4' }] } });
    expect(entries(sync({ services: [lb] }), 'KUBE-LOAD-BALANCER-SOURCE-CIDR')).toEqual(['1.2.3.4,tcp:80,10.0.0.0/8']);
  });

  it('a Service or EndpointSlice another proxy owns (service-proxy-name), or a headless-labelled slice, is not read', () => {
    const other = svc('ns1', 'other', { clusterIP: '10.20.30.42', ports: [P80] });
    other.metadata = { ...other.metadata, labels: { 'service.kubernetes.io/service-proxy-name': 'foo' } };
    const mine = svc('ns1', 'svc1', { clusterIP: '10.20.30.41', ports: [P80] });
    const foreign = slice('ns1', 'svc1', P80, [{ ip: '10.180.0.2' }]);
    foreign.metadata = { ...foreign.metadata, name: 'svc1-foreign', labels: { ...foreign.metadata?.labels, 'service.kubernetes.io/headless': '' } };
    const s = sync({ services: [other, mine], endpointSlices: [slice('ns1', 'svc1', P80, [{ ip: '10.180.0.1' }]), foreign] });
    expect(vsMap(s)).toEqual({ '10.20.30.41:80/TCP': ['10.180.0.1:80'] });
  });

  it('an endpoint two slices list is kept once, the local copy winning (it goes into KUBE-LOOP-BACK)', () => {
    const a = slice('ns1', 'svc1', P80, [{ ip: '10.180.0.1' }]);
    const b = slice('ns1', 'svc1', P80, [{ ip: '10.180.0.1', node: HOST }]);
    b.metadata = { ...b.metadata, name: 'svc1-b' };
    const s = sync({ services: [svc('ns1', 'svc1', { clusterIP: '10.20.30.41', ports: [P80] })], endpointSlices: [a, b] });
    expect(vsMap(s)['10.20.30.41:80/TCP']).toEqual(['10.180.0.1:80']);
    expect(entries(s, 'KUBE-LOOP-BACK')).toEqual(['10.180.0.1,tcp:80,10.180.0.1']);
  });

  it('node hints come before zone hints (PreferSameNode)', () => {
    const sl = slice('ns1', 'svc1', P80, []);
    const hinted = (ip: string, node: string, zone: string) => ({ addresses: [ip], conditions: { ready: true }, hints: { forNodes: [{ name: node }], forZones: [{ name: zone }] } });
    (sl as { endpoints: unknown[] }).endpoints = [hinted('10.180.0.1', HOST, 'a'), hinted('10.180.0.2', 'other', 'a')];
    const s = sync({ services: [svc('ns1', 'svc1', { clusterIP: '10.20.30.41', ports: [P80] })], endpointSlices: [sl], nodeLabels: { 'topology.kubernetes.io/zone': 'a' } });
    expect(vsMap(s)['10.20.30.41:80/TCP']).toEqual(['10.180.0.1:80']);
  });

  it('--nodeport-addresses primary: the node IP only', () => {
    const s = sync({ services: [nodePortSvc()], nodeIP: '100.101.102.103', nodeAddresses: ['100.101.102.103', '10.0.0.5', '127.0.0.1'], nodePortAddresses: ['primary'] });
    expect(s.virtualServers.filter((v) => v.spec.port === 3001).map((v) => v.spec.address)).toEqual(['100.101.102.103']);
  });
});
