// host-local IPAM, as delegated to by the bridge plugin. Which address a pod gets is decided where kubelet's
// view of it lives (the cluster model runs host-local's allocation: .1 gateway, .2 onward, round-robin); here
// the runtime passes that address as CNI_ARGS IP=, which host-local honours, and the plugin checks it.
import { cidrContains, isCidr, parseCIDR, parseIP, nthAddress, type Cidr } from '../cluster/net.ts';
import { CniError, type Invocation, type PluginConf, type Result } from './types.ts';

interface Range {
  subnet: string;
  gateway?: string;
}

/** Parsed subnets and their first host (the default gateway): every pod on a node shares its range. */
const subnets = new Map<string, { cidr: Cidr | { error: string }; first?: string }>();
function subnetOf(text: string): { cidr: Cidr | { error: string }; first?: string } {
  let c = subnets.get(text);
  if (!c) {
    const cidr = parseCIDR(text, false);
    subnets.set(text, (c = { cidr, first: isCidr(cidr) ? nthAddress(cidr, 1n) : undefined }));
  }
  return c;
}

export function hostLocalAdd(conf: PluginConf, inv: Invocation, cniVersion: string): Result {
  const ipam = (conf.ipam ?? {}) as { ranges?: Range[][]; routes?: { dst: string; gw?: string }[] };
  const wanted = (inv.args.IP ?? '').split(',').filter(Boolean);
  const ips = (ipam.ranges ?? []).map((set, i) => {
    const r = set[0];
    const { cidr: sub, first } = subnetOf(r.subnet);
    if (!isCidr(sub)) throw new CniError(7, `invalid subnet ${r.subnet}`);
    const gateway = r.gateway ?? first;
    const ip = wanted.find((w) => {
      const p = parseIP(w);
      return p && cidrContains(sub, p);
    });
    if (!ip) throw new CniError(11, `no IP addresses available in range set: ${r.subnet}`, `requested ${inv.args.IP ?? 'none'} (set ${i})`);
    if (ip === gateway) throw new CniError(100, `requested ip ${ip} is subnet's gateway`);
    return { address: `${ip}/${sub.prefix}`, gateway };
  });
  return { cniVersion, ips, routes: (ipam.routes ?? []).map((r) => Object.assign({}, r)), dns: {} };
}
