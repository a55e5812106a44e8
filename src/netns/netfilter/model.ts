// Rules as data: what iptables keeps of a rule (basic criteria, ordered matches with their options, a
// target), so iptables-save can be rendered from it and the kernel's evaluation can run on it.
import { formatIP, parseIP, type Family } from '../../cluster/net.ts';

export type { Family };
export type TableName = 'raw' | 'mangle' | 'filter' | 'nat';
export const TABLES: readonly TableName[] = ['raw', 'mangle', 'filter', 'nat'];
export type HookName = 'PREROUTING' | 'INPUT' | 'FORWARD' | 'OUTPUT' | 'POSTROUTING';

/** Each table's built-in chains, in the order iptables-save lists them. */
export const BUILTIN_CHAINS: Record<TableName, readonly HookName[]> = {
  raw: ['PREROUTING', 'OUTPUT'],
  mangle: ['PREROUTING', 'INPUT', 'FORWARD', 'OUTPUT', 'POSTROUTING'],
  filter: ['INPUT', 'FORWARD', 'OUTPUT'],
  nat: ['PREROUTING', 'INPUT', 'OUTPUT', 'POSTROUTING'],
};

/** iptables-nft's table order (enum nft_table_type), which iptables-save follows. */
export const SAVE_ORDER: readonly TableName[] = ['mangle', 'raw', 'filter', 'nat'];

/** The tables at each hook, in the kernel's priority order (raw -300, mangle -150, dstnat -100, filter 0, srcnat 100). */
export const HOOK_TABLES: Record<HookName, readonly TableName[]> = {
  PREROUTING: ['raw', 'mangle', 'nat'],
  INPUT: ['mangle', 'filter', 'nat'],
  FORWARD: ['mangle', 'filter'],
  OUTPUT: ['raw', 'mangle', 'nat', 'filter'],
  POSTROUTING: ['mangle', 'nat'],
};

export interface Counters {
  packets: number;
  bytes: number;
}

export interface AddrMatch {
  family: Family;
  value: bigint;
  mask: bigint;
  prefix: number;
  invert: boolean;
}

export interface IfaceMatch {
  name: string;
  invert: boolean;
}

export interface PortRange {
  lo: number;
  hi: number;
}

export interface PortMatch {
  kind: 'tcp' | 'udp' | 'sctp';
  sport?: PortRange;
  sportInvert?: boolean;
  dport?: PortRange;
  dportInvert?: boolean;
  flags?: { mask: number; comp: number; invert: boolean };
}

export type Match =
  | { kind: 'comment'; comment: string }
  | PortMatch
  | { kind: 'icmp'; type: number; code?: number; invert: boolean }
  | { kind: 'addrtype'; src?: { types: number; invert: boolean }; dst?: { types: number; invert: boolean }; limitIn: boolean; limitOut: boolean }
  | { kind: 'mark'; value: number; mask: number; invert: boolean }
  | { kind: 'conntrack'; states?: { bits: number; invert: boolean } }
  | { kind: 'statistic'; mode?: 'random'; probability?: number; invert: boolean }
  | { kind: 'recent'; command?: 'set' | 'rcheck' | 'update' | 'remove'; seconds?: number; reap: boolean; hitcount?: number; rttl: boolean; name: string; mask?: bigint; side: 'src' | 'dst'; invert: boolean }
  | { kind: 'set'; name?: string; flags: ('src' | 'dst')[]; invert: boolean }
  | { kind: 'multiport'; dir?: 'sports' | 'dports' | 'ports'; ports: PortRange[]; invert: boolean }
  | { kind: 'nfacct'; name?: string };

export interface NatRange {
  /** First and last address, or undefined (MASQUERADE-like: keep). */
  addr?: { family: Family; lo: bigint; hi: bigint };
  ports?: PortRange;
}

export interface NatTarget {
  kind: 'DNAT' | 'SNAT';
  range?: NatRange;
  random: boolean;
  randomFully: boolean;
  persistent: boolean;
}

export type Target =
  | { kind: 'ACCEPT' | 'DROP' | 'RETURN' }
  | { kind: 'jump'; chain: string; goto: boolean }
  | { kind: 'REJECT'; with: string }
  | NatTarget
  | { kind: 'MASQUERADE'; ports?: PortRange; random: boolean; randomFully: boolean }
  | { kind: 'MARK'; value?: number; mask?: number };

