// flannel, as kube-flannel.yml deploys it: each node's lease is its spec.podCIDR (--kube-subnet-mgr), the CNI
// config list is 10-flannel.conflist (flannel delegating to bridge, then portmap), and flanneld programs the
// overlay: vxlan (flannel.1, VNI 1, UDP 8472: one neighbour, one FDB entry and one onlink route per peer) or
// host-gw (a route via each peer's node IP). Those per-peer entries are the same on every node: they are
// kept once, in a PeerTable every node's namespace holds (src/netns/peers.ts).
import type { Cidr } from '../cluster/net.ts';
import { nthAddress } from '../cluster/net.ts';
import { macFor } from '../netns/mac.ts';
import { makeRoute, type Netns } from '../netns/netns.ts';
import type { PeerEntries, PeerTable } from '../netns/peers.ts';
import type { BridgeConf } from './bridge.ts';
import type { NetworkConfigList } from './types.ts';

export const VXLAN_DEVICE = 'flannel.1';
export const VXLAN_VNI = 1;
export const VXLAN_PORT = 8472;
/** vxlan's overhead: the device MTU is the underlay's minus 50. */
export const VXLAN_OVERHEAD = 50;

/** /etc/cni/net.d/10-flannel.conflist from kube-flannel.yml. */
export const FLANNEL_CONFLIST: NetworkConfigList = {
  name: 'cbr0',
  cniVersion: '0.3.1',
  plugins: [
    { type: 'flannel', delegate: { hairpinMode: true, isDefaultGateway: true } },
    { type: 'portmap', capabilities: { portMappings: true } },
  ],
};

export interface SubnetEnv {
  /** FLANNEL_NETWORK */
  network: Cidr;
  /** The node's lease (FLANNEL_SUBNET is its first host address with the lease's prefix). */
  lease: Cidr;
  mtu: number;
  ipMasq: boolean;
}

/** /run/flannel/subnet.env, as flanneld writes it. */
export function subnetEnvText(env: SubnetEnv): string {
  return [
    `FLANNEL_NETWORK=${env.network.text}`,
    `FLANNEL_SUBNET=${nthAddress(env.lease, 1n)}/${env.lease.prefix}`,
    `FLANNEL_MTU=${env.mtu}`,
    `FLANNEL_IPMASQ=${env.ipMasq}`,
    '',
  ].join('\n');
}

/** What flannel's ADD refuses in its `delegate` block (flannel.go cmdAdd), in its words. */
export function delegateProblems(delegate: Record<string, unknown> | undefined): string[] {
  if (!delegate) return [];
  const out: string[] = [];
  if ('type' in delegate && typeof delegate.type !== 'string') out.push("'delegate' dictionary, if present, must have (string) 'type' field");
  if ('name' in delegate) out.push("'delegate' dictionary must not have 'name' field, it'll be set by flannel");
  if ('ipam' in delegate) out.push("'delegate' dictionary must not have 'ipam' field, it'll be set by flannel");
  return out;
}

/**
 * The flannel CNI plugin's delegate (flannel-io/cni-plugin doCmdAdd): its `delegate` block with the network's
 * name, type bridge unless given, ipMasq the opposite of flanneld's, subnet.env's MTU and, for a bridge,
 * isGateway — each only where the block does not set it — and host-local IPAM over the node's lease with a
 * route to the whole pod network after any routes of the plugin's own `ipam`.
 */
export function flannelDelegate(list: NetworkConfigList, env: SubnetEnv): BridgeConf {
  const flannel = list.plugins.find((p) => p.type === 'flannel') ?? { type: 'flannel' };
  const d: Record<string, unknown> = { ...(flannel.delegate as Record<string, unknown> | undefined) };
  d.name = list.name;
  if (!('type' in d)) d.type = 'bridge';
  if (!('ipMasq' in d)) d.ipMasq = !env.ipMasq;
  if (!('mtu' in d)) d.mtu = env.mtu;
  if (d.type === 'bridge' && !('isGateway' in d)) d.isGateway = true;
  if (list.cniVersion) d.cniVersion = list.cniVersion;
  const ipam: Record<string, unknown> = { ...(flannel.ipam as Record<string, unknown> | undefined) };
  if (!('type' in ipam)) ipam.type = 'host-local';
  ipam.ranges = [[{ subnet: env.lease.text }]];
  ipam.routes = [...((ipam.routes as { dst: string }[] | undefined) ?? []), { dst: env.network.text }];
  d.ipam = ipam;
  return d as BridgeConf;
}

export interface Peer {
  node: string;
  ip: string;
  lease: Cidr;
  /** The peer's flannel.1 MAC (flannel keeps it in a node annotation). */
  vtepMac: string;
}

