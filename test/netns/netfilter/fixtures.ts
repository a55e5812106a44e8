// Restore texts and what this machine's iptables 1.8.9 (nf_tables) printed for them with iptables-save
// (header/footer comment lines dropped), plus the small ipset lookup `-m set` needs.
import { readdirSync, readFileSync } from 'node:fs';
import type { IpSetLookup } from '../../../src/netns/netfilter/context.ts';

const dir = new URL('./fixtures/', import.meta.url);

export interface Fixture {
  name: string;
  family: 'IPv4' | 'IPv6';
  rules: string;
  save: string;
  /** The ipsets it matches against (the real test creates them first). */
  sets: string[];
}

export const FIXTURES: Fixture[] = readdirSync(dir)
  .filter((f) => f.endsWith('.rules'))
  .map((f) => {
    const name = f.replace(/\.rules$/, '');
    const rules = readFileSync(new URL(f, dir), 'utf8');
    return {
      name,
      family: name.includes('ipv6') ? 'IPv6' : 'IPv4',
      rules,
      save: readFileSync(new URL(`${name}.save`, dir), 'utf8'),
      sets: [...new Set([...rules.matchAll(/--match-set (\S+)/g)].map((m) => m[1]))],
    } as Fixture;
  });

/** iptables-save output without its date comments and with counters zeroed. */
export const comparable = (save: string) => save.split('\n').filter((l) => !l.startsWith('#')).map((l) => l.replace(/\[\d+:\d+\]$/, '[0:0]')).join('\n');

/** A set of "ip,proto:port" members (hash:ip,port), enough to test `-m set`. */
export function fakeIpsets(sets: Record<string, string[]>): IpSetLookup {
  return {
    has: (s) => Object.hasOwn(sets, s),
    test(s, pkt, flags) {
      const parts = flags.map((f, i) => (i === 0 ? (f === 'src' ? pkt.src : pkt.dst) : `${pkt.protocol}:${f === 'src' ? pkt.sport : pkt.dport}`));
      return (sets[s] ?? []).includes(parts.join(','));
    },
  };
}
