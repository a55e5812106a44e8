// The bucket table of the kernel's hash ipsets (include/linux/netfilter/ipset/ip_set_hash_gen.h): elements are
// placed by jhash2 of their in-memory struct under the set's initval, buckets grow two slots at a time, and a
// bucket past `bucketsize` doubles the table. `ipset list` walks buckets in index order, so this is what
// decides the order members are printed in and the "Size in memory" a set reports.

const rol32 = (x: number, k: number): number => ((x << k) | (x >>> (32 - k))) >>> 0;

/** jhash2 (include/linux/jhash.h): Bob Jenkins' lookup3 over 32-bit words. */
export function jhash2(k: readonly number[], initval: number): number {
  let a = (0xdeadbeef + (k.length << 2) + initval) >>> 0;
  let b = a;
  let c = a;
  let i = 0;
  let length = k.length;
  while (length > 3) {
    a = (a + k[i]) >>> 0; b = (b + k[i + 1]) >>> 0; c = (c + k[i + 2]) >>> 0;
    // __jhash_mix
    a = (a - c) >>> 0; a = (a ^ rol32(c, 4)) >>> 0; c = (c + b) >>> 0;
    b = (b - a) >>> 0; b = (b ^ rol32(a, 6)) >>> 0; a = (a + c) >>> 0;
    c = (c - b) >>> 0; c = (c ^ rol32(b, 8)) >>> 0; b = (b + a) >>> 0;
    a = (a - c) >>> 0; a = (a ^ rol32(c, 16)) >>> 0; c = (c + b) >>> 0;
    b = (b - a) >>> 0; b = (b ^ rol32(a, 19)) >>> 0; a = (a + c) >>> 0;
    c = (c - b) >>> 0; c = (c ^ rol32(b, 4)) >>> 0; b = (b + a) >>> 0;
    length -= 3;
    i += 3;
  }
  if (length === 0) return c;
  if (length === 3) c = (c + k[i + 2]) >>> 0;
  if (length >= 2) b = (b + k[i + 1]) >>> 0;
  a = (a + k[i]) >>> 0;
  // __jhash_final
  c = (c ^ b) >>> 0; c = (c - rol32(b, 14)) >>> 0;
  a = (a ^ c) >>> 0; a = (a - rol32(c, 11)) >>> 0;
  b = (b ^ a) >>> 0; b = (b - rol32(a, 25)) >>> 0;
  c = (c ^ b) >>> 0; c = (c - rol32(b, 16)) >>> 0;
  a = (a ^ c) >>> 0; a = (a - rol32(c, 4)) >>> 0;
  b = (b ^ a) >>> 0; b = (b - rol32(a, 14)) >>> 0;
  c = (c ^ b) >>> 0; c = (c - rol32(b, 24)) >>> 0;
  return c;
}

/** AHASH_INIT_SIZE: a bucket is allocated, and grows, two elements at a time. */
const AHASH_INIT_SIZE = 2;

interface Bucket<T> {
  slots: (T | undefined)[];
  size: number;
}

export class HashTable<T> {
  private buckets = new Map<number, Bucket<T>>();
  /** key -> bucket index */
  private readonly where = new Map<string, number>();

  constructor(
    public bits: number,
    private readonly bucketsize: number,
    private readonly initval: number,
    private readonly words: (e: T) => number[],
    private readonly keyOf: (e: T) => string,
  ) {}

  /** jhash_size(htable_bits): what the set's header prints as hashsize. */
  get hashsize(): number {
    return 2 ** this.bits;
  }

  /** mtype_add: a replaced element keeps its slot; a new one takes the first free slot or is appended. */
  put(e: T): void {
    const key = this.keyOf(e);
    const at = this.where.get(key);
    if (at !== undefined) {
      const b = this.buckets.get(at)!;
      b.slots[b.slots.findIndex((x) => x !== undefined && this.keyOf(x) === key)] = e;
      return;
    }
    const i = jhash2(this.words(e), this.initval) & (this.hashsize - 1);
    let b = this.buckets.get(i);
    if (!b) this.buckets.set(i, (b = { slots: [], size: AHASH_INIT_SIZE }));
    const free = b.slots.indexOf(undefined);
    if (free >= 0) b.slots[free] = e;
    else if (b.slots.length < b.size) b.slots.push(e);
    else if (b.size < this.bucketsize) {
      b.size += AHASH_INIT_SIZE;
      b.slots.push(e);
    } else {
      this.resize();
      this.put(e);
      return;
    }
    this.where.set(key, i);
  }

  /** mtype_del: the slot is freed (the last one shortens the bucket); an empty bucket is released. */
  remove(key: string): void {
    const i = this.where.get(key);
    if (i === undefined) return;
    this.where.delete(key);
    const b = this.buckets.get(i)!;
    const s = b.slots.findIndex((x) => x !== undefined && this.keyOf(x) === key);
    b.slots[s] = undefined;
    if (s === b.slots.length - 1) b.slots.pop();
    if (b.slots.every((x) => x === undefined)) this.buckets.delete(i);
  }

  clear(): void {
    this.buckets.clear();
    this.where.clear();
  }

  /** mtype_list's walk: bucket by bucket, slot by slot. */
  ordered(): T[] {
    const out: T[] = [];
    for (const i of [...this.buckets.keys()].sort((a, b) => a - b)) for (const e of this.buckets.get(i)!.slots) if (e !== undefined) out.push(e);
    return out;
  }

  /**
   * The buckets' memory as the kernel accounts it: ext_size(AHASH_INIT_SIZE, dsize) — a 32-byte hbucket header
   * and two elements — for the allocation and again for each growth, though a grown bucket has one header.
   */
  bucketBytes(dsize: number): number {
    let n = 0;
    for (const b of this.buckets.values()) n += (b.size / AHASH_INIT_SIZE) * (32 + AHASH_INIT_SIZE * dsize);
    return n;
  }

  /** Tables past 2^10 buckets are locked in regions of 2^10, each region 24 bytes (ahash_sizeof_regions). */
  regionBytes(): number {
    return this.bits < 10 ? 0 : (2 ** (this.bits - 10) - 1) * 24;
  }

  /** mtype_resize: a table twice the size, refilled in the old table's walk order. */
  private resize(): void {
    const old = this.ordered();
    this.bits += 1;
    this.clear();
    for (const e of old) this.put(e);
  }
}
