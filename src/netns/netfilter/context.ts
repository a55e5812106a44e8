// What a rule is evaluated against: the packet's headers and skb state, and the kernel state around it
// (conntrack, the namespace's addresses, ipsets, the recent module's tables, the random source).
import type { Counters, Family, HookName } from './model.ts';
import type { RecentTables } from './recent.ts';
import type { Random } from './random.ts';

export interface NfPacket {
  family: Family;
  src: bigint;
  dst: bigint;
  srcText: string;
  dstText: string;
  /** IP protocol number. */
  proto: number;
  sport?: number;
  dport?: number;
  /** TCP flags as bits (FIN 1, SYN 2, RST 4, PSH 8, ACK 16, URG 32). */
  tcpFlags?: number;
  icmpType?: number;
  icmpCode?: number;
  /** Devices it came in by / goes out by, where the hook knows them. */
  in?: string;
  out?: string;
  /** skb->mark */
  mark: number;
  length: number;
}

/** The lookup `-m set` needs; src/netns/ipset.ts provides it. */
export interface IpSetLookup {
  test(set: string, pkt: { src: string; dst: string; protocol: string; sport?: number; dport?: number }, flags: ('src' | 'dst')[]): boolean;
  has(set: string): boolean;
}

/** The kernel's address types (RTN_*), as addrtype names them. */
export const ADDR_TYPES = ['UNSPEC', 'UNICAST', 'LOCAL', 'BROADCAST', 'ANYCAST', 'MULTICAST', 'BLACKHOLE', 'UNREACHABLE', 'PROHIBIT', 'THROW', 'NAT', 'XRESOLVE'] as const;
export type AddrType = (typeof ADDR_TYPES)[number];

/** The namespace around the rules: what addrtype and MASQUERADE ask of it. */
export interface HostView {
  /** The address type of an address (inet_addr_type), or of it on one device (--limit-iface-in/out). */
  addrType(family: Family, ip: string, dev?: string): AddrType;
  /** The address MASQUERADE takes on a device: its primary address of the family. */
  primaryAddress(dev: string, family: Family): string | undefined;
}

/** Conntrack's view of the packet for `-m conntrack`: state bits and whether the entry is NATed. */
export interface CtView {
  state: 'NEW' | 'ESTABLISHED' | 'RELATED' | 'INVALID' | 'UNTRACKED';
  snat: boolean;
  dnat: boolean;
}

export interface NfEnv {
  hook: HookName;
  ct?: CtView;
  host: HostView;
  ipsets?: IpSetLookup;
  recent: RecentTables;
  nfacct: Map<string, Counters>;
  random: Random;
  /** Milliseconds (the recent module's clock). */
  now: number;
}
