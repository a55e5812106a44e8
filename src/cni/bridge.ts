// The bridge plugin (containernetworking/plugins plugins/main/bridge): a Linux bridge (cni0) on the host, a
// veth pair per pod (host end veth<8 hex> enslaved to the bridge, pod end eth0), the IPAM result on eth0, the
// gateway address on the bridge when isGateway, and the pod's routes.
import { fnv32a } from '../cluster/names.ts';
import { parseIP } from '../cluster/net.ts';
import { macFor } from '../netns/mac.ts';
import { networkOf, type Netns } from '../netns/netns.ts';
import type { Device } from '../netns/types.ts';
import { hostLocalAdd } from './hostlocal.ts';
import { CniError, type Invocation, type PluginConf, type Result } from './types.ts';

export interface BridgeConf extends PluginConf {
  type: 'bridge';
  bridge?: string;
  isGateway?: boolean;
  isDefaultGateway?: boolean;
  ipMasq?: boolean;
  hairpinMode?: boolean;
  promiscMode?: boolean;
  mtu?: number;
  ipam: PluginConf;
}

/** RandomVethName: "veth" and four random bytes in hex; derived from the container here. */
export function hostVethName(containerId: string, ifName: string): string {
  return `veth${fnv32a(`${containerId}/${ifName}`).toString(16).padStart(8, '0')}`;
}

/** Where the container's end of the pair goes: its namespace's name and the ifindex it gets there. */
export interface ContainerLink {
  netns: string;
  index: number;
}

/** One end of a veth pair as the other end knows it. */
export type VethEnd = NonNullable<Device['peer']>;

/**
 * ADD: the host's side (cni0, the host end of the veth pair enslaved to it, the gateway address) and the
 * Result; then the container's side in its namespace (bridgeAddContainer), as the plugin does inside netns.Do.
 */
export function bridgeAdd(conf: BridgeConf, inv: Invocation, host: Netns, pod: Netns, cniVersion: string): Result {
  if (pod.device(inv.ifName)) throw new CniError(100, `container veth name provided (${inv.ifName}) already exists`);
  const index = pod.nextIfindex;
  const { result, hostEnd } = bridgeAddHost(conf, inv, host, { netns: pod.name, index }, cniVersion);
  bridgeAddContainer(conf, inv.ifName, pod, index, result, hostEnd);
  return result;
}

/**
 * The host's half of ADD, for a container namespace that need not exist yet (kubelet sets a sandbox up when
 * it is first used): everything the host holds, and the Result bridgeAddContainer later completes it from.
 */
export function bridgeAddHost(conf: BridgeConf, inv: Invocation, host: Netns, pod: ContainerLink, cniVersion: string): { result: Result; hostEnd: VethEnd } {
  if (conf.hairpinMode && conf.promiscMode) throw new CniError(7, 'cannot set hairpin mode and promiscuous mode at the same time');
  const brName = conf.bridge ?? 'cni0';
  const mtu = conf.mtu ?? 1500;
  if (conf.ipam?.type !== 'host-local') throw new CniError(7, `unsupported IPAM plugin "${String(conf.ipam?.type)}" (kdp emulates host-local)`);
  const ipam = hostLocalAdd(conf, inv, cniVersion);

  let br = host.device(brName);
  if (!br) {
    br = host.addDevice({ name: brName, kind: 'bridge', mtu, mac: macFor(`${host.name}/${brName}`), up: false });
    host.setUp(brName);
  }
  const vethName = hostVethName(inv.containerId, inv.ifName);
  const hostEnd = host.addDevice({
    name: vethName, kind: 'veth', mtu, mac: macFor(`${host.name}/${vethName}`), up: false, master: brName, hairpin: !!conf.hairpinMode,
  });
  hostEnd.peer = { netns: pod.netns, index: pod.index, name: inv.ifName };
  host.setUp(vethName);
  // The bridge learns each port's own address; `bridge fdb` lists it as permanent on the port.
  host.addFdb({ mac: hostEnd.mac, dev: vethName, master: brName, permanent: true });
  for (const ip of ipam.ips ?? []) {
    const gw = ip.gateway;
    if (gw && (conf.isGateway || conf.isDefaultGateway) && !host.addressesOf(brName).some((a) => a.ip === gw)) {
      host.addAddress(brName, gw, Number(ip.address.slice(ip.address.indexOf('/') + 1)));
    }
  }
  if (conf.isGateway || conf.isDefaultGateway) host.sysctls.ipForward = true;

  const gateway = ipam.ips?.[0]?.gateway;
  const result: Result = {
    cniVersion,
    interfaces: [
      { name: brName, mac: br.mac },
      { name: vethName, mac: hostEnd.mac },
      { name: inv.ifName, mac: macFor(`${pod.netns}/${inv.ifName}`), sandbox: inv.netnsPath },
    ],
    // Object.assign, not a key-adding spread (a slow path in V8): every pod's ADD returns one.
    ips: (ipam.ips ?? []).map((ip) => Object.assign({}, ip, { interface: 2 })),
    // isDefaultGateway: a default route through the gateway joins the result (bridge.go), unless IPAM gave one.
    routes: conf.isDefaultGateway && gateway && !(ipam.routes ?? []).some((r) => r.dst === '0.0.0.0/0' && r.gw)
      ? [...(ipam.routes ?? []), { dst: '0.0.0.0/0', gw: gateway }]
      : ipam.routes,
    dns: {},
  };
  return { result, hostEnd: { netns: host.name, index: hostEnd.index, name: vethName } };
}

