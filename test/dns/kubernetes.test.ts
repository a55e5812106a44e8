// Conformance: CoreDNS plugin/kubernetes handler_test.go (dnsTestCases, nsTestCases), handler_case_test.go,
// reverse_test.go, handler_pod_*_test.go and handler_ignore_emptyservice_test.go, ported case by case onto
// the same fixture expressed as Services and EndpointSlices.
import { describe, expect, it } from 'vitest';
import { harness, rr, sections, serveTestObjects, service, slice } from './fixtures.ts';
import type { KubeObject } from '../../src/cluster/objects.ts';

const SOA = 'cluster.local. 5 IN SOA ns.dns.cluster.local. hostmaster.cluster.local. 1499347823 7200 1800 86400 5';
const NOERROR = 0;
const NXDOMAIN = 3;

interface Case { q: string; t: string; rcode: number; answer?: string[]; ns?: string[]; extra?: string[] }

function check(h: ReturnType<typeof harness>, c: Case) {
  const got = sections(h.ask(c.q, c.t));
  expect(got, `${c.q} ${c.t}`).toEqual({
    rcode: c.rcode,
    answer: (c.answer ?? []).map(rr).sort(),
    ns: (c.ns ?? []).map(rr).sort(),
    extra: (c.extra ?? []).map(rr).sort(),
  });
}

