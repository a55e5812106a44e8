// kube-proxy's view of Services and EndpointSlices for one IP family (pkg/proxy/serviceport.go, endpoint.go,
// endpointslicecache.go, topology.go): the service ports it programs and the endpoints each may use.
import type { EndpointSlice, Service } from '../../cluster/objects.ts';
import { familyOf, parseCIDR, isCidr, type Family } from '../../cluster/net.ts';

export type Protocol = 'TCP' | 'UDP' | 'SCTP';

export interface ServicePortInfo {
  /** "ns/name:port" or "ns/name" for an unnamed port (ServicePortName.String()). */
  name: string;
  namespace: string;
  service: string;
  portName: string;
  protocol: Protocol;
  clusterIP: string;
  port: number;
  nodePort: number;
  externalIPs: string[];
  loadBalancerVIPs: string[];
  loadBalancerSourceRanges: string[];
  /** ClientIP affinity's timeout, or undefined without affinity. */
  stickyMaxAgeSeconds?: number;
  externalPolicyLocal: boolean;
  internalPolicyLocal: boolean;
  healthCheckNodePort: number;
}

export interface EndpointInfo {
  ip: string;
  port: number;
  /** "ip:port" or "[ip]:port": what endpoints are sorted and compared by. */
  key: string;
  ready: boolean;
  serving: boolean;
  terminating: boolean;
  local: boolean;
  zoneHints: string[];
  nodeHints: string[];
}

const ipFamilyOf = (ip: string): Family | undefined => familyOf(ip);

/** newBaseServiceInfo for every port of every Service that has a ClusterIP of this family. */
export function servicePorts(services: Service[], family: Family): ServicePortInfo[] {
  const out: ServicePortInfo[] = [];
  for (const svc of services) {
    const spec = svc.spec ?? {};
    if (spec.type === 'ExternalName') continue;
    const clusterIPs = spec.clusterIPs?.length ? spec.clusterIPs : spec.clusterIP ? [spec.clusterIP] : [];
    const clusterIP = clusterIPs.find((ip) => ip !== 'None' && ipFamilyOf(ip) === family);
    if (!clusterIP) continue;
    const type = spec.type ?? 'ClusterIP';
    const externalIPs = (spec.externalIPs ?? []).filter((ip) => ipFamilyOf(ip) === family);
    const vips = (svc.status?.loadBalancer?.ingress ?? [])
      .filter((i) => i.ip && (i as { ipMode?: string }).ipMode !== 'Proxy' && ipFamilyOf(i.ip) === family)
      .map((i) => i.ip!);
    const ranges = (spec.loadBalancerSourceRanges ?? []).map((r) => r.trim()).filter((r) => {
      const c = parseCIDR(r, false);
      return isCidr(c) && c.family === family;
    });
    const externallyAccessibleType = type === 'LoadBalancer' || type === 'NodePort' || (type === 'ClusterIP' && (spec.externalIPs ?? []).length > 0);
    const eTPLocal = externallyAccessibleType && spec.externalTrafficPolicy === 'Local';
    const needsHealthCheck = type === 'LoadBalancer' && spec.externalTrafficPolicy === 'Local';
    const meta = svc.metadata ?? {};
    for (const p of spec.ports ?? []) {
      const portName = p.name ?? '';
      out.push({
        name: `${meta.namespace}/${meta.name}${portName ? `:${portName}` : ''}`,
        namespace: meta.namespace ?? 'default',
        service: meta.name ?? '',
        portName,
        protocol: (p.protocol ?? 'TCP') as Protocol,
        clusterIP,
        port: p.port,
        nodePort: p.nodePort ?? 0,
        externalIPs,
        loadBalancerVIPs: vips,
        loadBalancerSourceRanges: ranges,
        stickyMaxAgeSeconds: spec.sessionAffinity === 'ClientIP' ? (spec.sessionAffinityConfig?.clientIP?.timeoutSeconds ?? 10800) : undefined,
        externalPolicyLocal: eTPLocal,
        internalPolicyLocal: spec.internalTrafficPolicy === 'Local',
        healthCheckNodePort: needsHealthCheck ? (spec.healthCheckNodePort ?? 0) : 0,
      });
    }
  }
  return out;
}

export const externallyAccessible = (s: ServicePortInfo): boolean => s.nodePort !== 0 || s.loadBalancerVIPs.length > 0 || s.externalIPs.length > 0;
/** Cluster endpoints are needed unless iTP=Local, and always for external traffic (eTP=Local short-circuits to them). */
export const usesClusterEndpoints = (s: ServicePortInfo): boolean => !s.internalPolicyLocal || externallyAccessible(s);
export const usesLocalEndpoints = (s: ServicePortInfo): boolean => s.internalPolicyLocal || (s.externalPolicyLocal && externallyAccessible(s));

/**
 * The endpoints of one service port from its EndpointSlices (label kubernetes.io/service-name, this family's
 * addressType, the port of the same name and protocol), de-duplicated and sorted by "ip:port" as strings.
 */
