// A bare DNS client for tests: raw bytes over UDP or TCP, with a timeout.
import dgram from 'node:dgram';
import net from 'node:net';
import dnsPacket from 'dns-packet';

export function udpQuery(port: number, msg: Buffer, timeoutMs = 2000): Promise<Buffer | undefined> {
  return new Promise((resolve) => {
    const s = dgram.createSocket('udp4');
    const t = setTimeout(() => { s.close(); resolve(undefined); }, timeoutMs);
    s.on('message', (m) => { clearTimeout(t); s.close(); resolve(m); });
    s.send(msg, port, '127.0.0.1');
  });
}

export function tcpQuery(port: number, msg: Buffer, timeoutMs = 2000): Promise<Buffer | undefined> {
  return new Promise((resolve) => {
    const s = net.connect(port, '127.0.0.1');
    let buf = Buffer.alloc(0);
    const done = (b: Buffer | undefined) => { clearTimeout(t); s.destroy(); resolve(b); };
    const t = setTimeout(() => done(undefined), timeoutMs);
    s.on('connect', () => { const l = Buffer.alloc(2); l.writeUInt16BE(msg.length); s.write(Buffer.concat([l, msg])); });
    s.on('data', (d) => {
      buf = Buffer.concat([buf, d]);
      if (buf.length >= 2 && buf.length >= 2 + buf.readUInt16BE(0)) done(buf.subarray(2, 2 + buf.readUInt16BE(0)));
    });
    s.on('error', () => done(undefined));
  });
}

export function query(name: string, type: string, opts: { id?: number; edns?: { size: number; version?: number; do?: boolean }; flags?: number; cls?: string } = {}): Buffer {
  return dnsPacket.encode({
    type: 'query', id: opts.id ?? 4242, flags: opts.flags ?? dnsPacket.RECURSION_DESIRED,
    questions: [{ name, type: type as never, class: (opts.cls ?? 'IN') as never }],
    additionals: opts.edns ? [{ name: '.', type: 'OPT', udpPayloadSize: opts.edns.size, ednsVersion: opts.edns.version ?? 0, flags: opts.edns.do ? dnsPacket.DNSSEC_OK : 0 } as never] : [],
  });
}

/** A decoded message with the fields tests read (dns-packet's own types leave rcode and record data out). */
export interface Decoded {
  id: number;
  rcode: string;
  flag_aa: boolean;
  flag_tc: boolean;
  flag_rd: boolean;
  flag_ra: boolean;
  questions?: { name: string; type: string; class: string }[];
  answers?: { name: string; type: string; class: string; ttl: number; flush?: boolean; data: any }[];
  authorities?: { name: string; type: string; ttl: number; data: unknown }[];
  additionals?: { name: string; type: string; ttl?: number; data?: unknown }[];
}

export const decode = (b: Buffer) => dnsPacket.decode(b) as unknown as Decoded;
