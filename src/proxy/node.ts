// The facts about its own node that change what kube-proxy writes: addresses, labels, pod CIDRs, and the
// kernel/iptables capabilities kdp lets a topology state per node with annotations.
import type { Node } from '../cluster/objects.ts';
import { ipFamily, sloppyIP, type Family } from './ip.ts';

export const ANNOTATION_NFACCT = 'kdp.dev/kernel-nfacct';
export const ANNOTATION_RANDOM_FULLY = 'kdp.dev/iptables-random-fully';
export const ANNOTATION_TCP_BE_LIBERAL = 'kdp.dev/conntrack-tcp-be-liberal';

export interface NodeFacts {
  name: string;
  labels: Record<string, string>;
  /** status.addresses of type InternalIP, then ExternalIP: the first of a family is kube-proxy's node IP. */
  addresses: string[];
  podCIDRs: string[];
  /** The kernel has nfnetlink_acct: kube-proxy can create its nfacct counters. */
  nfacct: boolean;
  /** iptables >= 1.6.2: MASQUERADE --random-fully. */
  randomFully: boolean;
  /** net.netfilter.nf_conntrack_tcp_be_liberal != 0: no INVALID-drop rule. */
  conntrackTCPBeLiberal: boolean;
}

export class NodeFactError extends Error {}

function flag(node: Node, key: string, fallback: boolean): boolean {
  const v = node.metadata?.annotations?.[key];
  if (v === undefined) return fallback;
  if (v === 'true') return true;
  if (v === 'false') return false;
  throw new NodeFactError(`Node ${node.metadata?.name}: metadata.annotations["${key}"]: Invalid value: "${v}": must be "true" or "false"`);
}

export function nodeFacts(node: Node): NodeFacts {
  const all = node.status?.addresses ?? [];
  const ordered = [...all.filter((a) => a.type === 'InternalIP'), ...all.filter((a) => a.type === 'ExternalIP')];
  const addresses: string[] = [];
  for (const a of ordered) {
    const ip = sloppyIP(a.address);
    if (ip && !addresses.includes(ip)) addresses.push(ip);
  }
  return {
    name: node.metadata?.name ?? '',
    labels: { ...(node.metadata?.labels ?? {}) },
    addresses,
    podCIDRs: node.spec?.podCIDRs ?? (node.spec?.podCIDR ? [node.spec.podCIDR] : []),
    // A modern node: nfnetlink_acct loaded, iptables 1.8, the kernel's strict conntrack default.
    nfacct: flag(node, ANNOTATION_NFACCT, true),
    randomFully: flag(node, ANNOTATION_RANDOM_FULLY, true),
    conntrackTCPBeLiberal: flag(node, ANNOTATION_TCP_BE_LIBERAL, false),
  };
}

export function primaryNodeIP(facts: NodeFacts, family: Family): string | undefined {
  return facts.addresses.find((ip) => ipFamily(ip) === family);
}

/** The host's addresses as the interfaces list them: loopback first, then the node's. */
export function localAddresses(facts: NodeFacts): string[] {
  return ['127.0.0.1', '::1', ...facts.addresses];
}