const dnsTestCases: Case[] = [
  { q: 'svc1.testns.svc.cluster.local.', t: 'A', rcode: NOERROR, answer: ['svc1.testns.svc.cluster.local. 5 IN A 10.0.0.1'] },
  { q: 'svcempty.testns.svc.cluster.local.', t: 'A', rcode: NOERROR, answer: ['svcempty.testns.svc.cluster.local. 5 IN A 10.0.0.1'] },
  { q: 'svc1.testns.svc.cluster.local.', t: 'SRV', rcode: NOERROR, answer: ['svc1.testns.svc.cluster.local. 5 IN SRV 0 100 80 svc1.testns.svc.cluster.local.'], extra: ['svc1.testns.svc.cluster.local. 5 IN A 10.0.0.1'] },
  { q: 'svcempty.testns.svc.cluster.local.', t: 'SRV', rcode: NOERROR, answer: ['svcempty.testns.svc.cluster.local. 5 IN SRV 0 100 80 svcempty.testns.svc.cluster.local.'], extra: ['svcempty.testns.svc.cluster.local. 5 IN A 10.0.0.1'] },
  { q: 'svc6.testns.svc.cluster.local.', t: 'SRV', rcode: NOERROR, answer: ['svc6.testns.svc.cluster.local. 5 IN SRV 0 100 80 svc6.testns.svc.cluster.local.'], extra: ['svc6.testns.svc.cluster.local. 5 IN AAAA 1234:abcd::1'] },
  { q: '_http._tcp.svc1.testns.svc.cluster.local.', t: 'SRV', rcode: NOERROR, answer: ['_http._tcp.svc1.testns.svc.cluster.local. 5 IN SRV 0 100 80 svc1.testns.svc.cluster.local.'], extra: ['svc1.testns.svc.cluster.local. 5 IN A 10.0.0.1'] },
  { q: '_http._tcp.svcempty.testns.svc.cluster.local.', t: 'SRV', rcode: NOERROR, answer: ['_http._tcp.svcempty.testns.svc.cluster.local. 5 IN SRV 0 100 80 svcempty.testns.svc.cluster.local.'], extra: ['svcempty.testns.svc.cluster.local. 5 IN A 10.0.0.1'] },
  { q: 'hdls1.testns.svc.cluster.local.', t: 'A', rcode: NOERROR, answer: ['172.0.0.2', '172.0.0.3', '172.0.0.4', '172.0.0.5'].map((ip) => `hdls1.testns.svc.cluster.local. 5 IN A ${ip}`) },
  { q: 'hdlsprtls.testns.svc.cluster.local.', t: 'A', rcode: NOERROR, answer: ['hdlsprtls.testns.svc.cluster.local. 5 IN A 172.0.0.20'] },
  { q: '172-0-0-20.hdlsprtls.testns.svc.cluster.local.', t: 'A', rcode: NOERROR, answer: ['172-0-0-20.hdlsprtls.testns.svc.cluster.local. 5 IN A 172.0.0.20'] },
  { q: '172-0-0-2.hdls1.testns.svc.cluster.local.', t: 'A', rcode: NOERROR, answer: ['172-0-0-2.hdls1.testns.svc.cluster.local. 5 IN A 172.0.0.2'] },
  { q: '172-0-0-3.hdls1.testns.svc.cluster.local.', t: 'A', rcode: NOERROR, answer: ['172-0-0-3.hdls1.testns.svc.cluster.local. 5 IN A 172.0.0.3'] },
  { q: 'dup-name.hdls1.testns.svc.cluster.local.', t: 'A', rcode: NOERROR, answer: ['dup-name.hdls1.testns.svc.cluster.local. 5 IN A 172.0.0.4', 'dup-name.hdls1.testns.svc.cluster.local. 5 IN A 172.0.0.5'] },
  {
    q: '_http._tcp.hdls1.testns.svc.cluster.local.', t: 'SRV', rcode: NOERROR,
    answer: ['172-0-0-2', '172-0-0-3', '5678-abcd--1', '5678-abcd--2', 'dup-name'].map((h) => `_http._tcp.hdls1.testns.svc.cluster.local. 5 IN SRV 0 16 80 ${h}.hdls1.testns.svc.cluster.local.`),
    extra: [
      '172-0-0-2.hdls1.testns.svc.cluster.local. 5 IN A 172.0.0.2',
      '172-0-0-3.hdls1.testns.svc.cluster.local. 5 IN A 172.0.0.3',
      '5678-abcd--1.hdls1.testns.svc.cluster.local. 5 IN AAAA 5678:abcd::1',
      '5678-abcd--2.hdls1.testns.svc.cluster.local. 5 IN AAAA 5678:abcd::2',
      'dup-name.hdls1.testns.svc.cluster.local. 5 IN A 172.0.0.4',
      'dup-name.hdls1.testns.svc.cluster.local. 5 IN A 172.0.0.5',
    ],
  },
  { q: '5678-abcd--2.hdls1.testns.svc.cluster.local', t: 'AAAA', rcode: NOERROR, answer: ['5678-abcd--2.hdls1.testns.svc.cluster.local. 5 IN AAAA 5678:abcd::2'] },
  { q: 'external.testns.svc.cluster.local.', t: 'CNAME', rcode: NOERROR, answer: ['external.testns.svc.cluster.local. 5 IN CNAME ext.interwebs.test.'] },
  {
    q: 'external-to-service.testns.svc.cluster.local', t: 'A', rcode: NOERROR,
    answer: ['external-to-service.testns.svc.cluster.local. 5 IN CNAME svc1.testns.svc.cluster.local.', 'svc1.testns.svc.cluster.local. 5 IN A 10.0.0.1'],
  },
  { q: 'svc1.testns.svc.cluster.local.', t: 'AAAA', rcode: NOERROR, ns: [SOA] },
  { q: 'svc0.testns.svc.cluster.local.', t: 'AAAA', rcode: NXDOMAIN, ns: [SOA] },
  { q: 'svc0.testns.svc.cluster.local.', t: 'A', rcode: NXDOMAIN, ns: [SOA] },
  { q: 'svc0.svc-nons.svc.cluster.local.', t: 'A', rcode: NXDOMAIN, ns: [SOA] },
  { q: 'dns-version.cluster.local.', t: 'TXT', rcode: NOERROR, answer: ['dns-version.cluster.local 28800 IN TXT 1.1.0'] },
  { q: 'bogusendpoint.hdls1.testns.svc.cluster.local.', t: 'A', rcode: NXDOMAIN, ns: [SOA] },
  { q: 'bogusendpoint.svc0.testns.svc.cluster.local.', t: 'A', rcode: NXDOMAIN, ns: [SOA] },
  { q: 'svc6.testns.svc.cluster.local.', t: 'AAAA', rcode: NOERROR, answer: ['svc6.testns.svc.cluster.local. 5 IN AAAA 1234:abcd::1'] },
  { q: '_http._tcp.svc6.testns.svc.cluster.local.', t: 'SRV', rcode: NOERROR, answer: ['_http._tcp.svc6.testns.svc.cluster.local. 5 IN SRV 0 100 80 svc6.testns.svc.cluster.local.'], extra: ['svc6.testns.svc.cluster.local. 5 IN AAAA 1234:abcd::1'] },
  { q: 'hdls1.testns.svc.cluster.local.', t: 'AAAA', rcode: NOERROR, answer: ['hdls1.testns.svc.cluster.local. 5 IN AAAA 5678:abcd::1', 'hdls1.testns.svc.cluster.local. 5 IN AAAA 5678:abcd::2'] },
  { q: '5678-abcd--1.hdls1.testns.svc.cluster.local.', t: 'AAAA', rcode: NOERROR, answer: ['5678-abcd--1.hdls1.testns.svc.cluster.local. 5 IN AAAA 5678:abcd::1'] },
  { q: 'svc.cluster.local.', t: 'A', rcode: NOERROR, ns: [SOA] },
  { q: 'pod.cluster.local.', t: 'A', rcode: NOERROR, ns: [SOA] },
  { q: 'testns.svc.cluster.local.', t: 'A', rcode: NOERROR, ns: [SOA] },
  { q: 'svc.cluster.local.', t: 'NS', rcode: NOERROR, ns: [SOA] },
  { q: 'testns.svc.cluster.local.', t: 'NS', rcode: NOERROR, ns: [SOA] },
  { q: 'foo.cluster.local.', t: 'NS', rcode: NXDOMAIN, ns: [SOA] },
  { q: 'foo.svc.cluster.local.', t: 'NS', rcode: NXDOMAIN, ns: [SOA] },
  { q: 'svc-dual-stack.testns.svc.cluster.local.', t: 'A', rcode: NOERROR, answer: ['svc-dual-stack.testns.svc.cluster.local. 5 IN A 10.0.0.3'] },
  { q: 'svc-dual-stack.testns.svc.cluster.local.', t: 'AAAA', rcode: NOERROR, answer: ['svc-dual-stack.testns.svc.cluster.local. 5 IN AAAA 10::3'] },
  {
    q: 'svc-dual-stack.testns.svc.cluster.local.', t: 'SRV', rcode: NOERROR,
    answer: ['svc-dual-stack.testns.svc.cluster.local. 5 IN SRV 0 50 80 svc-dual-stack.testns.svc.cluster.local.'],
    extra: ['svc-dual-stack.testns.svc.cluster.local. 5 IN A 10.0.0.3', 'svc-dual-stack.testns.svc.cluster.local. 5 IN AAAA 10::3'],
  },
  { q: 'svc1.testns.svc.cluster.local.', t: 'SOA', rcode: NOERROR, ns: [SOA] },
  { q: 'endpoint.external.testns.svc.cluster.local.', t: 'CNAME', rcode: NXDOMAIN, ns: [SOA] },
  // commonDnsTestCases (v1.14): TXT only at dns-version; NODATA on other existing names, NXDOMAIN on missing ones.
  { q: 'svc1.testns.svc.cluster.local.', t: 'TXT', rcode: NOERROR, ns: [SOA] },
  { q: 'svc0.testns.svc.cluster.local.', t: 'TXT', rcode: NXDOMAIN, ns: [SOA] },
  // The endpoint of a ClusterIP service is reachable by its hostname, not by its dashed IP.
  { q: 'ep1a.svc1.testns.svc.cluster.local.', t: 'A', rcode: NOERROR, answer: ['ep1a.svc1.testns.svc.cluster.local. 5 IN A 172.0.0.1'] },
  { q: '172-0-0-1.svc1.testns.svc.cluster.local.', t: 'A', rcode: NXDOMAIN, ns: [SOA] },
  // Grammar: an unknown subtree, too many labels, an unmatched port, the wrong protocol.
  { q: 'blah.cluster.local.', t: 'A', rcode: NXDOMAIN, ns: [SOA] },
  { q: 'a.b._http._tcp.svc1.testns.svc.cluster.local.', t: 'A', rcode: NXDOMAIN, ns: [SOA] },
  { q: '_nope._tcp.svc1.testns.svc.cluster.local.', t: 'SRV', rcode: NXDOMAIN, ns: [SOA] },
  { q: '_http._udp.svc1.testns.svc.cluster.local.', t: 'SRV', rcode: NXDOMAIN, ns: [SOA] },
  // SRV on a port-less headless service: entries with the -1 port sentinel are skipped (NODATA).
  { q: 'hdlsprtls.testns.svc.cluster.local.', t: 'SRV', rcode: NOERROR, ns: [SOA] },
  // SRV on an ExternalName: NODATA; sub-names of it: NXDOMAIN.
  { q: 'external.testns.svc.cluster.local.', t: 'SRV', rcode: NOERROR, ns: [SOA] },
  { q: '_http._tcp.external.testns.svc.cluster.local.', t: 'SRV', rcode: NOERROR, ns: [SOA] },
  // Types without records: NODATA on existing names (fake A lookup), NXDOMAIN on missing ones.
  { q: 'svc1.testns.svc.cluster.local.', t: 'MX', rcode: NOERROR, ns: [SOA] },
  { q: 'svc1.testns.svc.cluster.local.', t: 'HINFO', rcode: NOERROR, ns: [SOA] },
  { q: 'svc1.testns.svc.cluster.local.', t: 'PTR', rcode: NOERROR, ns: [SOA] },
  { q: 'svc1.testns.svc.cluster.local.', t: 'CNAME', rcode: NOERROR, ns: [SOA] },
  { q: 'svc0.testns.svc.cluster.local.', t: 'ANY', rcode: NXDOMAIN, ns: [SOA] },
  // Apex and empty non-terminals.
  { q: 'cluster.local.', t: 'A', rcode: NOERROR, ns: [SOA] },
  { q: 'cluster.local.', t: 'SOA', rcode: NOERROR, answer: [SOA] },
  { q: 'nope.svc0.testns.svc.cluster.local.', t: 'SOA', rcode: NOERROR, ns: [SOA] },
  { q: '100.0.0.10.cluster.local.', t: 'PTR', rcode: NXDOMAIN, ns: [SOA] },
];

