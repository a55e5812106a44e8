// The runtime's side of CNI (containernetworking/cni libcni/api.go, as containerd and cnitool use it): a network
// configuration list run plugin by plugin — ADD in list order, each plugin handed the previous one's result,
// the last result cached per (network, container, interface); CHECK in list order against that cached result
// (spec 0.4.0 and later, unless disableCheck); DEL in reverse order with the cached result as prevResult
// (0.4.0 and later). Each plugin gets its own request configuration: the list's name and cniVersion injected,
// prevResult, and a runtimeConfig holding only the capability arguments the plugin declares.
import type { Netns } from '../netns/netns.ts';
import { bridgeAdd, bridgeCheck, bridgeDel, type BridgeConf } from './bridge.ts';
import { delegateProblems, flannelDelegate, type SubnetEnv } from './flannel.ts';
import { portmapAdd, portmapDel, portmapOptions, type PortMapEntry } from './portmap.ts';
import { CniError, type Invocation, type NetworkConfigList, type PluginConf, type Result } from './types.ts';

/** RuntimeConf: one attachment's CNI_* arguments and the runtime's capability arguments. */
export interface RuntimeConf {
  containerId: string;
  /** CNI_NETNS */
  netnsPath: string;
  ifName: string;
  /** CNI_ARGS as pairs (IP=10.244.1.5 → ['IP', '10.244.1.5']). */
  args: [string, string][];
  /** e.g. {portMappings: [...]}; a plugin sees the keys its `capabilities` enable. */
  capabilityArgs: Record<string, unknown>;
}

/** What a node keeps on disk for CNI: /var/lib/cni/results (libcni's cache) and /var/lib/cni/flannel (flannel's scratch). */
export interface NodeCniState {
  results: Map<string, Result>;
  flannelScratch: Map<string, PluginConf>;
}

export const newNodeCniState = (): NodeCniState => ({ results: new Map(), flannelScratch: new Map() });

/** The node a plugin runs on: its host namespace, the container's, and what flanneld wrote there. */
export interface PluginEnv {
  host: Netns;
  /** The container's namespace (undefined on a DEL after it is gone). */
  pod: Netns | undefined;
  /** /run/flannel/subnet.env; undefined while flanneld has not written it (the node has no pod CIDR). */
  subnetEnv: SubnetEnv | undefined;
  state: NodeCniState;
  /** /opt/cni/bin: the plugins that exist (default PLUGINS). */
  plugins?: Record<string, Plugin>;
}

/** A request configuration: the plugin's conf with what the runtime injected. */
export type RequestConf = PluginConf & { name: string; cniVersion: string; prevResult?: Result; runtimeConfig?: Record<string, unknown> };

export interface Plugin {
  add(conf: RequestConf, rt: RuntimeConf, env: PluginEnv): Result;
  check(conf: RequestConf, rt: RuntimeConf, env: PluginEnv): void;
  del(conf: RequestConf, rt: RuntimeConf, env: PluginEnv): void;
}

const invocation = (rt: RuntimeConf): Invocation => ({
  containerId: rt.containerId, netnsPath: rt.netnsPath, ifName: rt.ifName, args: Object.fromEntries(rt.args),
});

const needPod = (env: PluginEnv, rt: RuntimeConf): Netns => {
  if (!env.pod) throw new CniError(4, `failed to open netns "${rt.netnsPath}": no such file or directory`);
  return env.pod;
};

const bridge: Plugin = {
  add: (conf, rt, env) => bridgeAdd(conf as unknown as BridgeConf, invocation(rt), env.host, needPod(env, rt), conf.cniVersion),
  check: (conf, rt, env) => bridgeCheck(conf as unknown as BridgeConf, invocation(rt), env.host, needPod(env, rt), conf.prevResult ?? { cniVersion: conf.cniVersion }),
  del: (_conf, rt, env) => bridgeDel(invocation(rt), env.host, env.pod),
};

