// `ipvsadm -Ln`, `-Ln --stats` and `-Lnc` text, laid out as ipvsadm 1.31's print_title / print_service_entry /
// print_conn write it (fixed-width printf columns, trailing padding included), sorted as libipvs sorts.
import type { Ipvs, IpvsConnection } from '../ipvs.ts';
import { IPVS_CONN_TAB_SIZE } from '../ipvs.ts';
import {
  SCHED_FALLBACK, SCHED_PORT, SVC_F, hostPort, parseAddress,
  type Destination, type IpvsProtocol, type VirtualService,
} from './service.ts';

const PROTO_NUMBER: Record<IpvsProtocol, number> = { tcp: 6, udp: 17, sctp: 132 };
const AF_NUMBER = { IPv4: 2, IPv6: 10 } as const;

const padEnd = (s: string | number, n: number): string => String(s).padEnd(n);
const padStart = (s: string | number, n: number): string => String(s).padStart(n);

/** Options: --stats, as ipvsadm's FMT_STATS. */
export interface IpvsadmOptions {
  stats?: boolean;
}

export function ipvsadmList(ipvs: Ipvs, options: IpvsadmOptions = {}): string {
  ipvs.expire();
  let out = `IP Virtual Server version 1.2.1 (size=${IPVS_CONN_TAB_SIZE})\n`;
  out += options.stats
    ? `${padEnd('Prot LocalAddress:Port', 33)} ${padStart('Conns', 8)} ${padStart('InPkts', 8)} ${padStart('OutPkts', 8)} ${padStart('InBytes', 8)} ${padStart('OutBytes', 8)}\n  -> RemoteAddress:Port\n`
    : 'Prot LocalAddress:Port Scheduler Flags\n  -> RemoteAddress:Port           Forward Weight ActiveConn InActConn\n';
  for (const svc of qsort(ipvs.services(), compareServices)) out += serviceEntry(svc, options);
  return out;
}

function serviceEntry(svc: VirtualService, options: IpvsadmOptions): string {
  const s = svc.spec;
  let name: string;
  if (s.fwmark) name = svc.family === 'IPv6' ? `FWM  ${s.fwmark} IPv6` : `FWM  ${s.fwmark}`;
  else {
    name = `${padEnd(s.protocol.toUpperCase(), 4)} ${hostPort(s.address, s.port)}`;
    if (svc.family === 'IPv4') name = name.slice(0, 33);
  }
  let out: string;
  if (options.stats) {
    out = padEnd(name, 33) + largeNumbers(svc.stats);
  } else {
    out = `${name} ${s.scheduler}`;
    const flags = schedFlags(svc);
    if (flags) out += ` (${flags})`;
    if (s.flags & SVC_F.PERSISTENT) {
      out += ` persistent ${s.timeout}`;
      if (svc.family === 'IPv4' && s.netmask !== 32) out += ` mask ${dottedMask(s.netmask)}`;
      if (svc.family === 'IPv6' && s.netmask !== 128) out += ` mask ${s.netmask}`;
    }
    if (s.flags & SVC_F.ONEPACKET) out += ' ops';
  }
  out += '\n';
  for (const d of qsort(svc.destinations, compareDests)) {
    let dname = hostPort(d.address, d.port);
    if (d.family === 'IPv4') dname = dname.slice(0, 28);
    if (options.stats) out += `  -> ${padEnd(dname, 28)}${largeNumbers(d.stats)}\n`;
    else out += `  -> ${padEnd(dname, 28)} ${padEnd(d.forward, 7)} ${padEnd(d.weight, 6)} ${padEnd(d.activeConns, 10)} ${padEnd(d.inactConns, 10)}\n`;
  }
  return out;
}

/** print_sched_flags: sh and mh name their two flags; other schedulers show flag-1..3. */
function schedFlags(svc: VirtualService): string {
  const f = svc.spec.flags;
  const names: string[] = [];
  const sched = svc.spec.scheduler;
  if (sched === 'sh' || sched === 'mh') {
    if (f & SCHED_FALLBACK) names.push(`${sched}-fallback`);
    if (f & SCHED_PORT) names.push(`${sched}-port`);
  } else {
    if (f & SVC_F.SCHED1) names.push('flag-1');
    if (f & SVC_F.SCHED2) names.push('flag-2');
    if (f & SVC_F.SCHED3) names.push('flag-3');
  }
  return names.join(',');
}

