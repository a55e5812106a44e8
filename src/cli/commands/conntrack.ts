// kdp conntrack -L: a node's (or pod's) connection-tracking table as conntrack-tools 1.4 prints it, after
// the connections given with --from/--to were made through the data plane.
import type { Cluster } from '../../cluster/cluster.ts';
import { DataPlane } from '../../dataplane/dataplane.ts';
import type { Netns } from '../../netns/netns.ts';
import { UserError, type IO } from '../io.ts';
import { parseDestination, runnerFor } from './trace.ts';

export interface ConntrackOptions {
  list?: boolean;
  node?: string;
  pod?: string;
  from?: string;
  to?: string[];
  proto?: string;
  seed?: string;
}

export function conntrack(cluster: Cluster, opts: ConntrackOptions, io: IO): number {
  if (!opts.list) throw new UserError('conntrack: only -L (list) is supported');
  if ((opts.from === undefined) !== (opts.to === undefined)) throw new UserError('--from and --to go together: the connection to make before listing');
  // kube-proxy has programmed every node's kernel before the first packet is sent.
  const net = new DataPlane(cluster).network;
  let ns: Netns | undefined;
  if (opts.pod) {
    const [n, name] = opts.pod.includes('/') ? opts.pod.split('/') : ['default', opts.pod];
    ns = net.pod(n, name)?.netns;
    if (!ns) throw new UserError(`--pod ${opts.pod}: no such running pod`);
  } else {
    const node = opts.node ?? [...net.hosts.keys()][0];
    ns = net.host(node);
    if (!ns) throw new UserError(`--node ${opts.node}: no such node`);
  }
  const seed = opts.seed === undefined ? 1 : Number(opts.seed);
  if (!Number.isInteger(seed) || seed < 0) throw new UserError(`--seed ${opts.seed}: want a non-negative integer`);
  for (const to of opts.to ?? []) {
    const { name, ...flow } = parseDestination(to, opts.proto);
    if (name !== undefined) throw new UserError(`--to ${to}: give an address (kdp trace resolves names)`);
    runnerFor(cluster, net, opts.from!, flow)({ seed });
  }
  const lines = ns.netfilter.conntrack.list();
  if (lines.length) io.stdout(`${lines.join('\n')}\n`);
  io.stderr(`conntrack v1.4.7 (conntrack-tools): ${lines.length} flow entries have been shown.\n`);
  return 0;
}
