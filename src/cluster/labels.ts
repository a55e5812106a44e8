// Label selectors as Kubernetes defines them (k8s.io/apimachinery/pkg/labels): the string form kubectl's -l
// takes, and metav1.LabelSelector (matchLabels + matchExpressions). Both become a list of requirements, ANDed.
import type { LabelSelector } from 'kubernetes-types/meta/v1.js';
import { validLabelKey } from './validation/fields.ts';

export type Operator = 'Equals' | 'NotEquals' | 'In' | 'NotIn' | 'Exists' | 'DoesNotExist' | 'GreaterThan' | 'LessThan';

export interface Requirement {
  key: string;
  operator: Operator;
  values: string[];
}

/** A selector: requirements ANDed together. `everything` matches all; `nothing` matches none. */
export interface Selector {
  requirements: Requirement[];
  nothing?: boolean;
}

export const NOTHING: Selector = { requirements: [], nothing: true };

export function matches(sel: Selector, labels: Record<string, string> | undefined): boolean {
  if (sel.nothing) return false;
  const l = labels ?? {};
  for (const r of sel.requirements) {
    const has = Object.prototype.hasOwnProperty.call(l, r.key);
    const v = l[r.key];
    switch (r.operator) {
      case 'Equals':
      case 'In':
        if (!has || !r.values.includes(v)) return false;
        break;
      case 'NotEquals':
      case 'NotIn':
        if (has && r.values.includes(v)) return false;
        break;
      case 'Exists':
        if (!has) return false;
        break;
      case 'DoesNotExist':
        if (has) return false;
        break;
      case 'GreaterThan':
      case 'LessThan': {
        // Both sides must be integers; a label that is not one does not match.
        if (!has || !/^-?\d+$/.test(v)) return false;
        const lv = Number(v);
        const rv = Number(r.values[0]);
        if (r.operator === 'GreaterThan' ? !(lv > rv) : !(lv < rv)) return false;
        break;
      }
    }
  }
  return true;
}

/** A Service's spec.selector (a plain map; empty or absent means "no selector", handled by callers). */
export function fromMap(m: Record<string, string>): Selector {
  return { requirements: Object.keys(m).sort().map((key) => ({ key, operator: 'Equals' as const, values: [m[key]] })) };
}

/**
 * metav1.LabelSelectorAsSelector: a nil selector selects nothing, an empty one everything. Throws where the
 * apiserver's validation would have refused the selector.
 */
export function fromLabelSelector(ls: LabelSelector | undefined | null): Selector {
  if (ls === undefined || ls === null) return NOTHING;
  const reqs: Requirement[] = [];
  const key = (k: string) => {
    if (!validLabelKey(k)) throw new Error(`matchExpressions: invalid label key "${k}"`);
    return k;
  };
  for (const [k, value] of Object.entries(ls.matchLabels ?? {})) reqs.push({ key: key(k), operator: 'Equals', values: [value] });
  for (const e of ls.matchExpressions ?? []) {
    switch (e.operator) {
      case 'In':
      case 'NotIn':
        if (!e.values || e.values.length === 0) throw new Error(`matchExpressions: for 'in', 'notin' operators, values set can't be empty`);
        reqs.push({ key: key(e.key), operator: e.operator, values: [...e.values] });
        break;
      case 'Exists':
      case 'DoesNotExist':
        if (e.values && e.values.length > 0) throw new Error(`matchExpressions: values set must be empty for exists and does not exist`);
        reqs.push({ key: key(e.key), operator: e.operator, values: [] });
        break;
      default:
        throw new Error(`matchExpressions: "${e.operator}" is not a valid label selector operator`);
    }
  }
  return { requirements: reqs };
}

// --- the string form: labels.Parse's lexer and parser ----------------------------------------------

type Token = { kind: 'id' | 'op' | 'eos'; text: string };

const SPECIALS = ['!=', '==', '!', '(', ')', ',', '=', '>', '<'];

function lex(text: string): Token[] {
  const out: Token[] = [];
  let i = 0;
  while (i < text.length) {
    const ch = text[i];
    if (/\s/.test(ch)) {
      i++;
      continue;
    }
    const special = SPECIALS.find((sp) => text.startsWith(sp, i));
    if (special) {
      out.push({ kind: 'op', text: special });
      i += special.length;
      continue;
    }
    const start = i;
    while (i < text.length && !/\s/.test(text[i]) && !SPECIALS.some((sp) => sp[0] === text[i])) i++;
    out.push({ kind: 'id', text: text.slice(start, i) });
  }
  out.push({ kind: 'eos', text: '' });
  return out;
}