function dottedMask(prefix: number): string {
  const m = prefix === 0 ? 0 : (0xffffffff << (32 - prefix)) >>> 0;
  return `${m >>> 24}.${(m >>> 16) & 255}.${(m >>> 8) & 255}.${m & 255}`;
}

/** print_largenum without --exact: %9llu, then K/M/G/T with %8llu. */
export function largeNumber(i: number): string {
  if (i < 100000000) return padStart(i, 9);
  if (i < 1000000000) return `${padStart(Math.floor(i / 1000), 8)}K`;
  if (i < 100000000000) return `${padStart(Math.floor(i / 1000000), 8)}M`;
  if (i < 100000000000000) return `${padStart(Math.floor(i / 1000000000), 8)}G`;
  return `${padStart(Math.floor(i / 1000000000000), 8)}T`;
}

function largeNumbers(s: VirtualService['stats']): string {
  return [s.conns, s.inpkts, s.outpkts, s.inbytes, s.outbytes].map(largeNumber).join('');
}

/**
 * libipvs compares addresses as `ntohl(a) - ntohl(b)` stored in an int: the unsigned difference wraps, so
 * addresses more than 2^31 apart compare the "wrong" way round (10.x sorts after 172.x). Kept, since that is
 * the order a person sees.
 */
function addressDiff(a: string, b: string): number {
  const x = parseAddress(a);
  const y = parseAddress(b);
  if (x.family === 'IPv4' && y.family === 'IPv4') return (Number(x.value) - Number(y.value)) | 0;
  for (let i = 3n; i >= 0n; i--) {
    const r = (Number((x.value >> (32n * i)) & 0xffffffffn) - Number((y.value >> (32n * i)) & 0xffffffffn)) | 0;
    if (r !== 0) return r;
  }
  return 0;
}

/**
 * glibc 2.36's qsort (what ipvsadm on Debian 12 calls): msort_with_tmp, a top-down merge sort that takes from
 * the left run on ties. With libipvs's comparator, which is not transitive across wrapped differences, the
 * algorithm decides the order, so it is glibc's rather than Array.prototype.sort.
 */
export function qsort<T>(items: readonly T[], cmp: (a: T, b: T) => number): T[] {
  if (items.length <= 1) return [...items];
  const n1 = items.length >> 1;
  const left = qsort(items.slice(0, n1), cmp);
  const right = qsort(items.slice(n1), cmp);
  const out: T[] = [];
  let i = 0;
  let j = 0;
  while (i < left.length && j < right.length) out.push(cmp(left[i], right[j]) <= 0 ? left[i++] : right[j++]);
  return out.concat(left.slice(i), right.slice(j));
}

/** ipvs_cmp_services: fwmark, family, protocol, address, port. */
function compareServices(a: VirtualService, b: VirtualService): number {
  return ((a.spec.fwmark ?? 0) - (b.spec.fwmark ?? 0)) || (AF_NUMBER[a.family] - AF_NUMBER[b.family])
    || (PROTO_NUMBER[a.spec.protocol] - PROTO_NUMBER[b.spec.protocol])
    || addressDiff(a.spec.address, b.spec.address) || (a.spec.port - b.spec.port);
}

/** ipvs_cmp_dests: address, port. */
function compareDests(a: Destination, b: Destination): number {
  return addressDiff(a.address, b.address) || (a.port - b.port);
}

/** `ipvsadm -Lnc`: the connection table as print_conn lays out /proc/net/ip_vs_conn. */
export function ipvsadmConnections(ipvs: Ipvs, now: number): string {
  let out = 'IPVS connection entries\n';
  out += `pro expire ${padEnd('state', 11)} ${padEnd('source', 18)} ${padEnd('virtual', 18)} destination\n`;
  for (const c of ipvs.connections()) out += connEntry(c, now);
  return out;
}

function connEntry(c: IpvsConnection, now: number): string {
  const left = Math.max(0, Math.ceil((c.expires - now) / 1000));
  const expire = `${String(Math.floor(left / 60)).padStart(2, '0')}:${String(left % 60).padStart(2, '0')}`;
  const proto = c.template && c.service.spec.fwmark ? 'IP' : c.protocol.toUpperCase();
  return `${padEnd(proto, 3)} ${padEnd(expire, 6)} ${padEnd(c.state, 11)} ${padEnd(hostPort(c.client.address, c.client.port), 18)} ${padEnd(hostPort(c.virtual.address, c.virtual.port), 18)} ${hostPort(c.dest.address, c.dest.port)}\n`;
}

