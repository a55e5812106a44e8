// Name compression for replies that do not fit uncompressed, as miekg/dns's Truncate does it: owner names,
// and the names in CNAME, NS, PTR, MX and SOA data, point back at earlier copies of their suffixes (SRV
// targets are written whole, as miekg writes them). dns-packet encodes every other part of each record;
// it has no compression of its own.
import dnsPacket from 'dns-packet';
import type { Answer } from 'dns-packet';

const codec = dnsPacket as unknown as {
  record(type: string): { encode: ((data: unknown, buf: Buffer, offset: number) => Buffer) & { bytes: number } };
  answer: { encode: ((a: Answer, buf: Buffer, offset: number) => Buffer) & { bytes: number }; encodingLength(a: Answer): number };
};

/** dns-packet's own type table, read through a one-question message (the root name is 1 byte at 12). */
const typeCode = (t: string): number => dnsPacket.encode({ type: 'query', id: 0, questions: [{ name: '.', type: t as never }] }).readUInt16BE(13);
const TYPE_CODES = new Map<string, number>();
const codeOf = (t: string) => {
  let c = TYPE_CODES.get(t);
  if (c === undefined) TYPE_CODES.set(t, (c = typeCode(t)));
  return c;
};

/** Writes names with pointers to earlier suffixes (case-sensitive, as they were written). */
class Writer {
  readonly buf: Buffer;
  off: number;
  private readonly seen = new Map<string, number>();

  constructor(size: number, prefix: Buffer) {
    this.buf = Buffer.alloc(size);
    prefix.copy(this.buf, 0);
    this.off = prefix.length;
  }

  /**
   * Records the suffixes of the question's name, read from its wire bytes at 12. A label that does not
   * survive text round-trip (a dot or invalid UTF-8 in it) ends the recording: no pointer may land on it.
   */
  rememberQuestion(): void {
    const labels: { text: string; at: number }[] = [];
    let o = 12;
    while (o < this.off && this.buf[o] !== 0) {
      const len = this.buf[o];
      const raw = this.buf.subarray(o + 1, o + 1 + len);
      const text = raw.toString('utf8');
      if (text.includes('.') || !Buffer.from(text, 'utf8').equals(raw)) break;
      labels.push({ text, at: o });
      o += 1 + len;
    }
    for (let i = 0; i < labels.length; i++) {
      const suffix = labels.slice(i).map((l) => l.text).join('.');
      if (!this.seen.has(suffix)) this.seen.set(suffix, labels[i].at);
    }
  }

  name(n: string, compress: boolean): void {
    const labels = n && n !== '.' ? n.replace(/\.$/, '').split('.') : [];
    for (let i = 0; i < labels.length; i++) {
      const suffix = labels.slice(i).join('.');
      const p = compress ? this.seen.get(suffix) : undefined;
      if (p !== undefined) {
        this.ensure(2);
        this.buf.writeUInt16BE(0xc000 | p, this.off);
        this.off += 2;
        return;
      }
      if (compress && this.off < 0x4000) this.seen.set(suffix, this.off);
      const len = Buffer.byteLength(labels[i]);
      this.ensure(1 + len);
      this.buf[this.off] = len;
      this.buf.write(labels[i], this.off + 1);
      this.off += 1 + len;
    }
    this.ensure(1);
    this.buf[this.off++] = 0;
  }

  u16(v: number): void {
    this.ensure(2);
    this.buf.writeUInt16BE(v, this.off);
    this.off += 2;
  }

  u32(v: number): void {
    this.ensure(4);
    this.buf.writeUInt32BE(v >>> 0, this.off);
    this.off += 4;
  }

  ensure(n: number): void {
    if (this.off + n > this.buf.length) throw new RangeError('message full');
  }

  /** One record; false (and nothing written) when it does not fit. */
  record(a: Answer): boolean {
    const start = this.off;
    const saved = new Map(this.seen);
    try {
      if (a.type === 'OPT') {
        this.ensure(codec.answer.encodingLength(a));
        codec.answer.encode(a, this.buf, this.off);
        this.off += codec.answer.encode.bytes;
        return true;
      }
      const r = a as { name: string; type: string; class?: string; ttl?: number; data: unknown };
      this.name(r.name, true);
      this.u16(codeOf(r.type));
      this.u16(1);
      this.u32(r.ttl ?? 0);
      const lenAt = this.off;
      this.u16(0);
      switch (r.type) {
        case 'CNAME': case 'NS': case 'PTR': case 'DNAME':
          this.name(String(r.data), r.type !== 'DNAME');
          break;
        case 'MX': {
          const m = r.data as { preference?: number; exchange: string };
          this.u16(m.preference ?? 0);
          this.name(m.exchange, true);
          break;
        }
        case 'SOA': {
          const s = r.data as { mname: string; rname: string; serial?: number; refresh?: number; retry?: number; expire?: number; minimum?: number };
          this.name(s.mname, true);
          this.name(s.rname, true);
          for (const v of [s.serial, s.refresh, s.retry, s.expire, s.minimum]) this.u32(v ?? 0);
          break;
        }
        case 'SRV': {
          const s = r.data as { priority?: number; weight?: number; port: number; target: string };
          this.u16(s.priority ?? 0);
          this.u16(s.weight ?? 0);
          this.u16(s.port);
          this.name(s.target, false);
          break;
        }
        default: {
          // dns-packet writes rdlength + rdata; ours is overwritten below with the same value.
          this.off = lenAt;
          const tmp = Buffer.alloc(65535);
          const enc = codec.record(r.type);
          enc.encode(r.data, tmp, 0);
          const n = enc.encode.bytes;
          this.ensure(n);
          tmp.copy(this.buf, this.off, 0, n);
          this.off += n;
          return true;
        }
      }
      this.buf.writeUInt16BE(this.off - lenAt - 2, lenAt);
      return true;
    } catch (e) {
      if (!(e instanceof RangeError)) throw e;
      this.off = start;
      this.seen.clear();
      for (const [k, v] of saved) this.seen.set(k, v);
      return false;
    }
  }
}

/**
 * A reply with compressed names, truncated to `size`: records kept in order answer, authority, additional
 * while they fit; `truncated` when any was left out. The OPT record is always kept (its room reserved).
 */
export function encodeCompressed(header: Buffer, rawQuestion: Buffer, sections: Answer[][], opt: Answer | undefined, size: number):
  { buf: Buffer; truncated: boolean } {
  const prefix = Buffer.concat([header, rawQuestion]);
  const w = new Writer(size, prefix);
  w.rememberQuestion();
  const optLen = opt ? codec.answer.encodingLength(opt) : 0;
  const limit = size - optLen;
  const counts = [0, 0, 0];
  let truncated = false;
  for (let s = 0; s < 3 && !truncated; s++) {
    for (const a of sections[s]) {
      if (w.off >= limit || !fits(w, a, limit)) {
        truncated = true;
        break;
      }
      counts[s]++;
    }
  }
  if (opt) {
    w.record(opt);
    counts[2]++;
  }
  const out = w.buf.subarray(0, w.off);
  out.writeUInt16BE(counts[0], 6);
  out.writeUInt16BE(counts[1], 8);
  out.writeUInt16BE(counts[2], 10);
  return { buf: Buffer.from(out), truncated };
}

/** Writes the record if it ends within `limit`; leaves the writer as it was otherwise. */
function fits(w: Writer, a: Answer, limit: number): boolean {
  const start = w.off;
  if (!w.record(a)) return false;
  if (w.off <= limit) return true;
  w.off = start;
  return false;
}
