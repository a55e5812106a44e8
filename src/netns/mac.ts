// Link-layer addresses. The kernel and CNI plugins pick random MACs; kdp derives them from names (so runs
// repeat) with the locally-administered bit set and the multicast bit clear, as random_ether_addr() does.
import { fnv32a } from '../cluster/names.ts';

export type MAC = string;

export const ZERO_MAC: MAC = '00:00:00:00:00:00';
export const BROADCAST_MAC: MAC = 'ff:ff:ff:ff:ff:ff';

const HEX = Array.from('0123456789abcdef', (c) => c.charCodeAt(0));
const COLON = ':'.charCodeAt(0);

/** A stable, random-looking unicast MAC for the named device. */
export function macFor(seed: string): MAC {
  const a = fnv32a(seed);
  // FNV of seed + '#', continued from seed's hash.
  const b = Math.imul(a ^ 0x23, 0x01000193) >>> 0;
  const bytes = [((a >>> 24) & 0xfe) | 0x02, a >>> 16, a >>> 8, a, b >>> 8, b];
  // One flat string from character codes (every device keeps its MAC; a joined string is a tree of pieces).
  const codes: number[] = [];
  for (const x of bytes) {
    if (codes.length) codes.push(COLON);
    codes.push(HEX[(x >>> 4) & 15], HEX[x & 15]);
  }
  return String.fromCharCode.apply(null, codes);
}
