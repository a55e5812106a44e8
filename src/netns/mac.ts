// Link-layer addresses. The kernel and CNI plugins pick random MACs; kdp derives them from names (so runs
// repeat) with the locally-administered bit set and the multicast bit clear, as random_ether_addr() does.
import { fnv32a } from '../cluster/names.ts';

export type MAC = string;

export const ZERO_MAC: MAC = '00:00:00:00:00:00';
export const BROADCAST_MAC: MAC = 'ff:ff:ff:ff:ff:ff';

const hex2 = (n: number) => (n & 255).toString(16).padStart(2, '0');

/** A stable, random-looking unicast MAC for the named device. */
export function macFor(seed: string): MAC {
  const a = fnv32a(seed);
  const b = fnv32a(`${seed}#`);
  const bytes = [((a >>> 24) & 0xfe) | 0x02, a >>> 16, a >>> 8, a, b >>> 8, b];
  return bytes.map(hex2).join(':');
}
