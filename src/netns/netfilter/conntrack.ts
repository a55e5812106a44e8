// Connection tracking as nf_conntrack keeps it: an entry per flow with its original and reply tuples (the
// reply tuple is where NAT bindings live), found from either direction; NEW until a reply is seen, then
// ESTABLISHED; `conntrack -L` prints the table as conntrack-tools 1.4 does.
import { journaling, recordUndo } from './journal.ts';

export type CtProto = 'tcp' | 'udp' | 'icmp' | 'sctp' | 'icmpv6';
const PROTONUM: Record<CtProto, number> = { tcp: 6, udp: 17, icmp: 1, sctp: 132, icmpv6: 58 };

export interface Tuple {
  src: string;
  dst: string;
  sport?: number;
  dport?: number;
}

export interface CtEntry {
  proto: CtProto;
  original: Tuple;
  reply: Tuple;
  /** The flow's destination / source was rewritten (IPS_DST_NAT / IPS_SRC_NAT). */
  dnat: boolean;
  snat: boolean;
  seenReply: boolean;
  assured: boolean;
  tcpState?: 'SYN_SENT' | 'SYN_RECV' | 'ESTABLISHED';
  mark: number;
  /** Milliseconds. */
  lastSeen: number;
  /** Seconds of idleness before the entry expires. */
  timeout: number;
  confirmed: boolean;
  /** The NAT decisions made for the first packet: the destination one (PREROUTING/OUTPUT), the source one (POSTROUTING/INPUT). */
  natDone: { dst: boolean; src: boolean };
}

export type CtDir = 'original' | 'reply';

/** A packet's conntrack: its entry and direction, and the state `-m conntrack --ctstate` sees. */
export interface CtRef {
  entry: CtEntry;
  dir: CtDir;
  state: 'NEW' | 'ESTABLISHED' | 'RELATED' | 'INVALID';
}

/**
 * Timeouts of a Kubernetes node: kube-proxy sets nf_conntrack_tcp_timeout_established to 86400 (its
 * conntrack.tcpEstablishedTimeout, 24h); the rest are the kernel's defaults.
 */
export const TIMEOUTS = { tcpSynSent: 120, tcpSynRecv: 60, tcpEstablished: 86400, udp: 30, udpStream: 120, icmp: 30 };

export const tupleKey = (proto: CtProto, t: Tuple) => `${proto} ${t.src} ${t.sport ?? ''} ${t.dst} ${t.dport ?? ''}`;
const invert = (t: Tuple): Tuple => ({ src: t.dst, dst: t.src, sport: t.dport, dport: t.sport });

export interface CtPacket extends Tuple {
  proto: CtProto;
  /** "SYN", "SYN-ACK", "echo-request", ... */
  flags?: string;
  /** For an ICMP error: the header of the packet it is about (which makes it RELATED to that flow). */
  related?: Tuple & { proto: CtProto };
}

export class ConntrackTable {
  /** Both directions' tuples of every confirmed entry. */
  private readonly byTuple = new Map<string, CtEntry>();

  constructor(public now: () => number = Date.now) {}

  get entries(): CtEntry[] {
    return [...new Set(this.byTuple.values())];
  }

  find(proto: CtProto, t: Tuple): { entry: CtEntry; dir: CtDir } | undefined {
    const e = this.byTuple.get(tupleKey(proto, t));
    if (!e) return undefined;
    return { entry: e, dir: tupleKey(proto, t) === tupleKey(e.proto, e.original) ? 'original' : 'reply' };
  }

  /** Whether a tuple is taken by another flow (NAT must pick a unique reply tuple). */
  taken(proto: CtProto, t: Tuple): boolean {
    return this.byTuple.has(tupleKey(proto, t));
  }

