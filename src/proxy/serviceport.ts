// What kube-proxy keeps of a v1 Service, one record per port and IP family (pkg/proxy/serviceport.go,
// servicechangetracker.go, pkg/api/v1/service/util.go).
import type { Service } from '../cluster/objects.ts';
import { ipFamily, sloppyCIDR, sloppyIP, type Cidr, type Family } from './ip.ts';

export type Protocol = 'TCP' | 'UDP' | 'SCTP';

export interface ServicePortInfo {
  namespace: string;
  name: string;
  /** The port's name ("" when unnamed). */
  portName: string;
  protocol: Protocol;
  /** ServicePortName.String(): "ns/name" or "ns/name:port". */
  nameString: string;
  /** The key Services and EndpointSlices are joined on: ServicePortName with its protocol. */
  key: string;
  /** "ns/name" of the Service. */
  serviceNN: string;
  clusterIP: string;
  port: number;
  nodePort: number;
  externalIPs: string[];
  loadBalancerVIPs: string[];
  /** Canonical CIDR text (whitespace trimmed, sloppy leading zeros normalized). */
  loadBalancerSourceRanges: string[];
  sessionAffinityClientIP: boolean;
  stickyMaxAgeSeconds: number;
  externalPolicyLocal: boolean;
  internalPolicyLocal: boolean;
  healthCheckNodePort: number;
}

/**
 * The labels kube-proxy's informers exclude, with one selector for Services and EndpointSlices alike
 * (cmd/kube-proxy/app/server.go): handled by another proxy; headless.
 */
export const SERVICE_PROXY_NAME_LABEL = 'service.kubernetes.io/service-proxy-name';
export const HEADLESS_LABEL = 'service.kubernetes.io/headless';
const DEFAULT_AFFINITY_TIMEOUT = 10800;

export function servicePortKey(namespace: string, name: string, portName: string, protocol: string): string {
  return `${namespace}/${name}:${portName}/${protocol}`;
}

export function servicePortNameString(namespace: string, name: string, portName: string): string {
  return portName ? `${namespace}/${name}:${portName}` : `${namespace}/${name}`;
}

/** apiservice.ExternallyAccessible. */
function externallyAccessibleType(svc: Service): boolean {
  const t = svc.spec?.type ?? 'ClusterIP';
  return t === 'LoadBalancer' || t === 'NodePort' || (t === 'ClusterIP' && (svc.spec?.externalIPs?.length ?? 0) > 0);
}

export function externalPolicyLocal(svc: Service): boolean {
  return externallyAccessibleType(svc) && svc.spec?.externalTrafficPolicy === 'Local';
}

export function internalPolicyLocal(svc: Service): boolean {
  return svc.spec?.internalTrafficPolicy === 'Local';
}

export function needsHealthCheck(svc: Service): boolean {
  return svc.spec?.type === 'LoadBalancer' && externalPolicyLocal(svc);
}

/** The family of an address as netutils.IsIPv6String reads it: sloppily ("010.0.0.1" is IPv4). */
const sloppyFamily = (ip: string): Family | undefined => ipFamily(sloppyIP(ip) ?? ip);

/** proxyutil.GetClusterIPByFamily. */
export function clusterIPByFamily(family: Family, svc: Service): string {
  const ips = svc.spec?.clusterIPs ?? [];
  if (ips.length === 0) {
    const ip = svc.spec?.clusterIP ?? '';
    return ip && sloppyFamily(ip) === family ? ip : '';
  }
  return ips.find((ip) => sloppyFamily(ip) === family) ?? '';
}

/** proxyutil.ShouldSkipService plus the label filters kube-proxy's informer applies. */
export function shouldSkipService(svc: Service): boolean {
  const ip = svc.spec?.clusterIP;
  if (!ip || ip === 'None') return true;
  if (svc.spec?.type === 'ExternalName') return true;
  const labels = svc.metadata?.labels ?? {};
  return labels[SERVICE_PROXY_NAME_LABEL] !== undefined || labels[HEADLESS_LABEL] !== undefined;
}

/** One record per port for the given family; [] for services kube-proxy does not proxy. */
export function servicePorts(svc: Service, family: Family): ServicePortInfo[] {
  if (shouldSkipService(svc)) return [];
  const clusterIPText = clusterIPByFamily(family, svc);
  if (!clusterIPText) return [];
  const clusterIP = sloppyIP(clusterIPText) ?? clusterIPText;
  const spec = svc.spec!;
  const namespace = svc.metadata?.namespace ?? 'default';
  const name = svc.metadata?.name ?? '';
  const clientIP = spec.sessionAffinity === 'ClientIP';
  const externalIPs = (spec.externalIPs ?? []).map((ip) => sloppyIP(ip)).filter((ip): ip is string => !!ip && ipFamily(ip) === family);
  const loadBalancerSourceRanges = (spec.loadBalancerSourceRanges ?? [])
    .map((r) => sloppyCIDR(r))
    .filter((c): c is Cidr => !!c && c.family === family)
    .map((c) => c.text);
  const loadBalancerVIPs: string[] = [];
  for (const ing of svc.status?.loadBalancer?.ingress ?? []) {
    // An ingress in Proxy mode is reached through the load balancer, never short-circuited on the node.
    if (!ing.ip || (ing as { ipMode?: string }).ipMode === 'Proxy') continue;
    const ip = sloppyIP(ing.ip);
    if (ip && ipFamily(ip) === family) loadBalancerVIPs.push(ip);
  }
  const eTPLocal = externalPolicyLocal(svc);
  const iTPLocal = internalPolicyLocal(svc);
  const healthCheckNodePort = needsHealthCheck(svc) ? spec.healthCheckNodePort ?? 0 : 0;
  return (spec.ports ?? []).map((p) => {
    const portName = p.name ?? '';
    const protocol = (p.protocol ?? 'TCP') as Protocol;
    return {
      namespace,
      name,
      portName,
      protocol,
      nameString: servicePortNameString(namespace, name, portName),
      key: servicePortKey(namespace, name, portName, protocol),
      serviceNN: `${namespace}/${name}`,
      clusterIP,
      port: p.port,
      nodePort: p.nodePort ?? 0,
      externalIPs,
      loadBalancerVIPs,
      loadBalancerSourceRanges,
      sessionAffinityClientIP: clientIP,
      stickyMaxAgeSeconds: clientIP ? spec.sessionAffinityConfig?.clientIP?.timeoutSeconds ?? DEFAULT_AFFINITY_TIMEOUT : 0,
      externalPolicyLocal: eTPLocal,
      internalPolicyLocal: iTPLocal,
      healthCheckNodePort,
    };
  });
}

export function externallyAccessible(sp: ServicePortInfo): boolean {
  return sp.nodePort !== 0 || sp.loadBalancerVIPs.length > 0 || sp.externalIPs.length > 0;
}

/** Cluster endpoints are needed for iTP=Cluster, and for any external access (short-circuiting). */
export function usesClusterEndpoints(sp: ServicePortInfo): boolean {
  return !sp.internalPolicyLocal || externallyAccessible(sp);
}

export function usesLocalEndpoints(sp: ServicePortInfo): boolean {
  return sp.internalPolicyLocal || (sp.externalPolicyLocal && externallyAccessible(sp));
}
