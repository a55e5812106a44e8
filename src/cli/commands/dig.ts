// kdp dig / kdp resolvconf: DNS from a pod's point of view — the resolv.conf kubelet writes for it, and a
// lookup walked the way the pod's glibc walks it, each query with its rcode, then the answer in dig's layout.
import { readFileSync } from 'node:fs';
import type { Cluster } from '../../cluster/cluster.ts';
import type { KubeObject, Pod } from '../../cluster/objects.ts';
import { UserError, type IO } from '../io.ts';
import { buildChain } from '../../dns/service.ts';
import { LiveView } from '../../dns/view.ts';
import { formatResolvConf, podDNSType, podResolvConf } from '../../dns/resolvconf.ts';
import { resolveFromPod, socketTransport, type Transport } from '../../dns/resolver.ts';
import { RCODE_NAMES, type Reply } from '../../dns/message.ts';
import { formatDig } from '../../dns/present.ts';

function findPod(cluster: Cluster, ref: string): Pod & KubeObject {
  const [ns, name] = ref.includes('/') ? ref.split('/', 2) : ['default', ref];
  const pod = cluster.store.get<Pod & KubeObject>('Pod', ns, name);
  if (!pod) throw new UserError(`pod "${ns}/${name}" not found`);
  return pod;
}

/** The node's /etc/resolv.conf: the machine kdp runs on stands for every node. */
const nodeResolvConf = () => {
  try {
    return readFileSync('/etc/resolv.conf', 'utf8');
  } catch {
    return '';
  }
};

export function resolvconf(cluster: Cluster, o: { pod?: string }, io: IO): number {
  if (!o.pod) throw new UserError('say which pod: --pod NAMESPACE/NAME');
  io.stdout(formatResolvConf(podResolvConf(cluster, findPod(cluster, o.pod), nodeResolvConf())));
  return 0;
}

/**
 * The in-process transport: questions to the cluster DNS IP go to the cluster's Corefile chain, others to
 * the real nameserver. (Through the data plane, a query to 10.96.0.10:53 would be DNATed to a coredns pod.)
 */
export function inProcessTransport(cluster: Cluster): { transport: Transport; close(): void } {
  const live = new LiveView(cluster.store);
  const chain = buildChain(cluster, live, { localIPs: () => [cluster.config.dnsClusterIP] });
  const outside = socketTransport((nameserver) => ({ host: nameserver, port: 53 }));
  const transport: Transport = async (nameserver, q) => {
    if (nameserver === cluster.config.dnsClusterIP) return (await chain.resolve(q, { proto: 'udp', dnssecOK: false })).reply;
    return outside(nameserver, q);
  };
  return { transport, close: () => live.close() };
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
  const conf = podResolvConf(cluster, pod, nodeResolvConf());
  const { transport, close } = inProcessTransport(cluster);
  try {
    const policy = pod.spec?.dnsPolicy ?? 'ClusterFirst';
    const who = `${pod.metadata.namespace}/${pod.metadata.name}`;
    const out: string[] = [`;; ${who} (dnsPolicy ${policy}${podDNSType(pod) === 'host' && policy !== 'Default' ? ', on the host network: the node\'s resolv.conf' : ''}) resolv.conf:`];
    for (const l of formatResolvConf(conf).trimEnd().split('\n')) out.push(`;;   ${l}`);
    if (!conf.nameservers.length) {
      io.stdout(`${out.join('\n')}\n;; no nameserver: the lookup fails\n`);
      return 1;
    }
    const r = await resolveFromPod(conf, name, t, transport);
    out.push(`;; queries, in the order ${t ? 'res_search' : 'getaddrinfo'} sends them:`);
    r.queries.forEach((s, i) => {
      out.push(`;;   ${i + 1}. ${s.question.name}. ${s.question.type} -> ${RCODE_NAMES[s.reply.rcode] ?? s.reply.rcode}, ${plural(s.reply.answers.length, 'answer')}`);
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
    close();
  }
}
