// Whether a pod may run on a node, as the scheduler's filter plugins decide it: node name, nodeSelector,
// required node affinity, taints and tolerations, unschedulable. Shared by the scheduler and the DaemonSet
// controller, which asks the same question before it makes a daemon pod.
import type { Node, Pod } from '../objects.ts';
import type * as core from 'kubernetes-types/core/v1.js';

export function tolerates(tolerations: core.Toleration[] | undefined, taint: core.Taint): boolean {
  return (tolerations ?? []).some((t) => {
    if (t.effect && t.effect !== taint.effect) return false;
    if (t.operator === 'Exists') return !t.key || t.key === taint.key;
    return t.key === taint.key && (t.value ?? '') === (taint.value ?? '');
  });
}

function matchExpression(e: core.NodeSelectorRequirement, value: string | undefined): boolean {
  const has = value !== undefined;
  switch (e.operator) {
    case 'In': return has && (e.values ?? []).includes(value!);
    case 'NotIn': return !has || !(e.values ?? []).includes(value!);
    case 'Exists': return has;
    case 'DoesNotExist': return !has;
    case 'Gt': return has && Number(value) > Number(e.values?.[0]);
    case 'Lt': return has && Number(value) < Number(e.values?.[0]);
    default: return false;
  }
}

function matchTerm(term: core.NodeSelectorTerm, node: Node): boolean {
  const labels = node.metadata?.labels ?? {};
  return (term.matchExpressions ?? []).every((e) => matchExpression(e, labels[e.key])) &&
    (term.matchFields ?? []).every((e) => matchExpression(e, e.key === 'metadata.name' ? node.metadata?.name : undefined));
}

/** Why the pod cannot run on the node (the scheduler's wording), or undefined when it can. */
export function unfitReason(pod: Pod, node: Node, opts: { ignoreUnschedulable?: boolean } = {}): string | undefined {
  const spec = pod.spec ?? { containers: [] };
  if (!opts.ignoreUnschedulable && node.spec?.unschedulable && !tolerates(spec.tolerations, { key: 'node.kubernetes.io/unschedulable', effect: 'NoSchedule' })) {
    return 'node(s) were unschedulable';
  }
  // Checked in the scheduler's filter plugin order: NodeUnschedulable, TaintToleration, NodeAffinity.
  for (const taint of node.spec?.taints ?? []) {
    if ((taint.effect === 'NoSchedule' || taint.effect === 'NoExecute') && !tolerates(spec.tolerations, taint)) {
      return `node(s) had untolerated taint {${taint.key}${taint.value ? `: ${taint.value}` : ''}}`;
    }
  }
  const labels = node.metadata?.labels ?? {};
  const nodeSelector = spec.nodeSelector;
  for (const k in nodeSelector) {
    if (labels[k] !== nodeSelector[k]) return "node(s) didn't match Pod's node affinity/selector";
  }
  const terms = spec.affinity?.nodeAffinity?.requiredDuringSchedulingIgnoredDuringExecution?.nodeSelectorTerms;
  if (terms && terms.length > 0 && !terms.some((t) => matchTerm(t, node))) return "node(s) didn't match Pod's node affinity/selector";
  for (const c of node.status?.conditions ?? []) {
    if (c.type === 'Ready') return c.status !== 'True' ? 'node(s) were not ready' : undefined;
  }
  return undefined;
}
