// A pod's view of DNS: kubelet's resolv.conf (pkg/kubelet/network/dns dns_test.go cases) and glibc's
// search-list walk (the query counts of the DNS reference's table), and the kdp dig / resolvconf verbs.
import { describe, expect, it } from 'vitest';
import dnsPacket from 'dns-packet';
import { cluster, NODES3 } from '../helpers/cluster.ts';
import { kdp } from '../helpers/cli.ts';
import { formatResolvConf, parseResolvConf, podResolvConf } from '../../src/dns/resolvconf.ts';
import { podResolver, resolveFromPod, searchCandidates, socketTransport, type Transport } from '../../src/dns/resolver.ts';
import { startDns } from '../../src/dns/service.ts';
import { DnsChain } from '../../src/dns/chain.ts';
import { LiveView } from '../../src/dns/view.ts';
import { defaultCorefile } from '../../src/cluster/bootstrap.ts';
import type { Pod } from '../../src/cluster/objects.ts';

const c = cluster(`${NODES3}---
apiVersion: v1
kind: Service
metadata: {name: my-svc}
spec: {selector: {app: x}, ports: [{port: 80}]}
---
apiVersion: v1
kind: Namespace
metadata: {name: other}
---
apiVersion: v1
kind: Service
metadata: {name: my-svc, namespace: other}
spec: {selector: {app: x}, ports: [{port: 80}]}
`);

const pod = (spec: Record<string, unknown>, namespace = 'default'): Pod => ({ metadata: { name: 'p', namespace }, spec: { containers: [{ name: 'c' }], ...spec } });
const NODE = 'nameserver 192.168.1.1\nnameserver 192.168.1.2\nsearch corp.example lab.example\noptions timeout:2\n';

describe('kubelet resolv.conf', () => {
  it('ClusterFirst: the cluster DNS only, cluster search paths before the node\'s, ndots:5 replacing the node\'s options', () => {
    expect(formatResolvConf(podResolvConf(c, pod({}), NODE))).toBe(
      'search default.svc.cluster.local svc.cluster.local cluster.local corp.example lab.example\nnameserver 10.96.0.10\noptions ndots:5\n');
    expect(formatResolvConf(podResolvConf(c, pod({}, 'other'), ''))).toBe('search other.svc.cluster.local svc.cluster.local cluster.local\nnameserver 10.96.0.10\noptions ndots:5\n');
  });
  it('ClusterFirst on the host network falls back to Default; ClusterFirstWithHostNet keeps the cluster DNS', () => {
    expect(podResolvConf(c, pod({ hostNetwork: true }), NODE)).toEqual(parseResolvConf(NODE));
    expect(podResolvConf(c, pod({ hostNetwork: true, dnsPolicy: 'ClusterFirstWithHostNet' }), NODE).nameservers).toEqual(['10.96.0.10']);
    expect(podResolvConf(c, pod({ dnsPolicy: 'Default' }), NODE)).toEqual({ nameservers: ['192.168.1.1', '192.168.1.2'], searches: ['corp.example', 'lab.example'], options: ['timeout:2'] });
  });
  it('None takes dnsConfig alone; dnsConfig is appended otherwise, options merged by name (e2e "custom dnsConfig")', () => {
    const none = pod({ dnsPolicy: 'None', dnsConfig: { nameservers: ['1.1.1.1'], searches: ['resolv.conf.local'], options: [{ name: 'ndots', value: '2' }, { name: 'edns0' }] } });
    expect(formatResolvConf(podResolvConf(c, none, NODE))).toBe('search resolv.conf.local\nnameserver 1.1.1.1\noptions ndots:2 edns0\n');
    const merged = podResolvConf(c, pod({ dnsConfig: { nameservers: ['10.96.0.10', '8.8.8.8'], searches: ['cluster.local', 'x.example'], options: [{ name: 'ndots', value: '1' }] } }), '');
    expect(merged).toEqual({ nameservers: ['10.96.0.10', '8.8.8.8'], searches: ['default.svc.cluster.local', 'svc.cluster.local', 'cluster.local', 'x.example'], options: ['ndots:1'] });
  });
  it('keeps to the limits: 3 nameservers, 32 search paths', () => {
    const many = pod({ dnsPolicy: 'None', dnsConfig: { nameservers: ['1.1.1.1', '1.1.1.2', '1.1.1.3', '1.1.1.4'], searches: Array.from({ length: 40 }, (_, i) => `s${i}.example`) } });
    const r = podResolvConf(c, many, '');
    expect(r.nameservers).toHaveLength(3);
    expect(r.searches).toHaveLength(32);
  });
});

