// CategorizeEndpoints cases from upstream's pkg/proxy/topology_test.go (TestCategorizeEndpoints), plus the
// endpoint bookkeeping of endpointslicecache.go and the probability format of proxier.go.
import { describe, expect, it } from 'vitest';
import { categorizeEndpoints } from '../../src/proxy/topology.ts';
import { servicePorts, type ServicePortInfo } from '../../src/proxy/serviceport.ts';
import { endpointsByServicePort, type EndpointInfo } from '../../src/proxy/endpoints.ts';
import { computeProbability } from '../../src/proxy/iptables/proxier.ts';
import { portProtoHash, servicePortEndpointChainName } from '../../src/proxy/iptables/chains.ts';
import type { Service } from '../../src/cluster/objects.ts';

/** makeServicePortInfo(clusterIP, port, TCP, nodePort, nil, ..., externalPolicyLocal, internalPolicyLocal). */
function svcInfo(nodePort: number, eTPLocal: boolean, iTPLocal: boolean): ServicePortInfo {
  const svc: Service = {
    metadata: { namespace: 'ns', name: 'svc' },
    spec: {
      clusterIP: '10.96.0.1',
      type: nodePort ? 'NodePort' : 'ClusterIP',
      externalTrafficPolicy: eTPLocal ? 'Local' : 'Cluster',
      internalTrafficPolicy: iTPLocal ? 'Local' : 'Cluster',
      ports: [{ port: 80, protocol: 'TCP', nodePort: nodePort || undefined }],
    },
  };
  return servicePorts(svc, 'IPv4')[0];
}

/** makeTestEndpointInfo(ip, port, isLocal, ready, serving, terminating, zoneHints, nodeHints). */
function ep(ip: string, isLocal: boolean, ready: boolean, serving: boolean, terminating: boolean, zones: string[] = [], nodes: string[] = []): EndpointInfo {
  return { ip, port: 80, str: `${ip}:80`, isLocal, ready, serving, terminating, zoneHints: zones, nodeHints: nodes };
}

const strs = (eps: EndpointInfo[]) => eps.map((e) => e.str).sort();
const ZA = { 'topology.kubernetes.io/zone': 'zone-a' };

