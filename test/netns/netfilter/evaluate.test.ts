// The kernel's evaluation of rules: hooks and their tables in order, jump/goto/RETURN and policies, the
// packet mark, the match modules' tests, NAT through conntrack, and the random source.
import { describe, expect, it } from 'vitest';
import { Netfilter } from '../../../src/netns/netfilter/netfilter.ts';
import { enumerate, seeded } from '../../../src/netns/netfilter/random.ts';
import { fakeIpsets } from './fixtures.ts';

const LOCAL = new Set(['192.168.1.11', '127.0.0.1']);
function netfilter(rules: string, ipsets?: ReturnType<typeof fakeIpsets>) {
  const nf = new Netfilter({
    addrType: (_f, ip, dev) => (LOCAL.has(ip) && (dev === undefined || dev === (ip === '127.0.0.1' ? 'lo' : 'eth0')) ? 'LOCAL' : 'UNICAST'),
    primaryAddress: (dev) => ({ eth0: '192.168.1.11', cni0: '10.244.0.1' })[dev],
  }, ipsets);
  nf.iptables.restore(rules);
  return nf;
}

const pkt = (over: Partial<{ src: string; dst: string; protocol: string; sport: number; dport: number; flags: string }> = {}) =>
  ({ src: '10.244.0.5', dst: '10.96.0.10', protocol: 'tcp', sport: 40000, dport: 80, flags: 'SYN', length: 60, ...over });

function run(nf: Netfilter, hook: 'PREROUTING' | 'INPUT' | 'FORWARD' | 'OUTPUT' | 'POSTROUTING', p = pkt(), io: { in?: string; out?: string; mark?: number; seed?: number } = {}) {
  const ct = nf.track(p);
  const full = { in: io.in, out: io.out, mark: io.mark ?? 0, random: seeded(io.seed ?? 1) };
  const r = nf.hook(hook, p, ct, full);
  return { ...r, mark: full.mark, ct };
}

