// The real dig against the cluster DNS, over UDP and TCP, for every record kind: header flags and sections
// compared with what CoreDNS answers in a kubeadm cluster (ttl 30, cache 30, pods insecure, forward).
import dgram from 'node:dgram';
import dnsPacket from 'dns-packet';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { cluster } from '../helpers/cluster.ts';
import { startDns, type RunningDns } from '../../src/dns/service.ts';
import { reverseName } from '../../src/dns/names.ts';
import { dig, hasDig } from './dig.ts';
import type { Cluster } from '../../src/cluster/cluster.ts';
import type { KubeObject, Pod, Service } from '../../src/cluster/objects.ts';

const available = await hasDig();
if (!available) console.warn('dig is not installed (bind9-dnsutils): skipping the real-client DNS tests');

const corefile = (upstreamPort: number) => `.:53 {
    errors
    health {
       lameduck 5s
    }
    ready
    kubernetes cluster.local in-addr.arpa ip6.arpa {
       pods insecure
       fallthrough in-addr.arpa ip6.arpa
       ttl 30
    }
    prometheus :9153
    forward . 127.0.0.1:${upstreamPort}
    cache 30
    loop
    reload
    loadbalance
}
`;

const topology = (upstreamPort: number) => `
apiVersion: kdp.dev/v1alpha1
kind: Cluster
metadata: {name: t}
spec:
  podCIDR: 10.244.0.0/16,fd00:10:244::/56
  serviceCIDR: 10.96.0.0/12,fd00:10:96::/108
  nodes: [{name: node1, ip: 192.168.1.11}]
---
apiVersion: v1
kind: ConfigMap
metadata: {name: coredns, namespace: kube-system}
data:
  Corefile: |
${corefile(upstreamPort).split('\n').map((l) => `    ${l}`).join('\n')}
---
apiVersion: apps/v1
kind: Deployment
metadata: {name: web}
spec:
  replicas: 2
  selector: {matchLabels: {app: web}}
  template:
    metadata: {labels: {app: web}}
    spec: {containers: [{name: c, ports: [{name: http, containerPort: 8080}]}]}
---
apiVersion: v1
kind: Service
metadata: {name: web}
spec:
  selector: {app: web}
  ports: [{name: http, port: 80, targetPort: http}]
---
apiVersion: v1
kind: Service
metadata: {name: dual}
spec:
  ipFamilyPolicy: RequireDualStack
  selector: {app: web}
  ports: [{name: http, port: 80, targetPort: http}]
---
apiVersion: apps/v1
kind: StatefulSet
metadata: {name: db}
spec:
  serviceName: db
  replicas: 2
  selector: {matchLabels: {app: db}}
  template:
    metadata: {labels: {app: db}}
    spec: {containers: [{name: c, ports: [{name: mysql, containerPort: 3306}]}]}
---
apiVersion: v1
kind: Service
metadata: {name: db}
spec:
  clusterIP: None
  ipFamilyPolicy: SingleStack
  selector: {app: db}
  ports: [{name: mysql, port: 3306}]
---
apiVersion: v1
kind: Service
metadata: {name: alias}
spec: {type: ExternalName, externalName: web.default.svc.cluster.local}
---
apiVersion: v1
kind: Service
metadata: {name: ext}
spec: {type: ExternalName, externalName: db.example.org}
`;

let upstream: dgram.Socket;
let c: Cluster;
let dns: RunningDns;
let web: string;
let dual: string[];
let dbPods: (Pod & KubeObject)[];

beforeAll(async () => {
  // The outside world's resolver: every A is 192.0.2.1, everything else NXDOMAIN.
  upstream = dgram.createSocket('udp4');
  upstream.on('message', (m, r) => {
    const q = dnsPacket.decode(m);
    const question = q.questions![0];
    const found = question.type === 'A';
    upstream.send(dnsPacket.encode({
      type: 'response', id: q.id, flags: dnsPacket.RECURSION_DESIRED | dnsPacket.RECURSION_AVAILABLE | (found ? 0 : 3), questions: q.questions,
      answers: found ? [{ name: question.name, type: 'A', class: 'IN', ttl: 300, data: '192.0.2.1' }] : [],
    }), r.port, r.address);
  });
  await new Promise<void>((res) => upstream.bind(0, '127.0.0.1', () => res()));
  c = cluster(topology(upstream.address().port));
  dns = await startDns(c, { port: 0, readFile: () => '' });
  const svc = (n: string) => c.store.get<Service & KubeObject>('Service', 'default', n)!;
  web = svc('web').spec!.clusterIP!;
  dual = svc('dual').spec!.clusterIPs!;
  dbPods = c.store.list<Pod & KubeObject>('Pod', { namespace: 'default' }).filter((p) => p.metadata.name.startsWith('db-'));
});
afterAll(async () => {
  await dns?.close();
  upstream?.close();
});

