// The DNS server: real UDP and TCP sockets, and what CoreDNS's core/dnsserver and miekg/dns do around the
// plugin chain — refusing what is not a query (NOTIMP, FORMERR), EDNS0 (OPT echoed with the client's UDP
// size and DO bit, BADVERS), truncation to the client's size with TC, and an answer cache of encoded replies
// keyed by the query bytes, valid until the cluster view changes.
import dgram from 'node:dgram';
import net from 'node:net';
import { lookup as dnsLookup } from 'node:dns/promises';
import dnsPacket from 'dns-packet';
import type { Answer } from 'dns-packet';
import type { DnsChain } from './chain.ts';
import type { DnsMetrics, Recorder } from './metrics.ts';
import { RCODE, RCODE_NAMES, type DnsQuestion, type Reply } from './message.ts';
import { encodeCompressed } from './wire.ts';

const codec = dnsPacket as unknown as {
  answer: { encodingLength(a: Answer): number };
  name: { decode: ((buf: Buffer, offset: number) => string) & { bytes: number } };
};

const QR = 0x8000;
const AA = 1 << 10;
const TC = 1 << 9;
const RD = 1 << 8;
const RA = 1 << 7;
const CD = 1 << 4;
const DO = 0x8000;
/** EDNS0 options CoreDNS keeps when it echoes the client's OPT (edns.SupportedOption). */
const SUPPORTED_OPTIONS = new Set([3, 9, 10, 11, 12]);
const MAX_CACHED = 100_000;

type Proto = 'udp' | 'tcp';

interface Opt {
  udpPayloadSize: number;
  ednsVersion: number;
  flags: number;
  options: { code: number }[];
}

interface Parsed {
  id: number;
  flags: number;
  question: DnsQuestion;
  rawQuestion: Buffer;
  opt?: Opt;
}

export interface DnsServerOptions {
  chain: DnsChain;
  metrics?: DnsMetrics;
  /** The `log` plugin's sink (used while the Corefile has `log`): one line per query in CoreDNS's common log format. */
  log?: (line: string) => void;
  /** Unexpected errors (kdp bugs) while answering; the query gets SERVFAIL either way. */
  onError?: (e: unknown) => void;
}

function headerOnly(id: number, flags: number): Buffer {
  const b = Buffer.alloc(12);
  b.writeUInt16BE(id, 0);
  b.writeUInt16BE(flags, 2);
  return b;
}

export class DnsServer {
  private udp?: dgram.Socket;
  private tcp?: net.Server;
  private readonly sockets = new Set<net.Socket>();
  private readonly udpAnswers = new Map<string, { buf: Buffer; recorder?: Recorder }>();
  private readonly tcpAnswers = new Map<string, { buf: Buffer; recorder?: Recorder }>();
  private answersGeneration = -1;

  private readonly opts: DnsServerOptions;

  constructor(opts: DnsServerOptions) {
    this.opts = { ...opts };
  }

  /** Binds UDP and TCP on the same port (port 0: any free one). */
  async listen(host = '127.0.0.1', port = 0): Promise<{ host: string; port: number }> {
    // A name (`--dns-host localhost`) is resolved once here: the socket's own lookup only passes literals on.
    if (!net.isIP(host)) host = (await dnsLookup(host)).address;
    for (let attempt = 0; ; attempt++) {
      // A deep receive buffer (up to net.core.rmem_max): a garbage-collection pause must not drop queries.
      // Replies go to the sender's address, always an IP literal: an identity lookup spares dgram's
      // dns.lookup (an address regex and a nextTick) on every send.
      const type = net.isIPv6(host) ? 'udp6' : 'udp4';
      const family = type === 'udp6' ? 6 : 4;
      const udp = dgram.createSocket({
        type, recvBufferSize: 4 << 20, sendBufferSize: 4 << 20,
        lookup: (address, _opts, cb) => (cb as (e: null, a: string, f: number) => void)(null, address, family),
      });
      await new Promise<void>((resolve, reject) => {
        udp.once('error', reject);
        udp.bind(port, host, () => {
          udp.off('error', reject);
          resolve();
        });
      });
      const bound = udp.address().port;
      const tcp = net.createServer((s) => this.serveTCP(s));
      try {
        await new Promise<void>((resolve, reject) => {
          tcp.once('error', reject);
          tcp.listen(bound, host, () => {
            tcp.off('error', reject);
            resolve();
          });
        });
      } catch (e) {
        udp.close();
        // With port 0 the UDP port may be taken on TCP: pick another.
        if (port === 0 && attempt < 20) continue;
        throw e;
      }
      udp.on('message', (msg, rinfo) => this.serveUDP(msg, rinfo));
      udp.on('error', (e) => this.opts.onError?.(e));
      this.udp = udp;
      this.tcp = tcp;
      return { host, port: bound };
    }
  }