export interface Rule {
  src?: AddrMatch;
  dst?: AddrMatch;
  /** IP protocol number; 0 is "all". */
  proto?: { num: number; invert: boolean };
  in?: IfaceMatch;
  out?: IfaceMatch;
  matches: Match[];
  target?: Target;
  counters: Counters;
  /** The restore-text line it came from, for errors found later (loops). */
  line?: number;
  /** Its iptables-save text, made once. */
  text?: string;
}

export interface Chain {
  name: string;
  builtin: boolean;
  policy?: 'ACCEPT' | 'DROP';
  counters: Counters;
  rules: Rule[];
}

export interface Table {
  name: TableName;
  chains: Map<string, Chain>;
}

export function emptyTable(name: TableName): Table {
  const chains = new Map<string, Chain>();
  for (const c of BUILTIN_CHAINS[name]) chains.set(c, { name: c, builtin: true, policy: 'ACCEPT', counters: { packets: 0, bytes: 0 }, rules: [] });
  return { name, chains };
}

/** A copy whose chains can be changed without touching the original (rules are shared: they are not changed in place). */
export function cloneTable(t: Table): Table {
  const chains = new Map<string, Chain>();
  for (const [k, c] of t.chains) chains.set(k, { ...c, counters: { ...c.counters }, rules: [...c.rules] });
  return { name: t.name, chains };
}

export const BITS: Record<Family, number> = { IPv4: 32, IPv6: 128 };
export const allOnes = (family: Family): bigint => (1n << BigInt(BITS[family])) - 1n;

export function prefixMask(family: Family, prefix: number): bigint {
  const bits = BigInt(BITS[family]);
  return prefix === 0 ? 0n : (allOnes(family) >> (bits - BigInt(prefix))) << (bits - BigInt(prefix));
}

/** "10.0.0.1", "10.0.0.0/8", "10.0.0.0/255.0.0.0", "fd00::/64" -> an address match, or an error text. */
export function parseAddress(text: string, family: Family, invert: boolean): AddrMatch | string {
  const slash = text.indexOf('/');
  const ipText = slash < 0 ? text : text.slice(0, slash);
  const ip = parseIP(ipText);
  if (!ip || ip.family !== family || (family === 'IPv4' && ipText.includes(':'))) return `host/network \`${ipText}' not found`;
  let prefix = BITS[family];
  if (slash >= 0) {
    const m = text.slice(slash + 1);
    if (/^\d+$/.test(m)) {
      prefix = Number(m);
      if (prefix > BITS[family]) return `invalid mask \`${m}' specified`;
    } else {
      const mip = parseIP(m);
      if (!mip || mip.family !== family) return `invalid mask \`${m}' specified`;
      const ones = mip.value.toString(2).replace(/0+$/, '');
      if (mip.value !== 0n && (ones.includes('0') || ones.length > BITS[family])) return `non-contiguous mask \`${m}' is not supported`;
      prefix = mip.value === 0n ? 0 : ones.length;
    }
  }
  const mask = prefixMask(family, prefix);
  return { family, value: ip.value & mask, mask, prefix, invert };
}

export function formatAddress(a: AddrMatch): string {
  return `${formatIP(a.family, a.value)}/${a.prefix}`;
}

/** /etc/protocols' names for the protocols iptables-save prints by name. */
const PROTOCOLS: [number, string][] = [
  [1, 'icmp'], [2, 'igmp'], [4, 'ipencap'], [6, 'tcp'], [17, 'udp'], [33, 'dccp'], [41, 'ipv6'], [47, 'gre'],
  [50, 'esp'], [51, 'ah'], [58, 'ipv6-icmp'], [103, 'pim'], [112, 'vrrp'], [132, 'sctp'], [135, 'mobility-header'], [136, 'udplite'],
];
const PROTO_BY_NAME = new Map<string, number>([...PROTOCOLS.map(([n, s]) => [s, n] as [string, number]), ['icmpv6', 58], ['ipv6-mh', 135], ['mh', 135], ['all', 0]]);
const PROTO_NAME = new Map(PROTOCOLS);

export function parseProtocol(text: string): number | undefined {
  const t = text.toLowerCase();
  if (/^\d+$/.test(t)) return Number(t) <= 255 ? Number(t) : undefined;
  return PROTO_BY_NAME.get(t);
}

export function protocolName(num: number): string {
  return PROTO_NAME.get(num) ?? String(num);
}

export const PROTO = { icmp: 1, tcp: 6, udp: 17, sctp: 132, icmpv6: 58 } as const;
