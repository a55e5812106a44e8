// Cluster-wide settings: our small `Cluster` object (kdp.dev/v1alpha1) with kubeadm's defaults, and the
// upstream KubeProxyConfiguration, which wins where both speak.
import { Fields, type Report } from './validation/fields.ts';
import { cidrsOverlap, isCidr, nthAddress, parseCIDR, parseCIDRList, parseIP, cidrContains, type Cidr, type Family } from './net.ts';

export const CLUSTER_API_VERSION = 'kdp.dev/v1alpha1';
export const KUBE_PROXY_API_VERSION = 'kubeproxy.config.k8s.io/v1alpha1';

export type ProxyMode = 'iptables' | 'ipvs' | 'nftables';
export type Overlay = 'vxlan' | 'host-gw';

export interface ProxyConfig {
  mode: ProxyMode;
  /** kube-proxy's --cluster-cidr; kubeadm sets it to the pod subnet. */
  clusterCIDRs: Cidr[];
  detectLocalMode: 'ClusterCIDR' | 'NodeCIDR' | 'BridgeInterface' | 'InterfaceNamePrefix';
  /** detectLocal.bridgeInterface / detectLocal.interfaceNamePrefix, for those two modes. */
  detectLocal: { bridgeInterface?: string; interfaceNamePrefix?: string };
  masqueradeAll: boolean;
  masqueradeBit: number;
  localhostNodePorts: boolean;
  ipvsScheduler: string;
  nodePortAddresses: string[];
}

export interface NodeShorthand {
  name: string;
  ip?: string;
  labels?: Record<string, string>;
  annotations?: Record<string, string>;
  taints?: { key: string; value?: string; effect: string }[];
  podCIDR?: string;
  /** Index in spec.nodes, for problems. */
  index: number;
}

/** Faults a walkthrough can switch on: each bites at one hop of a trace, which names it. */
export type Fault =
  | { type: 'bridge-nf-call-iptables-off'; node: string }
  | { type: 'hairpin-off'; node: string }
  | { type: 'forward-policy-drop'; node: string }
  | { type: 'vxlan-blocked'; between: [string, string] }
  | { type: 'mtu-mismatch'; node: string; mtu: number }
  | { type: 'node-down'; node: string };

export const FAULT_TYPES = ['bridge-nf-call-iptables-off', 'hairpin-off', 'forward-policy-drop', 'vxlan-blocked', 'mtu-mismatch', 'node-down'] as const;

export interface ClusterConfig {
  name: string;
  clusterDomain: string;
  podCIDRs: Cidr[];
  serviceCIDRs: Cidr[];
  nodeCIDRMaskSize: Record<Family, number>;
  nodePortRange: { min: number; max: number };
  overlay: Overlay;
  proxy: ProxyConfig;
  /** kubelet's clusterDNS, and the kube-dns Service's ClusterIP. */
  dnsClusterIP: string;
  nodes: NodeShorthand[];
  faults: Fault[];
}

export const DEFAULTS = {
  name: 'kdp',
  clusterDomain: 'cluster.local',
  podCIDR: '10.244.0.0/16',
  serviceCIDR: '10.96.0.0/12',
  nodePortRange: '30000-32767',
  nodeCIDRMaskSize: { IPv4: 24, IPv6: 64 } as Record<Family, number>,
  masqueradeBit: 14,
} as const;

const fallback = (list: Cidr[] | { error: string }, text: string): Cidr[] => (Array.isArray(list) ? list : (parseCIDRList(text) as Cidr[]));

/**
 * Resolves the settings. `report(path, message)` is called with paths into the document that caused a
 * problem: ['Cluster', ...] or ['KubeProxyConfiguration', ...] as the first element says which.
 */
