// IPVS's objects as the kernel keeps them (include/net/ip_vs.h): a virtual service with its scheduler and its
// list of destinations (real servers), each with the counters ipvsadm shows.
import { parseIP, type Family } from '../../cluster/net.ts';

export type IpvsProtocol = 'tcp' | 'udp' | 'sctp';
export const SCHEDULERS = ['rr', 'wrr', 'lc', 'wlc', 'lblc', 'lblcr', 'dh', 'sh', 'sed', 'nq', 'mh'] as const;
export type SchedulerName = (typeof SCHEDULERS)[number];
/** ipvsadm's -g/-i/-m and the kernel's local-node case. */
export type ForwardMethod = 'Masq' | 'Route' | 'Tunnel' | 'Local';

/** Service flags (IP_VS_SVC_F_*), as the kernel and libipvs carry them. */
export const SVC_F = {
  PERSISTENT: 0x0001,
  HASHED: 0x0002,
  ONEPACKET: 0x0004,
  SCHED1: 0x0008,
  SCHED2: 0x0010,
  SCHED3: 0x0020,
} as const;
/** sh/mh: SCHED1 is "fallback" and SCHED2 "port" (ip_vs_sh.c, ip_vs_mh.c). */
export const SCHED_FALLBACK = SVC_F.SCHED1;
export const SCHED_PORT = SVC_F.SCHED2;

export interface Stats {
  conns: number;
  inpkts: number;
  outpkts: number;
  inbytes: number;
  outbytes: number;
}

export const zeroStats = (): Stats => ({ conns: 0, inpkts: 0, outpkts: 0, inbytes: 0, outbytes: 0 });

/** What `ipvsadm -A` / kube-proxy's utilipvs.VirtualServer say about a service. */
export interface VirtualServiceSpec {
  /** Address and port, or a firewall mark (then address is the family's any-address and port 0). */
  address: string;
  protocol: IpvsProtocol;
  port: number;
  fwmark?: number;
  scheduler: SchedulerName;
  /** IP_VS_SVC_F_* bits (persistent, one-packet, scheduler flags). */
  flags: number;
  /** Persistence timeout in seconds (used when flags has PERSISTENT). */
  timeout: number;
  /** Persistence netmask as a prefix length: 32 (IPv4) / 128 (IPv6) means per client address. */
  netmask: number;
}

export interface DestinationSpec {
  address: string;
  port: number;
  weight: number;
  forward: ForwardMethod;
  /** Upper and lower connection thresholds (0: none), as ipvsadm -x / -y. */
  uThreshold?: number;
  lThreshold?: number;
}

export class Destination {
  readonly address: string;
  readonly port: number;
  readonly family: Family;
  /** The address as the hashing schedulers fold it into 32 bits (IPv6: the xor of its four words). */
  readonly fold: number;
  weight: number;
  /** The last weight above zero: mh keeps a drained server's table slots (dest->last_weight). */
  lastWeight: number;
  forward: ForwardMethod;
  uThreshold: number;
  lThreshold: number;
  /** IP_VS_DEST_F_OVERLOAD: the upper threshold was reached. */
  overloaded = false;
  /** Still linked into its service (IP_VS_DEST_F_AVAILABLE). */
  available = true;
  activeConns = 0;
  inactConns = 0;
  persistConns = 0;
  stats: Stats = zeroStats();

  constructor(spec: DestinationSpec) {
    const ip = parseAddress(spec.address);
    this.address = spec.address;
    this.port = spec.port;
    this.family = ip.family;
    this.fold = foldAddress(ip.family, ip.value);
    this.weight = spec.weight;
    this.lastWeight = spec.weight > 0 ? spec.weight : 0;
    this.forward = spec.forward;
    this.uThreshold = spec.uThreshold ?? 0;
    this.lThreshold = spec.lThreshold ?? 0;
  }

  /** ip_vs_dest_conn_overhead: active connections weigh 256 times an inactive one. */
  get overhead(): number {
    return this.activeConns * 256 + this.inactConns;
  }

  get totalConns(): number {
    return this.activeConns + this.inactConns;
  }
}

export interface SchedulerState {
  /** Called when a destination is added, removed or changed (the kernel's add_dest/del_dest/upd_dest). */
  changed(svc: VirtualService, removed?: Destination): void;
  schedule(svc: VirtualService, pkt: ScheduledPacket, now: number): Destination | undefined;
}

/** The parts of a packet the schedulers look at. */
export interface ScheduledPacket {
  src: string;
  dst: string;
  sport?: number;
  dport?: number;
}

export class VirtualService {
  readonly spec: VirtualServiceSpec;
  readonly family: Family;
  /** The kernel's svc->destinations: a new destination goes to the head of the list (list_add_rcu). */
  destinations: Destination[] = [];
  stats: Stats = zeroStats();
  sched: SchedulerState;

  constructor(spec: VirtualServiceSpec, sched: SchedulerState) {
    this.spec = { ...spec };
    this.family = parseAddress(spec.address).family;
    this.sched = sched;
  }

  get key(): string {
    return serviceKey(this.spec);
  }

  findDestination(address: string, port: number): Destination | undefined {
    return this.destinations.find((d) => d.address === address && d.port === port);
  }
}

/** "TCP 10.0.0.1:80" or "FWM 5 IPv4": one key per kernel service. */
export function serviceKey(s: Pick<VirtualServiceSpec, 'address' | 'protocol' | 'port' | 'fwmark'>): string {
  if (s.fwmark) return `FWM ${s.fwmark} ${parseAddress(s.address).family}`;
  return `${s.protocol.toUpperCase()} ${hostPort(s.address, s.port)}`;
}

export function hostPort(address: string, port: number): string {
  return address.includes(':') ? `[${address}]:${port}` : `${address}:${port}`;
}

export function parseAddress(address: string): { family: Family; value: bigint } {
  const ip = parseIP(address);
  if (!ip) throw new Error(`IPVS: invalid address "${address}"`);
  return ip;
}

/** The u32 the kernel hashes for an address: IPv4 as is, IPv6 as ip6[0]^ip6[1]^ip6[2]^ip6[3]. */
export function foldAddress(family: Family, value: bigint): number {
  if (family === 'IPv4') return Number(value);
  let f = 0n;
  for (let i = 0n; i < 4n; i++) f ^= (value >> (32n * i)) & 0xffffffffn;
  return Number(f);
}
