// Names the control plane invents: generateName suffixes, pod-template-hash, controller-revision-hash.
// Upstream draws suffixes from math/rand and hashes a Go spew dump of the template; kdp keeps the alphabet,
// lengths and shapes but derives them deterministically, so the same files give the same names every run.
import stringify from 'safe-stable-stringify';

/** k8s.io/apimachinery/pkg/util/rand: no vowels, so no words. */
const ALPHANUMS = 'bcdfghjklmnpqrstvwxz2456789';

export function fnv32a(s: string): number {
  return fnv32aContinue(0x811c9dc5, s);
}

/** FNV-32a of prefix + s, given the hash of prefix: FNV is a running state, so a shared prefix is hashed once. */
export function fnv32aContinue(state: number, s: string): number {
  let h = state;
  for (let i = 0; i < s.length; i++) {
    h ^= s.charCodeAt(i);
    h = Math.imul(h, 0x01000193) >>> 0;
  }
  return h >>> 0;
}

/** rand.SafeEncodeString: each character mapped into the alphabet by its code point. */
export function safeEncodeString(s: string): string {
  let out = '';
  for (const ch of s) out += ALPHANUMS[ch.codePointAt(0)! % ALPHANUMS.length];
  return out;
}

/** controller.ComputeHash's shape: FNV-32a, printed in decimal, safe-encoded ("5d59d67564"). */
export function computeHash(template: unknown, collisionCount = 0): string {
  const h = fnv32a(stringify(template) + (collisionCount ? `#${collisionCount}` : ''));
  return safeEncodeString(String(h));
}

const MAX_GENERATED_NAME_LENGTH = 58; // 63 - 5, names.SimpleNameGenerator

/**
 * generateName as the apiserver does it (base cut to 58, five characters appended), deterministically:
 * each base has its own sequence, which only moves forward, so a replacement pod gets a fresh name.
 */
export class NameGenerator {
  /** base -> the next number in its sequence, and the hash of `${base}#` every suffix starts from */
  private readonly next = new Map<string, { n: number; prefix: number }>();

  generate(base: string, taken: (name: string) => boolean): string {
    const b = base.length > MAX_GENERATED_NAME_LENGTH ? base.slice(0, MAX_GENERATED_NAME_LENGTH) : base;
    let seq = this.next.get(b);
    if (!seq) this.next.set(b, (seq = { n: 0, prefix: fnv32a(`${b}#`) }));
    for (;;) {
      let h = fnv32aContinue(seq.prefix, String(seq.n++));
      let suffix = '';
      for (let i = 0; i < 5; i++) {
        suffix += ALPHANUMS[h % 27];
        h = Math.floor(h / 27);
      }
      const name = b + suffix;
      if (!taken(name)) return name;
    }
  }
}
