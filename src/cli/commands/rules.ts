// kdp rules: what kube-proxy writes on a node, in the form a person sees it on the node.
import type { Cluster } from '../../cluster/cluster.ts';
import { clusterFamilies, iptablesRules, KubeProxyError } from '../../proxy/kubeproxy.ts';
import { NodeFactError } from '../../proxy/node.ts';
import type { Family } from '../../proxy/ip.ts';
import { renderSave } from '../../netns/netfilter/iptables.ts';
import { ClusterNetwork } from '../../kubelet/network.ts';
import { ipvsRules } from '../../proxy/ipvs/controller.ts';
import { UserError, type IO } from '../io.ts';

export interface RulesContext {
  cluster: Cluster;
  node: string;
  family: Family;
}

/** The iptables-restore text kube-proxy writes on the node, in the topology's proxy mode. */
function restoreText(ctx: RulesContext): string {
  if (ctx.cluster.config.proxy.mode === 'ipvs') return ipvs(ctx).iptablesRestore;
  return iptablesRules(ctx.cluster.store, ctx.cluster.config, ctx.node, ctx.family).restoreText;
}

/** IPVS mode's state on the node, with the node's own addresses (its host namespace) as kube-proxy sees them. */
function ipvs(ctx: RulesContext) {
  if (ctx.cluster.config.proxy.mode !== 'ipvs') throw new UserError(`this topology's kube-proxy runs in ${ctx.cluster.config.proxy.mode} mode: ipvsadm and ipset show IPVS mode (spec.proxy.mode: ipvs)`);
  return ipvsRules(ctx.cluster, ctx.node, { family: ctx.family, netns: new ClusterNetwork(ctx.cluster).host(ctx.node) });
}

/** One renderer per --format: each is context -> text. */
export const RULE_FORMATS: Record<string, (ctx: RulesContext) => string> = {
  'iptables-restore': restoreText,
  // What the node's iptables-save shows once the kernel has loaded that text.
  'iptables-save': (ctx) => renderSave(restoreText(ctx), { family: ctx.family, ipsets: ctx.cluster.config.proxy.mode === 'ipvs' ? ipvs(ctx).kernel.ipsets : undefined }),
  ipvsadm: (ctx) => ipvs(ctx).ipvsadm(),
  ipset: (ctx) => ipvs(ctx).ipsetList(),
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