  /** nf_conntrack_in: the packet's entry (a new unconfirmed one for a flow's first packet) and state. */
  track(p: CtPacket): CtRef {
    if (p.related) {
      const hit = this.find(p.related.proto, invert(p.related));
      if (hit) return { ...hit, state: 'RELATED' };
    }
    const hit = this.find(p.proto, p);
    const now = this.now();
    if (hit) {
      const e = hit.entry;
      const before = { lastSeen: e.lastSeen, seenReply: e.seenReply, assured: e.assured, tcpState: e.tcpState, timeout: e.timeout };
      if (journaling()) recordUndo(() => Object.assign(e, before));
      e.lastSeen = now;
      if (hit.dir === 'reply' && !e.seenReply) {
        e.seenReply = true;
        // The SYN-ACK is answered by the client's ACK: the connection is made (kdp carries its bytes on real
        // sockets), so the entry is what `conntrack -L` shows for an open connection.
        if (e.proto === 'tcp') Object.assign(e, { tcpState: 'ESTABLISHED', assured: true, timeout: TIMEOUTS.tcpEstablished });
        else if (e.proto === 'udp') e.timeout = TIMEOUTS.udp;
      }
      return { ...hit, state: e.seenReply ? 'ESTABLISHED' : 'NEW' };
    }
    const entry: CtEntry = {
      proto: p.proto,
      original: { src: p.src, dst: p.dst, sport: p.sport, dport: p.dport },
      reply: invert(p),
      dnat: false, snat: false, seenReply: false, assured: false,
      tcpState: p.proto === 'tcp' ? 'SYN_SENT' : undefined,
      mark: 0, lastSeen: now,
      timeout: p.proto === 'tcp' ? TIMEOUTS.tcpSynSent : p.proto === 'udp' ? TIMEOUTS.udp : TIMEOUTS.icmp,
      confirmed: false,
      natDone: { dst: false, src: false },
    };
    // A TCP flow starts with a SYN; anything else without an entry is INVALID (not tracked).
    const invalid = p.proto === 'tcp' && p.flags !== undefined && p.flags !== 'SYN';
    return { entry, dir: 'original', state: invalid ? 'INVALID' : 'NEW' };
  }

  /** __nf_conntrack_confirm: the first packet left the hooks, so the entry joins the table under both tuples. */
  confirm(ref: CtRef): void {
    const e = ref.entry;
    if (e.confirmed || ref.state === 'INVALID') return;
    e.confirmed = true;
    const keys = [tupleKey(e.proto, e.original), tupleKey(e.proto, e.reply)];
    for (const k of keys) this.byTuple.set(k, e);
    if (journaling()) recordUndo(() => {
      e.confirmed = false;
      for (const k of keys) if (this.byTuple.get(k) === e) this.byTuple.delete(k);
    });
  }

  /** conntrack -D: forget entries (kube-proxy clears stale UDP flows this way). */
  delete(match: (e: CtEntry) => boolean): number {
    let n = 0;
    for (const e of this.entries) {
      if (!match(e)) continue;
      this.byTuple.delete(tupleKey(e.proto, e.original));
      this.byTuple.delete(tupleKey(e.proto, e.reply));
      n++;
    }
    return n;
  }

  /** `conntrack -L`: one line per entry, newest last, as conntrack-tools 1.4 prints them. */
  list(): string[] {
    const now = this.now();
    return this.entries.map((e) => {
      const remaining = Math.max(0, Math.ceil((e.lastSeen + e.timeout * 1000 - now) / 1000) - 1);
      const tuple = (t: Tuple) => `src=${t.src} dst=${t.dst}${e.proto === 'icmp' || e.proto === 'icmpv6' ? '' : ` sport=${t.sport} dport=${t.dport}`}`;
      let s = `${e.proto.padEnd(8)} ${PROTONUM[e.proto]} ${remaining} `;
      if (e.tcpState) s += `${e.tcpState} `;
      s += tuple(e.original);
      if (!e.seenReply) s += ' [UNREPLIED]';
      s += ` ${tuple(e.reply)}`;
      if (e.assured) s += ' [ASSURED]';
      return `${s} mark=${e.mark} use=1`;
    });
  }
}
