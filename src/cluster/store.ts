// The object store: what etcd + the apiserver are to a real cluster. Objects are treated as immutable
// values (a write replaces them), every write bumps resourceVersion, and watchers see every change.
//
// Events are delivered synchronously, in order, and without re-entrance: a write made by a watcher while an
// event is being delivered is queued and delivered after it. When the outermost write returns, every
// controller has reacted to it; that is what makes "a pod deleted -> EndpointSlice updated" measurable.
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
  /** Events queued before the watch began are not its to see. */
  since: number;
}

const controllerUid = (o: KubeObject): string | undefined => o.metadata.ownerReferences?.find((r) => r.controller)?.uid;

function sameLabels(a: Record<string, string> | undefined, b: Record<string, string> | undefined): boolean {
  if (a === b) return true;
  const ka = Object.keys(a ?? {});
  if (ka.length !== Object.keys(b ?? {}).length) return false;
  return ka.every((k) => a![k] === b?.[k]);
}

/** Objects of one kind, indexed by namespace, by label (for selector lists) and by controlling owner. */
class KindIndex {
  readonly byKey = new Map<string, KubeObject>();
  readonly byNamespace = new Map<string, Map<string, KubeObject>>();
  /** "key=value" -> object keys */
  readonly byLabel = new Map<string, Set<string>>();
  /** controller owner uid -> object keys */
  readonly byOwner = new Map<string, Set<string>>();

  add(key: string, o: KubeObject): void {
    this.byKey.set(key, o);
    const ns = o.metadata.namespace ?? '';
    let m = this.byNamespace.get(ns);
    if (!m) this.byNamespace.set(ns, (m = new Map()));
    m.set(key, o);
    this.indexLabels(key, o, true);
    this.indexOwner(key, o, true);
  }

  remove(key: string): void {
    const o = this.byKey.get(key);
    if (!o) return;
    this.byKey.delete(key);
    this.byNamespace.get(o.metadata.namespace ?? '')?.delete(key);
    this.indexLabels(key, o, false);
    this.indexOwner(key, o, false);
  }

  /** Replaces an object in place; the secondary indexes change only where the object did. */
  replace(key: string, old: KubeObject, o: KubeObject): void {
    this.byKey.set(key, o);
    this.byNamespace.get(o.metadata.namespace ?? '')!.set(key, o);
    if (!sameLabels(old.metadata.labels, o.metadata.labels)) {
      this.indexLabels(key, old, false);
      this.indexLabels(key, o, true);
    }
    if (controllerUid(old) !== controllerUid(o)) {
      this.indexOwner(key, old, false);
      this.indexOwner(key, o, true);
    }
  }

  private indexLabels(key: string, o: KubeObject, add: boolean): void {
    for (const [k, v] of Object.entries(o.metadata.labels ?? {})) {
      const lk = `${k}=${v}`;
      let s = this.byLabel.get(lk);
      if (add) {
        if (!s) this.byLabel.set(lk, (s = new Set()));
        s.add(key);
      } else if (s) {
        s.delete(key);
        if (s.size === 0) this.byLabel.delete(lk);
      }
    }
  }

  private indexOwner(key: string, o: KubeObject, add: boolean): void {
    const uid = controllerUid(o);
    if (!uid) return;
    let s = this.byOwner.get(uid);
    if (add) {
      if (!s) this.byOwner.set(uid, (s = new Set()));
      s.add(key);
    } else if (s) {
      s.delete(key);
      if (s.size === 0) this.byOwner.delete(uid);
    }
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

const hex8 = (n: number) => (n >>> 0).toString(16).padStart(8, '0');

/** murmur3's 32-bit finalizer: spreads the bits of a counter so consecutive UIDs look unrelated. */
function mix32(h: number): number {
  h = Math.imul(h ^ (h >>> 16), 0x85ebca6b);
  h = Math.imul(h ^ (h >>> 13), 0xc2b2ae35);
  return (h ^ (h >>> 16)) >>> 0;
}

/**
 * The n-th UID this store hands out, shaped as the apiserver's random v4 UUIDs. Like them it is new for every
 * creation (a recreated object gets a fresh one); unlike them it is the same on every run.
 */
function uidFor(n: number): string {
  const a = hex8(mix32(n));
  const b = hex8(mix32(n ^ 0x5bd1e995));
  const c = hex8(mix32(n ^ 0x27d4eb2f));
  const d = hex8(mix32(n ^ 0x165667b1));
  return `${a}-${b.slice(0, 4)}-4${b.slice(5, 8)}-${'89ab'[parseInt(c[0], 16) & 3]}${c.slice(1, 4)}-${c.slice(4)}${d}`;
}

export class Store {
  private resourceVersion = 0;
  private readonly kinds = new Map<string, KindIndex>();
  private readonly watchers = new Set<Watcher>();
  private readonly pending: WatchEvent[] = [];
  private emitted = 0;
  private dispatching = false;
  private uids = 0;
  private stampedAt = { ms: NaN, text: '' };

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

  /** Objects of a kind whose controlling owner reference names this uid (what the garbage collector follows). */
  listOwnedBy<T extends KubeObject>(kind: string, ownerUid: string): T[] {
    const idx = this.kinds.get(kind);
    const keys = idx?.byOwner.get(ownerUid);
    return keys ? ([...keys].map((k) => idx!.byKey.get(k)!) as T[]) : [];
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
    idx.replace(key, old, stored);
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
    const w: Watcher = { ...opts, handler, since: this.emitted };
    this.watchers.add(w);
    return () => {
      this.watchers.delete(w);
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
    const uid = m.uid ?? old?.metadata.uid ?? uidFor(++this.uids);
    const creationTimestamp = m.creationTimestamp ?? old?.metadata.creationTimestamp ?? this.timestamp();
    // metadata.generation counts changes to the desired state (spec), as the apiserver's strategies do.
    const generation = GENERATION_KINDS.has(obj.kind)
      ? (old ? (obj.spec !== old.spec ? (old.metadata.generation ?? 1) + 1 : old.metadata.generation) : (m.generation ?? 1))
      : m.generation;
    // Object.assign, not spread: in Node 20's V8 a spread that adds keys takes a slow path (~10x).
    const metadata = Object.assign({}, m, generation !== undefined ? { uid, creationTimestamp, resourceVersion: rv, generation } : { uid, creationTimestamp, resourceVersion: rv });
    return Object.assign({}, obj, { metadata });
  }

  /** RFC 3339 at second precision, as metadata timestamps are; formatted once per clock tick. */
  private timestamp(): string {
    const now = this.now();
    const ms = now.getTime();
    if (ms !== this.stampedAt.ms) this.stampedAt = { ms, text: now.toISOString().replace(/\.\d+Z$/, 'Z') };
    return this.stampedAt.text;
  }

  private emit(event: WatchEvent): void {
    this.pending.push(event);
    if (this.dispatching) return;
    this.dispatching = true;
    try {
      for (let i = 0; i < this.pending.length; i++) {
        const e = this.pending[i];
        const seq = this.emitted++;
        const o = e.object;
        for (const w of this.watchers) {
          if (w.kind !== o.kind || w.since > seq) continue;
          if (w.namespace !== undefined && w.namespace !== (o.metadata.namespace ?? '')) continue;
          if (w.selector && !matches(w.selector, o.metadata.labels) && !(e.old && matches(w.selector, e.old.metadata.labels))) continue;
          w.handler(e);
        }
      }
    } finally {
      this.pending.length = 0;
      this.dispatching = false;
    }
  }
}
