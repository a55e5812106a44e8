// The server on real sockets: UDP and TCP, EDNS0, truncation, FORMERR/NOTIMP/REFUSED, malformed packets,
// live answers, forwarding and the health/ready/metrics port.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { cluster, NODES3 } from '../helpers/cluster.ts';
import { startDns, type RunningDns } from '../../src/dns/service.ts';
import type { Exchange } from '../../src/dns/forward.ts';
import dnsPacket from 'dns-packet';
import { decode, query, tcpQuery, udpQuery } from './client.ts';
import type { Cluster } from '../../src/cluster/cluster.ts';
import type { KubeObject } from '../../src/cluster/objects.ts';

const TOPO = `${NODES3}
---
apiVersion: apps/v1
kind: StatefulSet
metadata: {name: web}
spec:
  serviceName: web
  replicas: 12
  selector: {matchLabels: {app: web}}
  template:
    metadata: {labels: {app: web}}
    spec: {containers: [{name: c, ports: [{name: http, containerPort: 8080}]}]}
---
apiVersion: v1
kind: Service
metadata: {name: web}
spec:
  clusterIP: None
  selector: {app: web}
  ports: [{name: http, port: 80, targetPort: http}]
`;

/** An upstream that answers every A query with 192.0.2.1, as an outside resolver would. */
const fakeUpstream: Exchange = async (_to, q) => {
  const m = dnsPacket.decode(q);
  return dnsPacket.encode({
    type: 'response', id: m.id, flags: dnsPacket.RECURSION_DESIRED | dnsPacket.RECURSION_AVAILABLE, questions: m.questions,
    answers: [{ name: m.questions![0].name, type: 'A', class: 'IN', ttl: 300, data: '192.0.2.1' }],
  });
};

let c: Cluster;
let dns: RunningDns;
beforeAll(async () => {
  c = cluster(TOPO);
  dns = await startDns(c, { port: 0, metricsPort: 0, exchange: fakeUpstream, resolvConf: () => 'nameserver 192.0.2.53\n', readFile: () => '' });
});
afterAll(() => dns.close());

const flagsOf = (b: Buffer) => b.readUInt16BE(2);

describe('UDP and TCP', () => {
  it('answers a ClusterIP A over UDP: AA, RD copied, no RA, kubeadm TTL 30', async () => {
    const r = decode((await udpQuery(dns.port, query('kubernetes.default.svc.cluster.local', 'A')))!);
    expect(r.id).toBe(4242);
    expect(r.flag_aa).toBe(true);
    expect(r.flag_rd).toBe(true);
    expect(r.flag_ra).toBe(false);
    expect(r.answers).toEqual([{ name: 'kubernetes.default.svc.cluster.local', type: 'A', class: 'IN', ttl: 30, flush: false, data: '10.96.0.1' }]);
  });
  it('answers over TCP, and the same id on repeat (answer cache)', async () => {
    for (const id of [1, 2]) {
      const r = decode((await tcpQuery(dns.port, query('kubernetes.default.svc.cluster.local', 'A', { id })))!);
      expect(r.id).toBe(id);
      expect(r.answers?.[0]).toMatchObject({ data: '10.96.0.1' });
    }
  });
  it('binds a host given by name (--dns-host localhost) and answers there', async () => {
    const d = await startDns(c, { host: 'localhost', port: 0, readFile: () => '', resolvConf: () => 'nameserver 192.0.2.53\n' });
    try {
      const r = decode((await udpQuery(d.port, query('kubernetes.default.svc.cluster.local', 'A')))!);
      expect(r.answers?.[0]).toMatchObject({ data: '10.96.0.1' });
    } finally {
      await d.close();
    }
  });
  it('keeps the question as sent, case included', async () => {
    const r = decode((await udpQuery(dns.port, query('KuBeRnEtEs.default.svc.CLUSTER.local', 'A')))!);
    expect(r.questions?.[0].name).toBe('KuBeRnEtEs.default.svc.CLUSTER.local');
    expect(r.answers?.[0].name).toBe('KuBeRnEtEs.default.svc.CLUSTER.local');
  });
});

