// One namespace's netfilter: iptables and ip6tables, conntrack, the recent module's lists and nfacct
// counters; and a hook's traversal as the kernel does it — the hook's tables in priority order, the nat
// table only for a connection's first packet (its decision becomes the conntrack entry's binding), every
// later packet and every reply translated by conntrack instead.
import { formatIP, parseIP, type Family } from '../../cluster/net.ts';
import { ConntrackTable, type CtPacket, type CtProto, type CtRef, type Tuple } from './conntrack.ts';
import type { HostView, IpSetLookup, NfEnv, NfPacket } from './context.ts';
import { bump, hitText, traverse, type Hit } from './evaluate.ts';
import { Iptables } from './iptables.ts';
import { HOOK_TABLES, PROTO, type HookName, type NatRange, type TableName, type Target } from './model.ts';
import type { Random } from './random.ts';
import { RecentTables } from './recent.ts';

/** The headers a hook sees and may rewrite (the packet path's IPv4Packet has these). */
export interface L3 {
  src: string;
  dst: string;
  protocol: string;
  sport?: number;
  dport?: number;
  flags?: string;
  length: number;
}

export interface HookLine {
  what: string;
  before?: string;
  after?: string;
}

export interface HookOutcome<P extends L3> {
  verdict: 'accept' | 'drop' | 'reject';
  packet: P;
  lines: HookLine[];
  /** For drop/reject: the rule or policy that decided, in iptables words. */
  by?: string;
  /** REJECT's answer: "tcp-reset", "icmp-port-unreachable", ... */
  rejectWith?: string;
  /** The table and chain whose policy dropped it, when a policy did. */
  policy?: { table: TableName; chain: string };
  /** IPVS took the packet (rewritten to its real server) and sends it on itself. */
  stolen?: boolean;
}

export interface HookIO {
  in?: string;
  out?: string;
  mark: number;
  random: Random;
  /** Text after the hook's name ("(bridged, br_netfilter)"). */
  via?: string;
  /** IPVS's hook function at this hook, when the namespace has virtual services (see IPVS_BEFORE). */
  ipvs?: IpvsHookFn;
}

/**
 * IPVS's decision on a packet at its hook: undefined lets the packet go on through the hook; a rewrite means
 * IPVS took it (NF_STOLEN: the rest of the hook, nat included, does not see it); drop/reject end it.
 */
export type IpvsHookVerdict =
  | { kind: 'stolen'; what: string; dst: string; dport?: number }
  /** A real server's answer un-NATed (ip_vs_out): its source rewritten, it goes on through the hook. */
  | { kind: 'mangle'; what: string; src: string; sport?: number }
  | { kind: 'drop' | 'reject'; what: string; by: string; rejectWith?: string };
export type IpvsHookFn = (p: L3) => IpvsHookVerdict | undefined;

/**
 * Where IPVS's hooks sit among the tables (by priority): ip_vs_remote_request at LOCAL_IN is
 * NF_IP_PRI_NAT_SRC - 2, after filter and before nat's SNAT; ip_vs_local_request at LOCAL_OUT is
 * NF_IP_PRI_NAT_DST + 1, after nat's DNAT and before filter.
 */
const IPVS_BEFORE: Partial<Record<HookName, TableName>> = { INPUT: 'nat', OUTPUT: 'filter' };


const PROTOCOLS: Record<string, number> = { tcp: PROTO.tcp, udp: PROTO.udp, icmp: PROTO.icmp, sctp: PROTO.sctp, icmpv6: PROTO.icmpv6 };
const TCP_BITS: Record<string, number> = { SYN: 2, 'SYN-ACK': 18, ACK: 16, RST: 4, 'RST-ACK': 20, FIN: 1, 'FIN-ACK': 17 };
const ICMP: Record<string, [number, number]> = { 'echo-request': [8, 0], 'echo-reply': [0, 0], 'port-unreachable': [3, 3], 'host-unreachable': [3, 1] };

const ep = (ip: string, port?: number) => (port === undefined ? ip : ip.includes(':') ? `[${ip}]:${port}` : `${ip}:${port}`);
const describe = (p: L3) => `${p.protocol.toUpperCase()} ${ep(p.src, p.sport)} > ${ep(p.dst, p.dport)}`;

/** Which NAT manipulation a hook does: destination at PREROUTING/OUTPUT, source at POSTROUTING/INPUT. */
const MANIP: Partial<Record<HookName, 'dst' | 'src'>> = { PREROUTING: 'dst', OUTPUT: 'dst', POSTROUTING: 'src', INPUT: 'src' };