describe('CategorizeEndpoints (upstream TestCategorizeEndpoints)', () => {
  const cases: { name: string; node?: string; labels: Record<string, string>; svc: ServicePortInfo; eps: EndpointInfo[]; cluster: string[]; local?: string[]; all?: string[] }[] = [
    {
      name: 'should use topology since all endpoints have hints, node has a zone label and and there are endpoints for the node\'s zone',
      labels: ZA, svc: svcInfo(0, false, false),
      eps: [ep('10.1.2.3', false, true, true, false, ['zone-a']), ep('10.1.2.4', false, true, true, false, ['zone-b']), ep('10.1.2.5', false, true, true, false, ['zone-c']), ep('10.1.2.6', false, true, true, false, ['zone-a'])],
      cluster: ['10.1.2.3:80', '10.1.2.6:80'],
    },
    {
      name: 'eTP: Local, topology ignored for Local endpoints',
      labels: ZA, svc: svcInfo(8080, true, false),
      eps: [ep('10.1.2.3', true, true, true, false, ['zone-a']), ep('10.1.2.4', true, true, true, false, ['zone-b']), ep('10.1.2.5', false, true, true, false, ['zone-c']), ep('10.1.2.6', false, true, true, false, ['zone-a'])],
      cluster: ['10.1.2.3:80', '10.1.2.6:80'], local: ['10.1.2.3:80', '10.1.2.4:80'], all: ['10.1.2.3:80', '10.1.2.4:80', '10.1.2.6:80'],
    },
    {
      name: 'iTP: Local, topology ignored for Local endpoints',
      labels: ZA, svc: svcInfo(8080, false, true),
      eps: [ep('10.1.2.3', true, true, true, false, ['zone-a']), ep('10.1.2.4', true, true, true, false, ['zone-b']), ep('10.1.2.5', false, true, true, false, ['zone-c']), ep('10.1.2.6', false, true, true, false, ['zone-a'])],
      cluster: ['10.1.2.3:80', '10.1.2.6:80'], local: ['10.1.2.3:80', '10.1.2.4:80'], all: ['10.1.2.3:80', '10.1.2.4:80', '10.1.2.6:80'],
    },
    { name: 'empty node labels', labels: {}, svc: svcInfo(0, false, false), eps: [ep('10.1.2.3', false, true, true, false, ['zone-a'])], cluster: ['10.1.2.3:80'] },
    { name: 'empty zone label', labels: { 'topology.kubernetes.io/zone': '' }, svc: svcInfo(0, false, false), eps: [ep('10.1.2.3', false, true, true, false, ['zone-a'])], cluster: ['10.1.2.3:80'] },
    {
      name: 'node in different zone, no endpoint filtering',
      labels: { 'topology.kubernetes.io/zone': 'zone-b' }, svc: svcInfo(0, false, false),
      eps: [ep('10.1.2.3', false, true, true, false, ['zone-a']), ep('10.1.2.5', false, true, true, false, ['zone-c'])],
      cluster: ['10.1.2.3:80', '10.1.2.5:80'],
    },
    {
      name: 'unready endpoint',
      labels: ZA, svc: svcInfo(0, false, false),
      eps: [ep('10.1.2.3', false, true, true, false, ['zone-a']), ep('10.1.2.4', false, true, true, false, ['zone-b']), ep('10.1.2.5', false, true, true, false, ['zone-c']), ep('10.1.2.6', false, false, true, false, ['zone-a'])],
      cluster: ['10.1.2.3:80'],
    },
    {
      name: 'only unready endpoints in same zone (should not filter)',
      labels: ZA, svc: svcInfo(0, false, false),
      eps: [ep('10.1.2.3', false, false, true, false, ['zone-a']), ep('10.1.2.4', false, true, true, false, ['zone-b']), ep('10.1.2.5', false, true, true, false, ['zone-c']), ep('10.1.2.6', false, false, true, false, ['zone-a'])],
      cluster: ['10.1.2.4:80', '10.1.2.5:80'],
    },
    {
      name: 'missing hints, no filtering applied',
      labels: ZA, svc: svcInfo(0, false, false),
      eps: [ep('10.1.2.3', false, true, true, false, ['zone-a']), ep('10.1.2.4', false, true, true, false, ['zone-b']), ep('10.1.2.5', false, true, true, false), ep('10.1.2.6', false, true, true, false, ['zone-a'])],
      cluster: ['10.1.2.3:80', '10.1.2.4:80', '10.1.2.5:80', '10.1.2.6:80'],
    },
    {
      name: 'multiple hints per endpoint, filtering includes any endpoint with zone included',
      labels: { 'topology.kubernetes.io/zone': 'zone-c' }, svc: svcInfo(0, false, false),
      eps: [ep('10.1.2.3', false, true, true, false, ['zone-a', 'zone-b', 'zone-c']), ep('10.1.2.4', false, true, true, false, ['zone-b', 'zone-c']), ep('10.1.2.5', false, true, true, false, ['zone-b', 'zone-d']), ep('10.1.2.6', false, true, true, false, ['zone-c'])],
      cluster: ['10.1.2.3:80', '10.1.2.4:80', '10.1.2.6:80'],
    },
    {
      name: 'PreferSameNode available',
      node: 'node-1', labels: ZA, svc: svcInfo(0, false, false),
      eps: [ep('10.1.2.3', false, true, true, false, ['zone-a'], ['node-1']), ep('10.1.2.4', false, true, true, false, ['zone-b'], ['node-2']), ep('10.1.2.5', false, true, true, false, ['zone-c'], ['node-3']), ep('10.1.2.6', false, true, true, false, ['zone-a'], ['node-4'])],
      cluster: ['10.1.2.3:80'],
    },
    {
      name: 'PreferSameNode ignored if some endpoints unhinted',
      node: 'node-1', labels: ZA, svc: svcInfo(0, false, false),
      eps: [ep('10.1.2.3', false, true, true, false, ['zone-a'], ['node-1']), ep('10.1.2.4', false, true, true, false), ep('10.1.2.5', false, true, true, false, ['zone-c'], ['node-3']), ep('10.1.2.6', false, true, true, false, ['zone-a'], ['node-4'])],
      cluster: ['10.1.2.3:80', '10.1.2.4:80', '10.1.2.5:80', '10.1.2.6:80'],
    },
  ];
  for (const c of cases) {
    it(c.name, () => {
      const r = categorizeEndpoints(c.eps, c.svc, c.node ?? 'test-node', c.labels);
      expect(strs(r.clusterEndpoints)).toEqual(c.cluster);
      expect(strs(r.localEndpoints)).toEqual(c.local ?? []);
      expect(strs(r.allReachableEndpoints)).toEqual(c.all ?? (c.local && !c.cluster.length ? c.local : c.cluster));
      expect(r.hasAnyEndpoints).toBe(true);
    });
  }
});