describe('CoreDNS handler_test.go dnsTestCases (namespaces testns)', () => {
  const h = harness(serveTestObjects(), { namespaces: ['testns'] });
  for (const c of dnsTestCases) it(`${c.q} ${c.t}`, () => check(h, c));

  it('sets AA on answers and on negative answers', () => {
    expect(h.ask('svc1.testns.svc.cluster.local', 'A').aa).toBe(true);
    expect(h.ask('svc0.testns.svc.cluster.local', 'A').aa).toBe(true);
  });
});

describe('namespaces', () => {
  it('an unexposed namespace is NXDOMAIN (nsTestCases and the namespaces option)', () => {
    const h = harness(serveTestObjects(), { namespaces: ['testns'] });
    check(h, { q: 'svc1.unexposedns.svc.cluster.local.', t: 'A', rcode: NXDOMAIN, ns: [SOA] });
    check(h, { q: 'unexposedns.svc.cluster.local.', t: 'A', rcode: NXDOMAIN, ns: [SOA] });
  });
  it('with no namespaces option every existing namespace is exposed; a missing one is NXDOMAIN (nsTestCases, ttl 30)', () => {
    const h = harness(serveTestObjects(), { ttl: 30 });
    check(h, { q: 'svc1.testns.svc.cluster.local.', t: 'A', rcode: NOERROR, answer: ['svc1.testns.svc.cluster.local. 30 IN A 10.0.0.1'] });
    check(h, { q: 'svc1.unexposedns.svc.cluster.local.', t: 'A', rcode: NOERROR, answer: ['svc1.unexposedns.svc.cluster.local. 30 IN A 10.0.0.2'] });
    check(h, {
      q: 'svc1.nsnoexist.svc.cluster.local.', t: 'A', rcode: NXDOMAIN,
      ns: ['cluster.local. 30 IN SOA ns.dns.cluster.local. hostmaster.cluster.local. 1551484803 7200 1800 86400 30'],
    });
  });
  it('the SOA record TTL is min(ttl, 300) and its minimum the ttl', () => {
    const h = harness(serveTestObjects(), { ttl: 3600 });
    check(h, { q: 'svc0.testns.svc.cluster.local.', t: 'A', rcode: NXDOMAIN, ns: ['cluster.local. 300 IN SOA ns.dns.cluster.local. hostmaster.cluster.local. 1 7200 1800 86400 3600'] });
  });
});