export class Netfilter {
  readonly iptables: Iptables;
  readonly ip6tables: Iptables;
  readonly conntrack: ConntrackTable;
  readonly recent = new RecentTables();
  readonly nfacct = new Map<string, { packets: number; bytes: number }>();
  /** The recent module's and conntrack's clock (milliseconds). */
  now: () => number = Date.now;

  constructor(readonly host: HostView, ipsets?: IpSetLookup) {
    this.iptables = new Iptables('IPv4', ipsets);
    this.ip6tables = new Iptables('IPv6', ipsets);
    this.conntrack = new ConntrackTable(() => this.now());
  }

  /** The ipset lookup `-m set` uses (src/netns/ipset.ts), for both families. */
  set ipsets(l: IpSetLookup | undefined) {
    this.iptables.ipsets = l;
    this.ip6tables.ipsets = l;
  }

  /**
   * Whether this namespace tracks connections: the kernel registers conntrack's hooks in a namespace only
   * once a loaded ruleset needs them (since Linux 4.10), so a pod's namespace without rules tracks nothing.
   */
  get tracking(): boolean {
    return this.iptables.tables.size > 0 || this.ip6tables.tables.size > 0;
  }

  /** conntrack's step where a packet enters the stack (PREROUTING) or leaves a process (OUTPUT). */
  track(p: L3, related?: L3): CtRef {
    const pkt: CtPacket = { proto: p.protocol as CtProto, src: p.src, dst: p.dst, sport: p.sport, dport: p.dport, flags: p.flags };
    if (related) pkt.related = { proto: related.protocol as CtProto, src: related.src, dst: related.dst, sport: related.sport, dport: related.dport };
    return this.conntrack.track(pkt);
  }

  /** Runs a hook's tables over a packet; the packet returned carries NAT's rewrites. */
  hook<P extends L3>(name: HookName, packet: P, ct: CtRef | undefined, io: HookIO): HookOutcome<P> {
    const family = packet.dst.includes(':') ? 'IPv6' : 'IPv4';
    const ipt = family === 'IPv4' ? this.iptables : this.ip6tables;
    const lines: HookLine[] = [];
    let p = packet;
    const manip = MANIP[name];
    const label = `${name}${io.via ?? ''}`;
    const tables = HOOK_TABLES[name];
    // The packet as the rules see it, made once per hook (again only after a rewrite). No closures here:
    // tsx keeps function names, which makes every closure created on this hot path cost a defineProperty.
    let nf: NfPacket | undefined;
    let env: NfEnv | undefined;
    for (const tname of tables) {
      if (io.ipvs && IPVS_BEFORE[name] === tname) {
        const v = io.ipvs(p);
        if (v?.kind === 'mangle') {
          const after = { ...p, src: v.src, sport: v.sport };
          lines.push({ what: v.what, before: describe(p), after: describe(after) });
          p = after;
        } else if (v) {
          return this.ipvsOutcome(p, v, lines, label, tables);
        }
      }
      const table = ipt.tables.get(tname);
      const base = table?.chains.get(name);
      // An empty built-in chain that accepts decides nothing: only its policy counter moves.
      const idle = !base || (base.rules.length === 0 && base.policy === 'ACCEPT');
      if (idle && base) bump(base.counters, p.length);
      if (tname === 'nat' && manip && ct && ct.state !== 'INVALID') {
        // Only a connection's first packet sees the nat table; conntrack translates all the others.
        if (!ct.entry.natDone[manip] && ct.dir === 'original' && ct.state === 'NEW') {
          ct.entry.natDone[manip] = true;
          if (idle) continue;
          if (!nf || nf.dstText !== p.dst || nf.srcText !== p.src || nf.dport !== p.dport || nf.sport !== p.sport) nf = this.nfPacket(p, io);
          nf.mark = io.mark;
          env ??= this.env(name, ct, io);
          const r = traverse(table!, name, nf, env);
          io.mark = nf.mark;
          const pol = 'policy' in r.verdict.by ? r.verdict.by : undefined;
          this.hitLines(lines, r.hits, family, pol && r.hits.length ? pol : undefined);
          if (r.verdict.kind === 'NAT') {
            const after = this.bind(p, ct, r.verdict.target, manip, io, family);
            lines[lines.length - 1] = { ...lines[lines.length - 1], before: describe(p), after: describe(after) };
            p = after;
          }
          continue;
        }
        const after = this.translate(p, ct, manip);
        // A packet IPVS already rewrote to what the binding says (its LOCAL_OUT pass) is not changed again.
        if (describe(after) !== describe(p)) {
          const what = ct.dir === 'original' ? (manip === 'dst' ? 'DNAT' : 'SNAT') : manip === 'dst' ? 'un-SNAT' : 'un-DNAT';
          lines.push({ what: `conntrack: ${what} of a known flow${ct.dir === 'reply' ? ' (reply direction)' : ''}`, before: describe(p), after: describe(after) });
          p = after;
        }
        continue;
      }
      if (idle || tname === 'nat') continue;
      if (!nf || nf.dstText !== p.dst || nf.srcText !== p.src || nf.dport !== p.dport || nf.sport !== p.sport) nf = this.nfPacket(p, io);
      nf.mark = io.mark;
      env ??= this.env(name, ct, io);
      const r = traverse(table!, name, nf, env);
      io.mark = nf.mark;
      const v = r.verdict;
      const pol = 'policy' in v.by ? v.by : undefined;
      this.hitLines(lines, r.hits, family, pol && (r.hits.length > 0 || pol.policy === 'DROP') ? pol : undefined);
      if (v.kind === 'DROP' || v.kind === 'REJECT') {
        const by = 'policy' in v.by ? `iptables${tname === 'filter' ? '' : ` -t ${tname}`} -P ${v.by.chain} DROP` : `${tname} ${v.by.chain} rule ${v.by.num}: ${hitText(v.by, family)}`;
        if (pol && !this.hasRules(ipt, name)) lines.splice(0, lines.length, { what: `${label}: ${tables.join(', ')}: no rules, ${tname} ${name} policy DROP` });
        else lines.unshift({ what: `${label}: ${tables.join(', ')}` });
        return { verdict: v.kind === 'DROP' ? 'drop' : 'reject', packet: p, lines, by, rejectWith: v.kind === 'REJECT' ? v.with : undefined, policy: pol ? { table: tname, chain: name } : undefined };
      }
    }
    if (ct && (name === 'POSTROUTING' || name === 'INPUT')) this.conntrack.confirm(ct);
    if (!lines.length) return { verdict: 'accept', packet: p, lines: [quiet(label, name, this.hasRules(ipt, name))] };
    lines.unshift({ what: `${label}: ${tables.join(', ')}` });
    return { verdict: 'accept', packet: p, lines };
  }

