// The object store: what etcd + the apiserver are to a real cluster. Objects are treated as immutable
// values (a write replaces them), every write bumps resourceVersion, and watchers see every change.
//
// Events are delivered synchronously, in order, and without re-entrance: a write made by a watcher while an
// event is being delivered is queued and delivered after it. When the outermost write returns, every
// controller has reacted to it; that is what makes "a pod deleted -> EndpointSlice updated" measurable.
import { v5 as uuidv5 } from 'uuid';
import { isNamespaced, objectKey, type KubeObject } from './objects.ts';
import { matches, type Selector } from './labels.ts';

export type EventType = 'ADDED' | 'MODIFIED' | 'DELETED';

export interface WatchEvent<T extends KubeObject = KubeObject> {
  type: EventType;
  object: T;
  /** The object before a MODIFIED event. */
  old?: T;
}

export interface ListOptions {
  namespace?: string;
  selector?: Selector;
}

export interface WatchOptions extends ListOptions {
  kind: string;
}

type Handler = (e: WatchEvent) => void;

interface Watcher extends WatchOptions {
  handler: Handler;
}

/** Objects of one kind, indexed by namespace and by label for fast selector lists. */
class KindIndex {
  readonly byKey = new Map<string, KubeObject>();
  readonly byNamespace = new Map<string, Map<string, KubeObject>>();
  /** "key=value" -> object keys */
  readonly byLabel = new Map<string, Set<string>>();

  add(key: string, o: KubeObject): void {
    this.byKey.set(key, o);
    const ns = o.metadata.namespace ?? '';
    let m = this.byNamespace.get(ns);
    if (!m) this.byNamespace.set(ns, (m = new Map()));
    m.set(key, o);
    for (const [k, v] of Object.entries(o.metadata.labels ?? {})) {
      const lk = `${k}=${v}`;
      let s = this.byLabel.get(lk);
      if (!s) this.byLabel.set(lk, (s = new Set()));
      s.add(key);
    }
  }

  remove(key: string): void {
    const o = this.byKey.get(key);
    if (!o) return;
    this.byKey.delete(key);
    const ns = o.metadata.namespace ?? '';
    this.byNamespace.get(ns)?.delete(key);
    for (const [k, v] of Object.entries(o.metadata.labels ?? {})) this.byLabel.get(`${k}=${v}`)?.delete(key);
  }

  list(opts: ListOptions): KubeObject[] {
    const sel = opts.selector;
    if (sel?.nothing) return [];
    // Start from the smallest label index an equality requirement allows, else the namespace.
    let candidates: Iterable<KubeObject> | undefined;
    let best = Infinity;
    for (const r of sel?.requirements ?? []) {
      if ((r.operator === 'Equals' || r.operator === 'In') && r.values.length === 1) {
        const s = this.byLabel.get(`${r.key}=${r.values[0]}`);
        const size = s?.size ?? 0;
        if (size < best) {
          best = size;
          candidates = s ? [...s].map((k) => this.byKey.get(k)!) : [];
        }
      }
    }
    if (!candidates) {
      candidates = opts.namespace !== undefined ? (this.byNamespace.get(opts.namespace)?.values() ?? []) : this.byKey.values();
    }
    const out: KubeObject[] = [];
    for (const o of candidates) {
      if (opts.namespace !== undefined && (o.metadata.namespace ?? '') !== opts.namespace) continue;
      if (sel && !matches(sel, o.metadata.labels)) continue;
      out.push(o);
    }
    return out;
  }
}

/** Kinds whose strategy keeps metadata.generation (Pods and Services do not, before v1.33). */
const GENERATION_KINDS = new Set(['Deployment', 'ReplicaSet', 'StatefulSet', 'DaemonSet', 'Ingress', 'IngressClass']);

// A fixed namespace for the deterministic UIDs of this emulated cluster's objects.
const UID_NAMESPACE = '6f0f4e6a-8b1d-4d7e-9a55-6b6470000000';

export class Store {
  private resourceVersion = 0;
  private readonly kinds = new Map<string, KindIndex>();
  private readonly watchers: Watcher[] = [];
  private readonly pending: { watcher: Watcher; event: WatchEvent }[] = [];
  private dispatching = false;

  /** `now` stamps creationTimestamp on objects that have none. */
  constructor(private readonly now: () => Date = () => new Date()) {}

  get currentResourceVersion(): string {
    return String(this.resourceVersion);
  }

  get<T extends KubeObject>(kind: string, namespace: string | undefined, name: string): T | undefined {
    return this.kinds.get(kind)?.byKey.get(objectKey(isNamespaced(kind) ? namespace : undefined, name)) as T | undefined;
  }