export function resolveClusterConfig(
  cluster: Record<string, unknown> | undefined,
  proxyDoc: Record<string, unknown> | undefined,
  reportCluster: Report,
  reportProxy: Report,
): ClusterConfig {
  const f = new Fields(reportCluster);
  const spec = f.object(cluster?.spec, ['spec']) ?? {};
  const name = (cluster?.metadata as { name?: string } | undefined)?.name ?? DEFAULTS.name;

  const clusterDomain = f.string(spec.clusterDomain, ['spec', 'clusterDomain']) ?? DEFAULTS.clusterDomain;
  if (!/^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$/.test(clusterDomain)) {
    reportCluster(['spec', 'clusterDomain'], `Invalid value: "${clusterDomain}": must be a DNS domain such as cluster.local`);
  }

  const cidrList = (field: string, def: string): Cidr[] => {
    const text = f.string(spec[field], ['spec', field]) ?? def;
    const list = parseCIDRList(text);
    if (!Array.isArray(list)) reportCluster(['spec', field], `Invalid value: ${list.error}`);
    return fallback(list, def);
  };
  const podCIDRs = cidrList('podCIDR', DEFAULTS.podCIDR);
  const serviceCIDRs = cidrList('serviceCIDR', DEFAULTS.serviceCIDR);
  for (const p of podCIDRs) {
    for (const s of serviceCIDRs) {
      if (cidrsOverlap(p, s)) reportCluster(['spec', 'serviceCIDR'], `Invalid value: "${s.text}": overlaps the pod CIDR ${p.text}`);
    }
  }

  const nodeCIDRMaskSize = { ...DEFAULTS.nodeCIDRMaskSize };
  const v4Mask = f.int(spec.nodeCIDRMaskSize, ['spec', 'nodeCIDRMaskSize'], { min: 1, max: 32 });
  const v6Mask = f.int(spec.nodeCIDRMaskSizeIPv6, ['spec', 'nodeCIDRMaskSizeIPv6'], { min: 1, max: 128 });
  if (v4Mask !== undefined) nodeCIDRMaskSize.IPv4 = v4Mask;
  if (v6Mask !== undefined) nodeCIDRMaskSize.IPv6 = v6Mask;
  for (const p of podCIDRs) {
    if (nodeCIDRMaskSize[p.family] < p.prefix) {
      reportCluster(['spec', p.family === 'IPv4' ? 'nodeCIDRMaskSize' : 'nodeCIDRMaskSizeIPv6'],
        `Invalid value: ${nodeCIDRMaskSize[p.family]}: a node's pod CIDR cannot be larger than the cluster's ${p.text}`);
      nodeCIDRMaskSize[p.family] = p.prefix;
    }
  }

  const nodePortRange = parsePortRange(f.string(spec.nodePortRange, ['spec', 'nodePortRange']) ?? DEFAULTS.nodePortRange, reportCluster);

  const network = f.object(spec.network, ['spec', 'network']) ?? {};
  const overlay = (f.string(network.overlay, ['spec', 'network', 'overlay'], { oneOf: ['vxlan', 'host-gw'] }) ?? 'vxlan') as Overlay;

  const dns = f.object(spec.dns, ['spec', 'dns']) ?? {};
  let dnsClusterIP = nthAddress(serviceCIDRs[0], 10n);
  const dnsIP = f.string(dns.clusterIP, ['spec', 'dns', 'clusterIP']);
  if (dnsIP !== undefined) {
    const ip = parseIP(dnsIP);
    if (!ip) reportCluster(['spec', 'dns', 'clusterIP'], `Invalid value: "${dnsIP}": must be a valid IP address`);
    else if (!serviceCIDRs.some((c) => cidrContains(c, ip))) {
      reportCluster(['spec', 'dns', 'clusterIP'], `Invalid value: "${dnsIP}": not in the service CIDR ${serviceCIDRs.map((c) => c.text).join(',')}`);
    } else dnsClusterIP = dnsIP;
  }

  const proxySpec = f.object(spec.proxy, ['spec', 'proxy']) ?? {};
  const shorthandMode = f.string(proxySpec.mode, ['spec', 'proxy', 'mode'], { oneOf: ['iptables', 'ipvs', 'nftables'] }) as ProxyMode | undefined;
  const proxy = resolveProxyConfig(proxyDoc, shorthandMode, podCIDRs, reportProxy);

  const nodes = parseNodeShorthands(spec.nodes, f);
  const faults = parseFaults(spec.faults, f);
  return { name, clusterDomain, podCIDRs, serviceCIDRs, nodeCIDRMaskSize, nodePortRange, overlay, proxy, dnsClusterIP, nodes, faults };
}