export function vtepMac(node: string): string {
  return macFor(`${node}/${VXLAN_DEVICE}`);
}

/** flanneld's vxlan backend, per peer: a permanent ARP entry for its VTEP, an FDB entry to its node, an onlink route. */
export function vxlanPeer(p: Peer): PeerEntries {
  const vtepIP = nthAddress(p.lease, 0n);
  return {
    neighbour: { ip: vtepIP, dev: VXLAN_DEVICE, lladdr: p.vtepMac, state: 'PERMANENT' },
    fdb: { mac: p.vtepMac, dev: VXLAN_DEVICE, dst: p.ip, self: true, permanent: true },
    route: makeRoute({ dst: p.lease, via: vtepIP, dev: VXLAN_DEVICE, onlink: true }),
  };
}

/** flanneld's host-gw backend, per peer: its lease through its node IP on the underlay. */
export function hostGwPeer(p: Peer): PeerEntries {
  return { route: makeRoute({ dst: p.lease, via: p.ip, dev: 'eth0' }) };
}

/** The device the overlay's per-peer entries are on. */
export const peerDevice = (overlay: 'vxlan' | 'host-gw') => (overlay === 'vxlan' ? VXLAN_DEVICE : 'eth0');

/**
 * flanneld's vxlan backend on one node: the VTEP device, then every peer's entries — the same on every node,
 * so the node's namespace holds the cluster's one table of them, less its own.
 */
export function programVxlan(host: Netns, self: { node: string; ip: string; lease: Cidr; underlayMtu: number }, peers: PeerTable): void {
  if (!host.device(VXLAN_DEVICE)) {
    host.addDevice({
      name: VXLAN_DEVICE, kind: 'vxlan', mtu: self.underlayMtu - VXLAN_OVERHEAD, mac: vtepMac(self.node), up: false,
      vxlan: { vni: VXLAN_VNI, local: self.ip, dev: 'eth0', port: VXLAN_PORT, learning: false },
    });
    host.addAddress(VXLAN_DEVICE, nthAddress(self.lease, 0n), 32);
    host.setUp(VXLAN_DEVICE);
  }
  host.attachPeers(peers, self.node);
}

/** flanneld's host-gw backend on one node: every peer's route, from the cluster's one table of them. */
export function programHostGw(host: Netns, self: { node: string }, peers: PeerTable): void {
  host.attachPeers(peers, self.node);
}

const programmed = new WeakMap<Netns, string>();

/** kube-proxy's masquerade mark, which flanneld leaves alone (trafficmngr.KubeProxyMark). */
const KUBE_PROXY_MARK = '0x4000/0x4000';

/**
 * flanneld --ip-masq (trafficmngr/iptables masqRules): FLANNEL-POSTRTG in nat POSTROUTING, masquerading what
 * leaves the pod network for elsewhere and what the host sends into it, but not pod-to-pod traffic nor what
 * kube-proxy marked. Appended only where missing, as flanneld's AppendUnique does.
 */
export function programMasquerade(host: Netns, network: Cidr, lease: Cidr): void {
  // flanneld re-checks on its resync period; here the rules change only with the network or the lease.
  const key = `${network.text} ${lease.text}`;
  if (programmed.get(host) === key) return;
  programmed.set(host, key);
  const ipt = network.family === 'IPv4' ? host.netfilter.iptables : host.netfilter.ip6tables;
  const cluster = network.text;
  const pod = lease.text;
  const multicast = network.family === 'IPv4' ? '224.0.0.0/4' : 'ff00::/8';
  const c = ['-m', 'comment', '--comment', 'flanneld masq'];
  ipt.ensureChain('nat', 'FLANNEL-POSTRTG');
  ipt.ensureRule('append', 'nat', 'POSTROUTING', [...c, '-j', 'FLANNEL-POSTRTG']);
  for (const spec of [
    ['-m', 'mark', '--mark', KUBE_PROXY_MARK, ...c, '-j', 'RETURN'],
    ['-s', pod, '-d', cluster, ...c, '-j', 'RETURN'],
    ['-s', cluster, '-d', pod, ...c, '-j', 'RETURN'],
    ['!', '-s', cluster, '-d', pod, ...c, '-j', 'RETURN'],
    ['-s', cluster, '!', '-d', multicast, ...c, '-j', 'MASQUERADE', '--random-fully'],
    ['!', '-s', cluster, '-d', cluster, ...c, '-j', 'MASQUERADE', '--random-fully'],
  ]) ipt.ensureRule('append', 'nat', 'FLANNEL-POSTRTG', spec);
}
