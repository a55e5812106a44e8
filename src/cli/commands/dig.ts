// kdp dig / kdp resolvconf: DNS from a pod's point of view — the resolv.conf kubelet writes for it, and a
// lookup walked the way the pod's glibc walks it, each query with its rcode, then the answer in dig's layout.
import type { Cluster } from '../../cluster/cluster.ts';
import type { KubeObject, Pod } from '../../cluster/objects.ts';
import { UserError, type IO } from '../io.ts';
import { formatResolvConf, podDNSType, podResolvConf } from '../../dns/resolvconf.ts';
import { resolveFromPod } from '../../dns/resolver.ts';
import { RCODE_NAMES, type Reply } from '../../dns/message.ts';
import { formatDig } from '../../dns/present.ts';
import { DataPlane } from '../../dataplane/dataplane.ts';
import { NoDnsReply, podDns, type RoutedQuery } from '../../dataplane/dns.ts';
import { nodeResolvConf } from '../resolve.ts';

function findPod(cluster: Cluster, ref: string): Pod & KubeObject {
  const [ns, name] = ref.includes('/') ? ref.split('/', 2) : ['default', ref];
  const pod = cluster.store.get<Pod & KubeObject>('Pod', ns, name);
  if (!pod) throw new UserError(`pod "${ns}/${name}" not found`);
  return pod;
}

export function resolvconf(cluster: Cluster, o: { pod?: string }, io: IO): number {
  if (!o.pod) throw new UserError('say which pod: --pod NAMESPACE/NAME');
  io.stdout(formatResolvConf(podResolvConf(cluster, findPod(cluster, o.pod), nodeResolvConf())));
  return 0;
}

/** Where the data plane took a query: the coredns pod and endpoint kube-proxy chose, or where it ended. */
function pathOf(q: RoutedQuery): string {
  const v = q.trace.request.verdict;
  if (!q.server) return `${v.kind}: ${v.by}`;
  return `${q.nameserver}:53 -> ${v.socket!.address}:${v.socket!.port} (${q.server})`;
}

const plural = (n: number, w: string) => `${n} ${w}${n === 1 ? '' : 's'}`;

function flags(r: Reply): string[] {
  return ['qr', ...(r.aa ? ['aa'] : []), ...(r.tc ? ['tc'] : []), 'rd', ...(r.ra ? ['ra'] : [])];
}

export async function dig(cluster: Cluster, name: string, type: string | undefined, o: { from?: string }, io: IO): Promise<number> {
  if (!o.from) throw new UserError('say which pod asks: --from NAMESPACE/NAME');
  const pod = findPod(cluster, o.from);
  const t = type?.toUpperCase();
  if (t !== undefined && !/^[A-Z0-9]+$/.test(t)) throw new UserError(`"${type}" is not a record type`);
  const dp = new DataPlane(cluster);
  const dns = podDns(dp, pod, nodeResolvConf());
  if (!dns) throw new UserError(`pod "${pod.metadata.namespace}/${pod.metadata.name}" is not running: it has no network to ask from`);
  const { conf, transport, routed } = dns;
  try {
    const policy = pod.spec?.dnsPolicy ?? 'ClusterFirst';
    const who = `${pod.metadata.namespace}/${pod.metadata.name}`;
    const out: string[] = [`;; ${who} (dnsPolicy ${policy}${podDNSType(pod) === 'host' && policy !== 'Default' ? ', on the host network: the node\'s resolv.conf' : ''}) resolv.conf:`];
    for (const l of formatResolvConf(conf).trimEnd().split('\n')) out.push(`;;   ${l}`);
    if (!conf.nameservers.length) {
      io.stdout(`${out.join('\n')}\n;; no nameserver: the lookup fails\n`);
      return 1;
    }
    let r;
    try {
      r = await resolveFromPod(conf, name, t, transport);
    } catch (e) {
      if (!(e instanceof NoDnsReply)) throw e;
      io.stdout(`${out.join('\n')}\n;; ${e.query.question.name}. ${e.query.question.type}: ${pathOf(e.query)}\n;; connection timed out; no servers could be reached\n`);
      return 9;
    }
    out.push(`;; queries, in the order ${t ? 'res_search' : 'getaddrinfo'} sends them:`);
    r.queries.forEach((s, i) => {
      out.push(`;;   ${i + 1}. ${s.question.name}. ${s.question.type} -> ${RCODE_NAMES[s.reply.rcode] ?? s.reply.rcode}, ${plural(s.reply.answers.length, 'answer')}`);
      const via = routed.find((q) => q.question === s.question);
      if (via) out.push(`;;        via ${pathOf(via)}`);
    });
    out.push('', `; <<>> kdp dig <<>> --from ${who} ${name}${t ? ` ${t}` : ''}`);
    const f = r.final;
    out.push(formatDig({
      id: r.queries.indexOf(f) + 1, question: f.question, rcode: RCODE_NAMES[f.reply.rcode] ?? String(f.reply.rcode), flags: flags(f.reply),
      answers: f.reply.answers, authorities: f.reply.authorities, additionals: f.reply.additionals, server: f.nameserver, proto: 'UDP',
    }));
    io.stdout(`${out.join('\n')}\n`);
    return 0;
  } finally {
    dns.close();
    dp.close();
  }
}