describe('handler_case_test.go: case preserved', () => {
  const h = harness(serveTestObjects(), { ignoreEmptyService: true });
  it('negative answer: the SOA uses the zone as spelled', () => check(h, {
    q: 'not-a-service.testns.svc.ClUsTeR.lOcAl.', t: 'A', rcode: NXDOMAIN,
    ns: ['ClUsTeR.lOcAl. 5 IN SOA ns.dns.ClUsTeR.lOcAl. hostmaster.ClUsTeR.lOcAl. 1499347823 7200 1800 86400 5'],
  }));
  it('A owner keeps the query spelling', () => check(h, { q: 'SvC1.TeStNs.SvC.cLuStEr.LoCaL.', t: 'A', rcode: NOERROR, answer: ['SvC1.TeStNs.SvC.cLuStEr.LoCaL. 5 IN A 10.0.0.1'] }));
  it('SRV target: object names lowercase, zone as spelled', () => check(h, {
    q: '_HtTp._TcP.sVc1.TeStNs.SvC.cLuStEr.LoCaL.', t: 'SRV', rcode: NOERROR,
    answer: ['_HtTp._TcP.sVc1.TeStNs.SvC.cLuStEr.LoCaL. 5 IN SRV 0 100 80 svc1.testns.svc.cLuStEr.LoCaL.'],
    extra: ['svc1.testns.svc.cLuStEr.LoCaL. 5 IN A 10.0.0.1'],
  }));
  it('apex SOA', () => check(h, { q: 'Cluster.local.', t: 'SOA', rcode: NOERROR, answer: ['Cluster.local. 5 IN SOA ns.dns.Cluster.local. hostmaster.Cluster.local. 1499347823 7200 1800 86400 5'] }));
});

