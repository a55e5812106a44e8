// The Corefile: parsing, kubeadm's default, plugins kdp runs (kubernetes, forward, cache, hosts, rewrite) and
// those it reports and skips.
import { describe, expect, it } from 'vitest';
import dnsPacket from 'dns-packet';
import { parseCorefile } from '../../src/dns/corefile.ts';
import { DnsChain } from '../../src/dns/chain.ts';
import { LiveView } from '../../src/dns/view.ts';
import type { Exchange } from '../../src/dns/forward.ts';
import { defaultCorefile } from '../../src/cluster/bootstrap.ts';
import { clusterCorefile } from '../../src/dns/service.ts';
import { recordText } from '../../src/dns/present.ts';
import { serveTestObjects, storeOf } from './fixtures.ts';
import { cluster, NODES3 } from '../helpers/cluster.ts';

const sent: { host: string; port: number; name: string }[] = [];
const upstream: Exchange = async (to, q) => {
  const m = dnsPacket.decode(q);
  const name = m.questions![0].name;
  sent.push({ host: to.host, port: to.port, name });
  return dnsPacket.encode({
    type: 'response', id: m.id, flags: dnsPacket.RECURSION_AVAILABLE, questions: m.questions,
    answers: [{ name, type: 'A', class: 'IN', ttl: 100, data: to.host === '8.8.8.8' ? '192.0.2.8' : '192.0.2.1' }],
  });
};

function chain(corefile: string, opts: { hosts?: string } = {}) {
  const live = new LiveView(storeOf(serveTestObjects()), () => 1_000_000);
  return new DnsChain(corefile, {
    live, localIPs: () => ['127.0.0.1'], resolvConf: () => 'search example.net\nnameserver 10.0.0.53\nnameserver 10.0.0.54\n',
    readFile: (p) => { if (p === '/etc/hosts' && opts.hosts !== undefined) return opts.hosts; throw new Error('ENOENT'); }, exchange: upstream,
  });
}

async function ask(c: DnsChain, name: string, type = 'A') {
  const r = await c.resolve({ name, type, class: 'IN' }, { proto: 'udp', dnssecOK: false });
  return { rcode: r.reply.rcode, aa: r.reply.aa, answer: r.reply.answers.map(recordText), ns: r.reply.authorities.map(recordText), plugin: r.reply.plugin, zone: r.zone };
}

describe('parseCorefile', () => {
  it("reads kubeadm's Corefile: one block, zone root, port 53, directives with blocks", () => {
    const [b, ...rest] = parseCorefile(defaultCorefile('cluster.local'));
    expect(rest).toEqual([]);
    expect(b.zones).toEqual(['']);
    expect(b.port).toBe(53);
    expect(b.directives.map((d) => d.name)).toEqual(['errors', 'health', 'ready', 'kubernetes', 'prometheus', 'forward', 'cache', 'loop', 'reload', 'loadbalance']);
    const k = b.directives[3];
    expect(k.args).toEqual(['cluster.local', 'in-addr.arpa', 'ip6.arpa']);
    expect(k.block.map((d) => [d.name, ...d.args])).toEqual([['pods', 'insecure'], ['fallthrough', 'in-addr.arpa', 'ip6.arpa'], ['ttl', '30']]);
    expect(b.directives[1].block).toEqual([{ name: 'lameduck', args: ['5s'], block: [], line: 4 }]);
  });
  it('several keys, schemes, ports, comments and quotes', () => {
    const blocks = parseCorefile('# top\ncluster.local:5353 dns://Example.ORG.:5353 {\n  hosts {\n    10.0.0.1 "a.example.org" # trailing\n  }\n}\n10.0.0.0/8 { whoami }\n');
    expect(blocks.map((b) => [b.zones, b.port])).toEqual([[['cluster.local', 'example.org'], 5353], [['10.in-addr.arpa'], 53]]);
    expect(blocks[0].directives[0].block[0]).toMatchObject({ name: '10.0.0.1', args: ['a.example.org'], line: 4 });
    expect(blocks[1].directives[0].name).toBe('whoami');
  });
  it('says where a Corefile is broken', () => {
    expect(() => parseCorefile('.:53 {\n  errors\n')).toThrow(/Corefile:\d+: missing "}"/);
    expect(() => parseCorefile('.:53 {\n  hosts "x\n}\n')).toThrow(/Corefile:2: unterminated quoted string/);
    expect(() => parseCorefile('tls://.:853 {\n}\n')).toThrow(/Corefile:1: tls:\/\/.:853: only dns:\/\/ servers/);
  });
});

