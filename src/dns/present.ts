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

/** Columns dig prints at: TTL 24, class 32, type 40, rdata 48 (tab stops every 8). */
function columns(fields: [string, number][]): string {
  let out = '';
  let col = 0;
  for (const [text, at] of fields) {
    if (out !== '' || at > 0) {
      if (col >= at) {
        out += ' ';
        col += 1;
      } else {
        while (col < at) {
          out += '\t';
          col = (Math.floor(col / 8) + 1) * 8;
        }
      }
    }
    out += text;
    col += text.length;
  }
  return out;
}

/** A record as dig prints it in a section. */
export function digRecord(a: Answer): string {
  const r = a as { name: string; ttl?: number; class?: string; type: string };
  return columns([[fq(r.name), 0], [String(r.ttl ?? 0), 24], [r.class ?? 'IN', 32], [r.type, 40], [rdataText(a), 48]]);
}

export function digQuestion(q: { name: string; type: string; class?: string }): string {
  return columns([[`;${fq(q.name)}`, 0], [q.class ?? 'IN', 32], [q.type, 40]]);
}

export interface DigView {
  id: number;
  question: { name: string; type: string; class?: string };
  rcode: string;
  flags: string[];
  answers: Answer[];
  authorities: Answer[];
  additionals: Answer[];
  server: string;
  proto: 'UDP' | 'TCP';
}

/** A reply in dig's layout, from the header to the SERVER line. */
export function formatDig(v: DigView): string {
  const lines = [
    ';; Got answer:',
    `;; ->>HEADER<<- opcode: QUERY, status: ${v.rcode}, id: ${v.id}`,
    `;; flags: ${v.flags.join(' ')}; QUERY: 1, ANSWER: ${v.answers.length}, AUTHORITY: ${v.authorities.length}, ADDITIONAL: ${v.additionals.length}`,
  ];
  if (v.flags.includes('rd') && !v.flags.includes('ra')) lines.push(';; WARNING: recursion requested but not available');
  lines.push('', ';; QUESTION SECTION:', digQuestion(v.question), '');
  for (const [title, list] of [['ANSWER', v.answers], ['AUTHORITY', v.authorities], ['ADDITIONAL', v.additionals]] as const) {
    if (!list.length) continue;
    lines.push(`;; ${title} SECTION:`, ...list.map(digRecord), '');
  }
  lines.push(`;; SERVER: ${v.server}#53(${v.server}) (${v.proto})`, '');
  return lines.join('\n');
}
