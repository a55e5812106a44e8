// A Trace: every hop a packet takes, in order, and how its journey ended. Text, JSON and pcap are renderings of it.
import type { Packet } from './packet.ts';

export type HopKind = 'device' | 'route' | 'neigh' | 'bridge' | 'hook' | 'vxlan' | 'underlay' | 'socket' | 'conntrack';

export interface Hop {
  /** The node whose kernel this happened in (pods' namespaces live on a node too). */
  node: string;
  /** Which namespace: the node's ("node/node1") or a pod's ("p/default/web-..."). */
  netns: string;
  kind: HopKind;
  /** What happened, in ip/iptables/bridge vocabulary. */
  what: string;
  /** The packet before and after, when this hop rewrote it. */
  before?: string;
  after?: string;
}

export type VerdictKind = 'delivered' | 'refused' | 'dropped' | 'rejected' | 'no-route' | 'unreachable' | 'ttl-exceeded' | 'mtu-exceeded';

export interface Verdict {
  kind: VerdictKind;
  /** Where it was decided: "socket 10.244.1.5:8080/tcp", "route lookup", "FORWARD policy DROP" ... */
  by: string;
  /** For delivered: the socket's owner (node or pod) and address. */
  socket?: {
    netns: string;
    address: string;
    port?: number;
    protocol: string;
    /** TCP/UDP: the source the socket sees (getpeername), after every NAT on the way. */
    peer?: { address: string; port?: number };
  };
  /** For refused: the address and port the packet reached, where nothing listens (after every NAT). */
  target?: { netns: string; address: string; port?: number };
}

/** A frame as a capture on "any" interface would see it: where, and its headers. */
export interface CapturedFrame {
  netns: string;
  dev: string;
  packet: Packet;
}

export interface TraceLeg {
  hops: Hop[];
  verdict: Verdict;
  /** Every frame the leg put on a wire, in order (VXLAN's outer packet on eth0, its inner frame on flannel.1). */
  frames: CapturedFrame[];
}

export interface Trace {
  /** The request's path, then (when it was delivered and answers) the reply's. */
  request: TraceLeg;
  reply?: TraceLeg;
}

function renderLeg(title: string, leg: TraceLeg): string[] {
  const out = [title];
  leg.hops.forEach((h, i) => {
    out.push(`${String(i + 1).padStart(3)}. [${h.netns}] ${h.kind.padEnd(9)} ${h.what}`);
    if (h.before !== undefined) out.push(`${' '.repeat(20)}${h.before}`);
    if (h.after !== undefined) out.push(`${' '.repeat(17)}-> ${h.after}`);
  });
  out.push(`  => ${leg.verdict.kind.toUpperCase()}: ${leg.verdict.by}`);
  return out;
}

export function renderTrace(t: Trace): string {
  const lines = renderLeg('request:', t.request);
  if (t.reply) lines.push('', ...renderLeg('reply:', t.reply));
  return `${lines.join('\n')}\n`;
}
