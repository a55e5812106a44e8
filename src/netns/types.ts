// The kernel objects a network namespace holds, as data: devices, interface addresses, routes, neighbours and
// forwarding-database entries. Named and shaped after what `ip` and `bridge` show.
import type { Cidr, Family } from '../cluster/net.ts';
import type { MAC } from './mac.ts';

export type DeviceKind = 'loopback' | 'ether' | 'veth' | 'bridge' | 'vxlan' | 'dummy';

export interface Vxlan {
  vni: number;
  /** Local VTEP address (flannel: the node's IP). */
  local: string;
  /** The underlay device (eth0). */
  dev: string;
  port: number;
  learning: boolean;
}

export interface Device {
  index: number;
  name: string;
  kind: DeviceKind;
  mtu: number;
  mac: MAC;
  up: boolean;
  /** The bridge this device is a port of. */
  master?: string;
  /** veth: the other end, in `netns` (undefined: the same namespace). */
  peer?: { netns: string; index: number; name: string };
  /** Bridge port hairpin (a frame may leave by the port it came in on). */
  hairpin?: boolean;
  vxlan?: Vxlan;
}

export type Scope = 'global' | 'link' | 'host';

export interface InterfaceAddress {
  family: Family;
  /** "10.244.0.5" */
  ip: string;
  prefix: number;
  /** IPv4 broadcast, as `ip addr add ... brd +` sets it. */
  broadcast?: string;
  scope: Scope;
  dev: string;
}

export type RouteType = 'unicast' | 'local' | 'broadcast';
export type RouteTable = 'main' | 'local';

export interface Route {
  table: RouteTable;
  type: RouteType;
  /** undefined: the default route. */
  dst?: Cidr;
  via?: string;
  dev: string;
  /** kernel: added by the kernel for an address; boot: added by hand or by a daemon (the default). */
  proto?: 'kernel' | 'boot' | 'static';
  scope: Scope | 'universe';
  src?: string;
  onlink?: boolean;
}

export type NeighbourState = 'PERMANENT' | 'REACHABLE' | 'STALE' | 'NOARP' | 'INCOMPLETE' | 'FAILED';

export interface Neighbour {
  ip: string;
  dev: string;
  lladdr?: MAC;
  state: NeighbourState;
}

/** A bridge or vxlan forwarding-database entry (`bridge fdb`). */
export interface FdbEntry {
  mac: MAC;
  /** The port (bridge) or the vxlan device. */
  dev: string;
  /** The bridge, for entries in a bridge's FDB. */
  master?: string;
  /** vxlan: the remote VTEP. */
  dst?: string;
  /** Entry on the device itself rather than in its master's table. */
  self?: boolean;
  permanent?: boolean;
  /** The bridge learned it from a frame's source address. */
  learned?: boolean;
}

/** A socket bound for listening or receiving: address "0.0.0.0" is any. */
export interface Listener {
  protocol: 'tcp' | 'udp';
  address: string;
  port: number;
  /** Who holds it: a container name, "kubelet", ... */
  owner: string;
}
