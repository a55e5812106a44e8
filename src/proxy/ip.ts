// Addresses as kube-proxy reads them: netutils.ParseIPSloppy / ParseCIDRSloppy accept IPv4 octets with
// leading zeros (read as decimal, for backward compatibility) and Go's net.IP prints them canonically.
import { canonicalIP, familyOf, formatIP, isCidr, parseCIDR, parseIP, type Cidr, type Family } from '../cluster/net.ts';

export type { Cidr, Family };

/** "010.000.001.002" -> "10.0.1.2"; IPv6 unchanged (Go never accepted leading zeros beyond 4 hex digits). */
function unzeroIPv4(text: string): string {
  if (!/(?:^|\.)0\d/.test(text) || !/^\d+\.\d+\.\d+\.\d+$/.test(text)) return text;
  return text.split('.').map((o) => String(Number(o))).join('.');
}

/** The canonical text of an address parsed sloppily, or undefined when it is not an address. */
export function sloppyIP(text: string): string | undefined {
  return canonicalIP(unzeroIPv4(text.trim()));
}

export function sloppyCIDR(text: string): Cidr | undefined {
  const t = text.trim();
  const slash = t.indexOf('/');
  if (slash < 0) return undefined;
  const c = parseCIDR(`${unzeroIPv4(t.slice(0, slash))}${t.slice(slash)}`, false);
  return isCidr(c) ? c : undefined;
}

export function ipFamily(ip: string): Family | undefined {
  return familyOf(ip);
}

export function containsIP(c: Cidr, ip: string): boolean {
  const p = parseIP(ip);
  return !!p && p.family === c.family && p.value >= c.base && p.value < c.base + c.size;
}

export function isLoopback(ip: string): boolean {
  const p = parseIP(ip);
  if (!p) return false;
  return p.family === 'IPv4' ? p.value >> 24n === 127n : p.value === 1n;
}

/** net.JoinHostPort: brackets around IPv6 hosts. */
export function joinHostPort(ip: string, port: number): string {
  return ip.includes(':') ? `[${ip}]:${port}` : `${ip}:${port}`;
}

export { formatIP };
