// A pod's stub resolver, as glibc's res_search and getaddrinfo walk the resolv.conf: the candidates in
// search-list order by ndots, A and AAAA per candidate for an address lookup, stopping at the first
// candidate with an answer or at an error that is not "no such name", "no data" or SERVFAIL.
// The nameserver is reached through a Transport, so the same walk runs in-process or through the data plane.
import dnsPacket from 'dns-packet';
import type { Cluster } from '../cluster/cluster.ts';
import type { Pod } from '../cluster/objects.ts';
import type { DnsQuestion, Reply } from './message.ts';
import { RCODE } from './message.ts';
import { podResolvConf, type ResolvConf } from './resolvconf.ts';
import { socketExchange, type Upstream } from './forward.ts';

/** Sends one question to one nameserver (port 53) and returns its reply. */
export type Transport = (nameserver: string, q: DnsQuestion) => Promise<Reply>;

export interface SentQuery {
  nameserver: string;
  question: DnsQuestion;
  reply: Reply;
}

export interface ResolverResult {
  queries: SentQuery[];
  /** The reply the lookup ends with (the first with an answer, else the last). */
  final: SentQuery;
}

export function ndotsOf(c: ResolvConf): number {
  let n = 1;
  for (const o of c.options) {
    const m = /^ndots:(\d+)$/.exec(o);
    if (m) n = Math.min(15, Number(m[1]));
  }
  return n;
}

/** The names res_search tries, in order (resolv/res_query.c __res_context_search). */
export function searchCandidates(name: string, c: ResolvConf): string[] {
  const trailing = name.endsWith('.');
  const bare = trailing ? name.slice(0, -1) : name;
  if (trailing) return [bare];
  const dots = bare.split('.').length - 1;
  const out: string[] = [];
  let triedAsIs = false;
  if (dots >= ndotsOf(c)) {
    out.push(bare);
    triedAsIs = true;
  }
  let rootOnList = false;
  for (const d of c.searches) {
    if (d === '.' || d === '') {
      rootOnList = true;
      continue;
    }
    out.push(`${bare}.${d.replace(/\.$/, '')}`);
  }
  if (!triedAsIs && !rootOnList) out.push(bare);
  return out;
}

const hasAnswer = (r: Reply, type: string) => r.rcode === RCODE.NOERROR && r.answers.some((a) => a.type === type);
/** What makes glibc keep walking the list: NXDOMAIN, NODATA, SERVFAIL. */
const keepGoing = (r: Reply) => r.rcode === RCODE.NXDOMAIN || r.rcode === RCODE.NOERROR || r.rcode === RCODE.SERVFAIL;

/**
 * Looks `name` up as a pod would: with no type, as getaddrinfo(AF_UNSPEC) does (A and AAAA per candidate);
 * with a type, as res_search does for that type. Only the first nameserver is asked (no failover modelled).
 */
export async function resolveFromPod(c: ResolvConf, name: string, type: string | undefined, transport: Transport): Promise<ResolverResult> {
  const nameserver = c.nameservers[0];
  if (!nameserver) throw new Error('the resolv.conf has no nameserver');
  const types = type ? [type] : ['A', 'AAAA'];
  const queries: SentQuery[] = [];
  for (const candidate of searchCandidates(name, c)) {
    const round: SentQuery[] = [];
    for (const t of types) {
      const question: DnsQuestion = { name: candidate, type: t, class: 'IN' };
      const reply = await transport(nameserver, question);
      round.push({ nameserver, question, reply });
    }
    queries.push(...round);
    const answered = round.find((s) => hasAnswer(s.reply, s.question.type) || (type !== undefined && s.reply.rcode === RCODE.NOERROR && s.reply.answers.length > 0));
    if (answered) return { queries, final: answered };
    if (!round.every((s) => keepGoing(s.reply))) break;
  }
  return { queries, final: queries[queries.length - 1] };
}

/**
 * A transport over a real socket to one DNS server, whatever nameserver the resolv.conf names: what carries
 * a pod's query once the data plane has decided where 10.96.0.10:53 goes (DNAT to a coredns pod, whose
 * listener is kdp's DNS server at `to`).
 */
export function socketTransport(to: (nameserver: string) => Upstream, proto: 'udp' | 'tcp' = 'udp'): Transport {
  return async (nameserver, q) => {
    const query = dnsPacket.encode({
      type: 'query', id: Math.floor(Math.random() * 65536), flags: dnsPacket.RECURSION_DESIRED,
      questions: [{ name: q.name, type: q.type as never, class: q.class as never }],
    });
    let m = dnsPacket.decode(await socketExchange(to(nameserver), query, proto, 2000));
    // A truncated UDP answer is asked again over TCP, as glibc's resolver does.
    if (m.flag_tc && proto === 'udp') m = dnsPacket.decode(await socketExchange(to(nameserver), query, 'tcp', 2000));
    return {
      rcode: (m.flags ?? 0) & 0xf, aa: !!m.flag_aa, ra: !!m.flag_ra, tc: !!m.flag_tc,
      answers: m.answers ?? [], authorities: m.authorities ?? [], additionals: m.additionals ?? [], plugin: '',
    };
  };
}

/** A pod's resolver: kubelet's resolv.conf for it, walked over `transport`. */
export function podResolver(cluster: Cluster, pod: Pod, transport: Transport, nodeResolvConf = ''): (name: string, type?: string) => Promise<ResolverResult> {
  const conf = podResolvConf(cluster, pod, nodeResolvConf);
  return (name, type) => resolveFromPod(conf, name, type, transport);
}
