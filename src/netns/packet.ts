// Packets as the emulated kernel sees them: L2 and L3/L4 headers (no payload bytes), with encapsulation as a
// stack — a VXLAN packet is an outer Ethernet/IP/UDP header around the inner frame, not a special case.
import type { MAC } from './mac.ts';

export type Protocol = 'tcp' | 'udp' | 'icmp';

export interface Frame {
  src: MAC;
  dst: MAC;
}

export interface IPv4Packet {
  src: string;
  dst: string;
  ttl: number;
  protocol: Protocol;
  /** Total length in bytes: what MTU checks compare. */
  length: number;
  /** TCP/UDP ports. */
  sport?: number;
  dport?: number;
  /** TCP: the flags of this segment. ICMP: "echo-request", "echo-reply", "port-unreachable", ... */
  flags?: string;
  dontFragment: boolean;
}

export interface Packet {
  l2?: Frame;
  l3: IPv4Packet;
  /** VXLAN: the frame this packet carries (l3 is then the outer UDP/IP header). */
  inner?: { vni: number; packet: Packet };
}

/** The headers' sizes, for lengths: Ethernet is not counted against the MTU, IP and L4 are. */
export const IP_HEADER = 20;
export const L4_HEADER: Record<Protocol, number> = { tcp: 20, udp: 8, icmp: 8 };
export const ETHERNET = 14;
/** VXLAN's additions around an inner Ethernet frame: outer IP (20) + UDP (8) + VXLAN (8). */
export const VXLAN_HEADERS = 36;

export function describePacket(p: IPv4Packet): string {
  const ports = p.protocol === 'icmp' ? '' : `:${p.sport}`;
  const dports = p.protocol === 'icmp' ? '' : `:${p.dport}`;
  return `${p.protocol.toUpperCase()} ${p.src}${ports} > ${p.dst}${dports}${p.flags ? ` ${p.flags}` : ''} ttl ${p.ttl} len ${p.length}`;
}