describe('EDNS0 and truncation', () => {
  it('echoes the OPT with the client UDP size and the DO bit; none without', async () => {
    const r = decode((await udpQuery(dns.port, query('web.default.svc.cluster.local', 'A', { edns: { size: 1232, do: true } })))!);
    const opt = r.additionals?.find((a) => a.type === 'OPT') as unknown as { udpPayloadSize: number; flags: number; ednsVersion: number };
    expect(opt.udpPayloadSize).toBe(1232);
    expect(opt.flags & dnsPacket.DNSSEC_OK).toBe(dnsPacket.DNSSEC_OK);
    expect(opt.ednsVersion).toBe(0);
    const plain = decode((await udpQuery(dns.port, query('web.default.svc.cluster.local', 'A')))!);
    expect(plain.additionals).toEqual([]);
  });
  it('BADVERS for EDNS version 1', async () => {
    const b = (await udpQuery(dns.port, query('web.default.svc.cluster.local', 'A', { edns: { size: 1232, version: 1 } })))!;
    const r = decode(b);
    const opt = r.additionals?.find((a) => a.type === 'OPT') as unknown as { extendedRcode: number; ednsVersion: number };
    expect(opt.extendedRcode).toBe(1);
    expect(opt.ednsVersion).toBe(0);
    expect(r.answers).toEqual([]);
  });
  it('a headless SRV that does not fit 512 bytes sets TC over UDP; TCP and a big EDNS buffer carry it all', async () => {
    const udp = (await udpQuery(dns.port, query('_http._tcp.web.default.svc.cluster.local', 'SRV')))!;
    expect(udp.length).toBeLessThanOrEqual(512);
    expect(flagsOf(udp) & dnsPacket.TRUNCATED_RESPONSE).toBeTruthy();
    const tcp = decode((await tcpQuery(dns.port, query('_http._tcp.web.default.svc.cluster.local', 'SRV')))!);
    expect(tcp.flag_tc).toBe(false);
    expect(tcp.answers).toHaveLength(12);
    expect(tcp.additionals).toHaveLength(12);
    expect((tcp.answers![0].data as { weight: number; port: number }).weight).toBe(8);
    expect((tcp.answers![0].data as { port: number }).port).toBe(8080);
    const big = decode((await udpQuery(dns.port, query('_http._tcp.web.default.svc.cluster.local', 'SRV', { edns: { size: 4096 } })))!);
    expect(big.flag_tc).toBe(false);
    expect(big.answers).toHaveLength(12);
  });
});

