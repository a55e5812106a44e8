// Domain-name helpers as CoreDNS's plugin/pkg/dnsutil has them. Names are dns-packet's: no trailing dot,
// the root is '' (dns-packet decodes it as '.').
import { canonicalIP } from '../cluster/net.ts';

export function normalizeName(name: string): string {
  return name === '.' ? '' : name.replace(/\.$/, '');
}

/** Whether `name` is `zone` or below it (both lowercase). The root zone '' holds every name. */
export function inZone(name: string, zone: string): boolean {
  return zone === '' || name === zone || name.endsWith(`.${zone}`);
}

/** The longest zone holding the name (plugin.Zones.Matches), or undefined. */
export function matchZone(name: string, zones: readonly string[]): string | undefined {
  let best: string | undefined;
  for (const z of zones) if (inZone(name, z) && (best === undefined || z.length > best.length)) best = z;
  return best;
}

/** The labels left of the zone (dnsutil.TrimZone + dns.SplitDomainName). */
export function labelsBelow(name: string, zone: string): string[] {
  const base = zone === '' ? name : name.slice(0, Math.max(0, name.length - zone.length - 1));
  return base === '' ? [] : base.split('.');
}

export const REVERSE_ZONES = ['in-addr.arpa', 'ip6.arpa'];

export function isReverse(name: string): boolean {
  return REVERSE_ZONES.some((z) => inZone(name.toLowerCase(), z));
}

/** dnsutil.ExtractAddressFromReverse: the address a full in-addr.arpa / ip6.arpa name stands for, else undefined. */
export function addressFromReverse(name: string): string | undefined {
  const n = name.toLowerCase();
  if (n.endsWith('.in-addr.arpa')) {
    const parts = n.slice(0, -'.in-addr.arpa'.length).split('.');
    if (parts.length !== 4 || parts.some((p) => !/^\d{1,3}$/.test(p))) return undefined;
    return canonicalIP(parts.reverse().join('.'));
  }
  if (n.endsWith('.ip6.arpa')) {
    const nibbles = n.slice(0, -'.ip6.arpa'.length).split('.');
    if (nibbles.length !== 32 || nibbles.some((x) => !/^[0-9a-f]$/.test(x))) return undefined;
    const hex = nibbles.reverse().join('');
    return canonicalIP(hex.match(/.{4}/g)!.join(':'));
  }
  return undefined;
}

/** The reverse name of an address (dns.ReverseAddr). */
export function reverseName(ip: string): string {
  if (ip.includes(':')) {
    const groups = (canonicalIP(ip) ?? ip).split('::');
    const head = groups[0] ? groups[0].split(':') : [];
    const tail = groups.length > 1 && groups[1] ? groups[1].split(':') : [];
    const all = groups.length > 1 ? [...head, ...Array(8 - head.length - tail.length).fill('0'), ...tail] : head;
    return `${all.map((g) => g.padStart(4, '0')).join('').split('').reverse().join('.')}.ip6.arpa`;
  }
  return `${ip.split('.').reverse().join('.')}.in-addr.arpa`;
}
