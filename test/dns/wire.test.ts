// Name compression: a compressed reply decodes to the same records as the uncompressed one, is smaller, and
// truncation keeps records in order and says so.
import { describe, expect, it } from 'vitest';
import dnsPacket from 'dns-packet';
import type { Answer } from 'dns-packet';
import { encodeCompressed } from '../../src/dns/wire.ts';

const Q = 'HdLs.default.svc.cluster.local';
const records: Answer[] = [
  ...Array.from({ length: 6 }, (_, i) => ({ name: Q, type: 'A', class: 'IN', ttl: 30, data: `10.1.0.${i + 1}` }) as Answer),
  { name: Q, type: 'AAAA', class: 'IN', ttl: 30, data: 'fd00::1' },
  { name: 'x.default.svc.cluster.local', type: 'CNAME', class: 'IN', ttl: 30, data: 'hdls.default.svc.cluster.local' },
  { name: '_http._tcp.hdls.default.svc.cluster.local', type: 'SRV', class: 'IN', ttl: 30, data: { priority: 0, weight: 50, port: 80, target: 'web-0.hdls.default.svc.cluster.local' } },
  { name: 'cluster.local', type: 'SOA', class: 'IN', ttl: 30, data: { mname: 'ns.dns.cluster.local', rname: 'hostmaster.cluster.local', serial: 7, refresh: 7200, retry: 1800, expire: 86400, minimum: 30 } },
  { name: 'dns-version.cluster.local', type: 'TXT', class: 'IN', ttl: 30, data: '1.1.0' },
  { name: 'cluster.local', type: 'NS', class: 'IN', ttl: 30, data: 'kube-dns.kube-system.svc.cluster.local' },
  { name: '1.0.1.10.in-addr.arpa', type: 'PTR', class: 'IN', ttl: 30, data: 'web-0.hdls.default.svc.cluster.local' },
  { name: 'mail.example', type: 'MX', class: 'IN', ttl: 30, data: { preference: 10, exchange: 'mx.example' } },
];

function parts() {
  const full = dnsPacket.encode({ type: 'response', id: 9, flags: 0x8400, questions: [{ name: Q, type: 'A', class: 'IN' }], answers: records.slice(0, 8), authorities: records.slice(9, 10), additionals: [...records.slice(8, 9), ...records.slice(10)] });
  const qlen = Buffer.byteLength(Q) + 2 + 4;
  return { full, header: Buffer.from(full.subarray(0, 12)), question: full.subarray(12, 12 + qlen) };
}

describe('encodeCompressed', () => {
  it('decodes to the same records, in fewer bytes', () => {
    const { full, header, question } = parts();
    const opt = { name: '.', type: 'OPT', udpPayloadSize: 1232, flags: 0 } as unknown as Answer;
    const c = encodeCompressed(header, question, [records.slice(0, 8), records.slice(9, 10), [...records.slice(8, 9), ...records.slice(10)]], opt, 4096);
    expect(c.truncated).toBe(false);
    expect(c.buf.length).toBeLessThan(full.length);
    const a = dnsPacket.decode(full);
    const b = dnsPacket.decode(c.buf);
    expect(b.questions).toEqual(a.questions);
    expect(b.answers).toEqual(a.answers);
    expect(b.authorities).toEqual(a.authorities);
    expect(b.additionals?.filter((x) => x.type !== 'OPT')).toEqual(a.additionals);
    expect(b.additionals?.at(-1)).toMatchObject({ type: 'OPT', udpPayloadSize: 1232 });
  });
  it('keeps records in order while they fit, then stops (TC), OPT kept', () => {
    const { header, question } = parts();
    const many = Array.from({ length: 60 }, (_, i) => ({ name: Q, type: 'A', class: 'IN', ttl: 30, data: `10.1.${i >> 8}.${i & 255}` }) as Answer);
    const opt = { name: '.', type: 'OPT', udpPayloadSize: 512, flags: 0 } as unknown as Answer;
    const c = encodeCompressed(header, question, [many, [], []], opt, 512);
    expect(c.truncated).toBe(true);
    expect(c.buf.length).toBeLessThanOrEqual(512);
    const m = dnsPacket.decode(c.buf);
    expect(m.answers!.length).toBeGreaterThan(20);
    expect(m.answers!.map((x) => (x as { data: string }).data)).toEqual(many.slice(0, m.answers!.length).map((x) => (x as { data: string }).data));
    expect(m.additionals).toHaveLength(1);
  });
});