  /** A reloaded Corefile: its chain answers from the next query on, and the answer cache starts over. */
  setChain(chain: DnsChain): void {
    this.opts.chain = chain;
    this.udpAnswers.clear();
    this.tcpAnswers.clear();
    this.answersGeneration = chain.generation();
  }

  async close(): Promise<void> {
    for (const s of this.sockets) s.destroy();
    await Promise.all([
      new Promise<void>((r) => (this.udp ? this.udp.close(() => r()) : r())),
      new Promise<void>((r) => (this.tcp ? this.tcp.close(() => r()) : r())),
    ]);
  }

  private serveUDP(msg: Buffer, rinfo: dgram.RemoteInfo): void {
    const out = this.handle(msg, 'udp', rinfo);
    if (out === undefined) return;
    if (!(out instanceof Promise)) this.udp!.send(out, rinfo.port, rinfo.address);
    else out.then((b) => b && this.udp?.send(b, rinfo.port, rinfo.address), (e) => this.opts.onError?.(e));
  }

  private serveTCP(s: net.Socket): void {
    this.sockets.add(s);
    let buf = Buffer.alloc(0);
    s.setTimeout(10_000, () => s.destroy());
    s.on('close', () => this.sockets.delete(s));
    s.on('error', () => s.destroy());
    const remote = { address: s.remoteAddress ?? '', port: s.remotePort ?? 0, family: s.remoteFamily ?? 'IPv4' };
    const send = (b: Buffer | undefined) => {
      if (!b || s.destroyed) return;
      const len = Buffer.alloc(2);
      len.writeUInt16BE(b.length);
      s.write(Buffer.concat([len, b]));
    };
    s.on('data', (d) => {
      buf = buf.length ? Buffer.concat([buf, d]) : d;
      while (buf.length >= 2) {
        const n = buf.readUInt16BE(0);
        if (buf.length < 2 + n) break;
        const frame = buf.subarray(2, 2 + n);
        buf = buf.subarray(2 + n);
        const out = this.handle(frame, 'tcp', remote);
        if (!(out instanceof Promise)) send(out);
        else out.then(send, (e) => this.opts.onError?.(e));
      }
    });
  }

  /**
   * One query in, its reply out (undefined: no reply, as for responses and runts). Synchronous when the
   * answer cache has it; never throws.
   */
  handle(msg: Buffer, proto: Proto, remote: { address: string; port: number; family: string }): Buffer | undefined | Promise<Buffer | undefined> {
    if (msg.length < 12) return undefined;
    const flags = msg.readUInt16BE(2);
    if (flags & QR) return undefined;
    const started = performance.now();
    const gen = this.opts.chain.generation();
    if (gen !== this.answersGeneration) {
      this.udpAnswers.clear();
      this.tcpAnswers.clear();
      this.answersGeneration = gen;
    }
    // The key is the query after its id: flags, counts, question and OPT. Equal keys get equal replies.
    const key = msg.toString('latin1', 2);
    const cache = proto === 'udp' ? this.udpAnswers : this.tcpAnswers;
    const hit = cache.get(key);
    if (hit) {
      const out = Buffer.allocUnsafe(hit.buf.length);
      hit.buf.copy(out);
      out[0] = msg[0];
      out[1] = msg[1];
      hit.recorder?.record(msg.length, out.length, (performance.now() - started) / 1000);
      return out;
    }
    try {
      return this.answer(msg, proto, remote, key, started).catch((e) => {
        this.opts.onError?.(e);
        this.opts.metrics?.panics.inc();
        return headerOnly(msg.readUInt16BE(0), QR | (flags & RD) | RCODE.SERVFAIL);
      });
    } catch (e) {
      this.opts.onError?.(e);
      return headerOnly(msg.readUInt16BE(0), QR | RCODE.SERVFAIL);
    }
  }

  private parse(msg: Buffer): Parsed | { refused: Buffer } {
    const id = msg.readUInt16BE(0);
    const flags = msg.readUInt16BE(2);
    const opcode = (flags >> 11) & 0xf;
    // miekg's default accept function: only QUERY; one question; at most 1 answer, 1 authority, 2 additional.
    if (opcode !== 0) return { refused: headerOnly(id, QR | (opcode << 11) | RCODE.NOTIMP) };
    const [qd, an, ns, ar] = [msg.readUInt16BE(4), msg.readUInt16BE(6), msg.readUInt16BE(8), msg.readUInt16BE(10)];
    const formerr = { refused: headerOnly(id, QR | RCODE.FORMERR) };
    if (qd !== 1 || an > 1 || ns > 1 || ar > 2) return formerr;
    let decoded: dnsPacket.Packet;
    let qlen: number;
    try {
      decoded = dnsPacket.decode(msg);
      codec.name.decode(msg, 12);
      qlen = codec.name.decode.bytes + 4;
      if (12 + qlen > msg.length) return formerr;
    } catch {
      return formerr;
    }
    const q = decoded.questions?.[0];
    if (!q) return formerr;
    const optRR = decoded.additionals?.find((a) => a.type === 'OPT') as unknown as Opt | undefined;
    return {
      id, flags,
      question: { name: q.name === '.' ? '' : q.name, type: q.type, class: q.class ?? 'IN' },
      rawQuestion: msg.subarray(12, 12 + qlen),
      opt: optRR && { udpPayloadSize: optRR.udpPayloadSize, ednsVersion: optRR.ednsVersion, flags: optRR.flags, options: optRR.options ?? [] },
    };
  }

