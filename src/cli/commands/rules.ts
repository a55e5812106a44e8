// kdp rules: what kube-proxy writes on a node, in the form a person sees it on the node.
import type { Cluster } from '../../cluster/cluster.ts';
import { clusterFamilies, iptablesRules, KubeProxyError } from '../../proxy/kubeproxy.ts';
import { NodeFactError } from '../../proxy/node.ts';
import type { Family } from '../../proxy/ip.ts';
import { renderSave } from '../../netns/netfilter/iptables.ts';
import { UserError, type IO } from '../io.ts';

export interface RulesContext {
  cluster: Cluster;
  node: string;
  family: Family;
}

/** One renderer per --format. More join here (iptables-save, ipvsadm, ipset): each is context -> text. */
export const RULE_FORMATS: Record<string, (ctx: RulesContext) => string> = {
  'iptables-restore': (ctx) => iptablesRules(ctx.cluster.store, ctx.cluster.config, ctx.node, ctx.family).restoreText,
  // What the node's iptables-save shows once the kernel has loaded that text.
  'iptables-save': (ctx) => renderSave(iptablesRules(ctx.cluster.store, ctx.cluster.config, ctx.node, ctx.family).restoreText, { family: ctx.family }),
};

export interface RulesOptions {
  node?: string;
  format: string;
  ipFamily?: string;
}

export function rules(cluster: Cluster, o: RulesOptions, io: IO): number {
  const render = RULE_FORMATS[o.format];
  if (!render) throw new UserError(`--format "${o.format}": must be one of ${Object.keys(RULE_FORMATS).join(', ')}`);
  const families = clusterFamilies(cluster.config);
  let family: Family;
  if (o.ipFamily === undefined) family = families.includes('IPv4') ? 'IPv4' : families[0];
  else if (o.ipFamily === 'IPv4' || o.ipFamily === 'IPv6') family = o.ipFamily;
  else throw new UserError(`--ip-family "${o.ipFamily}": must be IPv4 or IPv6`);
  const nodes = cluster.store.list('Node').map((n) => n.metadata.name);
  const node = o.node ?? (nodes.length === 1 ? nodes[0] : undefined);
  if (!node) throw new UserError(`say which node's rules: --node NAME (one of ${nodes.join(', ')})`);
  if (!nodes.includes(node)) throw new UserError(`node "${node}" not found (nodes: ${nodes.join(', ')})`);
  try {
    io.stdout(render({ cluster, node, family }));
  } catch (e) {
    if (e instanceof KubeProxyError || e instanceof NodeFactError) throw new UserError(e.message);
    throw e;
  }
  return 0;
}
