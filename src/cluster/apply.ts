// Applying a re-read topology to a running cluster, as `kubectl apply` would for the objects the files declare:
// new objects created, changed ones updated (what controllers own kept unless the file sets it), objects gone
// from the files deleted. Only objects the files declared are ever deleted; the controllers' and the bootstrap's
// are left alone. The Cluster object (and KubeProxyConfiguration) cannot change while running.
import { describeObject, isNamespaced, objectKey, type KubeObject } from './objects.ts';
import { problemAt } from './topology/load.ts';
import { formatProblem } from './problems.ts';
import { refuseUpdate } from './validation/update.ts';
import type { Cluster } from './cluster.ts';
import type { Topology } from './topology/load.ts';

/** The objects as the files last declared them, by kind and key. */
export type Declared = Map<string, KubeObject>;

export function declaredKey(o: KubeObject): string {
  return `${o.kind}\0${objectKey(isNamespaced(o.kind) ? o.metadata.namespace : undefined, o.metadata.name)}`;
}

export function declaredObjects(topology: Topology): Declared {
  return new Map(topology.objects.map((o) => [declaredKey(o), o]));
}

/** kubectl's name for an object in apply's output: `service/web`, `deployment.apps/web`. */
export function applyName(o: KubeObject): string {
  const slash = o.apiVersion.indexOf('/');
  const group = slash < 0 ? '' : o.apiVersion.slice(0, slash);
  return `${o.kind.toLowerCase()}${group ? `.${group}` : ''}/${o.metadata.name}`;
}

/** A value's canonical text, bigints included (cluster settings hold parsed CIDRs). */
function canonical(v: unknown): string {
  return JSON.stringify(v, (_k, x) => (typeof x === 'bigint' ? x.toString() : x));
}

type StringMap = Record<string, string> | undefined;

/**
 * kubectl apply's three-way merge of a map: the live keys (a controller's annotation, a `kubectl label`) stay
 * unless the files declared them before and no longer do; the files' values win.
 */
function mergeMap(live: StringMap, prev: StringMap, next: StringMap): StringMap {
  const out: Record<string, string> = {};
  for (const [k, v] of Object.entries(live ?? {})) if (!(prev && k in prev) || (next && k in next)) out[k] = v;
  Object.assign(out, next ?? {});
  return Object.keys(out).length ? out : undefined;
}

/**
 * The file's object with what the running one holds and the file does not say: status, the scheduler's
 * nodeName, owner references, labels and annotations others added, and the identity the apiserver stamped.
 * The Service registry keeps ClusterIPs and NodePorts itself.
 */
function merged(file: KubeObject, live: KubeObject, prev: KubeObject | undefined): KubeObject {
  const out: KubeObject = { ...file, metadata: { ...file.metadata } };
  const m = live.metadata;
  if (m.ownerReferences && !file.metadata.ownerReferences) out.metadata.ownerReferences = m.ownerReferences;
  const labels = mergeMap(m.labels, prev?.metadata.labels, file.metadata.labels);
  const annotations = mergeMap(m.annotations, prev?.metadata.annotations, file.metadata.annotations);
  if (labels) out.metadata.labels = labels;
  else delete out.metadata.labels;
  if (annotations) out.metadata.annotations = annotations;
  else delete out.metadata.annotations;
  const status = (live as { status?: unknown }).status;
  if (status !== undefined && (file as { status?: unknown }).status === undefined) (out as { status?: unknown }).status = status;
  const liveSpec = (live as { spec?: { nodeName?: string } }).spec;
  const spec = (file as { spec?: { nodeName?: string } }).spec;
  if (file.kind === 'Pod' && liveSpec?.nodeName && spec && !spec.nodeName) (out as { spec?: unknown }).spec = { ...spec, nodeName: liveSpec.nodeName };
  return out;
}

export interface ApplyResult {
  /** One line per change, in kubectl's words. */
  lines: string[];
  /** Why a part of the change was not applied. */
  warnings: string[];
  /** Updates the apiserver refuses (immutable fields), with file:line; those objects keep their state. */
  errors: string[];
  /** What the files now declare (the next call's `before`). */
  declared: Declared;
}

/** Applies `next` to the running cluster; `before` is what the files declared when last applied. */
export function applyTopology(cluster: Cluster, before: Declared, next: Topology): ApplyResult {
  const { api, store } = cluster;
  const lines: string[] = [];
  const warnings: string[] = [];
  const errors: string[] = [];
  if (canonical(next.config) !== canonical(cluster.config)) {
    const origin = next.origins.get('Cluster', undefined, next.config.name);
    warnings.push(formatProblem(problemAt(origin, `Cluster ${next.config.name}`, [],
      'the cluster settings (kdp.dev Cluster, KubeProxyConfiguration) changed: not applied; restart kdp up to apply them (the running cluster keeps the settings it started with)', 'warning')));
  }
  const declared = declaredObjects(next);
  // Problems the controllers find from here on name the lines the files now have.
  for (const o of next.objects) {
    const origin = next.origins.get(o.kind, o.metadata.namespace, o.metadata.name);
    if (origin) cluster.origins.set(o.kind, o.metadata.namespace, o.metadata.name, origin);
  }
  for (const o of next.objects) {
    const ns = o.metadata.namespace;
    if (ns && isNamespaced(o.kind) && !store.get('Namespace', undefined, ns) && !declared.has(`Namespace\0${ns}`)) {
      // As at load: a namespace the files use without defining it, as a person applying them would have made.
      if (api.create({ apiVersion: 'v1', kind: 'Namespace', metadata: { name: ns } })) lines.push(`namespace/${ns} created`);
    }
    const live = store.get(o.kind, ns, o.metadata.name);
    if (!live) {
      if (api.create(o)) lines.push(`${applyName(o)} created`);
      continue;
    }
    const prev = before.get(declaredKey(o));
    if (prev && canonical(prev) === canonical(o)) continue;
    const refusal = prev && refuseUpdate(prev, o, live);
    if (refusal) {
      errors.push(formatProblem(problemAt(next.origins.get(o.kind, ns, o.metadata.name), describeObject(o.kind, ns, o.metadata.name), refusal.path, refusal.message)));
      // Still what the cluster runs: the next save is compared with it.
      declared.set(declaredKey(o), prev);
      continue;
    }
    if (api.update(merged(o, live, prev))) lines.push(`${applyName(o)} configured`);
  }
  // Deleted last to first, so dependants (a Service after its Deployment's listing) go before what they name.
  for (const [key, o] of [...before].reverse()) {
    if (declared.has(key)) continue;
    if (api.delete(o.kind, o.metadata.namespace, o.metadata.name)) lines.push(`${applyName(o)} deleted`);
  }
  return { lines, warnings, errors, declared };
}
