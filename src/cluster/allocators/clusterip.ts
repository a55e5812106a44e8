// Service ClusterIPs from the service CIDR, one allocator per IP family. Index 0 is the first host address;
// the network address (and IPv4's broadcast) is never handed out.
import { RangeAllocator, serviceIPRangeOffset } from './range.ts';
import { cidrContains, formatIP, parseIP, type Cidr } from '../net.ts';

/** The bitmap allocator's cap for IPv6 ranges (a /64 cannot be a bitmap). */
const MAX_IPV6_SIZE = 65536n;

export class ClusterIPAllocator {
  private readonly range: RangeAllocator;

  constructor(readonly cidr: Cidr) {
    const usable = cidr.family === 'IPv4' ? cidr.size - 2n : cidr.size - 1n;
    const size = Number(cidr.family === 'IPv6' && usable > MAX_IPV6_SIZE ? MAX_IPV6_SIZE : usable);
    this.range = new RangeAllocator(size, serviceIPRangeOffset(cidr.size));
  }

  private index(ip: string): number | undefined {
    const p = parseIP(ip);
    if (!p || !cidrContains(this.cidr, p)) return undefined;
    const i = p.value - this.cidr.base - 1n;
    return i >= 0n && i < BigInt(this.range.size) ? Number(i) : undefined;
  }

  contains(ip: string): boolean {
    return this.index(ip) !== undefined;
  }

  /** Reserves a written IP. Returns 'outside' when it is not in this range, or the owner already holding it. */
  reserve(ip: string, owner: string): 'outside' | string | undefined {
    const i = this.index(ip);
    if (i === undefined) return 'outside';
    return this.range.reserve(i, owner);
  }

  allocate(owner: string): string | undefined {
    const i = this.range.allocate(owner);
    return i === undefined ? undefined : formatIP(this.cidr.family, this.cidr.base + 1n + BigInt(i));
  }

  release(ip: string, owner: string): void {
    const i = this.index(ip);
    if (i !== undefined) this.range.release(i, owner);
  }
}
