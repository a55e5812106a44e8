// Addresses and CIDRs, family-neutral, on ip-num. Kubernetes prints IPv6 in RFC 5952 form (Go's net.IP),
// so every address leaving this module is canonical.
import { isIP } from 'node:net';
import { IPv6, IPv4CidrRange, IPv6CidrRange, collapseIPv6Number } from 'ip-num';

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
    const value = IPv6.fromString(ip).getValue();
    if (value >> 32n === 0xffffn) return { family: 'IPv4', value: value & 0xffffffffn };
    return { family, value };
  }
  return undefined;
}

export function formatIP(family: Family, value: bigint): string {
  if (family === 'IPv4') {
    const n = Number(value);
    return `${n >>> 24}.${(n >>> 16) & 255}.${(n >>> 8) & 255}.${n & 255}`;
  }
  return collapseIPv6Number(IPv6.fromBigInt(value).toString());
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
