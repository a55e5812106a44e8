// Records as text, in the presentation format dig prints (RFC 1035 zone-file style, fully qualified names).
import type { Answer } from 'dns-packet';

const fq = (n: string) => (n === '' || n === '.' ? '.' : `${n}.`);

export function rdataText(a: Answer): string {
  const d = (a as { data?: unknown }).data;
  switch (a.type) {
    case 'A':
    case 'AAAA':
      return String(d);
    case 'CNAME':
    case 'NS':
    case 'PTR':
    case 'DNAME':
      return fq(String(d));
    case 'SRV': {
      const s = d as { priority?: number; weight?: number; port: number; target: string };
      return `${s.priority ?? 0} ${s.weight ?? 0} ${s.port} ${fq(s.target)}`;
    }
    case 'SOA': {
      const s = d as { mname: string; rname: string; serial?: number; refresh?: number; retry?: number; expire?: number; minimum?: number };
      return `${fq(s.mname)} ${fq(s.rname)} ${s.serial ?? 0} ${s.refresh ?? 0} ${s.retry ?? 0} ${s.expire ?? 0} ${s.minimum ?? 0}`;
    }
    case 'TXT': {
      const parts = Array.isArray(d) ? d : [d];
      return parts.map((p) => `"${Buffer.isBuffer(p) ? p.toString() : String(p)}"`).join(' ');
    }
    case 'MX': {
      const m = d as { preference?: number; exchange: string };
      return `${m.preference ?? 0} ${fq(m.exchange)}`;
    }
    default:
      return Buffer.isBuffer(d) ? `\\# ${d.length} ${d.toString('hex')}` : JSON.stringify(d);
  }
}

/** One record as dig prints it: owner, TTL, class, type, data, tab-separated. */
export function recordText(a: Answer): string {
  const r = a as { name: string; ttl?: number; class?: string; type: string };
  return `${fq(r.name)}\t${r.ttl ?? 0}\t${r.class ?? 'IN'}\t${r.type}\t${rdataText(a)}`;
}
