// One service port's plan on one node, as data: which chains it needs, which endpoints each dispatches to,
// and where traffic is rejected or dropped. The iptables writer renders it (an nftables one can too); the
// decisions are syncProxyRules' own (pkg/proxy/iptables/proxier.go), independent of rule text.
import type { EndpointInfo } from './endpoints.ts';
import type { ServicePortInfo } from './serviceport.ts';
import { externallyAccessible, usesClusterEndpoints, usesLocalEndpoints } from './serviceport.ts';
import { categorizeEndpoints } from './topology.ts';
import { containsIP, sloppyCIDR } from './ip.ts';

export type FilterVerdict = { target: 'REJECT'; reason: 'has no endpoints' } | { target: 'DROP'; reason: 'has no local endpoints' };

export interface ServicePortPlan {
  svc: ServicePortInfo;
  clusterEndpoints: EndpointInfo[];
  localEndpoints: EndpointInfo[];
  /** Endpoints that get their own endpoint chain. */
  allReachableEndpoints: EndpointInfo[];
  hasEndpoints: boolean;
  /** The cluster-policy chain (KUBE-SVC) exists. */
  usesClusterPolicy: boolean;
  /** The local-policy chain (KUBE-SVL) exists. */
  usesLocalPolicy: boolean;
  /** ClusterIP traffic goes to the local policy chain (iTP=Local) rather than the cluster one. */
  internalPolicy: 'cluster' | 'local';
  externalPolicy: 'cluster' | 'local';
  hasInternalEndpoints: boolean;
  hasExternalEndpoints: boolean;
  /** The external chain (KUBE-EXT) exists: NodePort, externalIPs and LB IPs enter through it. */
  usesExternal: boolean;
  /** The load-balancer firewall chain (KUBE-FW) exists (loadBalancerSourceRanges). */
  usesFirewall: boolean;
  /** The node's own IP is in a source range, so LB IPs are allowed as sources too (VIP loopback). */
  firewallAllowsNode: boolean;
  /** For ClusterIP traffic when there is nowhere to send it. */
  internalFilter?: FilterVerdict;
  /** For externalIP, LB IP and NodePort traffic when there is nowhere to send it. */
  externalFilter?: FilterVerdict;
}

export function planServicePort(
  svc: ServicePortInfo,
  endpoints: readonly EndpointInfo[],
  node: { name: string; labels: Readonly<Record<string, string>>; ip?: string },
): ServicePortPlan {
  const c = categorizeEndpoints(endpoints, svc, node.name, node.labels);
  const hasEndpoints = c.hasAnyEndpoints;
  const hasInternalEndpoints = hasEndpoints && !(svc.internalPolicyLocal && c.localEndpoints.length === 0);
  const hasExternalEndpoints = hasEndpoints && !(svc.externalPolicyLocal && c.localEndpoints.length === 0);
  const usesFirewall = hasEndpoints && svc.loadBalancerVIPs.length > 0 && svc.loadBalancerSourceRanges.length > 0;
  let internalFilter: FilterVerdict | undefined;
  let externalFilter: FilterVerdict | undefined;
  if (!hasEndpoints) {
    internalFilter = externalFilter = { target: 'REJECT', reason: 'has no endpoints' };
  } else {
    if (!hasInternalEndpoints) internalFilter = { target: 'DROP', reason: 'has no local endpoints' };
    if (!hasExternalEndpoints) externalFilter = { target: 'DROP', reason: 'has no local endpoints' };
  }
  return {
    svc,
    clusterEndpoints: c.clusterEndpoints,
    localEndpoints: c.localEndpoints,
    allReachableEndpoints: c.allReachableEndpoints,
    hasEndpoints,
    usesClusterPolicy: c.clusterEndpoints.length > 0 && usesClusterEndpoints(svc),
    usesLocalPolicy: c.localEndpoints.length > 0 && usesLocalEndpoints(svc),
    internalPolicy: svc.internalPolicyLocal ? 'local' : 'cluster',
    externalPolicy: svc.externalPolicyLocal ? 'local' : 'cluster',
    hasInternalEndpoints,
    hasExternalEndpoints,
    // Based on hasEndpoints, not hasExternalEndpoints: short-circuiting needs the chain even with no local endpoint.
    usesExternal: hasEndpoints && externallyAccessible(svc),
    usesFirewall,
    firewallAllowsNode: usesFirewall && !!node.ip && svc.loadBalancerSourceRanges.some((r) => containsIP(sloppyCIDR(r)!, node.ip!)),
    internalFilter,
    externalFilter,
  };
}
