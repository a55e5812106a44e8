// CNI's data shapes (SPEC.md 1.1.0): a network configuration list, and the Result an ADD returns.

export interface PluginConf {
  type: string;
  [option: string]: unknown;
}

export interface NetworkConfigList {
  cniVersion: string;
  name: string;
  plugins: PluginConf[];
}

export interface ResultInterface {
  name: string;
  mac: string;
  mtu?: number;
  /** The netns path for a container-side interface; absent for host interfaces. */
  sandbox?: string;
}

export interface ResultIP {
  address: string;
  gateway?: string;
  /** Index into interfaces. */
  interface?: number;
}

export interface ResultRoute {
  dst: string;
  gw?: string;
}

export interface Result {
  cniVersion: string;
  interfaces?: ResultInterface[];
  ips?: ResultIP[];
  routes?: ResultRoute[];
  dns?: { nameservers?: string[]; domain?: string; search?: string[]; options?: string[] };
}

/** What the runtime passes a plugin besides its configuration (CNI_* variables). */
export interface Invocation {
  containerId: string;
  /** CNI_NETNS, e.g. /var/run/netns/cni-6f0f4e6a-... */
  netnsPath: string;
  ifName: string;
  /** CNI_ARGS; host-local honours IP=. */
  args: Record<string, string>;
}

/** A CNI error result: reserved codes from the spec, 100+ for plugins. */
export class CniError extends Error {
  constructor(readonly code: number, msg: string, readonly details = '') {
    super(msg);
  }

  toJSON(cniVersion: string): { cniVersion: string; code: number; msg: string; details: string } {
    return { cniVersion, code: this.code, msg: this.message, details: this.details };
  }
}
