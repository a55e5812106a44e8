// Addresses and CIDRs, family-neutral, on ip-num. Kubernetes prints IPv6 in RFC 5952 form (Go's net.IP),
// so every address leaving this module is canonical.
import { isIP } from 'node:net';
import { IPv4CidrRange, IPv6CidrRange, collapseIPv6Number } from 'ip-num';

export type Family = 'IPv4' | 'IPv6';

export interface Cidr {
  family: Family;
  /** Network address as a number. */
  base: bigint;
  prefix: number;
  /** Number of addresses in the range. */
  size: bigint;
  /** Canonical text: "10.244.0.0/16", "fd00:10:96::/112". */
  text: string;
}

const BITS: Record<Family, number> = { IPv4: 32, IPv6: 128 };

// Validation is node:net's (native, and on every hot path); arithmetic and text are ip-num's.
export function familyOf(ip: string): Family | undefined {
  const v = isIP(ip);
  return v === 4 ? 'IPv4' : v === 6 && !ip.includes('%') ? 'IPv6' : undefined;
}

/**
 * Parses an IP, returning undefined when it is not one. Leading zeros are refused (Kubernetes' strict
 * parsing), and an IPv4-mapped IPv6 address is the IPv4 address, as Go's net.IP has it.
 */
export function parseIP(ip: string): { family: Family; value: bigint } | undefined {
  if (typeof ip !== 'string') return undefined;
  const family = familyOf(ip);
  if (family === 'IPv4') {
    const octets = ip.split('.');
    if (octets.some((o) => o.length > 1 && o.startsWith('0'))) return undefined;
    // node:net validated the text; the value is plain arithmetic (ip-num's parser costs ~100x more here).
    return { family, value: BigInt(((+octets[0] << 24) | (+octets[1] << 16) | (+octets[2] << 8) | +octets[3]) >>> 0) };
  }
  if (family === 'IPv6') {
    const value = ipv6Value(ip);
    if (value >> 32n === 0xffffn) return { family: 'IPv4', value: value & 0xffffffffn };
    return { family, value };
  }
  return undefined;
}

export function formatIP(family: Family, value: bigint): string {
  return family === 'IPv4' ? formatIPv4(Number(value)) : formatIPv6(value);
}

/** An IPv4 address from its 32-bit value as a plain number (no BigInt on the per-pod paths). */
export function formatIPv4(n: number): string {
  return `${n >>> 24}.${(n >>> 16) & 255}.${(n >>> 8) & 255}.${n & 255}`;
}

// IPv6 text <-> value by hand: node:net has validated the text, and ip-num's parser and formatter cost
// ~20-50 µs an address (regular expressions, string expansion) — too much for a node's link-local
// addresses times a thousand nodes.
function ipv6Value(ip: string): bigint {
  let text = ip;
  const dotted = /(\d+)\.(\d+)\.(\d+)\.(\d+)$/.exec(text);
  if (dotted) {
    const [a, b, c, d] = dotted.slice(1).map(Number);
    text = `${text.slice(0, dotted.index)}${((a << 8) | b).toString(16)}:${((c << 8) | d).toString(16)}`;
  }
  const [head, tail] = text.includes('::') ? text.split('::') : [text, undefined];
  const h = head ? head.split(':') : [];
  const t = tail === undefined ? [] : tail ? tail.split(':') : [];
  const groups = tail === undefined ? h : [...h, ...Array(8 - h.length - t.length).fill('0'), ...t];
  let v = 0n;
  for (const g of groups) v = (v << 16n) | BigInt(parseInt(g, 16));
  return v;
}

/** RFC 5952: lowercase, no leading zeros, the longest run of two or more zero groups as "::" (the first on a tie). */
function formatIPv6(value: bigint): string {
  const groups = Array.from({ length: 8 }, (_, i) => Number((value >> BigInt(112 - 16 * i)) & 0xffffn));
  let best = -1;
  let bestLen = 1;
  for (let i = 0; i < 8;) {
    if (groups[i] !== 0) {
      i++;
      continue;
    }
    let j = i;
    while (j < 8 && groups[j] === 0) j++;
    if (j - i > bestLen) {
      best = i;
      bestLen = j - i;
    }
    i = j;
  }
  const hex = groups.map((g) => g.toString(16));
  if (best < 0) return hex.join(':');
  return `${hex.slice(0, best).join(':')}::${hex.slice(best + bestLen).join(':')}`;
}