export function endpointsFor(sp: ServicePortInfo, slices: EndpointSlice[], family: Family, nodeName: string): EndpointInfo[] {
  const byKey = new Map<string, EndpointInfo>();
  for (const slice of slices) {
    if (slice.metadata?.namespace !== sp.namespace) continue;
    if (slice.metadata?.labels?.['kubernetes.io/service-name'] !== sp.service) continue;
    if (slice.addressType !== family) continue;
    const port = (slice.ports ?? []).find((p) => (p.name ?? '') === sp.portName && (p.protocol ?? 'TCP') === sp.protocol);
    if (!port || port.port === undefined) continue;
    for (const ep of slice.endpoints ?? []) {
      const ip = ep.addresses?.[0];
      if (!ip || familyOf(ip) !== family) continue;
      const key = family === 'IPv6' ? `[${ip}]:${port.port}` : `${ip}:${port.port}`;
      if (byKey.has(key)) continue;
      const ready = ep.conditions?.ready ?? true;
      byKey.set(key, {
        ip, port: port.port, key, ready,
        // endpointslicecache.go: an unset serving condition counts as serving (not as "ready").
        serving: ep.conditions?.serving ?? true,
        terminating: ep.conditions?.terminating ?? false,
        local: ep.nodeName === nodeName,
        zoneHints: (ep.hints?.forZones ?? []).map((z) => z.name),
        nodeHints: ((ep.hints as { forNodes?: { name: string }[] } | undefined)?.forNodes ?? []).map((n) => n.name),
      });
    }
  }
  return [...byKey.values()].sort((a, b) => (a.key < b.key ? -1 : a.key > b.key ? 1 : 0));
}

/** topologyModeFromHints: same-node or same-zone hints apply only if every ready endpoint has them. */
function topologyMode(eps: EndpointInfo[], nodeName: string, zone: string): '' | 'PreferSameZone' | 'PreferSameNode' {
  let hasForNode = false;
  let allNodeHints = true;
  let hasForZone = false;
  let allZoneHints = true;
  for (const ep of eps) {
    if (!ep.ready) continue;
    if (ep.nodeHints.length === 0) allNodeHints = false;
    else if (ep.nodeHints.includes(nodeName)) hasForNode = true;
    if (ep.zoneHints.length === 0) allZoneHints = false;
    else if (ep.zoneHints.includes(zone)) hasForZone = true;
  }
  // PreferSameTrafficDistribution (on by default): node hints, which only PreferSameNode gets, come first.
  if (allNodeHints && hasForNode) return 'PreferSameNode';
  if (allZoneHints && hasForZone) return 'PreferSameZone';
  return '';
}

function availableForTopology(ep: EndpointInfo, mode: string, nodeName: string, zone: string): boolean {
  if (mode === 'PreferSameNode') return ep.nodeHints.includes(nodeName);
  if (mode === 'PreferSameZone') return ep.zoneHints.includes(zone);
  return true;
}

export interface Categorized {
  clusterEndpoints: EndpointInfo[];
  localEndpoints: EndpointInfo[];
  allReachableEndpoints: EndpointInfo[];
  hasAnyEndpoints: boolean;
}

/** CategorizeEndpoints (pkg/proxy/topology.go). */
export function categorizeEndpoints(sp: ServicePortInfo, eps: EndpointInfo[], nodeName: string, nodeLabels: Record<string, string>): Categorized {
  let clusterEndpoints: EndpointInfo[] = [];
  let localEndpoints: EndpointInfo[] = [];
  let hasAnyEndpoints = false;
  if (usesClusterEndpoints(sp)) {
    const zone = nodeLabels['topology.kubernetes.io/zone'] ?? '';
    const mode = topologyMode(eps, nodeName, zone);
    clusterEndpoints = eps.filter((ep) => ep.ready && availableForTopology(ep, mode, nodeName, zone));
    if (clusterEndpoints.length === 0) clusterEndpoints = eps.filter((ep) => ep.serving && ep.terminating && availableForTopology(ep, mode, nodeName, zone));
    if (clusterEndpoints.length > 0) hasAnyEndpoints = true;
  }
  if (!usesLocalEndpoints(sp)) return { clusterEndpoints, localEndpoints, allReachableEndpoints: clusterEndpoints, hasAnyEndpoints };
  let localReady = false;
  let localServingTerminating = false;
  for (const ep of eps) {
    if (ep.ready) { hasAnyEndpoints = true; if (ep.local) localReady = true; }
    else if (ep.serving && ep.terminating) { hasAnyEndpoints = true; if (ep.local) localServingTerminating = true; }
  }
  if (localReady) localEndpoints = eps.filter((ep) => ep.local && ep.ready);
  else if (localServingTerminating) localEndpoints = eps.filter((ep) => ep.local && ep.serving && ep.terminating);
  if (!usesClusterEndpoints(sp)) return { clusterEndpoints, localEndpoints, allReachableEndpoints: localEndpoints, hasAnyEndpoints };
  const all = new Map<string, EndpointInfo>();
  for (const ep of [...clusterEndpoints, ...localEndpoints]) all.set(ep.key, ep);
  return { clusterEndpoints, localEndpoints, allReachableEndpoints: [...all.values()], hasAnyEndpoints };
}
