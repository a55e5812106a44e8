// Label selectors as Kubernetes defines them (k8s.io/apimachinery/pkg/labels): the string form kubectl's -l
// takes, and metav1.LabelSelector (matchLabels + matchExpressions). Both become a list of requirements, ANDed.
import type { LabelSelector } from 'kubernetes-types/meta/v1.js';
import { validLabelKey } from './validation/fields.ts';

export type Operator = 'Equals' | 'NotEquals' | 'In' | 'NotIn' | 'Exists' | 'DoesNotExist';

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

export const EVERYTHING: Selector = { requirements: [] };
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
    }
  }
  return true;
}

/** A Service's spec.selector (a plain map; empty or absent means "no selector", handled by callers). */
export function fromMap(m: Record<string, string>): Selector {
  return { requirements: Object.keys(m).sort().map((key) => ({ key, operator: 'Equals' as const, values: [m[key]] })) };
}

/**
 * metav1.LabelSelectorAsSelector: a nil selector selects nothing, an empty one everything. Throws on an
 * unknown operator, as the apiserver's validation would have refused it.
 */
export function fromLabelSelector(ls: LabelSelector | undefined | null): Selector {
  if (ls === undefined || ls === null) return NOTHING;
  const reqs: Requirement[] = [];
  for (const [key, value] of Object.entries(ls.matchLabels ?? {})) reqs.push({ key, operator: 'Equals', values: [value] });
  for (const e of ls.matchExpressions ?? []) {
    switch (e.operator) {
      case 'In':
      case 'NotIn':
        if (!e.values || e.values.length === 0) throw new Error(`matchExpressions: operator ${e.operator} needs values`);
        reqs.push({ key: e.key, operator: e.operator, values: [...e.values] });
        break;
      case 'Exists':
      case 'DoesNotExist':
        reqs.push({ key: e.key, operator: e.operator, values: [] });
        break;
      default:
        throw new Error(`matchExpressions: "${e.operator}" is not a valid label selector operator`);
    }
  }
  return { requirements: reqs };
}

/** Parses kubectl's -l syntax: `app=web,tier!=db,env in (a,b),!legacy,release`. */
export function parseSelector(text: string): Selector {
  const reqs: Requirement[] = [];
  const s = text.trim();
  let i = 0;
  const skipWs = () => {
    while (i < s.length && /\s/.test(s[i])) i++;
  };
  const ident = (): string => {
    skipWs();
    const start = i;
    while (i < s.length && !/[\s,=!()]/.test(s[i])) i++;
    return s.slice(start, i);
  };
  const fail = (msg: string): never => {
    throw new Error(`unable to parse requirement: ${msg} in "${text}"`);
  };
  const checkKey = (k: string) => {
    if (!validLabelKey(k)) fail(`invalid label key "${k}"`);
  };
  while (true) {
    skipWs();
    if (i >= s.length) break;
    if (s[i] === '!') {
      i++;
      const key = ident();
      checkKey(key);
      reqs.push({ key, operator: 'DoesNotExist', values: [] });
    } else {
      const key = ident();
      checkKey(key);
      skipWs();
      const rest = s.slice(i);
      if (rest.startsWith('==') || rest.startsWith('!=') || rest.startsWith('=')) {
        const op: Operator = rest.startsWith('!=') ? 'NotEquals' : 'Equals';
        i += rest.startsWith('=') && !rest.startsWith('==') ? 1 : 2;
        const value = ident();
        reqs.push({ key, operator: op, values: [value] });
      } else if (/^(in|notin)\s*\(/.test(rest)) {
        const op: Operator = rest.startsWith('in') ? 'In' : 'NotIn';
        i = s.indexOf('(', i) + 1;
        const close = s.indexOf(')', i);
        if (close < 0) fail('missing ")"');
        const values = s.slice(i, close).split(',').map((v) => v.trim());
        if (values.length === 1 && values[0] === '') fail(`${op === 'In' ? 'in' : 'notin'} needs at least one value`);
        reqs.push({ key, operator: op, values });
        i = close + 1;
      } else if (rest === '' || rest.startsWith(',')) {
        reqs.push({ key, operator: 'Exists', values: [] });
      } else {
        fail(`found "${rest[0]}", expected: "=", "!=", "==", "in", "notin" or ","`);
      }
    }
    skipWs();
    if (i < s.length) {
      if (s[i] !== ',') fail(`found "${s[i]}", expected ","`);
      i++;
    }
  }
  return { requirements: reqs };
}

/** The string form kubectl prints (services' SELECTOR column, describe's Selector line). */
export function formatMap(m: Record<string, string> | undefined): string {
  return Object.keys(m ?? {}).sort().map((k) => `${k}=${m![k]}`).join(',');
}
