// The jumps kube-proxy ensures from the built-in chains into its own (iptablesJumpChains,
// iptablesKubeletJumpChains), with the args exactly as it passes them to `iptables -I <chain> 1`.
import { KUBE_EXTERNAL_SERVICES, KUBE_FIREWALL, KUBE_FORWARD, KUBE_NODEPORTS, KUBE_POSTROUTING, KUBE_PROXY_FIREWALL, KUBE_SERVICES } from './chains.ts';

export interface JumpRule {
  table: 'filter' | 'nat';
  /** The built-in chain the rule is inserted into. */
  chain: string;
  /** utiliptables.Prepend: inserted at position 1 unless an identical rule exists. */
  position: 'prepend';
  /** The chain jumped to, which kube-proxy ensures exists first (EnsureChain): KUBE-FIREWALL may be empty. */
  target: string;
  /** The rule's args as exec'd (comments are single argv words, not quoted). */
  args: string[];
}

const NEW = ['-m', 'conntrack', '--ctstate', 'NEW'];

const JUMP_CHAINS: [JumpRule['table'], string, string, string, string[]][] = [
  ['filter', KUBE_EXTERNAL_SERVICES, 'INPUT', 'kubernetes externally-visible service portals', NEW],
  ['filter', KUBE_EXTERNAL_SERVICES, 'FORWARD', 'kubernetes externally-visible service portals', NEW],
  ['filter', KUBE_NODEPORTS, 'INPUT', 'kubernetes health check service ports', []],
  ['filter', KUBE_SERVICES, 'FORWARD', 'kubernetes service portals', NEW],
  ['filter', KUBE_SERVICES, 'OUTPUT', 'kubernetes service portals', NEW],
  ['filter', KUBE_FORWARD, 'FORWARD', 'kubernetes forwarding rules', []],
  ['filter', KUBE_PROXY_FIREWALL, 'INPUT', 'kubernetes load balancer firewall', NEW],
  ['filter', KUBE_PROXY_FIREWALL, 'OUTPUT', 'kubernetes load balancer firewall', NEW],
  ['filter', KUBE_PROXY_FIREWALL, 'FORWARD', 'kubernetes load balancer firewall', NEW],
  ['nat', KUBE_SERVICES, 'OUTPUT', 'kubernetes service portals', []],
  ['nat', KUBE_SERVICES, 'PREROUTING', 'kubernetes service portals', []],
  ['nat', KUBE_POSTROUTING, 'POSTROUTING', 'kubernetes postrouting rules', []],
  // Duplicates of kubelet's (pkg/kubelet/kubelet_network_linux.go), no comment.
  ['filter', KUBE_FIREWALL, 'INPUT', '', []],
  ['filter', KUBE_FIREWALL, 'OUTPUT', '', []],
];

/** In the order kube-proxy ensures them on a full sync. */
export function iptablesJumpRules(): JumpRule[] {
  return JUMP_CHAINS.map(([table, dst, chain, comment, extra]) => ({
    table,
    chain,
    position: 'prepend',
    target: dst,
    args: [...extra, ...(comment ? ['-m', 'comment', '--comment', comment] : []), '-j', dst],
  }));
}
