// The ipsets kube-proxy's IPVS mode keeps (pkg/proxy/ipvs/ipset.go: ipsetInfo), with their types and the
// comments its iptables rules carry, and the entries' text as utilipset.Entry.String() writes them.
import type { Family } from '../../cluster/net.ts';
import type { IpsetType } from '../../netns/ipset.ts';

export interface IpsetInfo {
  name: string;
  type: IpsetType;
  comment: string;
}

/** ipsetInfo, in upstream's order. */
export const IPSET_INFO: readonly IpsetInfo[] = [
  { name: 'KUBE-LOOP-BACK', type: 'hash:ip,port,ip', comment: 'Kubernetes endpoints dst ip:port, source ip for solving hairpin purpose' },
  { name: 'KUBE-CLUSTER-IP', type: 'hash:ip,port', comment: 'Kubernetes service cluster ip + port for masquerade purpose' },
  { name: 'KUBE-EXTERNAL-IP', type: 'hash:ip,port', comment: 'Kubernetes service external ip + port for masquerade and filter purpose' },
  { name: 'KUBE-EXTERNAL-IP-LOCAL', type: 'hash:ip,port', comment: 'Kubernetes service external ip + port with externalTrafficPolicy=local' },
  { name: 'KUBE-LOAD-BALANCER', type: 'hash:ip,port', comment: 'Kubernetes service lb portal' },
  { name: 'KUBE-LOAD-BALANCER-FW', type: 'hash:ip,port', comment: 'Kubernetes service load balancer ip + port for load balancer with sourceRange' },
  { name: 'KUBE-LOAD-BALANCER-LOCAL', type: 'hash:ip,port', comment: 'Kubernetes service load balancer ip + port with externalTrafficPolicy=local' },
  { name: 'KUBE-LOAD-BALANCER-SOURCE-IP', type: 'hash:ip,port,ip', comment: 'Kubernetes service load balancer ip + port + source IP for packet filter purpose' },
  { name: 'KUBE-LOAD-BALANCER-SOURCE-CIDR', type: 'hash:ip,port,net', comment: 'Kubernetes service load balancer ip + port + source cidr for packet filter purpose' },
  { name: 'KUBE-NODE-PORT-TCP', type: 'bitmap:port', comment: 'Kubernetes nodeport TCP port for masquerade purpose' },
  { name: 'KUBE-NODE-PORT-LOCAL-TCP', type: 'bitmap:port', comment: 'Kubernetes nodeport TCP port with externalTrafficPolicy=local' },
  { name: 'KUBE-NODE-PORT-UDP', type: 'bitmap:port', comment: 'Kubernetes nodeport UDP port for masquerade purpose' },
  { name: 'KUBE-NODE-PORT-LOCAL-UDP', type: 'bitmap:port', comment: 'Kubernetes nodeport UDP port with externalTrafficPolicy=local' },
  { name: 'KUBE-NODE-PORT-SCTP-HASH', type: 'hash:ip,port', comment: "Kubernetes nodeport SCTP port for masquerade purpose with type 'hash ip:port'" },
  { name: 'KUBE-NODE-PORT-LOCAL-SCTP-HASH', type: 'hash:ip,port', comment: "Kubernetes nodeport SCTP port with externalTrafficPolicy=local with type 'hash ip:port'" },
  { name: 'KUBE-HEALTH-CHECK-NODE-PORT', type: 'bitmap:port', comment: 'Kubernetes health check node port' },
  { name: 'KUBE-IPVS-IPS', type: 'hash:ip', comment: 'Addresses on the ipvs interface' },
];

/**
 * NewIPSet's name for a family: the IPv6 proxier's sets are "KUBE-6-..." (cut to ipset's 31 characters), the
 * port bitmaps included, so both families' sets can exist side by side.
 */
export function ipsetName(base: string, family: Family): string {
  if (family === 'IPv4' || !base.startsWith('KUBE-')) return base;
  return base.replace('KUBE-', 'KUBE-6-').slice(0, 31);
}

/** utilipset's `ipset create` arguments: hash types get family, hashsize 1024, maxelem 65536; bitmaps range 0-65535. */
export function createLine(name: string, type: IpsetType, family: Family): string {
  if (type === 'bitmap:port') return `create ${name} ${type} range 0-65535`;
  return `create ${name} ${type} family ${family === 'IPv4' ? 'inet' : 'inet6'} hashsize 1024 maxelem 65536`;
}
