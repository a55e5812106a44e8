// How kubectl renders label maps and label selectors (k8s.io/apimachinery/pkg/labels, metav1 helpers).
import type { LabelSelector } from 'kubernetes-types/meta/v1.js';
import { byteOrder } from './order.ts';

/** labels.FormatLabels: sorted k=v pairs joined by ',', or '<none>'. */
export function formatLabels(labels: Record<string, string> | undefined): string {
  const keys = Object.keys(labels ?? {}).sort(byteOrder);
  return keys.length === 0 ? '<none>' : keys.map((k) => `${k}=${labels![k]}`).join(',');
}

const OPERATORS: Record<string, string> = { In: ' in ', NotIn: ' notin ', Exists: '', DoesNotExist: '' };

/**
 * metav1.LabelSelectorAsSelector(sel).String(): requirements sorted by key, set values sorted. A nil selector
 * (selects nothing) and an empty one (selects everything) both print as ''. Returns undefined where Go returns
 * an error; keys and values are not re-validated, the apiserver did that on admission.
 */
export function selectorString(sel: LabelSelector | undefined): string | undefined {
  const reqs: { key: string; text: string }[] = [];
  for (const [key, value] of Object.entries(sel?.matchLabels ?? {})) reqs.push({ key, text: `${key}=${value}` });
  for (const e of sel?.matchExpressions ?? []) {
    const values = e.values ?? [];
    const setBased = e.operator === 'In' || e.operator === 'NotIn';
    if (!Object.hasOwn(OPERATORS, e.operator) || setBased !== values.length > 0) return undefined;
    const text = setBased
      ? `${e.key}${OPERATORS[e.operator]}(${[...values].sort(byteOrder).join(',')})`
      : `${e.operator === 'DoesNotExist' ? '!' : ''}${e.key}`;
    reqs.push({ key: e.key, text });
  }
  return reqs.sort((a, b) => byteOrder(a.key, b.key)).map((r) => r.text).join(',');
}

/** metav1.FormatLabelSelector: '<none>' for an empty result, '<error>' for an invalid selector. */
export function formatLabelSelector(sel: LabelSelector | undefined): string {
  const s = selectorString(sel);
  if (s === undefined) return '<error>';
  return s === '' ? '<none>' : s;
}