describe('glibc search-list walk', () => {
  const conf = podResolvConf(c, pod({}), '');
  it('candidates by ndots', () => {
    expect(searchCandidates('my-svc', conf)).toEqual(['my-svc.default.svc.cluster.local', 'my-svc.svc.cluster.local', 'my-svc.cluster.local', 'my-svc']);
    expect(searchCandidates('kubernetes.default.svc.cluster.local', conf)[3]).toBe('kubernetes.default.svc.cluster.local');
    expect(searchCandidates('a.b.c.d.e.f', conf)[0]).toBe('a.b.c.d.e.f');
    expect(searchCandidates('my-svc.default.svc.cluster.local.', conf)).toEqual(['my-svc.default.svc.cluster.local']);
  });

  // The cluster's Corefile chain, with the outside world answering every A with 192.0.2.1.
  const live = new LiveView(c.store);
  const chain = new DnsChain(defaultCorefile('cluster.local'), {
    live, localIPs: () => ['10.96.0.10'], resolvConf: () => 'nameserver 192.0.2.53\n', readFile: () => '',
    exchange: async (_to, q) => {
      const m = dnsPacket.decode(q);
      const isA = m.questions![0].type === 'A';
      return dnsPacket.encode({ type: 'response', id: m.id, flags: dnsPacket.RECURSION_AVAILABLE, questions: m.questions, answers: isA ? [{ name: m.questions![0].name, type: 'A', ttl: 60, data: '192.0.2.1' }] : [] });
    },
  });
  const transport: Transport = async (_ns, q) => (await chain.resolve(q, { proto: 'udp', dnssecOK: false })).reply;
  const walk = async (name: string, type?: string) => {
    const r = await resolveFromPod(conf, name, type, transport);
    return { sent: r.queries.map((s) => `${s.question.name} ${s.question.type} ${s.reply.rcode}`), final: r.final.reply.answers.map((a) => (a as { data: unknown }).data) };
  };

  it('my-svc: first candidate answers (2 queries)', async () => {
    const r = await walk('my-svc');
    expect(r.sent).toEqual(['my-svc.default.svc.cluster.local A 0', 'my-svc.default.svc.cluster.local AAAA 0']);
    expect(r.final).toHaveLength(1);
  });
  it('my-svc.other: NXDOMAIN, then the svc.<zone> candidate (4 queries)', async () => {
    expect((await walk('my-svc.other')).sent).toEqual([
      'my-svc.other.default.svc.cluster.local A 3', 'my-svc.other.default.svc.cluster.local AAAA 3',
      'my-svc.other.svc.cluster.local A 0', 'my-svc.other.svc.cluster.local AAAA 0',
    ]);
  });
  it('kubernetes.default.svc.cluster.local (4 dots < ndots 5): 3 search candidates, then absolute (8 queries)', async () => {
    const r = await walk('kubernetes.default.svc.cluster.local');
    expect(r.sent).toHaveLength(8);
    expect(r.sent.slice(0, 6).every((l) => l.endsWith(' 3'))).toBe(true);
    expect(r.final).toEqual(['10.96.0.1']);
  });
  it('a trailing dot: absolute only (2 queries)', async () => {
    expect((await walk('kubernetes.default.svc.cluster.local.')).sent).toHaveLength(2);
  });
  it('google.com: 6 NXDOMAINs from the cluster, then forwarded (8 queries)', async () => {
    const r = await walk('google.com');
    expect(r.sent.filter((l) => l.endsWith(' 3'))).toHaveLength(6);
    expect(r.sent.slice(6)).toEqual(['google.com A 0', 'google.com AAAA 0']);
    expect(r.final).toEqual(['192.0.2.1']);
  });
  it('a typed lookup sends one query per candidate', async () => {
    expect((await walk('my-svc.other', 'SRV')).sent).toEqual(['my-svc.other.default.svc.cluster.local SRV 3', 'my-svc.other.svc.cluster.local SRV 0']);
  });
});

