// Which endpoints a service port uses on this node (pkg/proxy/topology.go CategorizeEndpoints).
import type { EndpointInfo } from './endpoints.ts';
import { byEndpoint } from './endpoints.ts';
import { usesClusterEndpoints, usesLocalEndpoints, type ServicePortInfo } from './serviceport.ts';

export const ZONE_LABEL = 'topology.kubernetes.io/zone';

export interface CategorizedEndpoints {
  /** Usable endpoints for Cluster traffic policy (topology-filtered); [] when the port never uses Cluster policy. */
  clusterEndpoints: EndpointInfo[];
  /** Usable local endpoints for Local traffic policy; [] when the port never uses Local policy. */
  localEndpoints: EndpointInfo[];
  /** Union of the two: the endpoints that get a KUBE-SEP chain on this node. */
  allReachableEndpoints: EndpointInfo[];
  /** Whether the service has any usable endpoint anywhere in the cluster. */
  hasAnyEndpoints: boolean;
}

type TopologyMode = '' | 'PreferSameZone' | 'PreferSameNode';

function topologyModeFromHints(endpoints: readonly EndpointInfo[], nodeName: string, zone: string): TopologyMode {
  let hasEndpointForNode = false;
  let allHaveNodeHints = true;
  let hasEndpointForZone = false;
  let allHaveZoneHints = true;
  for (const ep of endpoints) {
    if (!ep.ready) continue;
    if (ep.nodeHints.length === 0) allHaveNodeHints = false;
    else if (ep.nodeHints.includes(nodeName)) hasEndpointForNode = true;
    if (ep.zoneHints.length === 0) allHaveZoneHints = false;
    else if (ep.zoneHints.includes(zone)) hasEndpointForZone = true;
  }
  // PreferSameTrafficDistribution is on by default in current releases.
  if (allHaveNodeHints && hasEndpointForNode) return 'PreferSameNode';
  if (allHaveZoneHints && hasEndpointForZone) return 'PreferSameZone';
  return '';
}

function availableForTopology(ep: EndpointInfo, mode: TopologyMode, nodeName: string, zone: string): boolean {
  if (mode === '') return true;
  if (mode === 'PreferSameNode') return ep.nodeHints.includes(nodeName);
  return ep.zoneHints.includes(zone);
}

export function categorizeEndpoints(
  endpoints: readonly EndpointInfo[],
  svc: ServicePortInfo,
  nodeName: string,
  nodeLabels: Readonly<Record<string, string>>,
): CategorizedEndpoints {
  let clusterEndpoints: EndpointInfo[] = [];
  let localEndpoints: EndpointInfo[] = [];
  let hasAnyEndpoints = false;
  let mode: TopologyMode = '';
  let useServingTerminating = false;
  const cluster = usesClusterEndpoints(svc);
  if (cluster) {
    const zone = nodeLabels[ZONE_LABEL] ?? '';
    mode = topologyModeFromHints(endpoints, nodeName, zone);
    clusterEndpoints = endpoints.filter((ep) => ep.ready && availableForTopology(ep, mode, nodeName, zone));
    // No ready endpoint anywhere (topology already fell back): use the serving terminating ones.
    if (clusterEndpoints.length === 0) clusterEndpoints = endpoints.filter((ep) => ep.serving && ep.terminating);
    if (clusterEndpoints.length > 0) hasAnyEndpoints = true;
  }
  if (!usesLocalEndpoints(svc)) return { clusterEndpoints, localEndpoints, allReachableEndpoints: clusterEndpoints, hasAnyEndpoints };

  let hasLocalReady = false;
  let hasLocalServingTerminating = false;
  for (const ep of endpoints) {
    if (ep.ready) {
      hasAnyEndpoints = true;
      if (ep.isLocal) hasLocalReady = true;
    } else if (ep.serving && ep.terminating) {
      hasAnyEndpoints = true;
      if (ep.isLocal) hasLocalServingTerminating = true;
    }
  }
  if (hasLocalReady) localEndpoints = endpoints.filter((ep) => ep.isLocal && ep.ready);
  else if (hasLocalServingTerminating) {
    useServingTerminating = true;
    localEndpoints = endpoints.filter((ep) => ep.isLocal && ep.serving && ep.terminating);
  }
  if (!cluster) return { clusterEndpoints, localEndpoints, allReachableEndpoints: localEndpoints, hasAnyEndpoints };
  if (mode === '' && !useServingTerminating) return { clusterEndpoints, localEndpoints, allReachableEndpoints: clusterEndpoints, hasAnyEndpoints };
  const union = new Map<string, EndpointInfo>();
  for (const ep of clusterEndpoints) union.set(ep.str, ep);
  for (const ep of localEndpoints) union.set(ep.str, ep);
  return { clusterEndpoints, localEndpoints, allReachableEndpoints: [...union.values()].sort(byEndpoint), hasAnyEndpoints };
}
