// The bridge plugin (containernetworking/plugins plugins/main/bridge): a Linux bridge (cni0) on the host, a
// veth pair per pod (host end veth<8 hex> enslaved to the bridge, pod end eth0), the IPAM result on eth0, the
// gateway address on the bridge when isGateway, and the pod's routes.
import { fnv32a } from '../cluster/names.ts';
import { parseIP } from '../cluster/net.ts';
import { macFor } from '../netns/mac.ts';
import { networkOf, type Netns } from '../netns/netns.ts';
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

export function bridgeAdd(conf: BridgeConf, inv: Invocation, host: Netns, pod: Netns, cniVersion: string): Result {
  if (conf.hairpinMode && conf.promiscMode) throw new CniError(7, 'cannot set hairpin mode and promiscuous mode at the same time');
  const brName = conf.bridge ?? 'cni0';
  const mtu = conf.mtu ?? 1500;
  if (pod.device(inv.ifName)) throw new CniError(100, `container veth name provided (${inv.ifName}) already exists`);
  if (conf.ipam?.type !== 'host-local') throw new CniError(7, `unsupported IPAM plugin "${String(conf.ipam?.type)}" (kdp emulates host-local)`);
  const ipam = hostLocalAdd(conf, inv, cniVersion);

  let br = host.device(brName);
  if (!br) {
    br = host.addDevice({ name: brName, kind: 'bridge', mtu, mac: macFor(`${host.name}/${brName}`), up: false });
    host.setUp(brName);
  }
  const vethName = hostVethName(inv.containerId, inv.ifName);
  const hostEnd = host.addDevice({ name: vethName, kind: 'veth', mtu, mac: macFor(`${host.name}/${vethName}`), up: false, master: brName, hairpin: !!conf.hairpinMode });
  const podEnd = pod.addDevice({ name: inv.ifName, kind: 'veth', mtu, mac: macFor(`${pod.name}/${inv.ifName}`), up: false });
  hostEnd.peer = { netns: pod.name, index: podEnd.index, name: podEnd.name };
  podEnd.peer = { netns: host.name, index: hostEnd.index, name: hostEnd.name };
  host.setUp(vethName);
  pod.setUp(inv.ifName);
  // The bridge learns each port's own address; `bridge fdb` lists it as permanent on the port.
  host.addFdb({ mac: hostEnd.mac, dev: vethName, master: brName, permanent: true });

  for (const ip of ipam.ips ?? []) {
    const [addr, prefix] = ip.address.split('/');
    pod.addAddress(inv.ifName, addr, Number(prefix));
    const gw = ip.gateway;
    if (gw && (conf.isGateway || conf.isDefaultGateway) && !host.addressesOf(brName).some((a) => a.ip === gw)) {
      host.addAddress(brName, gw, Number(prefix));
    }
  }
  const gateway = ipam.ips?.[0]?.gateway;
  if (conf.isDefaultGateway && gateway) pod.addRoute({ via: gateway, dev: inv.ifName });
  for (const r of ipam.routes ?? []) {
    const p = r.dst.split('/');
    if (!parseIP(p[0])) continue;
    pod.addRoute({ dst: networkOf(p[0], Number(p[1])), via: r.gw ?? gateway, dev: inv.ifName });
  }
  if (conf.isGateway || conf.isDefaultGateway) host.sysctls.ipForward = true;

  return {
    cniVersion,
    interfaces: [
      { name: brName, mac: br.mac },
      { name: vethName, mac: hostEnd.mac },
      { name: inv.ifName, mac: podEnd.mac, sandbox: inv.netnsPath },
    ],
    // Object.assign, not a key-adding spread (a slow path in V8): every pod's ADD returns one.
    ips: (ipam.ips ?? []).map((ip) => Object.assign({}, ip, { interface: 2 })),
    // isDefaultGateway: a default route through the gateway joins the result (bridge.go), unless IPAM gave one.
    routes: conf.isDefaultGateway && gateway && !(ipam.routes ?? []).some((r) => r.dst === '0.0.0.0/0' && r.gw)
      ? [...(ipam.routes ?? []), { dst: '0.0.0.0/0', gw: gateway }]
      : ipam.routes,
    dns: {},
  };
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