describe('handler_ignore_emptyservice_test.go', () => {
  const h = harness(serveTestObjects(), { ignoreEmptyService: true });
  it('a ClusterIP service with no ready endpoints is NXDOMAIN', () => check(h, { q: 'svcempty.testns.svc.cluster.local.', t: 'A', rcode: NXDOMAIN, ns: [SOA] }));
  it('one with endpoints still answers', () => check(h, { q: 'svc1.testns.svc.cluster.local.', t: 'A', rcode: NOERROR, answer: ['svc1.testns.svc.cluster.local. 5 IN A 10.0.0.1'] }));
});

describe('pods', () => {
  const objects = (): KubeObject[] => [
    ...serveTestObjects(),
    { apiVersion: 'v1', kind: 'Pod', metadata: { name: 'foo', namespace: 'podns' }, spec: { containers: [{ name: 'c' }] }, status: { podIP: '10.240.0.1', podIPs: [{ ip: '10.240.0.1' }] } },
  ];
  it('pods disabled (the plugin default): NXDOMAIN under a namespace, NODATA at pod.<zone> (handler_pod_disabled_test.go)', () => {
    const h = harness(objects());
    check(h, { q: '10-240-0-1.podns.pod.cluster.local.', t: 'A', rcode: NXDOMAIN, ns: [SOA] });
    check(h, { q: '172-0-0-2.podns.pod.cluster.local.', t: 'A', rcode: NXDOMAIN, ns: [SOA] });
    check(h, { q: 'pod.cluster.local.', t: 'A', rcode: NOERROR, ns: [SOA] });
  });
  it('pods insecure: any dashed IP answers, a non-IP is NXDOMAIN, the namespace must exist (handler_pod_insecure_test.go)', () => {
    const h = harness(objects(), { pods: 'insecure' });
    check(h, { q: '10-20-0-101.podns.pod.cluster.local.', t: 'A', rcode: NOERROR, answer: ['10-20-0-101.podns.pod.cluster.local. 5 IN A 10.20.0.101'] });
    check(h, { q: '172-0-0-2.podns.pod.cluster.local.', t: 'A', rcode: NOERROR, answer: ['172-0-0-2.podns.pod.cluster.local. 5 IN A 172.0.0.2'] });
    check(h, { q: 'fd00--1.podns.pod.cluster.local.', t: 'AAAA', rcode: NOERROR, answer: ['fd00--1.podns.pod.cluster.local. 5 IN AAAA fd00::1'] });
    check(h, { q: '172-0-0-2.podns.pod.cluster.local.', t: 'AAAA', rcode: NOERROR, ns: [SOA] });
    check(h, { q: 'blah.podns.pod.cluster.local.', t: 'A', rcode: NXDOMAIN, ns: [SOA] });
    check(h, { q: 'blah.podns.pod.cluster.local.', t: 'AAAA', rcode: NXDOMAIN, ns: [SOA] });
    check(h, { q: '10-20-0-101.pod-nons.pod.cluster.local.', t: 'A', rcode: NXDOMAIN, ns: [SOA] });
    check(h, { q: 'podns.pod.cluster.local.', t: 'A', rcode: NOERROR, ns: [SOA] });
  });
  it('pods verified: only an existing pod IP in that namespace (handler_pod_verified_test.go)', () => {
    const h = harness(objects(), { pods: 'verified' });
    check(h, { q: '10-240-0-1.podns.pod.cluster.local.', t: 'A', rcode: NOERROR, answer: ['10-240-0-1.podns.pod.cluster.local. 5 IN A 10.240.0.1'] });
    check(h, { q: '172-0-0-2.podns.pod.cluster.local.', t: 'A', rcode: NXDOMAIN, ns: [SOA] });
    check(h, { q: '10-240-0-1.testns.pod.cluster.local.', t: 'A', rcode: NXDOMAIN, ns: [SOA] });
    check(h, { q: '10-240-0-1.pod-nons.pod.cluster.local.', t: 'A', rcode: NXDOMAIN, ns: [SOA] });
  });
});

