// kdp trace: the hop-by-hop path of a flow's first packet and its answer, as the emulated kernels decide it.
import type { Cluster } from '../../cluster/cluster.ts';
import { parseIP } from '../../cluster/net.ts';
import { ClusterNetwork } from '../../kubelet/network.ts';
import { traceFlow, traceFromOutside, type Flow } from '../../netns/forward.ts';
import { renderTrace } from '../../netns/trace.ts';
import { pcapFile } from '../../netns/pcap.ts';
import { writeFileSync } from 'node:fs';
import { toJSON } from '../printers/serialize.ts';
import { UserError, type IO } from '../io.ts';

export interface TraceOptions {
  from: string;
  to: string;
  proto?: string;
  output?: string;
  /** Payload bytes, for MTU questions. */
  size?: string;
  /** Write the frames as a pcap file here. */
  pcap?: string;
}

/** "10.244.1.5:8080", "10.244.1.5" (ICMP unless --proto), "http://10.244.1.5:8080/path". */
export function parseDestination(to: string, proto: string | undefined): Flow {
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
  if (!parseIP(host)) throw new UserError(`--to ${to}: kdp traces to IP addresses so far (names resolve once cluster DNS lands)`);
  if (protocol !== 'icmp' && (port === undefined || port < 1 || port > 65535)) throw new UserError(`--to ${to}: ${protocol} needs a port (ADDRESS:PORT)`);
  return { protocol, dst: host, ...(protocol !== 'icmp' ? { dport: port } : {}) };
}

export function trace(cluster: Cluster, opts: TraceOptions, io: IO): number {
  const flow = parseDestination(opts.to, opts.proto);
  if (opts.size !== undefined) {
    const size = Number(opts.size);
    if (!Number.isInteger(size) || size < 0 || size > 65000) throw new UserError(`--size ${opts.size}: want a payload size in bytes`);
    flow.size = size;
  }
  const net = new ClusterNetwork(cluster);
  let result;
  if (opts.from.startsWith('node/')) {
    const host = net.host(opts.from.slice('node/'.length));
    if (!host) throw new UserError(`--from ${opts.from}: no such node`);
    result = traceFlow(net, host, flow);
  } else if (parseIP(opts.from)) {
    result = traceFromOutside(net, opts.from, flow);
  } else {
    const [ns, name] = opts.from.includes('/') ? opts.from.split('/') : ['default', opts.from];
    const sandbox = net.pod(ns, name);
    if (!sandbox) {
      const pod = cluster.store.get('Pod', ns, name) as { spec?: { hostNetwork?: boolean; nodeName?: string } } | undefined;
      if (!pod) throw new UserError(`--from ${opts.from}: pod "${ns}/${name}" not found`);
      if (!pod.spec?.hostNetwork) throw new UserError(`--from ${opts.from}: the pod is not running`);
      result = traceFlow(net, net.host(pod.spec.nodeName!)!, flow);
    } else {
      result = traceFlow(net, sandbox.netns, flow);
    }
  }
  if (opts.pcap) writeFileSync(opts.pcap, pcapFile([...result.request.frames, ...(result.reply?.frames ?? [])], io.now()));
  const output = opts.output ?? 'text';
  if (output === 'json') io.stdout(toJSON(result));
  else if (output === 'text') io.stdout(renderTrace(result));
  else throw new UserError(`-o ${output}: want text or json`);
  return result.request.verdict.kind === 'delivered' && (!result.reply || result.reply.verdict.kind === 'delivered') ? 0 : 2;
}
