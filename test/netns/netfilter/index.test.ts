// The indexed evaluation (a long chain dispatched by destination address) decides exactly as the plain
// linear walk does: same verdict, same rules hit in the same order, same marks — on random rulesets and packets.
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { parseIP } from '../../../src/cluster/net.ts';
import type { NfEnv, NfPacket } from '../../../src/netns/netfilter/context.ts';
import { evaluation, traverse, usesIndex } from '../../../src/netns/netfilter/evaluate.ts';
import { Iptables } from '../../../src/netns/netfilter/iptables.ts';
import { seeded } from '../../../src/netns/netfilter/random.ts';
import { RecentTables } from '../../../src/netns/netfilter/recent.ts';

const IPS = ['10.96.0.1', '10.96.0.2', '10.96.0.3', '10.96.1.7', '10.244.0.5', '192.168.1.11'];
const PORTS = [53, 80, 443, 8080];

const ruleArb = (chains: string[]) =>
  fc.record({
    dst: fc.oneof(
      { arbitrary: fc.constantFrom(...IPS).map((ip) => `-d ${ip}`), weight: 12 },
      { arbitrary: fc.constantFrom('', '-d 10.96.0.0/24', '! -d 10.96.0.2', '-d 10.96.0.3/32'), weight: 1 },
    ),
    src: fc.oneof(fc.constant(''), fc.constant(''), fc.constantFrom('-s 10.244.0.0/16', '! -s 10.244.0.0/16')),
    proto: fc.oneof(fc.constant(''), fc.constantFrom('tcp', 'udp').chain((p) => fc.constantFrom(...PORTS).map((port) => `-p ${p} --dport ${port}`))),
    extra: fc.oneof(fc.constant(''), fc.constant(''), fc.constantFrom('-m mark --mark 0x4000/0x4000', '-m statistic --mode random --probability 0.5', '-m addrtype --dst-type LOCAL')),
    target: fc.constantFrom('-j ACCEPT', '-j DROP', '-j RETURN', '-j MARK --or-mark 0x4000', '', ...chains.map((c) => `-j ${c}`), ...chains.map((c) => `-g ${c}`)),
  }).map((r) => [r.dst, r.src, r.proto, r.extra, r.target].filter(Boolean).join(' '));

const rulesetArb = fc.record({
  main: fc.array(ruleArb(['SUB']), { minLength: 20, maxLength: 120 }),
  sub: fc.array(ruleArb([]), { minLength: 0, maxLength: 40 }),
  policy: fc.constantFrom('ACCEPT', 'DROP'),
});

const packetArb = fc.record({
  src: fc.constantFrom('10.244.0.5', '192.168.1.11', '10.244.1.9'),
  dst: fc.constantFrom(...IPS, '10.96.0.9'),
  proto: fc.constantFrom('tcp', 'udp'),
  dport: fc.constantFrom(...PORTS, 9999),
  mark: fc.constantFrom(0, 0x4000),
  seed: fc.nat(),
});

type Pk = { src: string; dst: string; proto: string; dport: number; mark: number; seed: number };

function decide(ipt: Iptables, pk: Pk, indexed: boolean) {
  evaluation.indexed = indexed;
  const p: NfPacket = {
    family: 'IPv4', src: parseIP(pk.src)!.value, dst: parseIP(pk.dst)!.value, srcText: pk.src, dstText: pk.dst,
    proto: pk.proto === 'tcp' ? 6 : 17, sport: 40000, dport: pk.dport, mark: pk.mark, length: 60,
  };
  const env: NfEnv = {
    hook: 'FORWARD', recent: new RecentTables(), nfacct: new Map(), random: seeded(pk.seed), now: 0,
    host: { addrType: (_f, ip) => (ip === '192.168.1.11' ? 'LOCAL' : 'UNICAST'), primaryAddress: () => undefined },
  };
  const r = traverse(ipt.tables.get('filter')!, 'FORWARD', p, env);
  return { verdict: r.verdict.kind, hits: r.hits.map((h) => `${h.chain}#${h.num}`), mark: p.mark };
}

describe('indexed evaluation', () => {
  it('gives the verdicts of linear evaluation on random rulesets and packets', () => {
    let indexedRuns = 0;
    fc.assert(
      fc.property(rulesetArb, fc.array(packetArb, { minLength: 1, maxLength: 20 }), (rs, packets) => {
        const ipt = new Iptables('IPv4');
        const text = ['*filter', `:FORWARD ${rs.policy} [0:0]`, ':MAIN - [0:0]', ':SUB - [0:0]', '-A FORWARD -j MAIN',
          ...rs.main.map((r) => `-A MAIN ${r}`), ...rs.sub.map((r) => `-A SUB ${r}`), 'COMMIT', ''].join('\n');
        ipt.restore(text);
        if (usesIndex(ipt.tables.get('filter')!.chains.get('MAIN')!.rules)) indexedRuns++;
        try {
          for (const pk of packets) expect(decide(ipt, pk, true)).toEqual(decide(ipt, pk, false));
        } finally {
          evaluation.indexed = true;
        }
      }),
      { numRuns: 300 },
    );
    // Most rulesets are long and keyed enough to be dispatched through the index.
    expect(indexedRuns).toBeGreaterThan(150);
  });

  it('visits only the rules that can match a KUBE-SERVICES-shaped chain', () => {
    const ipt = new Iptables('IPv4');
    const lines = ['*filter', ':KUBE-SERVICES - [0:0]', '-A FORWARD -j KUBE-SERVICES'];
    for (let i = 0; i < 500; i++) lines.push(`-A KUBE-SERVICES -d 10.96.${i >> 8}.${i & 255} -p tcp -m tcp --dport 80 -j ACCEPT`);
    lines.push('-A KUBE-SERVICES -m addrtype --dst-type LOCAL -j DROP', 'COMMIT', '');
    ipt.restore(lines.join('\n'));
    const pk = { src: '10.244.0.5', dst: '10.96.1.44', proto: 'tcp', dport: 80, mark: 0, seed: 1 } as Pk;
    expect(decide(ipt, pk, true)).toEqual({ verdict: 'ACCEPT', hits: ['FORWARD#1', 'KUBE-SERVICES#301'], mark: 0 });
    // The counters show it: the rules the index skipped were not evaluated (none matched anyway).
    expect(ipt.save('filter', { counters: true })).toContain('[1:60] -A KUBE-SERVICES -d 10.96.1.44/32');
  });
});