  /** Objects of a kind in insertion order (the order files listed them, then the order controllers made them). */
  list<T extends KubeObject>(kind: string, opts: ListOptions = {}): T[] {
    return (this.kinds.get(kind)?.list(opts) ?? []) as T[];
  }

  count(kind: string): number {
    return this.kinds.get(kind)?.byKey.size ?? 0;
  }

  create<T extends KubeObject>(obj: T): T {
    const key = this.keyOf(obj);
    const idx = this.index(obj.kind);
    if (idx.byKey.has(key)) throw new Error(`${obj.kind} "${key}" already exists`);
    const stored = this.stamp(obj, undefined);
    idx.add(key, stored);
    this.emit({ type: 'ADDED', object: stored });
    return stored;
  }

  update<T extends KubeObject>(obj: T): T {
    const key = this.keyOf(obj);
    const idx = this.index(obj.kind);
    const old = idx.byKey.get(key) as T | undefined;
    if (!old) throw new Error(`${obj.kind} "${key}" not found`);
    const stored = this.stamp(obj, old);
    idx.remove(key);
    idx.add(key, stored);
    this.emit({ type: 'MODIFIED', object: stored, old });
    return stored;
  }

  /** Create, or replace what is there (kubectl apply's effect, without the merge). */
  apply<T extends KubeObject>(obj: T): T {
    return this.get(obj.kind, obj.metadata.namespace, obj.metadata.name) ? this.update(obj) : this.create(obj);
  }

  delete(kind: string, namespace: string | undefined, name: string): KubeObject | undefined {
    const idx = this.kinds.get(kind);
    const key = objectKey(isNamespaced(kind) ? namespace : undefined, name);
    const old = idx?.byKey.get(key);
    if (!idx || !old) return undefined;
    idx.remove(key);
    this.resourceVersion++;
    this.emit({ type: 'DELETED', object: old });
    return old;
  }

  /** Calls handler for every later change matching opts. Returns the function that stops the watch. */
  watch(opts: WatchOptions, handler: Handler): () => void {
    const w: Watcher = { ...opts, handler };
    this.watchers.push(w);
    return () => {
      const i = this.watchers.indexOf(w);
      if (i >= 0) this.watchers.splice(i, 1);
    };
  }

  private index(kind: string): KindIndex {
    let idx = this.kinds.get(kind);
    if (!idx) this.kinds.set(kind, (idx = new KindIndex()));
    return idx;
  }

  private keyOf(obj: KubeObject): string {
    const namespaced = isNamespaced(obj.kind);
    if (namespaced && !obj.metadata.namespace) throw new Error(`${obj.kind} "${obj.metadata.name}" has no namespace`);
    return objectKey(namespaced ? obj.metadata.namespace : undefined, obj.metadata.name);
  }

  private stamp<T extends KubeObject>(obj: T, old: T | undefined): T {
    const rv = String(++this.resourceVersion);
    const m = obj.metadata;
    const uid = m.uid ?? old?.metadata.uid ?? uuidv5(`${obj.kind}/${this.keyOf(obj)}`, UID_NAMESPACE);
    const creationTimestamp = m.creationTimestamp ?? old?.metadata.creationTimestamp ?? this.now().toISOString().replace(/\.\d+Z$/, 'Z');
    // metadata.generation counts changes to the desired state (spec), as the apiserver's strategies do.
    const generation = GENERATION_KINDS.has(obj.kind)
      ? (old ? (obj.spec !== old.spec ? (old.metadata.generation ?? 1) + 1 : old.metadata.generation) : (m.generation ?? 1))
      : m.generation;
    return { ...obj, metadata: { ...m, uid, creationTimestamp, resourceVersion: rv, ...(generation !== undefined ? { generation } : {}) } };
  }

  private emit(event: WatchEvent): void {
    const o = event.object;
    for (const w of this.watchers) {
      if (w.kind !== o.kind) continue;
      if (w.namespace !== undefined && w.namespace !== (o.metadata.namespace ?? '')) continue;
      if (w.selector && !matches(w.selector, o.metadata.labels) && !(event.old && matches(w.selector, event.old.metadata.labels))) continue;
      this.pending.push({ watcher: w, event });
    }
    if (this.dispatching) return;
    this.dispatching = true;
    try {
      for (let i = 0; i < this.pending.length; i++) {
        const { watcher, event: e } = this.pending[i];
        if (this.watchers.includes(watcher)) watcher.handler(e);
      }
    } finally {
      this.pending.length = 0;
      this.dispatching = false;
    }
  }
}