function parseFaults(v: unknown, f: Fields): Fault[] {
  const out: Fault[] = [];
  (f.array(v, ['spec', 'faults']) ?? []).forEach((item, i) => {
    const path = ['spec', 'faults', i];
    const o = f.object(item, path, true);
    const type = o && f.string(o.type, [...path, 'type'], { required: true, oneOf: FAULT_TYPES });
    if (!o || !type) return;
    if (type === 'vxlan-blocked') {
      const between = f.array(o.between, [...path, 'between'], true);
      if (!between) return;
      if (between.length !== 2 || !between.every((n) => typeof n === 'string')) {
        f.report([...path, 'between'], 'Invalid value: must name two nodes, e.g. [node1, node2]');
        return;
      }
      out.push({ type, between: between as [string, string] });
      return;
    }
    const node = f.string(o.node, [...path, 'node'], { required: true });
    if (!node) return;
    if (type === 'mtu-mismatch') {
      const mtu = f.int(o.mtu, [...path, 'mtu'], { required: true, min: 576, max: 9000 });
      if (mtu !== undefined) out.push({ type, node, mtu });
      return;
    }
    out.push({ type, node } as Fault);
  });
  return out;
}

function parsePortRange(text: string, report: Report): { min: number; max: number } {
  // kube-apiserver's --service-node-port-range takes "min-max" or "base+size".
  const m = /^\s*(\d+)\s*([-+])\s*(\d+)\s*$/.exec(text);
  if (m) {
    const min = Number(m[1]);
    const max = m[2] === '-' ? Number(m[3]) : min + Number(m[3]);
    if (min >= 1 && max <= 65535 && min <= max) return { min, max };
  }
  report(['spec', 'nodePortRange'], `Invalid value: "${text}": must be a port range such as 30000-32767`);
  return { min: 30000, max: 32767 };
}