describe('reverse_test.go: PTR', () => {
  const objects = (): KubeObject[] => [
    { apiVersion: 'v1', kind: 'Namespace', metadata: { name: 'testns' } },
    service('testns', 'svc1', { type: 'ClusterIP', clusterIPs: ['192.168.1.100'], ports: [{ name: 'http', protocol: 'TCP', port: 80 }] }),
    slice('testns', 'svc1', 'svc1-v4', [{ ip: '10.0.0.100', hostname: 'ep1a' }], [{ name: 'http', port: 80 }]),
    slice('testns', 'svc1', 'svc1-v6', [
      { ip: '1234:abcd::1', hostname: 'ep1b' }, { ip: 'fd00:77:30::a', hostname: 'ip6svc1ex' }, { ip: 'fd00:77:30::2:9ba6', hostname: 'ip6svc1in' },
    ], [{ name: 'http', port: 80 }], 'IPv6'),
    service('testns', 'svc2', { type: 'ClusterIP', clusterIPs: ['192.168.1.101'], ports: [{ name: 'http', port: 80 }] }),
    slice('testns', 'svc1', 'svc1-dbl', [{ ip: '10.0.0.99', hostname: 'double-ep' }], [{ name: 'http', port: 80 }]),
    slice('testns', 'svc2', 'svc2-dbl', [{ ip: '10.0.0.99', hostname: 'double-ep' }, { ip: '10.0.0.98' }], [{ name: 'http', port: 80 }]),
  ];
  const zones = ['cluster.local', '0.10.in-addr.arpa', '168.192.in-addr.arpa', '0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.d.c.b.a.4.3.2.1.ip6.arpa', '0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.3.0.0.7.7.0.0.0.0.d.f.ip6.arpa'];
  const h = harness(objects(), { zones });
  const ptr = (q: string, target: string) => check(h, { q, t: 'PTR', rcode: NOERROR, answer: [`${q} 5 IN PTR ${target}`] });
  it('endpoint IP -> its hostname under the service', () => ptr('100.0.0.10.in-addr.arpa.', 'ep1a.svc1.testns.svc.cluster.local.'));
  it('ClusterIP -> the service', () => ptr('100.1.168.192.in-addr.arpa.', 'svc1.testns.svc.cluster.local.'));
  it('IPv6 endpoints', () => {
    ptr('1.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.d.c.b.a.4.3.2.1.ip6.arpa.', 'ep1b.svc1.testns.svc.cluster.local.');
    ptr('a.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.3.0.0.7.7.0.0.0.0.d.f.ip6.arpa.', 'ip6svc1ex.svc1.testns.svc.cluster.local.');
    ptr('6.a.b.9.2.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.3.0.0.7.7.0.0.0.0.d.f.ip6.arpa.', 'ip6svc1in.svc1.testns.svc.cluster.local.');
  });
  it('an endpoint IP in two services: one PTR each (README "PTR Records")', () => check(h, {
    q: '99.0.0.10.in-addr.arpa.', t: 'PTR', rcode: NOERROR,
    answer: ['99.0.0.10.in-addr.arpa. 5 IN PTR double-ep.svc1.testns.svc.cluster.local.', '99.0.0.10.in-addr.arpa. 5 IN PTR double-ep.svc2.testns.svc.cluster.local.'],
  }));
  it('an endpoint without hostname: the dashed IP', () => ptr('98.0.0.10.in-addr.arpa.', '10-0-0-98.svc2.testns.svc.cluster.local.'));
  it('an unknown address in a reverse zone: NXDOMAIN with the reverse zone SOA', () => check(h, {
    q: '101.0.0.10.in-addr.arpa.', t: 'PTR', rcode: NXDOMAIN,
    ns: ['0.10.in-addr.arpa. 5 IN SOA ns.dns.0.10.in-addr.arpa. hostmaster.0.10.in-addr.arpa. 1 7200 1800 86400 5'],
  }));
  it('a dotted IP under the forward zone: NXDOMAIN', () => check(h, { q: 'example.org.cluster.local.', t: 'PTR', rcode: NXDOMAIN, ns: [SOA] }));
  it('with fallthrough for the reverse zones, an unknown address goes to the next plugin', () => {
    const f = harness(objects(), { zones: ['cluster.local', 'in-addr.arpa', 'ip6.arpa'], fallthrough: ['in-addr.arpa', 'ip6.arpa'] });
    expect(() => f.ask('1.2.3.4.in-addr.arpa', 'PTR')).toThrow(/next plugin/);
    expect(f.ask('100.1.168.192.in-addr.arpa', 'PTR').answers).toHaveLength(1);
    check(f, { q: 'svc0.testns.svc.cluster.local.', t: 'A', rcode: NXDOMAIN, ns: [SOA] });
  });
});

