// kdp trace: the hop-by-hop path of a flow's first packet and its answer, as the emulated kernels decide it.
import type { Cluster } from '../../cluster/cluster.ts';
import { parseIP } from '../../cluster/net.ts';
import { DataPlane } from '../../dataplane/dataplane.ts';
import type { ClusterNetwork } from '../../kubelet/network.ts';
import { deliveryNodes } from '../../dataplane/nodeports.ts';
import { traceBranches, traceFlow, traceFromOutside, type Flow, type TraceOptions as RunOptions } from '../../netns/forward.ts';
import type { Trace } from '../../netns/trace.ts';
import { renderTrace } from '../../netns/trace.ts';
import { pcapFile } from '../../netns/pcap.ts';
import { writeFileSync } from 'node:fs';
import { toJSON } from '../printers/serialize.ts';
import { UserError, type IO } from '../io.ts';
import type { KubeObject, Pod } from '../../cluster/objects.ts';
import { resolveName } from '../resolve.ts';

export interface TraceOptions {
  from: string;
  to: string;
  proto?: string;
  output?: string;
  /** Payload bytes, for MTU questions. */
  size?: string;
  /** Write the frames as a pcap file here. */
  pcap?: string;
  /** The seed of random rule choices (statistic --mode random, --random-fully). */
  seed?: string;
  /** List every branch through the random rules with its probability instead of one trace. */
  branches?: boolean;
}

/**
 * "10.244.1.5:8080", "10.244.1.5" (ICMP unless --proto), "http://10.244.1.5:8080/path", or a name in place of
 * the address ("web:80", "http://web.default/"): `name` is then set and `dst` is left for the resolver.
 */
export function parseDestination(to: string, proto: string | undefined): Flow & { name?: string } {
  let host = to;
  let port: number | undefined;
  let protocol = proto;
  const url = /^(https?):\/\/([^/:]+)(?::(\d+))?/.exec(to);
  if (url) {
    host = url[2];
    port = url[3] ? Number(url[3]) : url[1] === 'https' ? 443 : 80;
    protocol ??= 'tcp';
  } else {
    const m = /^([^:]+):(\d+)$/.exec(to);
    if (m) {
      host = m[1];
      port = Number(m[2]);
    }
  }
  protocol ??= port === undefined ? 'icmp' : 'tcp';
  if (protocol !== 'tcp' && protocol !== 'udp' && protocol !== 'icmp') throw new UserError(`--proto ${protocol}: want tcp, udp or icmp`);
  if (protocol !== 'icmp' && (port === undefined || port < 1 || port > 65535)) throw new UserError(`--to ${to}: ${protocol} needs a port (ADDRESS:PORT)`);
  const name = parseIP(host) ? undefined : host;
  if (name !== undefined && !/^[A-Za-z0-9]([A-Za-z0-9-]*[A-Za-z0-9])?(\.[A-Za-z0-9]([A-Za-z0-9-]*[A-Za-z0-9])?)*\.?$/.test(name)) throw new UserError(`--to ${to}: "${name}" is neither an IP address nor a DNS name`);
  return { protocol, dst: name === undefined ? host : '', ...(protocol !== 'icmp' ? { dport: port } : {}), ...(name !== undefined ? { name } : {}) };
}

/** The pod a name is resolved for: only a pod has a resolver (a node's or an outside client's is not modelled). */
function resolvingPod(cluster: Cluster, from: string, name: string): Pod & KubeObject {
  const [ns, podName] = from.includes('/') ? from.split('/') : ['default', from];
  const pod = from.startsWith('node/') || parseIP(from) ? undefined : cluster.store.get<Pod & KubeObject>('Pod', ns, podName);
  if (!pod) throw new UserError(`--to ${name}: names are resolved by a pod's resolver; trace from a pod, or give an address`);
  return pod;
}