describe('what is not a plain query', () => {
  it('NOTIMP for opcode STATUS, with the opcode and id kept', async () => {
    const q = query('x.cluster.local', 'A', { flags: 2 << 11 });
    const b = (await udpQuery(dns.port, q))!;
    expect(b.readUInt16BE(0)).toBe(4242);
    expect(flagsOf(b) & 0xf).toBe(4);
    expect((flagsOf(b) >> 11) & 0xf).toBe(2);
  });
  it('FORMERR for no question, two questions, and a body that does not parse', async () => {
    const none = Buffer.from(query('x.cluster.local', 'A'));
    none.writeUInt16BE(0, 4);
    expect(flagsOf((await udpQuery(dns.port, none.subarray(0, 12)))!) & 0xf).toBe(1);
    const two = Buffer.from(query('x.cluster.local', 'A'));
    two.writeUInt16BE(2, 4);
    expect(flagsOf((await udpQuery(dns.port, two))!) & 0xf).toBe(1);
    const cut = query('kubernetes.default.svc.cluster.local', 'A').subarray(0, 20);
    expect(flagsOf((await udpQuery(dns.port, cut))!) & 0xf).toBe(1);
  });
  it('no reply to runts and to responses', async () => {
    expect(await udpQuery(dns.port, Buffer.from([1, 2, 3]), 300)).toBeUndefined();
    const resp = Buffer.from(query('x.cluster.local', 'A'));
    resp[2] |= 0x80;
    expect(await udpQuery(dns.port, resp, 300)).toBeUndefined();
  });
  it('REFUSED for class CH, and for AXFR of the cluster zone', async () => {
    expect(flagsOf((await udpQuery(dns.port, query('version.bind', 'TXT', { cls: 'CH' })))!) & 0xf).toBe(5);
    expect(flagsOf((await tcpQuery(dns.port, query('cluster.local', 'AXFR')))!) & 0xf).toBe(5);
  });
  it('survives a storm of random and mutated packets, and answers right after', async () => {
    let seed = 7;
    const rand = () => ((seed = (seed * 1103515245 + 12345) >>> 0) / 2 ** 32);
    const valid = query('_http._tcp.web.default.svc.cluster.local', 'SRV', { edns: { size: 1232 } });
    const sends: Promise<unknown>[] = [];
    for (let i = 0; i < 600; i++) {
      let b: Buffer;
      if (i % 2) {
        b = Buffer.from(valid);
        for (let k = 0; k < 1 + Math.floor(rand() * 6); k++) b[Math.floor(rand() * b.length)] = Math.floor(rand() * 256);
        b = b.subarray(0, Math.floor(rand() * (b.length + 1)));
      } else b = Buffer.from(Array.from({ length: Math.floor(rand() * 80) }, () => Math.floor(rand() * 256)));
      sends.push(udpQuery(dns.port, b, 200));
      if (i % 3 === 0) sends.push(tcpQuery(dns.port, b, 200));
    }
    await Promise.all(sends);
    // As a stub resolver would, retry a lost datagram (the storm may still fill socket buffers).
    const t0 = performance.now();
    let reply: Buffer | undefined;
    for (let tries = 0; tries < 3 && !reply; tries++) reply = await udpQuery(dns.port, query('kubernetes.default.svc.cluster.local', 'A'), 300);
    const r = decode(reply!);
    expect(r.answers?.[0]).toMatchObject({ data: '10.96.0.1' });
    expect(performance.now() - t0).toBeLessThan(1000);
  });
});

describe('live and outside', () => {
  it('a Service created, then deleted, shows in the very next answer', async () => {
    const ask = async () => decode((await udpQuery(dns.port, query('late.default.svc.cluster.local', 'A')))!);
    expect((await ask()).rcode).toBe('NXDOMAIN');
    const svc = c.api.create<KubeObject>({ apiVersion: 'v1', kind: 'Service', metadata: { name: 'late', namespace: 'default' }, spec: { ports: [{ port: 80 }] } })!;
    const ip = (svc.spec as { clusterIP: string }).clusterIP;
    const r = await ask();
    expect(r.rcode).toBe('NOERROR');
    expect(r.answers?.[0]).toMatchObject({ data: ip });
    c.api.delete('Service', 'default', 'late');
    expect((await ask()).rcode).toBe('NXDOMAIN');
  });
  it('forwards names outside the cluster zone to /etc/resolv.conf\'s nameservers, RA from upstream, cached with countdown', async () => {
    const r = decode((await udpQuery(dns.port, query('example.com', 'A')))!);
    expect(r.flag_ra).toBe(true);
    expect(r.flag_aa).toBe(false);
    expect(r.answers?.[0]).toMatchObject({ data: '192.0.2.1', ttl: 30 });
    const again = decode((await udpQuery(dns.port, query('example.com', 'A')))!);
    expect(again.flag_aa).toBe(true);
    expect(again.answers?.[0].ttl).toBeLessThanOrEqual(30);
  });
  it('ExternalName outside the zone: the CNAME, then the upstream answer', async () => {
    c.api.create<KubeObject>({ apiVersion: 'v1', kind: 'Service', metadata: { name: 'ext', namespace: 'default' }, spec: { type: 'ExternalName', externalName: 'db.example.org' } });
    const r = decode((await udpQuery(dns.port, query('ext.default.svc.cluster.local', 'A')))!);
    expect(r.answers?.map((a) => [a.type, a.data])).toEqual([['CNAME', 'db.example.org'], ['A', '192.0.2.1']]);
    expect(r.answers?.every((a) => a.ttl === 30)).toBe(true);
  });
});