  private async answer(msg: Buffer, proto: Proto, remote: { address: string; port: number; family: string }, key: string, started: number): Promise<Buffer> {
    const p = this.parse(msg);
    if ('refused' in p) return p.refused;
    const q = p.question;
    const dnssecOK = !!p.opt && (p.opt.flags & DO) !== 0;
    let res: { reply: Reply; zone: string; stable: boolean };
    if (p.opt && p.opt.ednsVersion > 0) {
      res = { reply: { rcode: 16, aa: false, answers: [], authorities: [], additionals: [], plugin: '' }, zone: 'dropped', stable: true };
    } else if (q.class !== 'IN') {
      res = { reply: { rcode: RCODE.REFUSED, aa: false, answers: [], authorities: [], additionals: [], plugin: '' }, zone: 'dropped', stable: true };
    } else {
      res = await this.opts.chain.resolve(q, { proto, dnssecOK });
    }
    const out = this.encode(p, res.reply, proto);
    const m = this.opts.metrics;
    const rcodeName = RCODE_NAMES[res.reply.rcode] ?? String(res.reply.rcode);
    const recorder = m?.recorder({ zone: res.zone, proto, family: remote.family === 'IPv6' ? '2' : '1', type: q.type }, rcodeName, res.reply.plugin, dnssecOK);
    recorder?.record(msg.length, out.length, (performance.now() - started) / 1000);
    const log = this.opts.chain.settings.log ? this.opts.log : undefined;
    if (log) {
      const f = out.readUInt16BE(2);
      const rflags = [f & QR && 'qr', f & AA && 'aa', f & TC && 'tc', f & RD && 'rd', f & RA && 'ra'].filter(Boolean).join(',');
      log(`[INFO] ${remote.address}:${remote.port} - ${p.id} "${q.type} ${q.class} ${q.name}. ${proto} ${msg.length} ${dnssecOK} ${p.opt ? p.opt.udpPayloadSize : 512}" ` +
        `${rcodeName} ${rflags} ${out.length} ${((performance.now() - started) / 1000).toFixed(9)}s`);
    } else if (res.stable && this.opts.chain.generation() === this.answersGeneration) {
      const cache = proto === 'udp' ? this.udpAnswers : this.tcpAnswers;
      if (cache.size >= MAX_CACHED) cache.clear();
      cache.set(key, { buf: out, recorder });
    }
    return out;
  }

  private encode(p: Parsed, r: Reply, proto: Proto): Buffer {
    let flags = QR | (p.flags & RD) | (p.flags & CD) | (r.rcode & 0xf);
    if (r.aa) flags |= AA;
    if (r.ra) flags |= RA;
    if (r.tc) flags |= TC;
    const opt: Answer | undefined = p.opt && ({
      name: '.', type: 'OPT', udpPayloadSize: p.opt.udpPayloadSize, extendedRcode: r.rcode >> 4, ednsVersion: 0,
      flags: p.opt.flags & 0xff00, options: p.opt.options.filter((o) => SUPPORTED_OPTIONS.has(o.code)),
    } as unknown as Answer);
    const size = proto === 'tcp' ? 65535 : Math.max(512, p.opt ? p.opt.udpPayloadSize : 512);
    const additionals = opt ? [...r.additionals, opt] : r.additionals;
    const body = dnsPacket.encode({ type: 'response', id: p.id, flags, questions: [], answers: r.answers, authorities: r.authorities, additionals });
    // As ScrubWriter: sent uncompressed when it fits (and, over UDP/IPv4, is at most 1480 bytes); else compressed
    // and truncated to the client's size.
    if (body.length + p.rawQuestion.length > size || (proto === 'udp' && body.length + p.rawQuestion.length > 1480)) {
      const header = body.subarray(0, 12);
      header.writeUInt16BE(1, 4);
      const c = encodeCompressed(header, p.rawQuestion, [r.answers, r.authorities, r.additionals], opt, size);
      if (c.truncated) c.buf.writeUInt16BE(c.buf.readUInt16BE(2) | TC, 2);
      return c.buf;
    }
    const out = Buffer.allocUnsafe(body.length + p.rawQuestion.length);
    body.copy(out, 0, 0, 12);
    out.writeUInt16BE(1, 4);
    p.rawQuestion.copy(out, 12);
    body.copy(out, 12 + p.rawQuestion.length, 12);
    return out;
  }
}
