// The kernel's hsiphash (lib/siphash.c) as ip_vs_mh.c calls it on a 64-bit machine: there "HalfSipHash-1-3" is
// really SipHash-1-3 over 64-bit words, truncated to 32 bits. The round counts are parameters so the permutation
// can be checked against SipHash-2-4's published test vector.

const MASK = (1n << 64n) - 1n;
const rotl = (x: bigint, b: bigint): bigint => ((x << b) | (x >> (64n - b))) & MASK;

function sipRound(v: bigint[]): void {
  v[0] = (v[0] + v[1]) & MASK; v[1] = rotl(v[1], 13n); v[1] ^= v[0]; v[0] = rotl(v[0], 32n);
  v[2] = (v[2] + v[3]) & MASK; v[3] = rotl(v[3], 16n); v[3] ^= v[2];
  v[0] = (v[0] + v[3]) & MASK; v[3] = rotl(v[3], 21n); v[3] ^= v[0];
  v[2] = (v[2] + v[1]) & MASK; v[1] = rotl(v[1], 17n); v[1] ^= v[2]; v[2] = rotl(v[2], 32n);
}

/** SipHash-c-d of `data` under the 128-bit key (k0, k1), 64-bit result. */
export function siphash(data: Uint8Array, k0: bigint, k1: bigint, c = 2, d = 4): bigint {
  const v = [0x736f6d6570736575n ^ k0, 0x646f72616e646f6dn ^ k1, 0x6c7967656e657261n ^ k0, 0x7465646279746573n ^ k1];
  const words = Math.floor(data.length / 8);
  for (let w = 0; w < words; w++) {
    let m = 0n;
    for (let i = 7; i >= 0; i--) m = (m << 8n) | BigInt(data[w * 8 + i]);
    v[3] ^= m;
    for (let r = 0; r < c; r++) sipRound(v);
    v[0] ^= m;
  }
  let b = BigInt(data.length & 0xff) << 56n;
  for (let i = data.length - 1; i >= words * 8; i--) b |= BigInt(data[i]) << BigInt(8 * (i - words * 8));
  v[3] ^= b;
  for (let r = 0; r < c; r++) sipRound(v);
  v[0] ^= b;
  v[2] ^= 0xffn;
  for (let r = 0; r < d; r++) sipRound(v);
  return v[0] ^ v[1] ^ v[2] ^ v[3];
}

/** hsiphash(&v, sizeof(u32), key) on x86-64: SipHash-1-3 of the little-endian u32, low 32 bits. */
export function hsiphashU32(value: number, k0: bigint, k1: bigint): number {
  const bytes = new Uint8Array(4);
  new DataView(bytes.buffer).setUint32(0, value >>> 0, true);
  return Number(siphash(bytes, k0, k1, 1, 3) & 0xffffffffn);
}