const SOA = /^cluster\.local\. 30 IN SOA ns\.dns\.cluster\.local\. hostmaster\.cluster\.local\. \d+ 7200 1800 86400 30$/;

describe.skipIf(!available)('dig against the cluster DNS', () => {
  for (const transport of ['+notcp', '+tcp']) {
    const T = transport === '+tcp' ? 'TCP' : 'UDP';
    describe(T, () => {
      const q = (...args: string[]) => dig(dns.port, [transport, ...args]);

      it('ClusterIP service A: aa set, ra not, TTL 30', async () => {
        const r = await q('web.default.svc.cluster.local', 'A');
        expect(r.transport).toBe(T);
        expect(r.status).toBe('NOERROR');
        expect(r.flags).toEqual(['qr', 'aa', 'rd']);
        expect(r.answer).toEqual([`web.default.svc.cluster.local. 30 IN A ${web}`]);
        expect(r.raw).toContain('WARNING: recursion requested but not available');
      });
      it('dual-stack service: A and AAAA; AAAA on a v4-only service is NODATA with the SOA', async () => {
        expect((await q('dual.default.svc.cluster.local', 'A')).answer).toEqual([`dual.default.svc.cluster.local. 30 IN A ${dual[0]}`]);
        expect((await q('dual.default.svc.cluster.local', 'AAAA')).answer).toEqual([`dual.default.svc.cluster.local. 30 IN AAAA ${dual[1]}`]);
        const nodata = await q('web.default.svc.cluster.local', 'AAAA');
        expect(nodata.status).toBe('NOERROR');
        expect(nodata.answer).toEqual([]);
        expect(nodata.authority).toHaveLength(1);
        expect(nodata.authority[0]).toMatch(SOA);
      });
      it('SRV of a named port with its glue', async () => {
        const r = await q('_http._tcp.web.default.svc.cluster.local', 'SRV');
        expect(r.answer).toEqual(['_http._tcp.web.default.svc.cluster.local. 30 IN SRV 0 100 80 web.default.svc.cluster.local.']);
        expect(r.additional).toEqual([`web.default.svc.cluster.local. 30 IN A ${web}`]);
      });
      it('headless: one A per ready pod, hostname records, SRV per endpoint with the target port', async () => {
        const ips = dbPods.map((p) => p.status!.podIP!).sort();
        const a = await q('db.default.svc.cluster.local', 'A');
        expect(a.answer.map((l) => l.split(' ').pop()).sort()).toEqual(ips);
        const db0 = dbPods.find((p) => p.metadata.name === 'db-0')!.status!.podIP!;
        expect((await q('db-0.db.default.svc.cluster.local', 'A')).answer).toEqual([`db-0.db.default.svc.cluster.local. 30 IN A ${db0}`]);
        const srv = await q('_mysql._tcp.db.default.svc.cluster.local', 'SRV');
        expect(srv.answer.sort()).toEqual(['db-0', 'db-1'].map((h) => `_mysql._tcp.db.default.svc.cluster.local. 30 IN SRV 0 50 3306 ${h}.db.default.svc.cluster.local.`));
        expect(srv.additional).toHaveLength(2);
      });
      it('PTR for a ClusterIP and for a headless endpoint', async () => {
        expect((await q('-x', web)).answer).toEqual([`${reverseName(web)}. 30 IN PTR web.default.svc.cluster.local.`]);
        const db0 = dbPods.find((p) => p.metadata.name === 'db-0')!.status!.podIP!;
        expect((await q('-x', db0)).answer).toEqual([`${reverseName(db0)}. 30 IN PTR db-0.db.default.svc.cluster.local.`]);
        expect((await q('-x', dual[1])).answer).toEqual([`${reverseName(dual[1])}. 30 IN PTR dual.default.svc.cluster.local.`]);
      });
      it('ExternalName: CNAME chased inside the zone; outside, CNAME then the upstream answer', async () => {
        expect((await q('alias.default.svc.cluster.local', 'A')).answer).toEqual([
          'alias.default.svc.cluster.local. 30 IN CNAME web.default.svc.cluster.local.',
          `web.default.svc.cluster.local. 30 IN A ${web}`,
        ]);
        expect((await q('ext.default.svc.cluster.local', 'CNAME')).answer).toEqual(['ext.default.svc.cluster.local. 30 IN CNAME db.example.org.']);
        // The target comes through the cache: the reply gets one TTL, the smallest, counting down from 30.
        const ext = (await q('ext.default.svc.cluster.local', 'A')).answer;
        const ttl = ext[0]?.split(' ')[1];
        expect(Number(ttl)).toBeGreaterThan(20);
        expect(ext).toEqual([`ext.default.svc.cluster.local. ${ttl} IN CNAME db.example.org.`, `db.example.org. ${ttl} IN A 192.0.2.1`]);
      });
      it('pod A record (pods insecure)', async () => {
        expect((await q('10-244-0-99.default.pod.cluster.local', 'A')).answer).toEqual(['10-244-0-99.default.pod.cluster.local. 30 IN A 10.244.0.99']);
      });
      it('dns-version TXT, apex SOA and NS with kube-dns glue', async () => {
        expect((await q('dns-version.cluster.local', 'TXT')).answer).toEqual(['dns-version.cluster.local. 30 IN TXT "1.1.0"']);
        const soa = await q('cluster.local', 'SOA');
        expect(soa.answer).toHaveLength(1);
        expect(soa.answer[0]).toMatch(SOA);
        const ns = await q('cluster.local', 'NS');
        expect(ns.answer).toEqual(['cluster.local. 30 IN NS kube-dns.kube-system.svc.cluster.local.']);
        expect(ns.additional).toEqual(['kube-dns.kube-system.svc.cluster.local. 30 IN A 10.96.0.10']);
      });
      it('NXDOMAIN with one SOA, case preserved in the answer', async () => {
        const nx = await q('nope.default.svc.cluster.local', 'A');
        expect(nx.status).toBe('NXDOMAIN');
        expect(nx.flags).toEqual(['qr', 'aa', 'rd']);
        expect(nx.authority).toHaveLength(1);
        expect(nx.authority[0]).toMatch(SOA);
        expect((await q('WeB.DeFaUlT.svc.cluster.local', 'A')).answer).toEqual([`WeB.DeFaUlT.svc.cluster.local. 30 IN A ${web}`]);
      });
      it('outside the cluster zone: forwarded, RA from the upstream', async () => {
        const r = await q('example.com', 'A');
        expect(r.status).toBe('NOERROR');
        expect(r.flags).toContain('ra');
        // Capped to 30 by `cache 30`, and counting down once cached (the UDP run asked first).
        const m = /^example\.com\. (\d+) IN A 192\.0\.2\.1$/.exec(r.answer[0]);
        expect(Number(m?.[1])).toBeGreaterThan(15);
        expect(Number(m?.[1])).toBeLessThanOrEqual(30);
        expect((await q('missing.example.com', 'TXT')).status).toBe('NXDOMAIN');
      });
    });
  }

  it('a headless SRV too big for 512 bytes: TC over UDP, dig retries over TCP and gets it all', async () => {
    for (let i = 0; i < 12; i++) {
      c.api.create<KubeObject>({ apiVersion: 'discovery.k8s.io/v1', kind: 'EndpointSlice', metadata: { name: `big-${i}`, namespace: 'default', labels: { 'kubernetes.io/service-name': 'big' } }, addressType: 'IPv4', endpoints: [{ addresses: [`10.1.0.${i + 1}`], hostname: `big-${i}` }], ports: [{ name: 'http', protocol: 'TCP', port: 80 }] });
    }
    c.api.create<KubeObject>({ apiVersion: 'v1', kind: 'Service', metadata: { name: 'big', namespace: 'default' }, spec: { clusterIP: 'None', ports: [{ name: 'http', port: 80 }] } });
    const udp = await dig(dns.port, ['+noedns', '+ignore', '_http._tcp.big.default.svc.cluster.local', 'SRV']);
    expect(udp.flags).toContain('tc');
    const retried = await dig(dns.port, ['+noedns', '_http._tcp.big.default.svc.cluster.local', 'SRV']);
    expect(retried.raw).toContain('Truncated, retrying in TCP mode');
    expect(retried.answer).toHaveLength(12);
    expect(retried.additional).toHaveLength(12);
    // The 12 A records do not fit 512 bytes uncompressed, but do compressed, as CoreDNS sends them: no TC.
    const a = await dig(dns.port, ['+noedns', '+ignore', 'big.default.svc.cluster.local', 'A']);
    expect(a.flags).not.toContain('tc');
    expect(a.answer).toHaveLength(12);
    expect(a.answer[0]).toMatch(/^big\.default\.svc\.cluster\.local\. 30 IN A 10\.1\.0\.\d+$/);
  });
});