  /** The hook's outcome once IPVS decided: its decision is the hook's last line; the entry is not confirmed here. */
  private ipvsOutcome<P extends L3>(p: P, v: Exclude<IpvsHookVerdict, { kind: 'mangle' }>, lines: HookLine[], label: string, tables: readonly TableName[]): HookOutcome<P> {
    lines.unshift({ what: `${label}: ${tables.join(', ')}` });
    if (v.kind !== 'stolen') {
      lines.push({ what: v.what });
      return { verdict: v.kind, packet: p, lines, by: v.by, rejectWith: v.rejectWith };
    }
    const after = { ...p, dst: v.dst, dport: v.dport };
    lines.push({ what: v.what, before: describe(p), after: describe(after) });
    return { verdict: 'accept', packet: after, lines, stolen: true };
  }

  private hasRules(ipt: Iptables, hook: HookName): boolean {
    for (const t of HOOK_TABLES[hook]) if ((ipt.tables.get(t)?.chains.get(hook)?.rules.length ?? 0) > 0) return true;
    return false;
  }

  private hitLines(lines: HookLine[], hits: Hit[], family: Family, policy?: { table: string; chain: string; policy: string }): void {
    for (const h of hits) lines.push({ what: `${h.table} ${h.chain} #${h.num}: ${hitText(h, family)}` });
    if (policy) lines.push({ what: `${policy.table} ${policy.chain}: policy ${policy.policy}` });
  }

  private nfPacket(p: L3, io: HookIO): NfPacket {
    const s = addressValue(p.src);
    const d = addressValue(p.dst);
    const icmp = p.protocol === 'icmp' && p.flags ? ICMP[p.flags] : undefined;
    return {
      family: d.family, src: s.value, dst: d.value, srcText: p.src, dstText: p.dst, proto: PROTOCOLS[p.protocol] ?? 0,
      sport: p.sport, dport: p.dport, tcpFlags: p.protocol === 'tcp' ? TCP_BITS[p.flags ?? 'ACK'] ?? 16 : undefined,
      icmpType: icmp?.[0], icmpCode: icmp?.[1], in: io.in, out: io.out, mark: io.mark, length: p.length,
    };
  }