describe('endpoints from EndpointSlices (endpointslicecache.go)', () => {
  const slice = (name: string, eps: object[], port = 80) => ({
    addressType: 'IPv4',
    metadata: { namespace: 'ns', name, labels: { 'kubernetes.io/service-name': 'svc' } },
    endpoints: eps,
    ports: [{ name: 'http', port, protocol: 'TCP' }],
  });

  it('merges slices, de-duplicates (a local copy wins) and sorts by "ip:port" as strings', () => {
    const m = endpointsByServicePort([
      slice('a', [{ addresses: ['10.0.1.2'] }, { addresses: ['10.0.1.10'] }]),
      slice('b', [{ addresses: ['10.0.1.2'], nodeName: 'me' }, { addresses: ['010.000.001.003'] }]),
    ] as never, 'IPv4', 'me');
    const eps = m.get('ns/svc:http/TCP')!;
    expect(eps.map((e) => e.str)).toEqual(['10.0.1.10:80', '10.0.1.2:80', '10.0.1.3:80']);
    expect(eps.find((e) => e.ip === '10.0.1.2')!.isLocal).toBe(true);
  });

  it('reads conditions as endpointslicecache.go defaults them: ready nil = true, serving nil = true, terminating nil = false', () => {
    const m = endpointsByServicePort([slice('a', [
      { addresses: ['10.0.0.1'] },
      { addresses: ['10.0.0.2'], conditions: { ready: false } },
      { addresses: ['10.0.0.3'], conditions: { ready: false, serving: true, terminating: true } },
      { addresses: ['10.0.0.4'], conditions: { ready: false, terminating: true } },
      { addresses: ['fd00::1'] },
    ])] as never, 'IPv4', 'me');
    expect(m.get('ns/svc:http/TCP')!.map((e) => [e.ip, e.ready, e.serving, e.terminating])).toEqual([
      ['10.0.0.1', true, true, false],
      ['10.0.0.2', false, true, false],
      ['10.0.0.3', false, true, true],
      ['10.0.0.4', false, true, true],
    ]);
  });

  it('ignores slices of the other family, ports without a number, and headless or foreign-proxy slices', () => {
    expect(endpointsByServicePort([slice('a', [{ addresses: ['10.0.0.1'] }], 0)] as never, 'IPv4', 'me').size).toBe(0);
    expect(endpointsByServicePort([slice('a', [{ addresses: ['10.0.0.1'] }])] as never, 'IPv6', 'me').size).toBe(0);
  });
});

describe('chain names and probabilities (proxier.go)', () => {
  it('hash chain names as upstream does (names from its tests)', () => {
    expect(portProtoHash('ns1/svc1:p80', 'tcp')).toBe('XPGD46QRK7WJZT7O');
    expect(portProtoHash('ns2/svc2:p8080', 'tcp')).toBe('2VJB64SDSIJUP5T6');
    expect(portProtoHash('ns1/svc1', 'tcp')).toBe('AQI2S6QIMU7PVVRP');
    expect(servicePortEndpointChainName('ns1/svc1:p80', 'tcp', '10.0.0.0:80')).toBe('KUBE-SEP-DKGQUZGBKLTPAR56');
    expect(servicePortEndpointChainName('ns1/svc1:p80', 'tcp', '[ff06::c1]:80')).toBe('KUBE-SEP-LIGRYQQLSZN4UWQ5');
    expect(servicePortEndpointChainName('ns2/svc2:p8080', 'tcp', '10.0.2.1:8080')).toBe('KUBE-SEP-UHEGFW77JX3KXTOV');
  });

  it('formats probabilities with %0.10f (TestComputeProbability)', () => {
    expect(computeProbability(1)).toBe('1.0000000000');
    expect(computeProbability(2)).toBe('0.5000000000');
    expect(computeProbability(3)).toBe('0.3333333333');
    expect(computeProbability(10)).toBe('0.1000000000');
    expect(computeProbability(100000)).toBe('0.0000100000');
    expect(computeProbability(100001)).toBe('0.0000099999');
  });
});

describe('service ports (serviceport.go)', () => {
  it('a ClusterIP with leading-zero octets is of its family, as GetClusterIPByFamily reads it, and printed canonically', () => {
    const svc = { apiVersion: 'v1', kind: 'Service', metadata: { namespace: 'ns', name: 'svc' },
      spec: { clusterIP: '010.000.000.010', clusterIPs: ['010.000.000.010'], ports: [{ name: 'http', port: 80 }] } } as Service;
    expect(servicePorts(svc, 'IPv4').map((p) => [p.key, p.clusterIP])).toEqual([['ns/svc:http/TCP', '10.0.0.10']]);
    expect(servicePorts(svc, 'IPv6')).toEqual([]);
  });

  it('a Service labelled headless or for another proxy is not kube-proxy\'s: the informer selector leaves it out', () => {
    const labelled = (labels: Record<string, string>) => ({ apiVersion: 'v1', kind: 'Service', metadata: { namespace: 'ns', name: 'svc', labels },
      spec: { clusterIP: '10.0.0.10', ports: [{ name: 'http', port: 80 }] } }) as Service;
    expect(servicePorts(labelled({}), 'IPv4')).toHaveLength(1);
    expect(servicePorts(labelled({ 'service.kubernetes.io/headless': '' }), 'IPv4')).toEqual([]);
    expect(servicePorts(labelled({ 'service.kubernetes.io/service-proxy-name': 'other' }), 'IPv4')).toEqual([]);
  });
});