const LABEL_VALUE = /^(([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9])?$/;

/** Parses kubectl's -l syntax: `app=web,tier!=db,env in (a,b),!legacy,release,replicas>2`. */
export function parseSelector(text: string): Selector {
  const toks = lex(text);
  let i = 0;
  const fail = (msg: string): never => {
    throw new Error(`unable to parse requirement: ${msg}`);
  };
  const found = (t: Token) => (t.kind === 'eos' ? '' : t.text);
  const reqs: Requirement[] = [];
  if (toks[0].kind === 'eos') return { requirements: [] };
  for (;;) {
    // A requirement: [!]key [op values]
    let op: Operator | undefined;
    if (toks[i].kind === 'op' && toks[i].text === '!') {
      op = 'DoesNotExist';
      i++;
    }
    const keyTok = toks[i++];
    if (keyTok.kind !== 'id') fail(`found '${found(keyTok)}', expected: identifier`);
    const key = keyTok.text;
    if (!validLabelKey(key)) fail(`invalid label key "${key}"`);
    const next = toks[i];
    if (next.kind === 'eos' || (next.kind === 'op' && next.text === ',')) {
      reqs.push({ key, operator: op ?? 'Exists', values: [] });
    } else {
      if (op) fail(`found '${found(next)}', expected: ',' or 'end of string'`);
      const opTok = toks[i++];
      const opText = opTok.text;
      if (opTok.kind === 'id' && (opText === 'in' || opText === 'notin')) {
        const open = toks[i++];
        if (!(open.kind === 'op' && open.text === '(')) fail(`found '${found(open)}', expected: '('`);
        const values: string[] = [];
        // Values separated by commas; an empty place is the empty string, as in "(a,,b)" or "()".
        let expectValue = true;
        for (;;) {
          const t = toks[i++];
          if (t.kind === 'op' && t.text === ')') {
            if (expectValue) values.push('');
            break;
          }
          if (t.kind === 'op' && t.text === ',') {
            if (expectValue) values.push('');
            expectValue = true;
            continue;
          }
          if (t.kind === 'id' && expectValue) {
            values.push(t.text);
            expectValue = false;
            continue;
          }
          fail(`found '${found(t)}', expected: ',', or ')'`);
        }
        reqs.push({ key, operator: opText === 'in' ? 'In' : 'NotIn', values: [...new Set(values)] });
      } else if (opTok.kind === 'op' && ['=', '==', '!=', '>', '<'].includes(opText)) {
        const v = toks[i];
        let value = '';
        if (v.kind === 'id') {
          value = v.text;
          i++;
        } else if (!(v.kind === 'eos' || (v.kind === 'op' && v.text === ','))) {
          fail(`found '${found(v)}', expected: identifier`);
        }
        if (opText === '>' || opText === '<') {
          if (!/^-?\d+$/.test(value)) fail(`for 'Gt', 'Lt' operators, the value must be an integer`);
          reqs.push({ key, operator: opText === '>' ? 'GreaterThan' : 'LessThan', values: [value] });
        } else {
          reqs.push({ key, operator: opText === '!=' ? 'NotEquals' : 'Equals', values: [value] });
        }
      } else {
        fail(`found '${found(opTok)}', expected: in, notin, =, ==, !=, gt, lt`);
      }
    }
    for (const r of reqs.slice(-1)) {
      if (r.operator !== 'GreaterThan' && r.operator !== 'LessThan') {
        for (const v of r.values) if (v.length > 63 || !LABEL_VALUE.test(v)) fail(`invalid label value: "${v}"`);
      }
    }
    const sep = toks[i++];
    if (sep.kind === 'eos') break;
    if (!(sep.kind === 'op' && sep.text === ',')) fail(`found '${found(sep)}', expected: ',' or 'end of string'`);
    const after = toks[i];
    if (!(after.kind === 'id' || (after.kind === 'op' && after.text === '!'))) fail(`found '${found(after)}', expected: identifier after ','`);
  }
  return { requirements: reqs };
}

/** The string form kubectl prints (services' SELECTOR column, describe's Selector line). */
export function formatMap(m: Record<string, string> | undefined): string {
  return Object.keys(m ?? {}).sort().map((k) => `${k}=${m![k]}`).join(',');
}
