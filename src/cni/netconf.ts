// flanneld's network configuration: the kube-flannel-cfg ConfigMap's net-conf.json (/etc/kube-flannel/net-conf.json
// in the flannel pod), read as flannel's subnet.ParseConfig reads it (Go's encoding/json: keys matched without
// regard to case; no Backend: the udp backend). kdp's flanneld takes its network and backend from the Cluster
// object (spec.podCIDR, spec.network.overlay), so a net-conf.json is checked against them: one that says
// otherwise is an error on its line, never silently overruled.
import { findNodeAtLocation, parseTree, type Node as JSONNode } from 'jsonc-parser';
import type { Cluster } from '../cluster/cluster.ts';
import { parseCIDR } from '../cluster/net.ts';
import type { ConfigMap, KubeObject } from '../cluster/objects.ts';
import type { Problem, Severity } from '../cluster/problems.ts';
import { problemInBlock } from '../cluster/topology/load.ts';
import { FLANNEL_CONFIGMAP } from './conflist.ts';
import { VXLAN_PORT } from './flannel.ts';
import { parseStrictJSON } from './json.ts';

const NET_CONF_KEY = 'net-conf.json';
const NAMESPACES = ['kube-flannel', 'kube-system'];
/** flannel's backends kdp's nodes run. */
const EMULATED = ['vxlan', 'host-gw'];

interface Finding {
  message: string;
  /** Where in the JSON: the key path of the value it is about. */
  at?: (string | number)[];
  severity?: Severity;
}

/** A key of a JSON object as encoding/json finds it: exact, else the first that matches without case. */
function field(o: Record<string, unknown>, name: string): { key: string; value: unknown } | undefined {
  if (name in o) return { key: name, value: o[name] };
  const key = Object.keys(o).find((k) => k.toLowerCase() === name.toLowerCase());
  return key === undefined ? undefined : { key, value: o[key] };
}

