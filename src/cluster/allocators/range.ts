// A range of integers with the apiserver's static/dynamic split (KEP-3070): the lower band is kept for values
// people write, automatic allocation prefers the upper band. Upstream starts each search at a random point of
// the upper band; kdp starts at a point hashed from the owner's name, so allocations are stable run to run and
// do not shift when other objects are added.
import { fnv32a } from '../names.ts';

export class RangeAllocator {
  private readonly used: Uint8Array;
  private readonly owners = new Map<number, string>();

  /** `size` values [0, size); the first `offset` of them are the static band. */
  constructor(readonly size: number, readonly offset: number) {
    this.used = new Uint8Array(size);
  }

  /** Reserves a value; returns the owner already holding it, or undefined on success. */
  reserve(i: number, owner: string): string | undefined {
    if (this.used[i]) return this.owners.get(i) !== owner ? this.owners.get(i) : undefined;
    this.used[i] = 1;
    this.owners.set(i, owner);
    return undefined;
  }

  /** Frees a value, if `owner` is the one holding it. */
  release(i: number, owner: string): void {
    if (i < 0 || i >= this.size || this.owners.get(i) !== owner) return;
    this.used[i] = 0;
    this.owners.delete(i);
  }

  ownerOf(i: number): string | undefined {
    return this.owners.get(i);
  }

  /** Allocates for `owner`, searching from a point `seed` hashes to; undefined when the range is full. */
  allocate(owner: string, seed = owner): number | undefined {
    const upper = this.scan(this.offset, this.size, seed);
    const i = upper ?? this.scan(0, this.offset, seed);
    if (i === undefined) return undefined;
    this.used[i] = 1;
    this.owners.set(i, owner);
    return i;
  }

  private scan(from: number, to: number, seed: string): number | undefined {
    const n = to - from;
    if (n <= 0) return undefined;
    const start = fnv32a(seed) % n;
    for (let k = 0; k < n; k++) {
      const i = from + ((start + k) % n);
      if (!this.used[i]) return i;
    }
    return undefined;
  }
}

/** ipallocator.calculateRangeOffset: min(max(16, size/16), 256), none for ranges of 16 or fewer. */
export function serviceIPRangeOffset(cidrSize: bigint): number {
  if (cidrSize <= 16n) return 0;
  const o = cidrSize / 16n;
  return o < 16n ? 16 : o > 256n ? 256 : Number(o);
}

/** portallocator.calculateRangeOffset: min(max(16, size/32), 128), none for ranges of 16 or fewer. */
export function nodePortRangeOffset(size: number): number {
  if (size <= 16) return 0;
  const o = Math.floor(size / 32);
  return o < 16 ? 16 : o > 128 ? 128 : o;
}
