// What kube-proxy keeps of a Service's EndpointSlices (pkg/proxy/endpointslicecache.go, endpoint.go): per
// service port, the endpoints of this IP family from every slice, de-duplicated and sorted by "ip:port".
import type { EndpointSlice } from '../cluster/objects.ts';
import { ipFamily, joinHostPort, sloppyIP, type Family } from './ip.ts';
import { HEADLESS_LABEL, SERVICE_PROXY_NAME_LABEL, servicePortKey } from './serviceport.ts';

export const SERVICE_NAME_LABEL = 'kubernetes.io/service-name';

export interface EndpointInfo {
  ip: string;
  port: number;
  /** BaseEndpointInfo.String(): net.JoinHostPort(ip, port). */
  str: string;
  isLocal: boolean;
  ready: boolean;
  serving: boolean;
  terminating: boolean;
  zoneHints: readonly string[];
  nodeHints: readonly string[];
}

/** The service ("ns/name") a slice belongs to, or undefined when kube-proxy's informer would not list it. */
export function sliceService(slice: EndpointSlice): string | undefined {
  const labels = slice.metadata?.labels ?? {};
  const svc = labels[SERVICE_NAME_LABEL];
  if (!svc || labels[HEADLESS_LABEL] !== undefined || labels[SERVICE_PROXY_NAME_LABEL] !== undefined) return undefined;
  return `${slice.metadata?.namespace ?? 'default'}/${svc}`;
}

const EMPTY: readonly string[] = [];

/**
 * The endpoints of one service's slices, keyed by servicePortKey. A slice whose address type is not this
 * family contributes nothing; FQDN slices neither.
 */
export function endpointsByServicePort(slices: readonly EndpointSlice[], family: Family, nodeName: string): Map<string, EndpointInfo[]> {
  const sets = new Map<string, Map<string, EndpointInfo>>();
  for (const slice of slices) {
    if (slice.addressType !== family) continue;
    const namespace = slice.metadata?.namespace ?? 'default';
    const svc = slice.metadata?.labels?.[SERVICE_NAME_LABEL] ?? '';
    for (const port of slice.ports ?? []) {
      if (port.port === undefined || port.port === null || port.port === 0) continue;
      const key = servicePortKey(namespace, svc, port.name ?? '', port.protocol ?? 'TCP');
      let set = sets.get(key);
      if (!set) sets.set(key, (set = new Map()));
      for (const ep of slice.endpoints ?? []) {
        const first = ep.addresses?.[0];
        // IPFamilyOfString parses sloppily too: "010.0.0.1" is 10.0.0.1.
        const ip = first ? sloppyIP(first) : undefined;
        if (!ip || ipFamily(ip) !== family) continue;
        const isLocal = ep.nodeName !== undefined && ep.nodeName === nodeName;
        const c = ep.conditions ?? {};
        const ready = c.ready === undefined || c.ready === null || c.ready;
        const info: EndpointInfo = {
          ip,
          port: port.port,
          str: joinHostPort(ip, port.port),
          isLocal,
          ready,
          // endpointslicecache.go reads an unset serving as true (not as the API doc's "defer to ready"): a
          // terminating endpoint without the condition stays a fallback.
          serving: c.serving === undefined || c.serving === null || c.serving,
          terminating: c.terminating === true,
          zoneHints: ep.hints?.forZones?.map((z) => z.name) ?? EMPTY,
          nodeHints: (ep.hints as { forNodes?: { name: string }[] } | undefined)?.forNodes?.map((n) => n.name) ?? EMPTY,
        };
        // Overlapping slices may list an endpoint twice; a local copy wins.
        if (!set.has(info.str) || isLocal) set.set(info.str, info);
      }
    }
  }
  const out = new Map<string, EndpointInfo[]>();
  for (const [key, set] of sets) {
    if (set.size === 0) continue;
    out.set(key, [...set.values()].sort(byEndpoint));
  }
  return out;
}

/** sort.Sort(byEndpoint): plain string order of "ip:port", so 10.0.1.10:80 sorts before 10.0.1.2:80. */
export function byEndpoint(a: EndpointInfo, b: EndpointInfo): number {
  return a.str < b.str ? -1 : a.str > b.str ? 1 : 0;
}
