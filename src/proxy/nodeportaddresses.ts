// --nodeport-addresses (pkg/proxy/util/nodeport_addresses.go): which local addresses accept NodePorts.
import { containsIP, ipFamily, isLoopback, sloppyCIDR, type Cidr, type Family } from './ip.ts';

export const NODE_PORT_ADDRESSES_PRIMARY = 'primary';

export interface NodePortAddresses {
  cidrs: Cidr[];
  matchAll: boolean;
  containsIPv4Loopback: boolean;
}

const IPV4_LOOPBACK_START = '127.0.0.1';

/**
 * NewNodePortAddresses: CIDRs of the family (with "primary" standing for the node's IP of the family, as
 * kube-proxy's server expands it); none of the family means all addresses, even if the other family has some.
 */
export function nodePortAddresses(family: Family, cidrStrings: readonly string[], primaryIP: string | undefined): NodePortAddresses {
  const cidrs: Cidr[] = [];
  for (const s of cidrStrings) {
    if (s === NODE_PORT_ADDRESSES_PRIMARY) {
      if (primaryIP && ipFamily(primaryIP) === family && !isLoopback(primaryIP)) cidrs.push(sloppyCIDR(`${primaryIP}/${family === 'IPv4' ? 32 : 128}`)!);
      continue;
    }
    const c = sloppyCIDR(s);
    if (c && c.family === family) cidrs.push(c);
  }
  if (cidrs.length === 0) cidrs.push(sloppyCIDR(family === 'IPv4' ? '0.0.0.0/0' : '::/0')!);
  let matchAll = false;
  let containsIPv4Loopback = false;
  for (const c of cidrs) {
    if (c.prefix === 0) matchAll = true;
    if (c.family === 'IPv4' && (containsIP(c, IPV4_LOOPBACK_START) || isLoopback(c.text.split('/')[0]))) containsIPv4Loopback = true;
  }
  return { cidrs, matchAll, containsIPv4Loopback };
}

/** GetNodeIPs: the local addresses some CIDR contains, in the order the node lists them. */
export function nodeIPsFor(npa: NodePortAddresses, localAddresses: readonly string[]): string[] {
  const out: string[] = [];
  for (const ip of localAddresses) {
    if (out.includes(ip)) continue;
    if (npa.cidrs.some((c) => containsIP(c, ip))) out.push(ip);
  }
  return out;
}
