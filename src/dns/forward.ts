// The forward plugin's exchange with an upstream resolver over real sockets: one UDP query (TCP when asked, or
// when a UDP answer comes back truncated to a TCP client), with a timeout. The only I/O of the plugin chain.
import dgram from 'node:dgram';
import net from 'node:net';
import dnsPacket from 'dns-packet';

export interface Upstream {
  host: string;
  port: number;
}

export type Exchange = (to: Upstream, query: Buffer, proto: 'udp' | 'tcp', timeoutMs: number) => Promise<Buffer>;

export function parseUpstream(text: string): Upstream | undefined {
  let t = text.replace(/^dns:\/\//, '');
  let port = 53;
  const v6 = /^\[(.+)\](?::(\d+))?$/.exec(t);
  if (v6) {
    if (!net.isIP(v6[1])) return undefined;
    return { host: v6[1], port: v6[2] ? Number(v6[2]) : 53 };
  }
  const m = /^([^:]+):(\d+)$/.exec(t);
  if (m) {
    t = m[1];
    port = Number(m[2]);
  }
  if (!net.isIP(t) || port < 1 || port > 65535) return undefined;
  return { host: t, port };
}

/**
 * One exchange on a socket of its own: settled once — by the answer, an error or the timeout — and the socket
 * closed whichever comes first.
 */
function exchange<S>(to: Upstream, timeoutMs: number, open: () => S, close: (s: S) => void, run: (s: S, done: (err: Error | undefined, msg?: Buffer) => void) => void): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    const sock = open();
    const timer = setTimeout(() => done(new Error(`${to.host}:${to.port}: i/o timeout`)), timeoutMs);
    let settled = false;
    const done = (err: Error | undefined, msg?: Buffer) => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      close(sock);
      if (err) reject(err);
      else resolve(msg!);
    };
    run(sock, done);
  });
}

function udpExchange(to: Upstream, query: Buffer, timeoutMs: number): Promise<Buffer> {
  const id = query.readUInt16BE(0);
  return exchange(to, timeoutMs, () => dgram.createSocket(net.isIPv6(to.host) ? 'udp6' : 'udp4'), (s) => s.close(), (sock, done) => {
    sock.on('error', (e) => done(e));
    sock.on('message', (msg) => {
      // Only the answer to this query; anything else on the socket is ignored.
      if (msg.length >= 12 && msg.readUInt16BE(0) === id) done(undefined, msg);
    });
    sock.send(query, to.port, to.host, (e) => e && done(e));
  });
}

function tcpExchange(to: Upstream, query: Buffer, timeoutMs: number): Promise<Buffer> {
  let buf = Buffer.alloc(0);
  return exchange(to, timeoutMs, () => net.connect(to.port, to.host), (s) => s.destroy(), (sock, done) => {
    sock.on('error', (e) => done(e));
    sock.on('connect', () => sock.write(dnsPacket.streamEncode(dnsPacket.decode(query))));
    sock.on('data', (d) => {
      buf = Buffer.concat([buf, d]);
      if (buf.length >= 2 && buf.length >= 2 + buf.readUInt16BE(0)) done(undefined, buf.subarray(2, 2 + buf.readUInt16BE(0)));
    });
  });
}

export const socketExchange: Exchange = (to, query, proto, timeoutMs) =>
  proto === 'tcp' ? tcpExchange(to, query, timeoutMs) : udpExchange(to, query, timeoutMs);

/** The nameservers of a resolv.conf text (what `forward . /etc/resolv.conf` forwards to). */
export function resolvConfNameservers(text: string): Upstream[] {
  const out: Upstream[] = [];
  for (const line of text.split('\n')) {
    const m = /^\s*nameserver\s+(\S+)/.exec(line);
    const u = m && parseUpstream(m[1].includes(':') && !m[1].startsWith('[') ? `[${m[1]}]` : m[1]);
    if (u) out.push(u);
  }
  return out;
}