/** flannel-io/cni-plugin: the delegate built from subnet.env (flannel_linux.go doCmdAdd), saved for DEL, run. */
const flannel: Plugin = {
  add(conf, rt, env) {
    const [refused] = delegateProblems(conf.delegate as Record<string, unknown> | undefined);
    if (refused) throw new CniError(100, refused);
    const subnetFile = typeof conf.subnetFile === 'string' ? conf.subnetFile : '/run/flannel/subnet.env';
    if (!env.subnetEnv) throw new CniError(100, `open ${subnetFile}: no such file or directory`);
    const d: PluginConf = flannelDelegate({ name: conf.name, cniVersion: conf.cniVersion, plugins: [conf] }, env.subnetEnv);
    if (conf.runtimeConfig) d.runtimeConfig = conf.runtimeConfig;
    env.state.flannelScratch.set(rt.containerId, d);
    const plugin = (env.plugins ?? PLUGINS)[d.type];
    if (!plugin || d.type === 'flannel') throw new CniError(100, `failed to delegate add: failed to find plugin "${d.type}" in path [/opt/cni/bin]`);
    return plugin.add(d as RequestConf, rt, env);
  },
  // Upstream's cmdCheck is a TODO that returns nil.
  check() {},
  del(_conf, rt, env) {
    const d = env.state.flannelScratch.get(rt.containerId);
    // Per spec a DEL of what is already gone succeeds.
    if (!d) return;
    (env.plugins ?? PLUGINS)[d.type]?.del(d as RequestConf, rt, env);
    env.state.flannelScratch.delete(rt.containerId);
  },
};

/** The container addresses portmap forwards to: the first IPv4 and IPv6 of a sandbox interface in prevResult. */
function containerNets(prev: Result): string[] {
  const out: string[] = [];
  for (const family of [false, true]) {
    const ip = (prev.ips ?? []).find((x) => x.address.includes(':') === family && (x.interface === undefined || prev.interfaces?.[x.interface]?.sandbox));
    if (ip) out.push(ip.address);
  }
  return out;
}

/** plugins/meta/portmap: chained after the main plugin; hostPorts from the portMappings capability. */
const portmap: Plugin = {
  add(conf, rt, env) {
    if (!conf.prevResult) throw new CniError(100, 'must be called as chained plugin');
    const mappings = (conf.runtimeConfig?.portMappings ?? []) as PortMapEntry[];
    if (mappings.length > 0) for (const net of containerNets(conf.prevResult)) portmapAdd(env.host, conf.name, rt.containerId, net, mappings, portmapOptions(conf));
    return conf.prevResult;
  },
  check(conf) {
    if (!conf.prevResult) throw new CniError(100, 'must be called as chained plugin');
  },
  del: (conf, rt, env) => portmapDel(env.host, conf.name, rt.containerId),
};

/** plugins/main/loopback: lo up in the container; a chained loopback passes prevResult through. */
const loopback: Plugin = {
  add(conf, rt, env) {
    const pod = needPod(env, rt);
    pod.setUp('lo');
    if (conf.prevResult) return conf.prevResult;
    return {
      cniVersion: conf.cniVersion,
      interfaces: [{ name: rt.ifName, mac: '00:00:00:00:00:00', sandbox: rt.netnsPath }],
      ips: pod.addressesOf('lo').map((a) => ({ interface: 0, address: `${a.ip}/${a.prefix}` })),
    };
  },
  check(_conf, rt, env) {
    if (!needPod(env, rt).device('lo')?.up) throw new CniError(100, 'lo is down');
  },
  del(_conf, _rt, env) {
    const lo = env.pod?.device('lo');
    if (lo) lo.up = false;
  },
};

/** The plugins kdp's nodes have in /opt/cni/bin. */
export const PLUGINS: Record<string, Plugin> = { bridge, flannel, portmap, loopback };

/** version.GreaterThanOrEqualTo for the spec's dotted versions. */
export function versionAtLeast(v: string, min: string): boolean {
  const a = v.split('.').map(Number);
  const b = min.split('.').map(Number);
  if (a.length !== 3 || a.some((n) => !Number.isInteger(n) || n < 0)) throw new CniError(1, `invalid version "${v}": the version is empty or has too many parts`);
  for (let i = 0; i < 3; i++) if (a[i] !== b[i]) return a[i] > b[i];
  return true;
}

/** pluginDescription: how libcni names a plugin in its errors. */
const describe = (p: PluginConf) => `type="${p.type}"${typeof p.name === 'string' && p.name ? ` name="${p.name}"` : ''}`;

function findPlugin(type: string, env: PluginEnv): Plugin {
  const plugin = (env.plugins ?? PLUGINS)[type];
  if (!plugin) throw new CniError(100, `failed to find plugin "${type}" in path [/opt/cni/bin]`);
  return plugin;
}

function buildOneConfig(list: NetworkConfigList, plugin: PluginConf, prevResult: Result | undefined, rt: RuntimeConf): RequestConf {
  const conf: RequestConf = { ...plugin, name: list.name, cniVersion: list.cniVersion };
  if (prevResult) conf.prevResult = prevResult;
  const caps = (plugin.capabilities ?? {}) as Record<string, boolean>;
  const rc: Record<string, unknown> = {};
  for (const [cap, supported] of Object.entries(caps)) if (supported && cap in rt.capabilityArgs) rc[cap] = rt.capabilityArgs[cap];
  if (Object.keys(rc).length > 0) conf.runtimeConfig = rc;
  return conf;
}

