// Conformance: the static/dynamic band split of the Service ClusterIP and NodePort allocators (KEP-3070),
// ported from upstream kubernetes/kubernetes:
//   pkg/registry/core/service/ipallocator/bitmap_test.go   Test_calculateRangeOffset
//     (commit 281014fcd0a3426d4e3cf36aab12c4d7968f94f3; min 16, max 256, step 16)
//   pkg/registry/core/service/portallocator/allocator_test.go   Test_calculateRangeOffset
//     (min 16, max 128, step 32)
//
// Upstream parses each CIDR with netutils.ParseCIDRSloppy (host bits masked off) and takes
// netutils.RangeSize(cidr); here that is parseCIDR(text, false).size, passed to serviceIPRangeOffset.
import { describe, expect, it } from 'vitest';
import { nodePortRangeOffset, serviceIPRangeOffset } from '../../../src/cluster/allocators/range.ts';
import { isCidr, parseCIDR } from '../../../src/cluster/net.ts';

describe('ipallocator calculateRangeOffset — Test_calculateRangeOffset', () => {
  const cases: [name: string, cidr: string, want: number][] = [
    ['full mask IPv4', '192.168.1.1/32', 0],
    ['full mask IPv6', 'fd00::1/128', 0],
    ['very small mask IPv4', '192.168.1.1/30', 0],
    ['very small mask IPv6', 'fd00::1/126', 0],
    ['small mask IPv4', '192.168.1.1/28', 0],
    ['small mask IPv4', '192.168.1.1/27', 16],
    ['small mask IPv6', 'fd00::1/124', 0],
    ['small mask IPv6', 'fd00::1/122', 16],
    ['medium mask IPv4', '192.168.1.1/22', 64],
    ['medium mask IPv6', 'fd00::1/118', 64],
    ['large mask IPv4', '192.168.1.1/8', 256],
    ['large mask IPv6', 'fd00::1/12', 256],
  ];
  for (const [name, text, want] of cases) {
    it(`${name}: ${text} -> ${want}`, () => {
      const cidr = parseCIDR(text, false);
      if (!isCidr(cidr)) throw new Error(cidr.error);
      expect(serviceIPRangeOffset(cidr.size)).toBe(want);
    });
  }
});

describe('portallocator calculateRangeOffset — Test_calculateRangeOffset', () => {
  const cases: [name: string, size: number, want: number][] = [
    ['default node port range', 2768, 86], // PortRange{Base: 30000, Size: 2768}
    ['very small node port range', 10, 0],
    ['small node port range (lower boundary)', 16, 0],
    ['small node port range', 128, 16],
    ['medium node port range', 2048, 64],
    ['large node port range (upper boundary)', 4096, 128],
    ['large node port range', 8192, 128],
  ];
  for (const [name, size, want] of cases) {
    it(`${name}: size ${size} -> ${want}`, () => {
      expect(nodePortRangeOffset(size)).toBe(want);
    });
  }
});