describe('a pod resolver over real sockets (what the data plane hands the DNS server)', () => {
  it('walks the search list against the running server', async () => {
    const dns = await startDns(c, { port: 0, resolvConf: () => 'nameserver 192.0.2.53\n', readFile: () => '' });
    try {
      const seen: string[] = [];
      const transport = socketTransport((ns) => {
        seen.push(ns);
        return { host: '127.0.0.1', port: dns.port };
      });
      const r = await podResolver(c, pod({}, 'other'), transport)('my-svc');
      expect(r.queries.map((q) => `${q.question.name} ${q.question.type}`)).toEqual(['my-svc.other.svc.cluster.local A', 'my-svc.other.svc.cluster.local AAAA']);
      expect(r.final.reply.aa).toBe(true);
      expect(seen).toEqual(['10.96.0.10', '10.96.0.10']);
      // A reply too big for UDP: the resolver asks again over TCP and gets it whole.
      for (let i = 0; i < 12; i++) {
        c.api.create({ apiVersion: 'discovery.k8s.io/v1', kind: 'EndpointSlice', metadata: { name: `many-${i}`, namespace: 'default', labels: { 'kubernetes.io/service-name': 'many' } }, addressType: 'IPv4', endpoints: [{ addresses: [`10.1.0.${i + 1}`], hostname: `many-${i}` }], ports: [{ name: 'http', protocol: 'TCP', port: 80 }] } as never);
      }
      c.api.create({ apiVersion: 'v1', kind: 'Service', metadata: { name: 'many', namespace: 'default' }, spec: { clusterIP: 'None', ports: [{ name: 'http', port: 80 }] } } as never);
      const srv = await podResolver(c, pod({}), transport)('_http._tcp.many', 'SRV');
      expect(srv.final.reply.tc).toBe(false);
      expect(srv.final.reply.answers).toHaveLength(12);
    } finally {
      await dns.close();
    }
  });
});

describe('kdp dig and kdp resolvconf', () => {
  it('kdp resolvconf prints the file', async () => {
    const r = await kdp(['resolvconf', '--pod', 'default/client', '-f', 'topologies/default.yaml']);
    expect(r.code).toBe(0);
    expect(r.stdout).toMatch(/^search default\.svc\.cluster\.local svc\.cluster\.local cluster\.local( \S+)*\nnameserver 10\.96\.0\.10\noptions ndots:5\n$/);
  });
  it('kdp dig shows the queries in order and the answer in dig\'s layout', async () => {
    const r = await kdp(['dig', '--from', 'default/client', 'kubernetes.default', '-f', 'topologies/default.yaml']);
    expect(r.code).toBe(0);
    const lines = r.stdout.split('\n');
    const q = lines.filter((l) => /^;; {3}\d+\. /.test(l));
    expect(q.slice(-2)).toEqual([';;   3. kubernetes.default.svc.cluster.local. A -> NOERROR, 1 answer', ';;   4. kubernetes.default.svc.cluster.local. AAAA -> NOERROR, 0 answers']);
    expect(r.stdout).toContain(';; ->>HEADER<<- opcode: QUERY, status: NOERROR, id: 3\n;; flags: qr aa rd; QUERY: 1, ANSWER: 1, AUTHORITY: 0, ADDITIONAL: 0\n');
    expect(r.stdout).toContain(';; ANSWER SECTION:\nkubernetes.default.svc.cluster.local. 30 IN A\t10.96.0.1\n');
    expect(r.stdout).toContain(';; SERVER: 10.96.0.10#53(10.96.0.10) (UDP)');
  });
  it('kdp dig with a type, and a missing name ending in NXDOMAIN with the SOA', async () => {
    const nx = await kdp(['dig', '--from', 'client', 'nope.default.svc.cluster.local.', 'A', '-f', 'topologies/default.yaml']);
    expect(nx.stdout).toContain('status: NXDOMAIN');
    expect(nx.stdout).toMatch(/;; AUTHORITY SECTION:\ncluster\.local\.\t\t30\tIN\tSOA\tns\.dns\.cluster\.local\. hostmaster\.cluster\.local\. \d+ 7200 1800 86400 30\n/);
  });
  it('says what is wrong', async () => {
    expect((await kdp(['dig', '--from', 'default/nope', 'x', '-f', 'topologies/default.yaml'])).stderr).toBe('error: pod "default/nope" not found\n');
    expect((await kdp(['dig', 'x', '-f', 'topologies/default.yaml'])).code).toBe(1);
  });
});
