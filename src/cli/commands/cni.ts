// kdp cni: what cnitool does on a node — run the node's CNI network configuration list (ADD, CHECK or DEL)
// for a network namespace and print the Result JSON a runtime gets. The namespace is one of the node's pod
// sandboxes (then the attachment is the one kubelet made: its container id and cached result), or a new one,
// as `ip netns add` would make it.
import { createHash } from 'node:crypto';
import type { Cluster } from '../../cluster/cluster.ts';
import { TopologyError } from '../../cluster/problems.ts';
import { clusterConflist } from '../../cni/conflist.ts';
import { addNetworkList, checkNetworkList, delNetworkList, printResult, type RuntimeConf } from '../../cni/libcni.ts';
import { CniError } from '../../cni/types.ts';
import { ClusterNetwork } from '../../kubelet/network.ts';
import { Netns } from '../../netns/netns.ts';
import { UserError, type IO } from '../io.ts';

export interface CniOptions {
  node?: string;
  containerId?: string;
  ifname?: string;
  /** CNI_ARGS: "IP=10.244.1.50;K=V" */
  args?: string;
  /** CAP_ARGS: capability arguments as JSON, e.g. {"portMappings": [...]} */
  capArgs?: string;
}

/** cnitool's container id when CNI_CONTAINERID is unset: "cnitool-" and 20 hex digits of the netns path's SHA-512. */
export const cnitoolContainerId = (netnsPath: string) => `cnitool-${createHash('sha512').update(netnsPath).digest('hex').slice(0, 20)}`;

function parseArgs(text: string): [string, string][] {
  return text.split(';').filter(Boolean).map((kv) => {
    const i = kv.indexOf('=');
    if (i <= 0) throw new UserError(`CNI_ARGS: "${kv}" is not KEY=VALUE`);
    return [kv.slice(0, i), kv.slice(i + 1)];
  });
}

export function cni(cluster: Cluster, verb: string, network: string, netnsArg: string, o: CniOptions, io: IO): number {
  if (!['add', 'check', 'del'].includes(verb)) throw new UserError(`"${verb}": kdp cni add|check|del NETWORK NETNS`);
  const conflist = clusterConflist(cluster);
  if (conflist.problems.length) throw new TopologyError(conflist.problems);
  if (network !== conflist.list.name) throw new UserError(`failed to load netconf: no net configuration with name "${network}" (the nodes have "${conflist.list.name}", from ${conflist.source})`);
  const net = new ClusterNetwork(cluster);
  const nodes = cluster.store.list('Node').map((n) => n.metadata.name);
  const nodeName = o.node ?? (nodes.length === 1 ? nodes[0] : undefined);
  if (!nodeName) throw new UserError(`say which node runs it: --node NAME (${nodes.join(', ')})`);
  const node = net.cniNode(nodeName);
  if (!node) throw new UserError(`node "${nodeName}" not found`);

  const netnsPath = netnsArg.includes('/') ? netnsArg : `/var/run/netns/${netnsArg}`;
  const sandbox = [...net.sandboxes.values()].find((s) => s.node === nodeName && s.netnsPath === netnsPath);
  const env = process.env;
  const ifName = o.ifname ?? env.CNI_IFNAME ?? 'eth0';
  const rt: RuntimeConf = {
    containerId: o.containerId ?? env.CNI_CONTAINERID ?? sandbox?.containerId ?? cnitoolContainerId(netnsPath),
    netnsPath, ifName,
    args: parseArgs(o.args ?? env.CNI_ARGS ?? ''),
    capabilityArgs: {},
  };
  const capArgs = o.capArgs ?? env.CAP_ARGS;
  if (capArgs) {
    try {
      rt.capabilityArgs = JSON.parse(capArgs) as Record<string, unknown>;
    } catch (e) {
      throw new UserError(`CAP_ARGS: ${(e as Error).message}`);
    }
  }
  let pod = sandbox?.netns;
  if (sandbox) net.adoptAttachment(conflist.list, sandbox);
  if (!pod && verb === 'add') {
    pod = new Netns(netnsPath.slice(netnsPath.lastIndexOf('/') + 1), {}, true);
    pod.addDevice({ name: 'lo', kind: 'loopback', mtu: 65536, mac: '00:00:00:00:00:00', up: false });
    pod.addAddress('lo', '127.0.0.1', 8, 'host', false);
  }
  // host-local, as kdp runs it, is handed the address (the model's IPAM allocates pods'); a new namespace gets
  // the one the node's next pod would.
  if (verb === 'add' && !rt.args.some(([k]) => k === 'IP')) {
    const next = cluster.hostLocal.nextAddresses(nodeName);
    if (next.length === 0) throw new UserError(`no IP addresses available on node ${nodeName}`);
    rt.args.push(['IP', next.join(',')]);
  }
  const pluginEnv = { ...node, pod };
  try {
    if (verb === 'add') io.stdout(`${printResult(addNetworkList(conflist.list, rt, pluginEnv), conflist.list.cniVersion)}\n`);
    else if (verb === 'check') checkNetworkList(conflist.list, rt, pluginEnv);
    else delNetworkList(conflist.list, rt, pluginEnv);
  } catch (e) {
    if (!(e instanceof CniError)) throw e;
    io.stderr(`${e.message}${e.details ? `; ${e.details}` : ''}\n`);
    return 1;
  }
  return 0;
}
