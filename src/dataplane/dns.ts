// A pod's DNS queries through the data plane. Each query is a UDP flow from the pod's namespace to its
// nameserver's port 53 (10.96.0.10, the kube-dns Service): kube-proxy's rules DNAT it to one coredns pod, and
// only a query the kernels deliver to a CoreDNS pod's socket is answered — by the cluster's Corefile chain,
// which every coredns pod runs. A query the data plane drops or rejects gets no answer, as glibc would see.
import { cidrContains, parseIP } from '../cluster/net.ts';
import type { KubeObject, Pod } from '../cluster/objects.ts';
import type { DnsQuestion } from '../dns/message.ts';
import { socketTransport, type Transport } from '../dns/resolver.ts';
import { podResolvConf, type ResolvConf } from '../dns/resolvconf.ts';
import { buildChain } from '../dns/service.ts';
import { LiveView } from '../dns/view.ts';
import { traceFlow } from '../netns/forward.ts';
import type { Netns } from '../netns/netns.ts';
import type { Trace } from '../netns/trace.ts';
import type { DataPlane } from './dataplane.ts';

/** A query the data plane carried (or did not): its path, and which pod's socket took it. */
export interface RoutedQuery {
  question: DnsQuestion;
  nameserver: string;
  trace: Trace;
  /** "kube-system/coredns-..." when a CoreDNS pod took it. */
  server?: string;
}

/** No reply came: the trace says where the query ended (dig: "connection timed out; no servers could be reached"). */
export class NoDnsReply extends Error {
  constructor(readonly query: RoutedQuery) {
    super(`no reply from ${query.nameserver}#53: ${query.trace.request.verdict.kind}: ${query.trace.request.verdict.by}`);
  }
}

/** A pod runs CoreDNS when it is one of the DNS addon's pods (kubeadm's k8s-app=kube-dns) or runs its image. */
function runsCoreDNS(pod: Pod & KubeObject): boolean {
  return pod.metadata.labels?.['k8s-app'] === 'kube-dns' || (pod.spec?.containers ?? []).some((c) => /(^|\/)coredns(:|@|$)/.test(c.image ?? ''));
}

/**
 * A transport for a pod's resolver: queries to addresses inside the cluster (Service and pod CIDRs) go through
 * the data plane and are answered by `answer` when a CoreDNS pod's socket takes them; others go to `outside`.
 */
export function dataPlaneTransport(dp: DataPlane, from: Netns, answer: Transport, outside: Transport): { transport: Transport; routed: RoutedQuery[] } {
  const routed: RoutedQuery[] = [];
  const { config, store } = dp.cluster;
  const inCluster = (ip: string) => {
    const a = parseIP(ip);
    return !!a && [...config.serviceCIDRs, ...config.podCIDRs].some((c) => cidrContains(c, a));
  };
  const transport: Transport = async (nameserver, question) => {
    if (!inCluster(nameserver)) return outside(nameserver, question);
    // Each query is sent from its own socket (a new ephemeral port), so each is its own conntrack flow.
    const n = routed.length;
    const trace = traceFlow(dp.network, from, { protocol: 'udp', dst: nameserver, dport: 53, sport: 40000 + n }, { seed: n + 1 });
    const q: RoutedQuery = { question, nameserver, trace };
    routed.push(q);
    const socket = trace.request.verdict.kind === 'delivered' ? trace.request.verdict.socket : undefined;
    const m = socket && /^p\/([^/]+)\/(.+)$/.exec(socket.netns);
    const pod = m ? store.get<Pod & KubeObject>('Pod', m[1], m[2]) : undefined;
    if (!pod || !runsCoreDNS(pod)) throw new NoDnsReply(q);
    q.server = `${pod.metadata.namespace}/${pod.metadata.name}`;
    return answer(nameserver, question);
  };
  return { transport, routed };
}

/** A pod's DNS on the data plane: kubelet's resolv.conf for it, and the transport its resolver sends over. */
export interface PodDns {
  conf: ResolvConf;
  transport: Transport;
  /** Every query sent so far, with its path through the data plane. */
  routed: RoutedQuery[];
  close(): void;
}

/**
 * The pod's DNS: queries inside the cluster go through the data plane and are answered by the cluster's
 * Corefile chain (which every coredns pod runs) when a CoreDNS pod's socket takes them; queries to a
 * nameserver outside (dnsPolicy Default) go out on a real socket. Undefined when the pod has no network.
 */
export function podDns(dp: DataPlane, pod: Pod & KubeObject, nodeResolvConf: string): PodDns | undefined {
  const net = dp.network;
  const from = net.pod(pod.metadata.namespace!, pod.metadata.name)?.netns ?? (pod.spec?.hostNetwork && pod.spec.nodeName ? net.host(pod.spec.nodeName) : undefined);
  if (!from) return undefined;
  const live = new LiveView(dp.cluster.store);
  const chain = buildChain(dp.cluster, live, { localIPs: () => [dp.cluster.config.dnsClusterIP] });
  const answer: Transport = async (_nameserver, q) => (await chain.resolve(q, { proto: 'udp', dnssecOK: false })).reply;
  const outside = socketTransport((nameserver) => ({ host: nameserver, port: 53 }));
  const { transport, routed } = dataPlaneTransport(dp, from, answer, outside);
  return { conf: podResolvConf(dp.cluster, pod, nodeResolvConf), transport, routed, close: () => live.close() };
}