describe('ns_test.go / kubernetes_apex_test.go: NS at the apex', () => {
  it('names the Service selecting the CoreDNS pod, with its ClusterIP as glue (coredns/ci address_test.go)', () => {
    const h = harness([
      { apiVersion: 'v1', kind: 'Namespace', metadata: { name: 'kube-system' } },
      service('kube-system', 'kube-dns', { clusterIP: '10.96.0.10', ports: [{ name: 'dns', protocol: 'UDP', port: 53 }] }),
      slice('kube-system', 'kube-dns', 'kube-dns-x', [{ ip: '10.244.0.2', pod: 'coredns-a' }], [{ name: 'dns', protocol: 'UDP', port: 53 }]),
      { apiVersion: 'v1', kind: 'Pod', metadata: { name: 'coredns-a', namespace: 'kube-system', labels: { 'k8s-app': 'kube-dns' } }, spec: { containers: [{ name: 'c' }] }, status: { podIP: '10.244.0.2' } },
    ]);
    check(h, {
      q: 'cluster.local.', t: 'NS', rcode: NOERROR,
      answer: ['cluster.local. 5 IN NS kube-dns.kube-system.svc.cluster.local.'],
      extra: ['kube-dns.kube-system.svc.cluster.local. 5 IN A 10.96.0.10'],
    });
    check(h, { q: 'ns.dns.cluster.local.', t: 'A', rcode: NOERROR, answer: ['ns.dns.cluster.local. 5 IN A 10.96.0.10'] });
  });
  it('without such a Service: ns.dns.<zone> at the server address', () => {
    const h = harness(serveTestObjects());
    check(h, { q: 'cluster.local.', t: 'NS', rcode: NOERROR, answer: ['cluster.local. 5 IN NS ns.dns.cluster.local.'], extra: ['ns.dns.cluster.local. 5 IN A 127.0.0.1'] });
    check(h, { q: 'ns.dns.cluster.local.', t: 'A', rcode: NOERROR, answer: ['ns.dns.cluster.local. 5 IN A 127.0.0.1'] });
    check(h, { q: 'ns.dns.cluster.local.', t: 'AAAA', rcode: NOERROR, ns: [SOA] });
  });
});