/** What is wrong with a net-conf.json's text for the cluster, each with where in the text it is. */
export function netConfFindings(text: string, cluster: Pick<Cluster, 'config'>): Finding[] | { syntax: string; line: number } {
  const parsed = parseStrictJSON(text);
  if ('error' in parsed) return { syntax: `failed to parse net config: ${parsed.error}`, line: parsed.line };
  const raw = parsed.value;
  if (typeof raw !== 'object' || raw === null || Array.isArray(raw)) return [{ message: 'failed to parse net config: not a JSON object' }];
  const o = raw as Record<string, unknown>;
  const out: Finding[] = [];
  const c = cluster.config;
  const families = [
    { family: 'IPv4', enable: field(o, 'EnableIPv4'), network: field(o, 'Network'), enabledByDefault: true, name: 'Network' },
    { family: 'IPv6', enable: field(o, 'EnableIPv6'), network: field(o, 'IPv6Network'), enabledByDefault: false, name: 'IPv6Network' },
  ] as const;
  for (const f of families) {
    const enabled = f.enable === undefined ? f.enabledByDefault : f.enable.value === true;
    const podCIDR = c.podCIDRs.find((x) => x.family === f.family);
    if (!enabled) {
      if (podCIDR) out.push({ message: `the Cluster's pod CIDR ${podCIDR.text} is ${f.family}, but flannel's ${f.family} is off here (${f.family === 'IPv4' ? 'EnableIPv4' : 'EnableIPv6'}): kdp's pods get ${f.family} addresses all the same`, at: f.enable ? [f.enable.key] : [], severity: 'warning' });
      continue;
    }
    if (f.network === undefined || typeof f.network.value !== 'string') {
      out.push({ message: `please define a correct ${f.name} parameter in the flannel config`, at: f.network ? [f.network.key] : [] });
      continue;
    }
    const net = parseCIDR(f.network.value, false);
    if ('error' in net || net.family !== f.family) {
      out.push({ message: `${f.name} "${f.network.value}" is not an ${f.family} CIDR`, at: [f.network.key] });
      continue;
    }
    // kdp's node leases are cut from the Cluster's pod CIDR: a flannel network elsewhere would hold none of them.
    if (!podCIDR || podCIDR.text !== net.text) {
      out.push({ message: `${f.name} ${net.text} is not the Cluster's pod CIDR (${podCIDR ? podCIDR.text : `none of ${f.family}`}): set them alike (the Cluster's spec.podCIDR is what kdp's nodes lease from)`, at: [f.network.key] });
    }
  }
  const backend = field(o, 'Backend');
  const b = backend && typeof backend.value === 'object' && backend.value !== null && !Array.isArray(backend.value) ? (backend.value as Record<string, unknown>) : undefined;
  const type = b ? field(b, 'Type') : undefined;
  const name = backend === undefined ? 'udp' : typeof type?.value === 'string' ? type.value : undefined;
  const at = backend === undefined ? [] : type ? [backend.key, type.key] : [backend.key];
  if (name === undefined) out.push({ message: 'error decoding Backend property of config: want an object with a string Type', at });
  else if (!EMULATED.includes(name)) {
    out.push({ message: `Backend.Type "${name}"${backend === undefined ? ' (flannel\'s default when Backend is not given)' : ''} is not emulated: kdp's flanneld runs ${EMULATED.join(' and ')}`, at });
  } else if (name !== c.overlay) {
    out.push({ message: `Backend.Type "${name}" is not the Cluster's overlay "${c.overlay}": set spec.network.overlay: ${name} in the Cluster object (what kdp's nodes are wired by)`, at });
  } else if (name === 'vxlan' && b) {
    // What kdp's vxlan device is: flannel.1, VNI 1, the kernel's UDP port 8472, one route per peer through it.
    const vni = field(b, 'VNI');
    if (vni !== undefined && vni.value !== 1) out.push({ message: `VNI ${JSON.stringify(vni.value)} is not emulated: kdp's vxlan device is flannel.1 (VNI 1)`, at: [backend!.key, vni.key] });
    const port = field(b, 'Port');
    if (port !== undefined && port.value !== 0 && port.value !== VXLAN_PORT) out.push({ message: `Port ${JSON.stringify(port.value)} is not emulated: kdp's vxlan uses UDP ${VXLAN_PORT}, the kernel's default`, at: [backend!.key, port.key] });
    const direct = field(b, 'DirectRouting');
    if (direct !== undefined && direct.value === true) out.push({ message: 'DirectRouting is not emulated: every peer is reached through flannel.1', at: [backend!.key, direct.key] });
  }
  const nft = field(o, 'EnableNFTables');
  if (nft?.value === true) out.push({ message: 'EnableNFTables: kdp\'s flanneld writes its masquerade rules with iptables (FLANNEL-POSTRTG), as without it', at: [nft.key], severity: 'warning' });
  return out;
}

/** 1-based line in `text` of the value at `path`, when there is one. */
function lineOf(text: string, root: JSONNode | undefined, path: (string | number)[] | undefined): number | undefined {
  if (!root || !path?.length) return undefined;
  const node = findNodeAtLocation(root, path);
  return node ? text.slice(0, node.offset).split('\n').length : undefined;
}

/** The problems of the cluster's net-conf.json (none without one), on the ConfigMap's lines in the topology file. */
export function netConfProblems(cluster: Cluster): Problem[] {
  for (const ns of NAMESPACES) {
    const cm = cluster.store.get<ConfigMap & KubeObject>('ConfigMap', ns, FLANNEL_CONFIGMAP);
    const text = cm?.data?.[NET_CONF_KEY];
    if (text === undefined) continue;
    const object = `ConfigMap ${ns}/${FLANNEL_CONFIGMAP}`;
    const origin = cluster.origins.get('ConfigMap', ns, FLANNEL_CONFIGMAP);
    const found = netConfFindings(text, cluster);
    if (!Array.isArray(found)) return [problemInBlock(origin, object, ['data', NET_CONF_KEY], found.line, found.syntax)];
    const root = parseTree(text);
    return found.map((f) => problemInBlock(origin, object, ['data', NET_CONF_KEY], lineOf(text, root, f.at), f.message, f.severity));
  }
  return [];
}
