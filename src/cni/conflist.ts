// The CNI network configuration list every node's runtime reads (/etc/cni/net.d/10-flannel.conflist). As
// kube-flannel.yml installs it, it comes from the kube-flannel-cfg ConfigMap's cni-conf.json (namespace
// kube-flannel; kube-system in older manifests); without one, the manifest's default. Parsed and checked as
// libcni's ConfListFromBytes does, with every problem placed on the ConfigMap's line in the topology file.
import type { Cluster } from '../cluster/cluster.ts';
import type { ConfigMap, KubeObject } from '../cluster/objects.ts';
import type { Problem } from '../cluster/problems.ts';
import { problemInBlock } from '../cluster/topology/load.ts';
import { delegateProblems, FLANNEL_CONFLIST } from './flannel.ts';
import { parseStrictJSON } from './json.ts';
import { PLUGINS } from './libcni.ts';
import type { NetworkConfigList, PluginConf } from './types.ts';

export const FLANNEL_CONFIGMAP = 'kube-flannel-cfg';
export const CNI_CONF_KEY = 'cni-conf.json';
const NAMESPACES = ['kube-flannel', 'kube-system'];
const VERSIONS = ['0.1.0', '0.2.0', '0.3.0', '0.3.1', '0.4.0', '1.0.0', '1.1.0'];

export interface Conflist {
  list: NetworkConfigList & { disableCheck?: boolean };
  /** Where it came from, for people: "ConfigMap kube-flannel/kube-flannel-cfg data.cni-conf.json". */
  source: string;
  problems: Problem[];
}

/** What is wrong with a conflist's text, and the 1-based line of the text it is on where known. */
export function parseConflist(text: string): { list?: NetworkConfigList & { disableCheck?: boolean }; errors: { message: string; line?: number }[] } {
  const parsed = parseStrictJSON(text);
  if ('error' in parsed) return { errors: [{ message: `error parsing configuration list: ${parsed.error}`, line: parsed.line }] };
  const raw = parsed.value;
  const fail = (message: string) => ({ errors: [{ message: `error parsing configuration list: ${message}` }] });
  if (typeof raw !== 'object' || raw === null || Array.isArray(raw)) return fail('not a JSON object');
  const o = raw as Record<string, unknown>;
  if (!('name' in o)) return fail('no name');
  if (typeof o.name !== 'string') return fail(`invalid name type ${typeof o.name}`);
  if (!/^[a-zA-Z0-9][a-zA-Z0-9_.-]*$/.test(o.name)) return fail(`invalid characters found in network name "${o.name}"`);
  const version = o.cniVersion ?? '0.1.0';
  if (typeof version !== 'string') return fail(`invalid cniVersion type ${typeof version}`);
  if (!VERSIONS.includes(version)) return fail(`cniVersion "${version}" is not a CNI specification version (${VERSIONS.join(', ')})`);
  if ('disableCheck' in o && typeof o.disableCheck !== 'boolean') return fail(`invalid disableCheck value ${JSON.stringify(o.disableCheck)}`);
  if (!('plugins' in o)) return fail("no 'plugins' key");
  if (!Array.isArray(o.plugins)) return fail(`invalid 'plugins' type ${typeof o.plugins}`);
  if (o.plugins.length === 0) return fail('no plugins in list');
  const errors: { message: string }[] = [];
  o.plugins.forEach((p: unknown, i) => {
    if (typeof p !== 'object' || p === null || typeof (p as PluginConf).type !== 'string') {
      errors.push({ message: `failed to parse plugin config ${i}: error parsing configuration: missing 'type'` });
    } else if (!PLUGINS[(p as PluginConf).type]) {
      // What every pod's ADD would fail with on a node: the runtime finds no such binary.
      errors.push({ message: `plugins[${i}]: failed to find plugin "${(p as PluginConf).type}" in path [/opt/cni/bin] (kdp's nodes have ${Object.keys(PLUGINS).sort().join(', ')})` });
    }
  });
  if (errors.length) return { errors };
  return { list: { ...(o as object), name: o.name, cniVersion: version, plugins: o.plugins as PluginConf[] }, errors: [] };
}

/** The conflist of the cluster's nodes: the kube-flannel-cfg ConfigMap's, else kube-flannel.yml's default. */
export function clusterConflist(cluster: Cluster): Conflist {
  for (const ns of NAMESPACES) {
    const cm = cluster.store.get<ConfigMap & KubeObject>('ConfigMap', ns, FLANNEL_CONFIGMAP);
    const text = cm?.data?.[CNI_CONF_KEY];
    if (text === undefined) continue;
    const object = `ConfigMap ${ns}/${FLANNEL_CONFIGMAP}`;
    const { list, errors } = parseConflist(text);
    // The pod network is flannel's: a chain that wires pods otherwise is beyond what kdp's nodes run.
    list?.plugins.forEach((p, i) => {
      if ((i === 0) !== (p.type === 'flannel') || p.type === 'bridge') {
        errors.push({ message: `plugins[${i}]: kdp wires pods as flannel's conflist does — flannel first (delegating to bridge), then portmap or loopback; got "${p.type}" here` });
      }
      const d = p.type === 'flannel' ? (p.delegate as Record<string, unknown> | undefined) : undefined;
      // What flannel's ADD refuses, and delegates other than the bridge kdp has.
      for (const m of delegateProblems(d)) errors.push({ message: `plugins[${i}].delegate: ${m}` });
      if (d && typeof d.type === 'string' && d.type !== 'bridge') errors.push({ message: `plugins[${i}].delegate.type: failed to find plugin "${d.type}" in path [/opt/cni/bin] (flannel delegates to bridge on kdp's nodes)` });
    });
    const origin = cluster.origins.get('ConfigMap', ns, FLANNEL_CONFIGMAP);
    const problems = errors.map((e) => problemInBlock(origin, object, ['data', CNI_CONF_KEY], e.line, e.message));
    return { list: list && errors.length === 0 ? list : FLANNEL_CONFLIST, source: `${object} data.${CNI_CONF_KEY}`, problems };
  }
  return { list: FLANNEL_CONFLIST, source: "kube-flannel.yml's 10-flannel.conflist", problems: [] };
}