  private env(hook: HookName, ct: CtRef | undefined, io: HookIO): NfEnv {
    return {
      hook, host: this.host, ipsets: this.iptables.ipsets, recent: this.recent, nfacct: this.nfacct, random: io.random, now: this.now(),
      ct: ct ? { state: ct.state, snat: ct.entry.snat, dnat: ct.entry.dnat } : undefined,
    };
  }

  /** A NAT target's decision for a first packet, kept in the entry's reply tuple; the packet as rewritten. */
  private bind<P extends L3>(p: P, ct: CtRef, t: Extract<Target, { kind: 'DNAT' | 'SNAT' | 'MASQUERADE' }>, manip: 'dst' | 'src', io: HookIO, family: Family): P {
    const e = ct.entry;
    if (manip === 'dst') {
      if (t.kind !== 'DNAT') return p;
      const to = pick(t.range!, p.dst, p.dport, family);
      e.reply = { ...e.reply, src: to.ip, sport: to.port };
      e.dnat = true;
      return { ...p, dst: to.ip, dport: to.port };
    }
    let ip: string | undefined;
    let ports: NatRange['ports'];
    if (t.kind === 'MASQUERADE') {
      ip = io.out ? this.host.primaryAddress(io.out, family) : undefined;
      ports = t.ports;
    } else if (t.kind === 'SNAT') {
      ip = pick(t.range!, p.src, undefined, family).ip;
      ports = t.range!.ports;
    }
    if (!ip) return p;
    let port = p.sport;
    if (port !== undefined) {
      const lo = ports?.lo ?? 1024;
      const hi = ports?.hi ?? 65535;
      const fully = t.kind !== 'DNAT' && t.randomFully;
      if (fully || (ports && (port < lo || port > hi))) port = lo + io.random.below(hi - lo + 1);
      // The reply tuple must be unique: the kernel walks on to a free port.
      const reply = (pt: number): Tuple => ({ ...e.reply, dst: ip!, dport: pt });
      for (let n = 0; n < hi - lo + 1 && this.conntrack.taken(e.proto, reply(port!)); n++) port = port! >= hi ? lo : port! + 1;
    }
    e.reply = { ...e.reply, dst: ip, dport: port };
    e.snat = true;
    return { ...p, src: ip, sport: port };
  }

  /** conntrack's translation of a later packet (or a reply) by the entry's bindings. */
  private translate<P extends L3>(p: P, ct: CtRef, manip: 'dst' | 'src'): P {
    const e = ct.entry;
    if (ct.dir === 'original') {
      if (manip === 'dst' && e.dnat) return { ...p, dst: e.reply.src, dport: e.reply.sport };
      if (manip === 'src' && e.snat) return { ...p, src: e.reply.dst, sport: e.reply.dport };
    } else {
      if (manip === 'dst' && e.snat) return { ...p, dst: e.original.src, dport: e.original.sport };
      if (manip === 'src' && e.dnat) return { ...p, src: e.original.dst, sport: e.original.dport };
    }
    return p;
  }
}

const VALUES = new Map<string, { family: Family; value: bigint }>();
/** An address's numeric value, remembered: the same few addresses cross every hook of a trace. */
function addressValue(ip: string): { family: Family; value: bigint } {
  let v = VALUES.get(ip);
  if (!v) {
    if (VALUES.size > 100000) VALUES.clear();
    VALUES.set(ip, (v = parseIP(ip)!));
  }
  return v;
}

const QUIET = new Map<string, HookLine>();
/** A hook where no rule matched: its line, made once (every packet crosses a dozen hooks). */
export function quiet(label: string, hook: HookName, rules: boolean): HookLine {
  const key = `${label}|${rules}`;
  let l = QUIET.get(key);
  if (!l) QUIET.set(key, (l = { what: `${label}: ${HOOK_TABLES[hook].join(', ')}: ${rules ? 'no rule matched' : 'no rules'}, policy ACCEPT` }));
  return l;
}

/** The address (the range's first) and port (kept when in the range, else its first) a NAT range gives. */
function pick(r: NatRange, ip: string, port: number | undefined, family: Family): { ip: string; port?: number } {
  const to = r.addr ? formatIP(family, r.addr.lo) : ip;
  if (!r.ports || port === undefined) return { ip: to, port };
  return { ip: to, port: port >= r.ports.lo && port <= r.ports.hi ? port : r.ports.lo };
}