export async function trace(cluster: Cluster, opts: TraceOptions, io: IO): Promise<number> {
  const { name, ...flow } = parseDestination(opts.to, opts.proto);
  // kube-proxy has programmed every node's kernel before the first packet (or DNS query) is sent.
  const dp = new DataPlane(cluster);
  if (name !== undefined) flow.dst = await resolveName(dp, resolvingPod(cluster, opts.from, name), name, io);
  if (opts.size !== undefined) {
    const size = Number(opts.size);
    if (!Number.isInteger(size) || size < 0 || size > 65000) throw new UserError(`--size ${opts.size}: want a payload size in bytes`);
    flow.size = size;
  }
  let seed = 1;
  if (opts.seed !== undefined) {
    seed = Number(opts.seed);
    if (!Number.isInteger(seed) || seed < 0 || seed > 0xffffffff) throw new UserError(`--seed ${opts.seed}: want an integer from 0 to 4294967295`);
  }
  const net = dp.network;
  const run = runnerFor(cluster, net, opts.from, flow);
  if (opts.branches) return branches(run, opts.output ?? 'text', io);
  const result = run({ seed });
  if (opts.pcap) writeFileSync(opts.pcap, pcapFile([...result.request.frames, ...(result.reply?.frames ?? [])], io.now()));
  const output = opts.output ?? 'text';
  if (output === 'json') io.stdout(toJSON(result));
  else if (output === 'text') io.stdout(renderTrace(result));
  else throw new UserError(`-o ${output}: want text or json`);
  return result.request.verdict.kind === 'delivered' && (!result.reply || result.reply.verdict.kind === 'delivered') ? 0 : 2;
}

/** --branches: where the connection goes on each path through the random rules, with its probability. */
function branches(run: (o: RunOptions) => Trace, output: string, io: IO): number {
  const all = traceBranches(run);
  const outcome = (t: Trace) => `${t.request.verdict.kind.toUpperCase()}: ${t.request.verdict.by}`;
  const merged = new Map<string, number>();
  for (const b of all) merged.set(outcome(b.trace), (merged.get(outcome(b.trace)) ?? 0) + b.p);
  if (output === 'json') {
    io.stdout(toJSON(all.map((b) => ({ p: b.p, choices: b.choices, verdict: b.trace.request.verdict, reply: b.trace.reply?.verdict }))));
  } else if (output === 'text') {
    io.stdout([...merged].map(([what, p]) => `p=${p.toFixed(6)}  ${what}`).join('\n') + '\n');
  } else {
    throw new UserError(`-o ${output}: want text or json`);
  }
  return all.every((b) => b.trace.request.verdict.kind === 'delivered') ? 0 : 2;
}

/** Traces the flow from --from (a pod, node/NAME or an outside address) in `net`. */
export function runnerFor(cluster: Cluster, net: ClusterNetwork, from: string, flow: Flow): (o: RunOptions) => Trace {
  if (from.startsWith('node/')) {
    const host = net.host(from.slice('node/'.length));
    if (!host) throw new UserError(`--from ${from}: no such node`);
    return (o) => traceFlow(net, host, flow, o);
  } else if (parseIP(from)) {
    // A LoadBalancer IP or externalIP reaches the cluster through a node, as the cloud LB would pick it.
    const via = deliveryNodes(cluster.store, flow.dst)[0];
    return (o) => traceFromOutside(net, from, flow, { ...o, via });
  } else {
    const [ns, name] = from.includes('/') ? from.split('/') : ['default', from];
    const sandbox = net.pod(ns, name);
    if (!sandbox) {
      const pod = cluster.store.get('Pod', ns, name) as { spec?: { hostNetwork?: boolean; nodeName?: string } } | undefined;
      if (!pod) throw new UserError(`--from ${from}: pod "${ns}/${name}" not found`);
      if (!pod.spec?.hostNetwork) throw new UserError(`--from ${from}: the pod is not running`);
      const host = net.host(pod.spec.nodeName!)!;
      return (o) => traceFlow(net, host, flow, o);
    } else {
      return (o) => traceFlow(net, sandbox.netns, flow, o);
    }
  }
}
