// A trace's frames as a classic pcap file (what tcpdump -w writes): Ethernet, IPv4 with its checksum, TCP, UDP
// or ICMP with theirs, and VXLAN's outer UDP around the inner Ethernet frame — bytes tshark decodes.
import { fnv32a } from '../cluster/names.ts';
import { macFor } from './mac.ts';
import type { IPv4Packet, Packet } from './packet.ts';
import type { CapturedFrame } from './trace.ts';

const PROTO = { icmp: 1, tcp: 6, udp: 17 } as const;
const TCP_FLAGS: Record<string, number> = { SYN: 0x02, 'SYN-ACK': 0x12, ACK: 0x10, RST: 0x14 };
const ICMP_TYPE: Record<string, number> = { 'echo-request': 8, 'echo-reply': 0 };

function macBytes(mac: string): Buffer {
  // The underlay's router has no device of ours; it gets a stable MAC of its own.
  const m = /^[0-9a-f]{2}(:[0-9a-f]{2}){5}$/.test(mac) ? mac : macFor(`router/${mac}`);
  return Buffer.from(m.split(':').map((x) => parseInt(x, 16)));
}

function ipBytes(ip: string): Buffer {
  return Buffer.from(ip.split('.').map(Number));
}

/** The Internet checksum: one's complement of the one's-complement sum of 16-bit words. */
export function checksum(...parts: Buffer[]): number {
  let sum = 0;
  for (const b of parts) {
    for (let i = 0; i < b.length; i += 2) sum += (b[i] << 8) | (i + 1 < b.length ? b[i + 1] : 0);
  }
  while (sum > 0xffff) sum = (sum & 0xffff) + (sum >>> 16);
  return ~sum & 0xffff;
}

function l4(p: IPv4Packet, payload: Buffer): Buffer {
  const pseudo = (len: number) => Buffer.concat([ipBytes(p.src), ipBytes(p.dst), Buffer.from([0, PROTO[p.protocol], len >> 8, len & 255])]);
  if (p.protocol === 'tcp') {
    // A SYN and its SYN-ACK carry Linux's usual options: MSS 1460, SACK permitted, timestamps, window scale 7.
    const syn = p.flags === 'SYN' || p.flags === 'SYN-ACK';
    const options = syn ? Buffer.from([2, 4, 0x05, 0xb4, 4, 2, 8, 10, 0, 0, 0, 1, 0, 0, 0, 0, 1, 3, 3, 7]) : Buffer.alloc(0);
    const h = Buffer.concat([Buffer.alloc(20), options]);
    h.writeUInt16BE(p.sport!, 0);
    h.writeUInt16BE(p.dport!, 2);
    const seq = fnv32a(`${p.src}:${p.sport}>${p.dst}:${p.dport}`);
    h.writeUInt32BE(seq, 4);
    h.writeUInt32BE(p.flags === 'SYN-ACK' ? (fnv32a(`${p.dst}:${p.dport}>${p.src}:${p.sport}`) + 1) >>> 0 : 0, 8);
    h[12] = (h.length / 4) << 4;
    h[13] = TCP_FLAGS[p.flags ?? 'ACK'] ?? 0x10;
    h.writeUInt16BE(64240, 14);
    h.writeUInt16BE(checksum(pseudo(h.length + payload.length), h, payload), 16);
    return Buffer.concat([h, payload]);
  }
  if (p.protocol === 'udp') {
    const h = Buffer.alloc(8);
    h.writeUInt16BE(p.sport!, 0);
    h.writeUInt16BE(p.dport!, 2);
    h.writeUInt16BE(8 + payload.length, 4);
    h.writeUInt16BE(checksum(pseudo(8 + payload.length), h, payload) || 0xffff, 6);
    return Buffer.concat([h, payload]);
  }
  const h = Buffer.alloc(8);
  h[0] = ICMP_TYPE[p.flags ?? 'echo-request'] ?? 8;
  h.writeUInt16BE(fnv32a(`${p.src}<>${p.dst}`) & 0xffff ^ (fnv32a(`${p.dst}<>${p.src}`) & 0xffff), 4);
  h.writeUInt16BE(1, 6);
  h.writeUInt16BE(checksum(h, payload), 2);
  return Buffer.concat([h, payload]);
}

function ipv4(p: IPv4Packet, l4bytes: Buffer): Buffer {
  const h = Buffer.alloc(20);
  h[0] = 0x45;
  h.writeUInt16BE(20 + l4bytes.length, 2);
  h.writeUInt16BE(fnv32a(`${p.src}>${p.dst}:${p.sport}:${p.flags}`) & 0xffff, 4);
  h.writeUInt16BE(p.dontFragment ? 0x4000 : 0, 6);
  h[8] = p.ttl;
  h[9] = PROTO[p.protocol];
  ipBytes(p.src).copy(h, 12);
  ipBytes(p.dst).copy(h, 16);
  h.writeUInt16BE(checksum(h), 10);
  return Buffer.concat([h, l4bytes]);
}

/** One Ethernet frame's bytes; a VXLAN packet carries its inner frame after the VXLAN header. */
export function frameBytes(pkt: Packet): Buffer {
  const p = pkt.l3;
  const headers = 20 + (p.protocol === 'tcp' ? (p.flags === 'SYN' || p.flags === 'SYN-ACK' ? 40 : 20) : 8);
  let payload: Buffer;
  if (pkt.inner) {
    const vx = Buffer.alloc(8);
    vx[0] = 0x08; // I flag: the VNI is valid
    vx.writeUIntBE(pkt.inner.vni, 4, 3);
    payload = Buffer.concat([vx, frameBytes(pkt.inner.packet)]);
  } else {
    payload = Buffer.alloc(Math.max(0, p.length - headers));
  }
  const eth = Buffer.concat([macBytes(pkt.l2?.dst ?? 'ff:ff:ff:ff:ff:ff'), macBytes(pkt.l2?.src ?? '00:00:00:00:00:00'), Buffer.from([0x08, 0x00])]);
  return Buffer.concat([eth, ipv4(p, l4(p, payload))]);
}

/** A classic pcap file (microsecond timestamps, Ethernet link type) of the frames, 10 µs apart. */
export function pcapFile(frames: CapturedFrame[], start = new Date(0)): Buffer {
  const header = Buffer.alloc(24);
  header.writeUInt32LE(0xa1b2c3d4, 0);
  header.writeUInt16LE(2, 4);
  header.writeUInt16LE(4, 6);
  header.writeUInt32LE(65535, 16);
  header.writeUInt32LE(1, 20); // LINKTYPE_ETHERNET
  const records = frames.map((f, i) => {
    const bytes = frameBytes(f.packet);
    const t = start.getTime() * 1000 + i * 10;
    const rec = Buffer.alloc(16);
    rec.writeUInt32LE(Math.floor(t / 1e6), 0);
    rec.writeUInt32LE(t % 1e6, 4);
    rec.writeUInt32LE(bytes.length, 8);
    rec.writeUInt32LE(bytes.length, 12);
    return Buffer.concat([rec, bytes]);
  });
  return Buffer.concat([header, ...records]);
}
