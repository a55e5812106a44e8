// A table's traversal for one packet at one hook, as the kernel's ipt_do_table does it: rules in order, the
// basic criteria then the matches, jump/goto/RETURN with a return stack, non-terminal MARK, the built-in
// chain's policy when the packet falls off its end. Long chains are dispatched through an index on the
// destination address (KUBE-SERVICES' shape) that visits exactly the rules that could match, in order.
import type { NfEnv, NfPacket } from './context.ts';
import { testMatch } from './matches.ts';
import { BITS, type Chain, type Counters, type Family, type Rule, type Table, type Target } from './model.ts';
import { ruleText } from './rule.ts';
import { journaling, recordUndo } from './journal.ts';

/** A rule's or policy's counters, undone with the rest when a branch is replayed. */
export function bump(c: Counters, bytes: number): void {
  c.packets++;
  c.bytes += bytes;
  if (journaling()) recordUndo(() => {
    c.packets--;
    c.bytes -= bytes;
  });
}

export interface Hit {
  table: string;
  chain: string;
  /** 1-based, as `iptables -L --line-numbers` counts. */
  num: number;
  rule: Rule;
}

export type TableVerdict =
  | { kind: 'ACCEPT' | 'DROP'; by: Hit | { table: string; chain: string; policy: 'ACCEPT' | 'DROP' } }
  | { kind: 'REJECT'; with: string; by: Hit }
  | { kind: 'NAT'; target: Extract<Target, { kind: 'DNAT' | 'SNAT' | 'MASQUERADE' }>; by: Hit };

export interface TableResult {
  verdict: TableVerdict;
  /** Every rule that matched, in order (jumps, marks, the final one). */
  hits: Hit[];
}

export function hitText(h: Hit, family: Family): string {
  return (h.rule.text ??= ruleText(h.chain, h.rule, family));
}

function ifaceMatch(want: { name: string; invert: boolean }, dev: string | undefined): boolean {
  // A hook without the device (in at OUTPUT, out at PREROUTING) compares against the empty name.
  const name = dev ?? '';
  const hit = want.name.endsWith('+') ? name.startsWith(want.name.slice(0, -1)) : name === want.name;
  return hit !== want.invert;
}

export function ruleMatches(r: Rule, p: NfPacket, env: NfEnv): boolean {
  if (r.src && ((p.src & r.src.mask) === r.src.value) === r.src.invert) return false;
  if (r.dst && ((p.dst & r.dst.mask) === r.dst.value) === r.dst.invert) return false;
  if (r.in && !ifaceMatch(r.in, p.in)) return false;
  if (r.out && !ifaceMatch(r.out, p.out)) return false;
  if (r.proto && (p.proto === r.proto.num) === r.proto.invert) return false;
  for (const m of r.matches) if (!testMatch(m, p, env)) return false;
  return true;
}

/** Rules by exact destination address, and those without one; positions ascending. */
interface ChainIndex {
  byDst: Map<bigint, number[]>;
  rest: number[];
}

const INDEX_MIN = 32;
const indexes = new WeakMap<Rule[], ChainIndex | null>();

function indexOf(rules: Rule[]): ChainIndex | null {
  let idx = indexes.get(rules);
  if (idx !== undefined) return idx;
  idx = null;
  if (rules.length >= INDEX_MIN) {
    const byDst = new Map<bigint, number[]>();
    const rest: number[] = [];
    rules.forEach((r, i) => {
      if (r.dst && !r.dst.invert && r.dst.prefix === BITS[r.dst.family]) {
        let l = byDst.get(r.dst.value);
        if (!l) byDst.set(r.dst.value, (l = []));
        l.push(i);
      } else {
        rest.push(i);
      }
    });
    // Worth it only when most rules are keyed.
    if (rest.length * 4 <= rules.length) idx = { byDst, rest };
  }
  indexes.set(rules, idx);
  return idx;
}

/** Whether a chain's rules are dispatched through the index. */
export const usesIndex = (rules: Rule[]): boolean => indexOf(rules) !== null;

/** The positions of the rules that may match a destination, from `start` on, in order. */
function candidates(idx: ChainIndex, dst: bigint, start: number): number[] {
  const a = idx.byDst.get(dst) ?? [];
  const b = idx.rest;
  const out: number[] = [];
  let i = 0;
  let j = 0;
  while (i < a.length && a[i] < start) i++;
  while (j < b.length && b[j] < start) j++;
  while (i < a.length || j < b.length) out.push(j >= b.length || (i < a.length && a[i] < b[j]) ? a[i++] : b[j++]);
  return out;
}

/** Switches the index off: plain linear evaluation, for comparing the two. */
export const evaluation = { indexed: true };

/** Traverses `table` from its built-in chain `hook`. The packet's mark is changed in place by MARK. */
export function traverse(table: Table, hook: string, p: NfPacket, env: NfEnv): TableResult {
  const hits: Hit[] = [];
  const base = table.chains.get(hook)!;
  const stack: { chain: Chain; pos: number }[] = [];
  let chain = base;
  let pos = 0;
  for (let guard = 0; guard < 100000; guard++) {
    const rules = chain.rules;
    const idx = evaluation.indexed ? indexOf(rules) : null;
    const order = idx ? candidates(idx, p.dst, pos) : undefined;
    let jumped = false;
    for (let k = 0; order ? k < order.length : pos + k < rules.length; k++) {
      const i = order ? order[k] : pos + k;
      const r = rules[i];
      if (!ruleMatches(r, p, env)) continue;
      bump(r.counters, p.length);
      const hit: Hit = { table: table.name, chain: chain.name, num: i + 1, rule: r };
      hits.push(hit);
      const t = r.target;
      if (!t) continue;
      if (t.kind === 'MARK') {
        p.mark = ((p.mark & ~t.mask!) ^ t.value!) >>> 0;
        continue;
      }
      if (t.kind === 'ACCEPT' || t.kind === 'DROP') return { verdict: { kind: t.kind, by: hit }, hits };
      if (t.kind === 'REJECT') return { verdict: { kind: 'REJECT', with: t.with, by: hit }, hits };
      if (t.kind === 'DNAT' || t.kind === 'SNAT' || t.kind === 'MASQUERADE') return { verdict: { kind: 'NAT', target: t, by: hit }, hits };
      if (t.kind !== 'jump') break; // RETURN
      const to = table.chains.get(t.chain)!;
      if (!t.goto) stack.push({ chain, pos: i + 1 });
      chain = to;
      pos = 0;
      jumped = true;
      break;
    }
    if (jumped) continue;
    // The end of a chain, or RETURN: back to the caller; off a built-in chain, its policy.
    const back = stack.pop();
    if (!back) break;
    chain = back.chain;
    pos = back.pos;
  }
  bump(base.counters, p.length);
  return { verdict: { kind: base.policy!, by: { table: table.name, chain: base.name, policy: base.policy! } }, hits };
}
