// What the apiserver refuses in an update that it would accept in a create: immutable fields
// (pkg/apis/core/validation ValidatePodUpdate, ValidateServiceUpdate; pkg/apis/apps/validation).
// Compared against what the files declared before, both as written, so defaults and what controllers filled
// in never count as the user's change.
import type { KubeObject } from '../objects.ts';
import type { Path } from './fields.ts';

export interface Refusal {
  path: Path;
  message: string;
}

/** A value's text with object keys sorted, so reordering a file's keys is no change. */
function canonical(v: unknown): string {
  return JSON.stringify(v ?? null, (_k, x) => (x && typeof x === 'object' && !Array.isArray(x) ? Object.fromEntries(Object.entries(x).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))) : x));
}

type Spec = Record<string, unknown> & { containers?: Record<string, unknown>[]; initContainers?: Record<string, unknown>[] };
const specOf = (o: KubeObject) => ((o as { spec?: Spec }).spec ?? {}) as Spec;

// ValidatePodUpdate's list, in its words.
const POD_UPDATABLE = '`spec.containers[*].image`,`spec.initContainers[*].image`,`spec.activeDeadlineSeconds`,' +
  '`spec.tolerations` (only additions to existing tolerations),`spec.terminationGracePeriodSeconds` (allow it to be set to 1 if it was previously negative)';

/** A pod spec without the fields an update may change, so what is left must be equal. */
function podSpecFixed(spec: Spec): Spec {
  const { activeDeadlineSeconds: _a, tolerations: _t, terminationGracePeriodSeconds: _g, ...rest } = spec;
  const noImage = (cs: Record<string, unknown>[] | undefined) => cs?.map(({ image: _i, ...c }) => c);
  return { ...rest, containers: noImage(spec.containers), initContainers: noImage(spec.initContainers) };
}

const WORKLOADS = new Set(['Deployment', 'ReplicaSet', 'StatefulSet', 'DaemonSet']);
const STATEFULSET_UPDATABLE = new Set(['replicas', 'ordinals', 'template', 'updateStrategy', 'persistentVolumeClaimRetentionPolicy', 'minReadySeconds']);

/**
 * Why the apiserver would refuse changing `before` (as the files declared it) into `next`, with `live` the
 * stored object; undefined when it would accept it.
 */
export function refuseUpdate(before: KubeObject, next: KubeObject, live: KubeObject): Refusal | undefined {
  const b = specOf(before);
  const n = specOf(next);
  if (next.kind === 'Pod' && canonical(podSpecFixed(b)) !== canonical(podSpecFixed(n))) {
    return { path: ['spec'], message: `Forbidden: pod updates may not change fields other than ${POD_UPDATABLE}` };
  }
  if (WORKLOADS.has(next.kind) && canonical(b.selector) !== canonical(n.selector)) {
    return { path: ['spec', 'selector'], message: `Invalid value: ${canonical(n.selector)}: field is immutable` };
  }
  if (next.kind === 'StatefulSet') {
    const fixed = (s: Spec) => Object.fromEntries(Object.entries(s).filter(([k]) => !STATEFULSET_UPDATABLE.has(k)));
    if (canonical(fixed(b)) !== canonical(fixed(n))) {
      return { path: ['spec'], message: "Forbidden: updates to statefulset spec for fields other than 'replicas', 'ordinals', 'template', 'updateStrategy', 'persistentVolumeClaimRetentionPolicy' and 'minReadySeconds' are forbidden" };
    }
  }
  if (next.kind === 'Service') {
    const l = specOf(live) as { type?: string; clusterIP?: string };
    const want = (n.clusterIPs as string[] | undefined)?.[0] ?? (n.clusterIP as string | undefined);
    // Only a change to or from ExternalName may drop or replace the ClusterIPs.
    if (want && l.clusterIP && want !== l.clusterIP && l.type !== 'ExternalName' && n.type !== 'ExternalName') {
      return { path: ['spec', 'clusterIPs', 0], message: `Invalid value: ${JSON.stringify([want])}: may not change once set` };
    }
  }
  return undefined;
}