/** Canonical text of an IP (so "fd00:10:96:0::a" and "fd00:10:96::a" compare equal). */
export function canonicalIP(ip: string): string | undefined {
  const p = parseIP(ip);
  return p && formatIP(p.family, p.value);
}

/**
 * Parses "a.b.c.d/n". Like the apiserver's ParseCIDRSloppy-free validation, host bits must be zero
 * only when `strict`; otherwise the network is masked (kube-proxy's clusterCIDR is lenient that way).
 */
export function parseCIDR(text: string, strict = true): Cidr | { error: string } {
  const parts = typeof text === 'string' ? text.split('/') : [];
  if (parts.length !== 2) return { error: `"${text}" is not a CIDR (want address/prefix)` };
  const [addr, prefixText] = parts;
  const ip = parseIP(addr);
  let prefix = Number(prefixText);
  if (!ip || !/^\d+$/.test(prefixText)) return { error: `"${text}" is not a valid CIDR` };
  // An IPv4-mapped IPv6 prefix (::ffff:a.b.c.d/120) is an IPv4 prefix.
  if (ip.family === 'IPv4' && addr.includes(':')) {
    if (prefix < 96) return { error: `"${text}" is not a valid CIDR` };
    prefix -= 96;
  }
  if (prefix > BITS[ip.family]) return { error: `"${text}" is not a valid CIDR` };
  const bits = BigInt(BITS[ip.family]);
  const hostBits = bits - BigInt(prefix);
  const mask = ((1n << bits) - 1n) ^ ((1n << hostBits) - 1n);
  const base = ip.value & mask;
  if (strict && base !== ip.value) {
    return { error: `"${text}" has host bits set (the network is ${formatIP(ip.family, base)}/${prefix})` };
  }
  const canonical = ip.family === 'IPv4'
    ? IPv4CidrRange.fromCidr(`${formatIP(ip.family, base)}/${prefix}`).toCidrString()
    : `${collapseIPv6Number(IPv6CidrRange.fromCidr(`${formatIP(ip.family, base)}/${prefix}`).getFirst().toString())}/${prefix}`;
  return { family: ip.family, base, prefix, size: 1n << hostBits, text: canonical };
}

export function isCidr(c: Cidr | { error: string }): c is Cidr {
  return !('error' in c);
}

export function cidrContains(c: Cidr, ip: { family: Family; value: bigint }): boolean {
  return c.family === ip.family && ip.value >= c.base && ip.value < c.base + c.size;
}

export function cidrsOverlap(a: Cidr, b: Cidr): boolean {
  return a.family === b.family && a.base < b.base + b.size && b.base < a.base + a.size;
}

/** The n-th address of a range (0 = network address). */
export function nthAddress(c: Cidr, n: bigint): string {
  return formatIP(c.family, c.base + n);
}

/** The i-th subnet of `prefix` bits inside c (the node IPAM's CIDR set). */
export function subnet(c: Cidr, prefix: number, i: bigint): Cidr {
  const hostBits = BigInt(BITS[c.family] - prefix);
  const base = c.base + (i << hostBits);
  const text = `${formatIP(c.family, base)}/${prefix}`;
  return { family: c.family, base, prefix, size: 1n << hostBits, text };
}

/** A comma-separated, dual-stack-capable CIDR list as kube-apiserver takes it (--service-cluster-ip-range). */
export function parseCIDRList(text: string): Cidr[] | { error: string } {
  const parts = String(text).split(',').map((s) => s.trim()).filter(Boolean);
  if (parts.length === 0 || parts.length > 2) return { error: `"${text}" must be one CIDR or two of different IP families` };
  const out: Cidr[] = [];
  for (const p of parts) {
    const c = parseCIDR(p);
    if (!isCidr(c)) return c;
    out.push(c);
  }
  if (out.length === 2 && out[0].family === out[1].family) {
    return { error: `"${text}": a dual-stack list needs one IPv4 and one IPv6 CIDR` };
  }
  return out;
}