describe('rule evaluation', () => {
  it('walks jumps, goto and RETURN, and ends in the built-in chain\'s policy', () => {
    const nf = netfilter(`*filter
:FORWARD DROP [0:0]
:A - [0:0]
:B - [0:0]
:C - [0:0]
-A FORWARD -j A
-A FORWARD -p udp -j ACCEPT
-A A -g B
-A A -j DROP
-A B -p tcp --dport 80 -j RETURN
-A B -j C
-A C -j ACCEPT
COMMIT
`);
    // tcp/80: A goes to B, B returns — to FORWARD (goto left no return to A) — whose policy drops it.
    expect(run(nf, 'FORWARD').lines.map((l) => l.what)).toEqual([
      'FORWARD: mangle, filter', 'filter FORWARD #1: -A FORWARD -j A', 'filter A #1: -A A -g B',
      'filter B #1: -A B -p tcp -m tcp --dport 80 -j RETURN', 'filter FORWARD: policy DROP',
    ]);
    expect(run(nf, 'FORWARD').by).toBe('iptables -P FORWARD DROP');
    expect(run(nf, 'FORWARD', pkt({ dport: 81 })).verdict).toBe('accept');
    expect(run(nf, 'FORWARD', pkt({ protocol: 'udp', flags: undefined })).verdict).toBe('accept');
  });

  it('runs a hook\'s tables in the kernel\'s order, MARK being non-terminal and seen by later tables', () => {
    const nf = netfilter(`*mangle
-A FORWARD -j MARK --set-xmark 0x1/0xff
COMMIT
*filter
-A FORWARD -m mark --mark 0x1/0xff -j DROP
COMMIT
`);
    const r = run(nf, 'FORWARD');
    expect(r.verdict).toBe('drop');
    expect(r.lines.map((l) => l.what)).toEqual([
      'FORWARD: mangle, filter', 'mangle FORWARD #1: -A FORWARD -j MARK --set-xmark 0x1/0xff', 'mangle FORWARD: policy ACCEPT',
      'filter FORWARD #1: -A FORWARD -m mark --mark 0x1/0xff -j DROP',
    ]);
    expect(r.by).toBe('filter FORWARD rule 1: -A FORWARD -m mark --mark 0x1/0xff -j DROP');
  });

  it('matches interfaces with + wildcards and !, addresses with masks and !', () => {
    const nf = netfilter(`*filter
-A FORWARD -i veth+ ! -o eth0 -s 10.244.0.0/16 ! -d 10.96.0.0/12 -j DROP
COMMIT
`);
    expect(run(nf, 'FORWARD', pkt({ dst: '10.244.1.5' }), { in: 'veth1234', out: 'flannel.1' }).verdict).toBe('drop');
    expect(run(nf, 'FORWARD', pkt({ dst: '10.244.1.5' }), { in: 'veth1234', out: 'eth0' }).verdict).toBe('accept');
    expect(run(nf, 'FORWARD', pkt({ dst: '10.244.1.5' }), { in: 'cni0', out: 'flannel.1' }).verdict).toBe('accept');
    expect(run(nf, 'FORWARD', pkt({ dst: '10.100.0.1' }), { in: 'veth1', out: 'x' }).verdict).toBe('accept');
  });

  it('addrtype asks the namespace (and the device with --limit-iface-in)', () => {
    const nf = netfilter(`*nat
:KUBE-NODEPORTS - [0:0]
-A PREROUTING -m addrtype --dst-type LOCAL --limit-iface-in -j KUBE-NODEPORTS
-A KUBE-NODEPORTS -p tcp --dport 30080 -j DNAT --to-destination 10.244.1.5:8080
COMMIT
`);
    expect(run(nf, 'PREROUTING', pkt({ dst: '192.168.1.11', dport: 30080 }), { in: 'eth0' }).packet).toMatchObject({ dst: '10.244.1.5', dport: 8080 });
    expect(run(nf, 'PREROUTING', pkt({ dst: '192.168.1.11', dport: 30080 }), { in: 'cni0' }).packet).toMatchObject({ dst: '192.168.1.11', dport: 30080 });
    expect(run(nf, 'PREROUTING', pkt({ dst: '10.0.0.9', dport: 30080 }), { in: 'eth0' }).packet.dst).toBe('10.0.0.9');
  });

  it('conntrack states: NEW, ESTABLISHED, INVALID, and the DNAT state of a translated flow', () => {
    const nf = netfilter(`*nat
-A PREROUTING -d 10.96.0.10 -p tcp -j DNAT --to-destination 10.244.1.5:8080
COMMIT
*filter
:STATE - [0:0]
-A FORWARD -j STATE
-A STATE -m conntrack --ctstate ESTABLISHED -m comment --comment established -j RETURN
-A STATE -m conntrack --ctstate NEW -m conntrack ! --ctstate DNAT -j RETURN
-A STATE -m conntrack --ctstate NEW -m conntrack --ctstate DNAT -m comment --comment "new, DNATed" -j RETURN
-A STATE -m conntrack --ctstate INVALID -j DROP
COMMIT
`);
    const random = seeded(1);
    const p = pkt();
    const ct = nf.track(p);
    const pre = nf.hook('PREROUTING', p, ct, { mark: 0, random });
    const fwd = nf.hook('FORWARD', pre.packet, ct, { mark: 0, random });
    expect(fwd.lines.map((l) => l.what)).toContain('filter STATE #3: -A STATE -m conntrack --ctstate NEW -m conntrack --ctstate DNAT -m comment --comment "new, DNATed" -j RETURN');
    nf.hook('POSTROUTING', fwd.packet, ct, { mark: 0, random });
    // The reply, from the endpoint: ESTABLISHED, un-DNATed at POSTROUTING.
    const reply = { ...p, src: '10.244.1.5', sport: 8080, dst: p.src, dport: p.sport, flags: 'SYN-ACK' };
    const rct = nf.track(reply);
    expect(rct).toMatchObject({ dir: 'reply', state: 'ESTABLISHED' });
    expect(nf.hook('FORWARD', reply, rct, { mark: 0, random }).lines.map((l) => l.what)).toContain('filter STATE #1: -A STATE -m conntrack --ctstate ESTABLISHED -m comment --comment established -j RETURN');
    expect(nf.hook('POSTROUTING', reply, rct, { mark: 0, random }).packet).toMatchObject({ src: '10.96.0.10', sport: 80 });
    // A TCP segment that starts no flow and belongs to none.
    expect(run(nf, 'FORWARD', pkt({ sport: 1, flags: 'ACK' })).verdict).toBe('drop');
  });

  it('MASQUERADE takes the out-device\'s address and keeps the port unless --random-fully or taken', () => {
    const nf = netfilter(`*nat
-A POSTROUTING -o eth0 -j MASQUERADE
-A POSTROUTING -o cni0 -j MASQUERADE --random-fully
COMMIT
`);
    const a = run(nf, 'POSTROUTING', pkt({ dst: '8.8.8.8' }), { out: 'eth0' });
    expect(a.packet).toMatchObject({ src: '192.168.1.11', sport: 40000 });
    nf.conntrack.confirm(a.ct);
    expect(a.ct.entry.reply).toMatchObject({ src: '8.8.8.8', dst: '192.168.1.11', dport: 40000 });
    // Another client with the same port to the same server: the kernel picks another port for it.
    expect(run(nf, 'POSTROUTING', pkt({ src: '10.244.0.6', dst: '8.8.8.8' }), { out: 'eth0' }).packet).toMatchObject({ src: '192.168.1.11', sport: 40001 });
    const b = run(nf, 'POSTROUTING', pkt({ dst: '10.244.0.9' }), { out: 'cni0', seed: 5 });
    expect(b.packet.src).toBe('10.244.0.1');
    expect(b.packet.sport).not.toBe(40000);
    expect(run(nf, 'POSTROUTING', pkt({ dst: '10.244.0.9' }), { out: 'cni0', seed: 5 }).packet.sport).toBe(b.packet.sport);
  });

  it('recent: --set, then --rcheck within --seconds, --reap, --remove, by the module\'s clock', () => {
    const nf = netfilter(`*nat
:SEP - [0:0]
-A PREROUTING -m recent --name SEP --rcheck --seconds 10 --reap -j SEP
-A PREROUTING -m recent --name SEP --set -m comment --comment first
-A PREROUTING -m recent --name GONE --remove -j SEP
COMMIT
`);
    let now = 1_000_000;
    nf.now = () => now;
    const hits = (p = pkt()) => run(nf, 'PREROUTING', p).lines.map((l) => l.what).slice(1);
    expect(hits()).toEqual(['nat PREROUTING #2: -A PREROUTING -m recent --set --name SEP --mask 255.255.255.255 --rsource -m comment --comment first', 'nat PREROUTING: policy ACCEPT']);
    now += 9_000;
    expect(hits(pkt({ sport: 2 }))[0]).toMatch(/^nat PREROUTING #1: /);
    // Another client address is not in the list.
    expect(hits(pkt({ src: '10.244.0.77', sport: 3 }))[0]).toMatch(/^nat PREROUTING #2: /);
    now += 20_000;
    expect(hits(pkt({ sport: 4 }))[0]).toMatch(/^nat PREROUTING #2: /);
    expect(nf.recent.get('SEP', (0x0af40005).toString(16))!.stamps).toEqual([now]);
  });

  it('multiport, set and nfacct', () => {
    const nf = netfilter(`*filter
:M - [0:0]
-A FORWARD -j M
-A M -p tcp -m multiport --dports 22,8000:8100 -m nfacct --nfacct-name seen -j DROP
-A M -m set --match-set KUBE-CLUSTER-IP dst,dst -j ACCEPT
-A M -j REJECT
COMMIT
`, fakeIpsets({ 'KUBE-CLUSTER-IP': ['10.96.0.10,tcp:80'] }));
    expect(run(nf, 'FORWARD', pkt({ dport: 8080 })).verdict).toBe('drop');
    expect(run(nf, 'FORWARD', pkt({ dport: 22 })).verdict).toBe('drop');
    expect(nf.nfacct.get('seen')).toEqual({ packets: 2, bytes: 120 });
    expect(run(nf, 'FORWARD', pkt({ dport: 80 })).verdict).toBe('accept');
    const r = run(nf, 'FORWARD', pkt({ dport: 81 }));
    expect([r.verdict, r.rejectWith]).toEqual(['reject', 'icmp-port-unreachable']);
  });

  it('statistic --mode random follows the seed, and enumeration finds every branch with first-match probabilities', () => {
    const nf = netfilter(`*nat
:SVC - [0:0]
-A PREROUTING -j SVC
-A SVC -m statistic --mode random --probability 0.33333333349 -j DNAT --to-destination 10.0.0.1
-A SVC -m statistic --mode random --probability 0.50000000000 -j DNAT --to-destination 10.0.0.2
-A SVC -j DNAT --to-destination 10.0.0.3
COMMIT
`);
    const to = (random: ReturnType<typeof seeded>) => {
      const p = pkt();
      return nf.hook('PREROUTING', p, nf.track(p), { mark: 0, random }).packet.dst;
    };
    expect(to(seeded(42))).toBe(to(seeded(42)));
    const counts = new Map<string, number>();
    const random = seeded(9);
    for (let i = 0; i < 3000; i++) counts.set(to(random), (counts.get(to(random)) ?? 0) + 1);
    for (const n of counts.values()) expect(Math.abs(n - 1000)).toBeLessThan(150);
    const branches = enumerate(to);
    expect(branches.map((b) => b.result)).toEqual(['10.0.0.1', '10.0.0.2', '10.0.0.3']);
    const p = branches.map((b) => b.p);
    expect(p[0]).toBeCloseTo(1 / 3, 9);
    expect(p[1]).toBeCloseTo(1 / 3, 9);
    expect(p[2]).toBeCloseTo(1 / 3, 9);
  });
});

describe('conntrack', () => {
  it('an ICMP error about a tracked flow is RELATED to it', () => {
    const nf = netfilter(`*filter
-A FORWARD -m conntrack --ctstate RELATED -j ACCEPT
-A FORWARD -p icmp -j DROP
COMMIT
`);
    const flow = pkt({ protocol: 'udp', flags: undefined, dport: 53 });
    const ct = nf.track(flow);
    nf.conntrack.confirm(ct);
    const error = { src: '10.96.0.10', dst: flow.src, protocol: 'icmp', flags: 'port-unreachable', length: 56 };
    const rel = nf.track(error, flow);
    expect(rel).toMatchObject({ state: 'RELATED', entry: ct.entry });
    expect(nf.hook('FORWARD', error, rel, { mark: 0, random: seeded(1) }).verdict).toBe('accept');
    // About a flow it does not know: a new ICMP flow of its own, which the second rule drops.
    const stray = nf.track(error, { ...flow, sport: 1 });
    expect(stray.state).toBe('NEW');
    expect(nf.hook('FORWARD', error, stray, { mark: 0, random: seeded(1) }).verdict).toBe('drop');
  });

  it('MASQUERADE\'s binding is the entry\'s reply tuple, as conntrack -L shows it', () => {
    const nf = netfilter(`*nat
-A POSTROUTING -o eth0 -j MASQUERADE
COMMIT
`);
    const p = pkt({ dst: '1.1.1.1' });
    const ct = nf.track(p);
    nf.hook('POSTROUTING', p, ct, { out: 'eth0', mark: 0, random: seeded(1) });
    expect(ct.entry).toMatchObject({ snat: true, dnat: false, confirmed: true, reply: { src: '1.1.1.1', dst: '192.168.1.11', sport: 80, dport: 40000 } });
    expect(nf.conntrack.list()).toEqual(['tcp      6 119 SYN_SENT src=10.244.0.5 dst=1.1.1.1 sport=40000 dport=80 [UNREPLIED] src=1.1.1.1 dst=192.168.1.11 sport=80 dport=40000 mark=0 use=1']);
  });
});

describe('ip6tables', () => {
  it('decides IPv6 packets with the IPv6 tables', () => {
    const nf = netfilter('*filter\nCOMMIT\n');
    nf.ip6tables.restore(`*nat
:KUBE-SERVICES - [0:0]
-A PREROUTING -j KUBE-SERVICES
-A KUBE-SERVICES -d fd00:10:96::a -p tcp -m tcp --dport 80 -j DNAT --to-destination [fd00:10:244::5]:8080
COMMIT
`);
    const p = pkt({ src: 'fd00:10:244::9', dst: 'fd00:10:96::a' });
    const r = nf.hook('PREROUTING', p, nf.track(p), { mark: 0, random: seeded(1) });
    expect(r.packet).toMatchObject({ dst: 'fd00:10:244::5', dport: 8080 });
    expect(r.lines[2]).toEqual({
      what: 'nat KUBE-SERVICES #1: -A KUBE-SERVICES -d fd00:10:96::a/128 -p tcp -m tcp --dport 80 -j DNAT --to-destination [fd00:10:244::5]:8080',
      before: 'TCP [fd00:10:244::9]:40000 > [fd00:10:96::a]:80',
      after: 'TCP [fd00:10:244::9]:40000 > [fd00:10:244::5]:8080',
    });
    // The IPv4 tables do not see it.
    expect(nf.iptables.tables.get('nat')).toBeUndefined();
  });
});