function resolveProxyConfig(doc: Record<string, unknown> | undefined, shorthandMode: ProxyMode | undefined, podCIDRs: Cidr[], report: Report): ProxyConfig {
  const f = new Fields(report);
  const d = doc ?? {};
  const ipt = f.object(d.iptables, ['iptables']) ?? {};
  const ipvs = f.object(d.ipvs, ['ipvs']) ?? {};
  // An empty mode means the platform default, iptables on Linux.
  const mode = (f.string(d.mode, ['mode'], { oneOf: ['', 'iptables', 'ipvs', 'nftables'] }) || shorthandMode || 'iptables') as ProxyMode;
  let clusterCIDRs = podCIDRs;
  const cc = f.string(d.clusterCIDR, ['clusterCIDR']);
  if (cc !== undefined && cc !== '') {
    const list = String(cc).split(',').map((s) => parseCIDR(s.trim(), false));
    const bad = list.find((c) => !isCidr(c));
    if (bad) report(['clusterCIDR'], `Invalid value: ${(bad as { error: string }).error}`);
    else clusterCIDRs = list as Cidr[];
  }
  const detectLocalMode = (f.string(d.detectLocalMode, ['detectLocalMode'], {
    oneOf: ['', 'ClusterCIDR', 'NodeCIDR', 'BridgeInterface', 'InterfaceNamePrefix'],
  }) || 'ClusterCIDR') as ProxyConfig['detectLocalMode'];
  const dl = f.object(d.detectLocal, ['detectLocal']) ?? {};
  const detectLocal = {
    bridgeInterface: f.string(dl.bridgeInterface, ['detectLocal', 'bridgeInterface']) || undefined,
    interfaceNamePrefix: f.string(dl.interfaceNamePrefix, ['detectLocal', 'interfaceNamePrefix']) || undefined,
  };
  if (detectLocalMode === 'BridgeInterface' && !detectLocal.bridgeInterface) {
    report(['detectLocal', 'bridgeInterface'], 'Required value: detectLocalMode BridgeInterface needs a bridge interface name');
  }
  if (detectLocalMode === 'InterfaceNamePrefix' && !detectLocal.interfaceNamePrefix) {
    report(['detectLocal', 'interfaceNamePrefix'], 'Required value: detectLocalMode InterfaceNamePrefix needs an interface name prefix');
  }
  const nodePortAddresses = (f.array(d.nodePortAddresses, ['nodePortAddresses']) ?? []).flatMap((v, i) => {
    const s = f.string(v, ['nodePortAddresses', i]);
    if (s === undefined) return [];
    if (s !== 'primary' && !isCidr(parseCIDR(s, false))) {
      report(['nodePortAddresses', i], `Invalid value: "${s}": must be a CIDR or "primary"`);
      return [];
    }
    return [s];
  });
  return {
    mode,
    clusterCIDRs,
    detectLocalMode,
    detectLocal,
    masqueradeAll: f.bool(ipt.masqueradeAll, ['iptables', 'masqueradeAll']) ?? false,
    masqueradeBit: f.int(ipt.masqueradeBit, ['iptables', 'masqueradeBit'], { min: 0, max: 31 }) ?? DEFAULTS.masqueradeBit,
    localhostNodePorts: f.bool(ipt.localhostNodePorts, ['iptables', 'localhostNodePorts']) ?? true,
    ipvsScheduler: f.string(ipvs.scheduler, ['ipvs', 'scheduler'], { oneOf: ['', 'rr', 'wrr', 'lc', 'wlc', 'lblc', 'lblcr', 'dh', 'sh', 'sed', 'nq', 'mh'] }) || 'rr',
    nodePortAddresses,
  };
}

function parseNodeShorthands(v: unknown, f: Fields): NodeShorthand[] {
  const list = f.array(v, ['spec', 'nodes']) ?? [];
  const out: NodeShorthand[] = [];
  list.forEach((item, index) => {
    const path = ['spec', 'nodes', index];
    const o = f.object(item, path, true);
    if (!o) return;
    const name = f.name(o.name, [...path, 'name'], 'subdomain');
    if (name === undefined) return;
    const ip = f.string(o.ip, [...path, 'ip']);
    if (ip !== undefined && !parseIP(ip)) f.report([...path, 'ip'], `Invalid value: "${ip}": must be a valid IP address`);
    const podCIDR = f.string(o.podCIDR, [...path, 'podCIDR']);
    const taints = (f.array(o.taints, [...path, 'taints']) ?? []).flatMap((t, i) => {
      const tp = [...path, 'taints', i];
      const to = f.object(t, tp);
      const key = to && f.string(to.key, [...tp, 'key'], { required: true });
      const effect = to && f.string(to.effect, [...tp, 'effect'], { required: true, oneOf: ['NoSchedule', 'PreferNoSchedule', 'NoExecute'] });
      return key && effect ? [{ key, value: f.string(to?.value, [...tp, 'value']), effect }] : [];
    });
    out.push({
      name,
      ip: ip && parseIP(ip) ? ip : undefined,
      labels: f.stringMap(o.labels, [...path, 'labels'], 'labels'),
      annotations: f.stringMap(o.annotations, [...path, 'annotations']),
      taints,
      podCIDR,
      index,
    });
  });
  return out;
}