describe('headless details', () => {
  it('not-ready endpoints are left out; a headless service with none ready is NXDOMAIN; publish lives in the slice', () => {
    const h = harness([
      { apiVersion: 'v1', kind: 'Namespace', metadata: { name: 'ns' } },
      service('ns', 'web', { clusterIP: 'None', ports: [{ name: 'http', port: 80 }] }),
      slice('ns', 'web', 'web-1', [{ ip: '10.1.0.1', hostname: 'web-0' }, { ip: '10.1.0.2', hostname: 'web-1', ready: false }], [{ name: 'http', port: 8080 }]),
      service('ns', 'down', { clusterIP: 'None', ports: [{ name: 'http', port: 80 }] }),
      slice('ns', 'down', 'down-1', [{ ip: '10.1.0.3', ready: false }], [{ name: 'http', port: 8080 }]),
    ], { zones: ['cluster.local', 'in-addr.arpa'] });
    check(h, { q: 'web.ns.svc.cluster.local', t: 'A', rcode: NOERROR, answer: ['web.ns.svc.cluster.local. 5 IN A 10.1.0.1'] });
    check(h, { q: 'web-1.web.ns.svc.cluster.local', t: 'A', rcode: NXDOMAIN, ns: [SOA] });
    check(h, { q: 'down.ns.svc.cluster.local', t: 'A', rcode: NXDOMAIN, ns: [SOA] });
    // Headless SRV carries the endpoint (target) port.
    check(h, {
      q: '_http._tcp.web.ns.svc.cluster.local', t: 'SRV', rcode: NOERROR,
      answer: ['_http._tcp.web.ns.svc.cluster.local. 5 IN SRV 0 100 8080 web-0.web.ns.svc.cluster.local.'],
      extra: ['web-0.web.ns.svc.cluster.local. 5 IN A 10.1.0.1'],
    });
    check(h, { q: '1.0.1.10.in-addr.arpa', t: 'PTR', rcode: NOERROR, answer: ['1.0.1.10.in-addr.arpa. 5 IN PTR web-0.web.ns.svc.cluster.local.'] });
    check(h, { q: '2.0.1.10.in-addr.arpa', t: 'PTR', rcode: NXDOMAIN, ns: ['in-addr.arpa. 5 IN SOA ns.dns.in-addr.arpa. hostmaster.in-addr.arpa. 1 7200 1800 86400 5'] });
  });
  it('endpoint_pod_names names endpoints by their pod; IPv6 names ending in "::" get a 0', () => {
    const objs = [
      { apiVersion: 'v1', kind: 'Namespace', metadata: { name: 'ns' } },
      service('ns', 'db', { clusterIP: 'None' }),
      slice('ns', 'db', 'db-1', [{ ip: '10.1.0.1', pod: 'db-abc' }], []),
      slice('ns', 'db', 'db-2', [{ ip: '2001:db8::' }], [], 'IPv6'),
    ];
    const h = harness(objs, { endpointPodNames: true });
    check(h, { q: 'db-abc.db.ns.svc.cluster.local', t: 'A', rcode: NOERROR, answer: ['db-abc.db.ns.svc.cluster.local. 5 IN A 10.1.0.1'] });
    check(h, { q: '2001-db8--0.db.ns.svc.cluster.local', t: 'AAAA', rcode: NOERROR, answer: ['2001-db8--0.db.ns.svc.cluster.local. 5 IN AAAA 2001:db8::'] });
    const plain = harness(objs);
    check(plain, { q: '10-1-0-1.db.ns.svc.cluster.local', t: 'A', rcode: NOERROR, answer: ['10-1-0-1.db.ns.svc.cluster.local. 5 IN A 10.1.0.1'] });
  });
  it('an IP-valued externalName is ignored (NXDOMAIN); an external CNAME target asks for an upstream lookup', () => {
    const h = harness([
      { apiVersion: 'v1', kind: 'Namespace', metadata: { name: 'ns' } },
      service('ns', 'ip', { type: 'ExternalName', externalName: '1.2.3.4' }),
      service('ns', 'ext', { type: 'ExternalName', externalName: 'example.com' }),
    ]);
    check(h, { q: 'ip.ns.svc.cluster.local', t: 'A', rcode: NXDOMAIN, ns: [SOA] });
    check(h, { q: 'ext.ns.svc.cluster.local', t: 'A', rcode: NOERROR, answer: ['ext.ns.svc.cluster.local. 5 IN CNAME example.com.'] });
  });
});

describe('noendpoints', () => {
  it('no records from endpoints: headless and endpoint names NXDOMAIN, ClusterIPs still answer', () => {
    const h = harness(serveTestObjects(), { noEndpoints: true });
    check(h, { q: 'hdls1.testns.svc.cluster.local.', t: 'A', rcode: NXDOMAIN, ns: [SOA] });
    check(h, { q: 'ep1a.svc1.testns.svc.cluster.local.', t: 'A', rcode: NXDOMAIN, ns: [SOA] });
    check(h, { q: 'svc1.testns.svc.cluster.local.', t: 'A', rcode: NOERROR, answer: ['svc1.testns.svc.cluster.local. 5 IN A 10.0.0.1'] });
  });
});

describe('live', () => {
  it('a change in the store shows in the very next answer', () => {
    const h = harness(serveTestObjects());
    check(h, { q: 'svc9.testns.svc.cluster.local.', t: 'A', rcode: NXDOMAIN, ns: [SOA] });
    h.store.create(service('testns', 'svc9', { clusterIP: '10.0.0.9', ports: [{ port: 80 }] }));
    check(h, { q: 'svc9.testns.svc.cluster.local.', t: 'A', rcode: NOERROR, answer: ['svc9.testns.svc.cluster.local. 5 IN A 10.0.0.9'] });
    h.store.delete('Service', 'testns', 'svc9');
    check(h, { q: 'svc9.testns.svc.cluster.local.', t: 'A', rcode: NXDOMAIN, ns: [SOA] });
  });
});