describe('the chain', () => {
  it("kubeadm's Corefile: cluster names from kubernetes, everything else to /etc/resolv.conf's nameservers", async () => {
    const c = chain(defaultCorefile('cluster.local'));
    expect(c.problems).toEqual([]);
    expect(await ask(c, 'svc1.testns.svc.cluster.local')).toMatchObject({ rcode: 0, aa: true, answer: ['svc1.testns.svc.cluster.local.\t30\tIN\tA\t10.0.0.1'], plugin: 'kubernetes', zone: '.' });
    sent.length = 0;
    const out = await ask(c, 'example.com');
    expect(out).toMatchObject({ rcode: 0, aa: false, plugin: 'forward', answer: ['example.com.\t30\tIN\tA\t192.0.2.1'] });
    expect(['10.0.0.53', '10.0.0.54']).toContain(sent[0].host);
    // A reverse name the cluster does not know falls through to forward.
    sent.length = 0;
    expect((await ask(c, '4.3.2.1.in-addr.arpa', 'PTR')).plugin).toBe('forward');
    expect(sent).toHaveLength(1);
    // A cluster NXDOMAIN is final.
    expect(await ask(c, 'nope.testns.svc.cluster.local')).toMatchObject({ rcode: 3, plugin: 'kubernetes' });
  });

  it('an unimplemented plugin: a warning naming it and its line, and the rest still works', async () => {
    const c = chain('.:53 {\n    whoami\n    kubernetes cluster.local\n    dnssec\n}\n');
    expect(c.formatProblems()).toEqual([
      'Corefile:2: warning: plugin "whoami" is not implemented by kdp; ignored',
      'Corefile:4: warning: plugin "dnssec" is not implemented by kdp; ignored',
    ]);
    expect((await ask(c, 'svc1.testns.svc.cluster.local')).answer).toEqual(['svc1.testns.svc.cluster.local.\t5\tIN\tA\t10.0.0.1']);
  });

  it('no forward: names outside the cluster zone are REFUSED; no server block for the zone: REFUSED', async () => {
    expect(await ask(chain('.:53 {\n  kubernetes cluster.local\n}\n'), 'example.com')).toMatchObject({ rcode: 5, answer: [] });
    expect(await ask(chain('cluster.local:53 {\n  kubernetes\n}\n'), 'example.com')).toMatchObject({ rcode: 5, zone: 'dropped' });
  });

  it('forward to named upstreams, with except', async () => {
    const c = chain('.:53 {\n  forward . 8.8.8.8 1.1.1.1:5353 {\n    except corp.example\n  }\n  kubernetes cluster.local\n}\n');
    sent.length = 0;
    await ask(c, 'example.com');
    expect(['8.8.8.8:53', '1.1.1.1:5353']).toContain(`${sent[0].host}:${sent[0].port}`);
    expect((await ask(c, 'a.corp.example')).rcode).toBe(5);
  });

  it('server blocks by longest zone: a stub domain next to the cluster', async () => {
    const c = chain('.:53 {\n  kubernetes cluster.local\n  forward . 1.1.1.1\n}\ncorp.example:53 {\n  forward . 8.8.8.8\n}\n');
    expect((await ask(c, 'x.corp.example')).answer).toEqual(['x.corp.example.\t100\tIN\tA\t192.0.2.8']);
    expect((await ask(c, 'x.corp.example')).zone).toBe('corp.example.');
    expect((await ask(c, 'example.com')).answer).toEqual(['example.com.\t100\tIN\tA\t192.0.2.1']);
  });

  it('hosts: inline and file entries, A, AAAA, PTR; fallthrough to the next plugin; SERVFAIL without', async () => {
    const c = chain('.:53 {\n  hosts {\n    10.9.9.9 registry.corp.example\n    fd00::9 registry.corp.example\n    ttl 60\n    fallthrough\n  }\n  kubernetes cluster.local\n  forward . 1.1.1.1\n}\n', { hosts: '127.0.0.1 localhost\n10.8.8.8 files.corp.example files\n' });
    expect((await ask(c, 'Registry.corp.example')).answer).toEqual(['Registry.corp.example.\t60\tIN\tA\t10.9.9.9']);
    expect((await ask(c, 'registry.corp.example', 'AAAA')).answer).toEqual(['registry.corp.example.\t60\tIN\tAAAA\tfd00::9']);
    expect((await ask(c, '9.9.9.10.in-addr.arpa', 'PTR')).answer).toEqual(['9.9.9.10.in-addr.arpa.\t60\tIN\tPTR\tregistry.corp.example.']);
    expect((await ask(c, 'files.corp.example')).answer).toEqual(['files.corp.example.\t60\tIN\tA\t10.8.8.8']);
    expect((await ask(c, 'registry.corp.example', 'MX'))).toMatchObject({ rcode: 0, answer: [], plugin: 'hosts' });
    expect((await ask(c, 'svc1.testns.svc.cluster.local')).plugin).toBe('kubernetes');
    const strict = chain('.:53 {\n  hosts {\n    10.9.9.9 registry.corp.example\n  }\n  kubernetes cluster.local\n}\n');
    expect((await ask(strict, 'other.corp.example')).rcode).toBe(2);
  });

  it('rewrite name exact: the client sees only the name it asked', async () => {
    const c = chain('.:53 {\n  rewrite name exact db.corp.example svc1.testns.svc.cluster.local\n  kubernetes cluster.local\n}\n');
    expect((await ask(c, 'db.corp.example')).answer).toEqual(['db.corp.example.\t5\tIN\tA\t10.0.0.1']);
  });

  it('rewrite name suffix: with answer auto the owner is mapped back; without it the answer keeps the target name', async () => {
    const auto = chain('.:53 {\n  rewrite name suffix .corp.example .testns.svc.cluster.local answer auto\n  kubernetes cluster.local\n}\n');
    expect((await ask(auto, 'svc1.corp.example')).answer).toEqual(['svc1.corp.example.\t5\tIN\tA\t10.0.0.1']);
    const plain = chain('.:53 {\n  rewrite name suffix .corp.example .testns.svc.cluster.local\n  kubernetes cluster.local\n}\n');
    expect((await ask(plain, 'svc1.corp.example')).answer).toEqual(['svc1.testns.svc.cluster.local.\t5\tIN\tA\t10.0.0.1']);
  });

  it('cache: TTLs capped by the cache, cluster answers never stale, forwarded ones counted down', async () => {
    let now = 1_000_000;
    const live = new LiveView(storeOf(serveTestObjects()), () => now);
    const c = new DnsChain('.:53 {\n  kubernetes cluster.local {\n    ttl 3600\n  }\n  forward . 1.1.1.1\n  cache 30\n}\n', {
      live, localIPs: () => ['127.0.0.1'], resolvConf: () => '', readFile: () => '', exchange: upstream, now: () => now,
    });
    expect((await ask(c, 'dns-version.cluster.local', 'TXT')).answer).toEqual(['dns-version.cluster.local.\t30\tIN\tTXT\t"1.1.0"']);
    expect((await ask(c, 'svc1.testns.svc.cluster.local')).answer[0]).toContain('\t30\t');
    expect((await ask(c, 'example.com')).answer).toEqual(['example.com.\t30\tIN\tA\t192.0.2.1']);
    now += 10_000;
    expect(await ask(c, 'example.com')).toMatchObject({ aa: true, plugin: 'cache', answer: ['example.com.\t20\tIN\tA\t192.0.2.1'] });
  });

  it('kubernetes options errors name their line', () => {
    const c = chain('.:53 {\n  kubernetes cluster.local {\n    pods sometimes\n    ttl 99999\n    wildcard\n  }\n}\n');
    expect(c.formatProblems()).toEqual([
      'Corefile:3: error: kubernetes pods: want disabled, insecure or verified, got "sometimes"',
      'Corefile:4: error: kubernetes ttl: want 0..3600, got "99999"',
      'Corefile:5: warning: kubernetes: option "wildcard" is not implemented by kdp; ignored',
    ]);
  });
});

describe('which Corefile', () => {
  it('the kube-system/coredns ConfigMap when the topology has one, else kubeadm\'s for the cluster domain', () => {
    const custom = cluster(`${NODES3}---\napiVersion: v1\nkind: ConfigMap\nmetadata: {name: coredns, namespace: kube-system}\ndata:\n  Corefile: |\n    .:53 {\n        kubernetes cluster.local\n    }\n`);
    expect(clusterCorefile(custom)).toEqual({ text: '.:53 {\n    kubernetes cluster.local\n}\n', source: 'ConfigMap kube-system/coredns data.Corefile' });
    const plain = cluster(NODES3);
    expect(clusterCorefile(plain).text).toContain('kubernetes cluster.local in-addr.arpa ip6.arpa');
  });
});
