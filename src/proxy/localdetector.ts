// Which packets come from this cluster's pods (pkg/proxy/util/localdetector.go): the match kube-proxy adds to
// masquerade off-cluster traffic to ClusterIPs and to short-circuit pod traffic to external destinations.
import type { ProxyConfig } from '../cluster/config.ts';
import { sloppyCIDR, type Family } from './ip.ts';

export interface LocalTrafficDetector {
  /** False for the no-op detector: the rules that need it are left out. */
  implemented: boolean;
  /** iptables args matching pod traffic, e.g. ["-s", "10.0.0.0/8"]. */
  ifLocal: string[];
  ifNotLocal: string[];
}

export const NO_OP_DETECTOR: LocalTrafficDetector = { implemented: false, ifLocal: [], ifNotLocal: [] };

export function detectLocalByCIDR(cidr: string): LocalTrafficDetector {
  return { implemented: true, ifLocal: ['-s', cidr], ifNotLocal: ['!', '-s', cidr] };
}

export function detectLocalByBridgeInterface(iface: string): LocalTrafficDetector {
  return { implemented: true, ifLocal: ['-i', iface], ifNotLocal: ['!', '-i', iface] };
}

export function detectLocalByInterfaceNamePrefix(prefix: string): LocalTrafficDetector {
  return { implemented: true, ifLocal: ['-i', `${prefix}+`], ifNotLocal: ['!', '-i', `${prefix}+`] };
}

export interface DetectLocalSettings {
  mode: ProxyConfig['detectLocalMode'];
  clusterCIDRs: readonly { text: string; family: Family }[];
  /** The node's spec.podCIDRs (NodeCIDR mode). */
  nodePodCIDRs: readonly string[];
  bridgeInterface?: string;
  interfaceNamePrefix?: string;
}

/** cmd/kube-proxy getLocalDetectors: per family, the detector the mode asks for, or a no-op one. */
export function localDetectorFor(family: Family, s: DetectLocalSettings): LocalTrafficDetector {
  switch (s.mode) {
    case 'ClusterCIDR': {
      const c = s.clusterCIDRs.find((x) => x.family === family);
      return c ? detectLocalByCIDR(c.text) : NO_OP_DETECTOR;
    }
    case 'NodeCIDR': {
      const c = s.nodePodCIDRs.map((t) => sloppyCIDR(t)).find((x) => x?.family === family);
      return c ? detectLocalByCIDR(c.text) : NO_OP_DETECTOR;
    }
    case 'BridgeInterface':
      return s.bridgeInterface ? detectLocalByBridgeInterface(s.bridgeInterface) : NO_OP_DETECTOR;
    case 'InterfaceNamePrefix':
      return s.interfaceNamePrefix ? detectLocalByInterfaceNamePrefix(s.interfaceNamePrefix) : NO_OP_DETECTOR;
    default:
      return NO_OP_DETECTOR;
  }
}

/** The detector of `family` a kube-proxy with this configuration runs on a node with these pod CIDRs. */
export function nodeLocalDetector(family: Family, proxy: ProxyConfig, nodePodCIDRs: readonly string[]): LocalTrafficDetector {
  return localDetectorFor(family, {
    mode: proxy.detectLocalMode,
    clusterCIDRs: proxy.clusterCIDRs,
    nodePodCIDRs,
    bridgeInterface: proxy.detectLocal?.bridgeInterface,
    interfaceNamePrefix: proxy.detectLocal?.interfaceNamePrefix,
  });
}