/**
 * The container's half of ADD, inside its namespace: the other end of the pair as ifName (the ifindex and MAC
 * the host half gave it), then the Result's addresses and routes (ipam.ConfigureIface), the default route
 * through the gateway among them when isDefaultGateway.
 */
export function bridgeAddContainer(conf: BridgeConf, ifName: string, pod: Netns, index: number, result: Result, hostEnd: VethEnd): void {
  if (pod.nextIfindex !== index) throw new Error(`${pod.name}: ${ifName} would get ifindex ${pod.nextIfindex}, its host end says ${index}`);
  const podEnd = pod.addDevice({ name: ifName, kind: 'veth', mtu: conf.mtu ?? 1500, mac: result.interfaces![2].mac, up: false });
  podEnd.peer = hostEnd;
  pod.setUp(ifName);
  for (const ip of result.ips ?? []) {
    const slash = ip.address.indexOf('/');
    pod.addAddress(ifName, ip.address.slice(0, slash), Number(ip.address.slice(slash + 1)));
  }
  const gateway = result.ips?.[0]?.gateway;
  // The default route (isDefaultGateway's, in the Result) first, as the plugin sets it up before the others.
  const isDefault = (r: { dst: string; gw?: string }) => r.dst === '0.0.0.0/0' && !!r.gw;
  const dflt = result.routes?.find(isDefault);
  if (dflt) pod.addRoute({ via: dflt.gw, dev: ifName });
  for (const r of result.routes ?? []) {
    const p = r.dst.split('/');
    if (isDefault(r) || !parseIP(p[0])) continue;
    pod.addRoute({ dst: networkOf(p[0], Number(p[1])), via: r.gw ?? gateway, dev: ifName });
  }
}

export function bridgeDel(inv: Invocation, host: Netns, pod: Netns | undefined): void {
  // DEL is idempotent: what is already gone is not an error.
  const vethName = hostVethName(inv.containerId, inv.ifName);
  if (host.device(vethName)) host.removeDevice(vethName);
  if (pod?.device(inv.ifName)) pod.removeDevice(inv.ifName);
}

/** CHECK: the interfaces and addresses of a previous result are still there. */
export function bridgeCheck(conf: BridgeConf, inv: Invocation, host: Netns, pod: Netns, prev: Result): void {
  const brName = conf.bridge ?? 'cni0';
  if (!host.device(brName)) throw new CniError(100, `bridge ${brName} is missing`);
  const vethName = hostVethName(inv.containerId, inv.ifName);
  if (host.device(vethName)?.master !== brName) throw new CniError(100, `${vethName} is not a port of ${brName}`);
  for (const ip of prev.ips ?? []) {
    const [addr] = ip.address.split('/');
    if (!pod.addressesOf(inv.ifName).some((a) => a.ip === addr)) throw new CniError(100, `${inv.ifName} lacks ${ip.address}`);
  }
}