describe('health, ready, metrics', () => {
  it('serves /health, /ready and CoreDNS metric names', async () => {
    const base = `http://127.0.0.1:${dns.metricsPort}`;
    expect(await (await fetch(`${base}/health`)).text()).toBe('OK');
    expect((await fetch(`${base}/ready`)).status).toBe(200);
    const m = await (await fetch(`${base}/metrics`)).text();
    expect(m).toMatch(/coredns_dns_requests_total\{server="dns:\/\/:53",zone="\.",view="",proto="udp",family="1",type="A"\} \d+/);
    expect(m).toMatch(/coredns_dns_responses_total\{server="dns:\/\/:53",zone="\.",view="",rcode="NOERROR",plugin="kubernetes"\} \d+/);
    expect(m).toMatch(/coredns_dns_responses_total\{[^}]*rcode="NXDOMAIN",plugin="kubernetes"\}/);
    expect(m).toContain('coredns_dns_request_duration_seconds_bucket');
    expect(m).toMatch(/coredns_cache_hits_total\{server="dns:\/\/:53",type="success",zones="\.",view=""\} [1-9]/);
    expect(m).toContain('coredns_build_info');
    expect(m).toMatch(/coredns_plugin_enabled\{server="dns:\/\/:53",zone="\.",view="",name="kubernetes"\} 1/);
  });
});

describe('reload and log', () => {
  it('a changed coredns ConfigMap is loaded for the next query; one with errors is refused; log writes CoreDNS\'s lines', async () => {
    const cl = cluster(NODES3);
    const lines: string[] = [];
    const reloads: [string[], boolean][] = [];
    const d = await startDns(cl, { port: 0, readFile: () => '', resolvConf: () => 'nameserver 192.0.2.53\n', log: (l) => lines.push(l), onReload: (p, ok) => reloads.push([p, ok]) });
    try {
      const cm = cl.store.get<KubeObject>('ConfigMap', 'kube-system', 'coredns')!;
      const withCorefile = (text: string) => ({ ...cm, data: { Corefile: text } });
      cl.api.update(withCorefile('.:53 {\n    log\n    hosts {\n        10.9.9.9 registry.corp.example\n    }\n    kubernetes cluster.local\n}\n'));
      expect(reloads.at(-1)).toEqual([[], true]);
      const r = decode((await udpQuery(d.port, query('registry.corp.example', 'A', { id: 77 })))!);
      expect(r.answers?.[0]).toMatchObject({ data: '10.9.9.9', ttl: 3600 });
      expect(lines).toHaveLength(1);
      expect(lines[0]).toMatch(/^\[INFO\] 127\.0\.0\.1:\d+ - 77 "A IN registry\.corp\.example\. udp \d+ false 512" NOERROR qr,aa,rd \d+ \d+\.\d{9}s$/);
      cl.api.update(withCorefile('.:53 {\n    kubernetes cluster.local {\n        ttl forever\n    }\n}\n'));
      expect(reloads.at(-1)![1]).toBe(false);
      expect(reloads.at(-1)![0][0]).toMatch(/Corefile:3: kubernetes ttl: want 0\.\.3600, got "forever"$/);
      const again = decode((await udpQuery(d.port, query('registry.corp.example', 'A')))!);
      expect(again.answers?.[0]).toMatchObject({ data: '10.9.9.9' });
    } finally {
      await d.close();
    }
  });
});
