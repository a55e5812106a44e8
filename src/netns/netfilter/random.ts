// The random source of the rules (statistic --mode random, --random-fully ports): seeded, so the same trace
// takes the same path; or scripted, to enumerate every branch with its probability.

export interface Random {
  /** True with probability p; `what` names the decision (the rule) for enumeration. */
  chance(p: number, what: string): boolean;
  /** An integer in [0, n). */
  below(n: number): number;
}

/** mulberry32: small, fast and good enough to pick among endpoints. */
export function seeded(seed: number): Random {
  let a = seed >>> 0;
  const next = (): number => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
  return { chance: (p) => next() < p, below: (n) => Math.floor(next() * n) };
}

export interface Choice {
  what: string;
  p: number;
  taken: boolean;
}

/**
 * Plays a fixed list of decisions, then takes every new one (recording it); `below` is seeded. Used by
 * enumerate(): each run's decisions are a path of the decision tree.
 */
export class Scripted implements Random {
  readonly made: Choice[] = [];
  private readonly fallback: Random;
  constructor(private readonly script: boolean[], seed = 1) {
    this.fallback = seeded(seed);
  }
  chance(p: number, what: string): boolean {
    const i = this.made.length;
    // A certain outcome is no branch.
    const taken = p >= 1 ? true : p <= 0 ? false : i < this.script.length ? this.script[i] : true;
    this.made.push({ what, p, taken });
    return taken;
  }
  below(n: number): number {
    return this.fallback.below(n);
  }
}

export interface Branch<T> {
  p: number;
  choices: Choice[];
  result: T;
}

/**
 * Every outcome of `run` over all its random decisions, depth first, each with its probability (the product
 * of its decisions'). `run` must undo its side effects or be repeatable.
 */
export function enumerate<T>(run: (random: Random) => T, limit = 10000): Branch<T>[] {
  const out: Branch<T>[] = [];
  let script: boolean[] = [];
  for (;;) {
    const r = new Scripted(script);
    const result = run(r);
    const p = r.made.reduce((acc, c) => acc * (c.p >= 1 || c.p <= 0 ? 1 : c.taken ? c.p : 1 - c.p), 1);
    out.push({ p, choices: r.made, result });
    if (out.length >= limit) break;
    // Next path: flip the deepest uncertain decision still taken; drop the ones after it.
    let i = r.made.length - 1;
    while (i >= 0 && (!r.made[i].taken || r.made[i].p >= 1 || r.made[i].p <= 0)) i--;
    if (i < 0) break;
    script = [...r.made.slice(0, i).map((c) => c.taken), false];
  }
  return out;
}