/** libcni's cache file name: results/<network>-<container id>-<ifname>. */
const cacheKey = (list: NetworkConfigList, rt: Pick<RuntimeConf, 'containerId' | 'ifName'>) => `${list.name}-${rt.containerId}-${rt.ifName}`;

/** What a failing plugin's error reads like once libcni wrapped it. */
function wrap(e: unknown, plugin: PluginConf, verb: 'add' | 'delete'): never {
  if (e instanceof CniError) throw new CniError(e.code, `plugin ${describe(plugin)} failed (${verb}): ${e.message}`, e.details);
  throw e;
}

export function addNetworkList(list: NetworkConfigList, rt: RuntimeConf, env: PluginEnv): Result {
  let result: Result | undefined;
  for (const plugin of list.plugins) {
    try {
      result = findPlugin(plugin.type, env).add(buildOneConfig(list, plugin, result, rt), rt, env);
    } catch (e) {
      wrap(e, plugin, 'add');
    }
  }
  if (!result) throw new CniError(7, `no plugins in network configuration list "${list.name}"`);
  env.state.results.set(cacheKey(list, rt), result);
  return result;
}

export function checkNetworkList(list: NetworkConfigList & { disableCheck?: boolean }, rt: RuntimeConf, env: PluginEnv): void {
  if (!versionAtLeast(list.cniVersion, '0.4.0')) throw new CniError(2, `configuration version "${list.cniVersion}" does not support the CHECK command`);
  if (list.disableCheck) return;
  const cached = env.state.results.get(cacheKey(list, rt));
  for (const plugin of list.plugins) findPlugin(plugin.type, env).check(buildOneConfig(list, plugin, cached, rt), rt, env);
}

export function delNetworkList(list: NetworkConfigList, rt: RuntimeConf, env: PluginEnv): void {
  const cached = versionAtLeast(list.cniVersion, '0.4.0') ? env.state.results.get(cacheKey(list, rt)) : undefined;
  for (let i = list.plugins.length - 1; i >= 0; i--) {
    const plugin = list.plugins[i];
    try {
      findPlugin(plugin.type, env).del(buildOneConfig(list, plugin, cached, rt), rt, env);
    } catch (e) {
      wrap(e, plugin, 'delete');
    }
  }
  env.state.results.delete(cacheKey(list, rt));
}

/** The cached result of an attachment (GetNetworkListCachedResult). */
export const cachedResult = (list: NetworkConfigList, rt: RuntimeConf, env: PluginEnv): Result | undefined => env.state.results.get(cacheKey(list, rt));

/** An attachment made outside this runner (kubelet's pods) written into a node's cache, as cacheAdd would have. */
export function cacheAttachment(state: NodeCniState, list: NetworkConfigList, rt: Pick<RuntimeConf, 'containerId' | 'ifName'>, result: Result): void {
  state.results.set(cacheKey(list, rt), result);
}

/**
 * A Result as a plugin prints it for a configuration version (types.PrintResult): Go's field order, 4-space
 * indentation, and before 1.0.0 each IP's "version".
 */
export function printResult(r: Result, cniVersion: string): string {
  const v1 = versionAtLeast(cniVersion, '1.0.0');
  const out: Record<string, unknown> = { cniVersion };
  if (r.interfaces?.length) {
    out.interfaces = r.interfaces.map((i) => ({ name: i.name, ...(i.mac ? { mac: i.mac } : {}), ...(v1 && i.mtu ? { mtu: i.mtu } : {}), ...(i.sandbox ? { sandbox: i.sandbox } : {}) }));
  }
  if (r.ips?.length) {
    out.ips = r.ips.map((ip) => ({
      ...(v1 ? {} : { version: ip.address.includes(':') ? '6' : '4' }),
      ...(ip.interface !== undefined ? { interface: ip.interface } : {}),
      address: ip.address,
      ...(ip.gateway ? { gateway: ip.gateway } : {}),
    }));
  }
  if (r.routes?.length) out.routes = r.routes.map((x) => ({ dst: x.dst, ...(x.gw ? { gw: x.gw } : {}) }));
  const dns = r.dns ?? {};
  out.dns = {
    ...(dns.nameservers?.length ? { nameservers: dns.nameservers } : {}),
    ...(dns.domain ? { domain: dns.domain } : {}),
    ...(dns.search?.length ? { search: dns.search } : {}),
    ...(dns.options?.length ? { options: dns.options } : {}),
  };
  return JSON.stringify(out, null, 4);
}
