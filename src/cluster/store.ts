// The object store: what etcd + the apiserver are to a real cluster. Objects are treated as immutable
// values (a write replaces them), every write bumps resourceVersion, and watchers see every change.
//
// Events are delivered synchronously, in order, and without re-entrance: a write made by a watcher while an
// event is being delivered is queued and delivered after it. When the outermost write returns, every
// controller has reacted to it; that is what makes "a pod deleted -> EndpointSlice updated" measurable.
import { isNamespaced, objectKey, patch, type KubeObject } from './objects.ts';
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

function controllerUid(o: KubeObject): string | undefined {
  for (const r of o.metadata.ownerReferences ?? []) if (r.controller) return r.uid;
  return undefined;
}

function sameLabels(a: Record<string, string> | undefined, b: Record<string, string> | undefined): boolean {
  if (a === b) return true;
  const ka = Object.keys(a ?? {});
  if (ka.length !== Object.keys(b ?? {}).length) return false;
  return ka.every((k) => a![k] === b?.[k]);
}

/**
 * One stored object's place in the indexes. It outlives the object's versions: an update re-points `obj`
 * and touches the label and owner indexes only when labels or owner changed.
 */
interface Entry {
  obj: KubeObject;
}

/**
 * The entries under one index key: most label values and owners of a large cluster have exactly one object
 * (a Service's slice, a Deployment's ReplicaSet), so a lone entry is held as itself and a Set is made only for
 * a second one — tens of thousands of Sets fewer for the garbage collector to trace.
 */
type Bucket = Entry | Set<Entry>;

function bucketAdd<K>(m: Map<K, Bucket>, key: K, e: Entry): void {
  const b = m.get(key);
  if (b === undefined) m.set(key, e);
  else if (b instanceof Set) b.add(e);
  else if (b !== e) m.set(key, new Set([b, e]));
}

function bucketDelete<K>(m: Map<K, Bucket>, key: K, e: Entry): void {
  const b = m.get(key);
  if (b === e) m.delete(key);
  else if (b instanceof Set) {
    b.delete(e);
    if (b.size === 0) m.delete(key);
  }
}

const bucketSize = (b: Bucket | undefined): number => (b === undefined ? 0 : b instanceof Set ? b.size : 1);
const bucketEntries = (b: Bucket | undefined): Iterable<Entry> => (b === undefined ? [] : b instanceof Set ? b : [b]);

/** Objects of one kind, indexed by namespace and name, by label (for selector lists) and by controlling owner. */
class KindIndex {
  /** Every entry, in insertion order: the order lists come back in. */
  readonly all = new Set<Entry>();
  /** namespace ('' for cluster-scoped kinds) -> name -> entry */
  readonly byNamespace = new Map<string, Map<string, Entry>>();
  /** label key -> label value -> entries */
  readonly byLabel = new Map<string, Map<string, Bucket>>();
  /** controller owner uid -> entries */
  readonly byOwner = new Map<string, Bucket>();

  entry(namespace: string, name: string): Entry | undefined {
    return this.byNamespace.get(namespace)?.get(name);
  }

  add(namespace: string, o: KubeObject): void {
    const e: Entry = { obj: o };
    this.all.add(e);
    let m = this.byNamespace.get(namespace);
    if (!m) this.byNamespace.set(namespace, (m = new Map()));
    m.set(o.metadata.name, e);
    this.indexLabels(e, o.metadata.labels, true);
    this.indexOwner(e, controllerUid(o), true);
  }

  remove(namespace: string, e: Entry): void {
    this.all.delete(e);
    this.byNamespace.get(namespace)?.delete(e.obj.metadata.name);
    this.indexLabels(e, e.obj.metadata.labels, false);
    this.indexOwner(e, controllerUid(e.obj), false);
  }

  replace(e: Entry, o: KubeObject): void {
    const old = e.obj;
    e.obj = o;
    if (!sameLabels(old.metadata.labels, o.metadata.labels)) {
      this.indexLabels(e, old.metadata.labels, false);
      this.indexLabels(e, o.metadata.labels, true);
    }
    const oldOwner = controllerUid(old);
    const owner = controllerUid(o);
    if (oldOwner !== owner) {
      this.indexOwner(e, oldOwner, false);
      this.indexOwner(e, owner, true);
    }
  }

  private indexLabels(e: Entry, labels: Record<string, string> | undefined, add: boolean): void {
    for (const k in labels) {
      let values = this.byLabel.get(k);
      if (add) {
        if (!values) this.byLabel.set(k, (values = new Map()));
        bucketAdd(values, labels[k], e);
      } else if (values) {
        bucketDelete(values, labels[k], e);
      }
    }
  }

  private indexOwner(e: Entry, uid: string | undefined, add: boolean): void {
    if (!uid) return;
    if (add) bucketAdd(this.byOwner, uid, e);
    else bucketDelete(this.byOwner, uid, e);
  }

  /** The entries a controlling owner has, in the order they were indexed. */
  owned(uid: string): Iterable<Entry> {
    return bucketEntries(this.byOwner.get(uid));
  }

  list(opts: ListOptions): KubeObject[] {
    const sel = opts.selector;
    if (sel?.nothing) return [];
    // Start from the smallest label index an equality requirement allows, else the namespace, else all.
    let candidates: Iterable<Entry> | undefined;
    let best = Infinity;
    for (const r of sel?.requirements ?? []) {
      if ((r.operator === 'Equals' || r.operator === 'In') && r.values.length === 1) {
        const b = this.byLabel.get(r.key)?.get(r.values[0]);
        const size = bucketSize(b);
        if (size < best) {
          best = size;
          candidates = bucketEntries(b);
        }
      }
    }
    candidates ??= opts.namespace !== undefined ? (this.byNamespace.get(opts.namespace)?.values() ?? []) : this.all;
    const out: KubeObject[] = [];
    for (const e of candidates) {
      const o = e.obj;
      if (opts.namespace !== undefined && (o.metadata.namespace ?? '') !== opts.namespace) continue;
      if (sel && !matches(sel, o.metadata.labels)) continue;
      out.push(o);
    }
    return out;
  }
}

/** Kinds whose strategy keeps metadata.generation (Pods and Services do not, before v1.33). */
const GENERATION_KINDS = new Set(['Deployment', 'ReplicaSet', 'StatefulSet', 'DaemonSet', 'Ingress', 'IngressClass']);

/** murmur3's 32-bit finalizer: spreads the bits of a counter so consecutive UIDs look unrelated. */
function mix32(h: number): number {
  h = Math.imul(h ^ (h >>> 16), 0x85ebca6b);
  h = Math.imul(h ^ (h >>> 13), 0xc2b2ae35);
  return (h ^ (h >>> 16)) >>> 0;
}

// A UID is written as character codes into one reusable buffer and made a string once: formatting the
// words with toString(16), padStart and slices cost ~1.7 µs a UID, ~0.2 s of a 100,000-pod build.
const HEX = Array.from('0123456789abcdef', (c) => c.charCodeAt(0));
const DASH = 0x2d;
const FOUR = 0x34;
const uidCodes: number[] = new Array(36);

/** Writes the hex digits from..to-1 (0 = most significant) of a 32-bit word at uidCodes[at]; returns the next index. */
function putHex(at: number, word: number, from: number, to: number): number {
  for (let i = from; i < to; i++) uidCodes[at++] = HEX[(word >>> (28 - 4 * i)) & 15];
  return at;
}

/**
 * The n-th UID this store hands out, shaped as the apiserver's random v4 UUIDs. Like them it is new for every
 * creation (a recreated object gets a fresh one); unlike them it is the same on every run.
 */
function uidFor(n: number): string {
  const a = mix32(n);
  const b = mix32(n ^ 0x5bd1e995);
  const c = mix32(n ^ 0x27d4eb2f);
  const d = mix32(n ^ 0x165667b1);
  // aaaaaaaa-bbbb-4bbb-Vccc-ccccdddddddd: version 4, variant 8-b from c's first digit (b's fifth is dropped).
  let i = putHex(0, a, 0, 8);
  uidCodes[i++] = DASH;
  i = putHex(i, b, 0, 4);
  uidCodes[i++] = DASH;
  uidCodes[i++] = FOUR;
  i = putHex(i, b, 5, 8);
  uidCodes[i++] = DASH;
  uidCodes[i++] = HEX[8 + ((c >>> 28) & 3)];
  i = putHex(i, c, 1, 4);
  uidCodes[i++] = DASH;
  i = putHex(i, c, 4, 8);
  putHex(i, d, 0, 8);
  return String.fromCharCode.apply(null, uidCodes);
}

export class Store {
  private resourceVersion = 0;
  private readonly kinds = new Map<string, KindIndex>();
  /** kind -> its watchers, in the order they began: an event is offered only to its own kind's */
  private readonly watchers = new Map<string, Set<Watcher>>();
  private readonly pending: WatchEvent[] = [];
  private emitted = 0;
  private dispatching = false;
  private uids = 0;
  private stampedAt = { second: NaN, text: '' };
  /** Milliseconds of the clock: the real one is read without making a Date for each of 100,000 creations. */
  private readonly clock: () => number;

  /** `now` stamps creationTimestamp on objects that have none. */
  constructor(now?: () => Date) {
    this.clock = now ? () => now().getTime() : () => Date.now();
  }

  get currentResourceVersion(): string {
    return String(this.resourceVersion);
  }

  get<T extends KubeObject>(kind: string, namespace: string | undefined, name: string): T | undefined {
    return this.kinds.get(kind)?.entry(isNamespaced(kind) ? namespace ?? '' : '', name)?.obj as T | undefined;
  }

  /** Objects of a kind in insertion order (the order files listed them, then the order controllers made them). */
  list<T extends KubeObject>(kind: string, opts: ListOptions = {}): T[] {
    return (this.kinds.get(kind)?.list(opts) ?? []) as T[];
  }

  /** Objects of a kind whose controlling owner reference names this uid (what the garbage collector follows). */
  listOwnedBy<T extends KubeObject>(kind: string, ownerUid: string): T[] {
    const out: T[] = [];
    const idx = this.kinds.get(kind);
    if (idx) for (const e of idx.owned(ownerUid)) out.push(e.obj as T);
    return out;
  }

  count(kind: string): number {
    return this.kinds.get(kind)?.all.size ?? 0;
  }

  create<T extends KubeObject>(obj: T): T {
    const ns = this.namespaceOf(obj);
    const idx = this.index(obj.kind);
    if (idx.entry(ns, obj.metadata.name)) throw new Error(`${obj.kind} "${objectKey(ns, obj.metadata.name)}" already exists`);
    const stored = this.stamp(obj, undefined);
    idx.add(ns, stored);
    this.emit({ type: 'ADDED', object: stored });
    return stored;
  }

  update<T extends KubeObject>(obj: T): T {
    const ns = this.namespaceOf(obj);
    const e = this.index(obj.kind).entry(ns, obj.metadata.name);
    if (!e) throw new Error(`${obj.kind} "${objectKey(ns, obj.metadata.name)}" not found`);
    const old = e.obj as T;
    const stored = this.stamp(obj, old);
    this.kinds.get(obj.kind)!.replace(e, stored);
    this.emit({ type: 'MODIFIED', object: stored, old });
    return stored;
  }


  delete(kind: string, namespace: string | undefined, name: string): KubeObject | undefined {
    const idx = this.kinds.get(kind);
    const ns = isNamespaced(kind) ? namespace ?? '' : '';
    const e = idx?.entry(ns, name);
    if (!idx || !e) return undefined;
    const old = e.obj;
    idx.remove(ns, e);
    this.resourceVersion++;
    this.emit({ type: 'DELETED', object: old });
    return old;
  }

  /** Calls handler for every later change matching opts. Returns the function that stops the watch. */
  watch(opts: WatchOptions, handler: Handler): () => void {
    const w: Watcher = { ...opts, handler, since: this.emitted };
    let forKind = this.watchers.get(opts.kind);
    if (!forKind) this.watchers.set(opts.kind, (forKind = new Set()));
    forKind.add(w);
    return () => {
      forKind.delete(w);
    };
  }

  private index(kind: string): KindIndex {
    let idx = this.kinds.get(kind);
    if (!idx) this.kinds.set(kind, (idx = new KindIndex()));
    return idx;
  }

  private namespaceOf(obj: KubeObject): string {
    if (!isNamespaced(obj.kind)) return '';
    if (!obj.metadata.namespace) throw new Error(`${obj.kind} "${obj.metadata.name}" has no namespace`);
    return obj.metadata.namespace;
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
    const metadata = patch(m, generation !== undefined ? { uid, creationTimestamp, resourceVersion: rv, generation } : { uid, creationTimestamp, resourceVersion: rv });
    return patch<KubeObject>(obj, { metadata }) as T;
  }

  /** RFC 3339 at second precision, as metadata timestamps are; formatted once per clock tick. */
  private timestamp(): string {
    const second = Math.floor(this.clock() / 1000);
    if (second !== this.stampedAt.second) this.stampedAt = { second, text: new Date(second * 1000).toISOString().replace(/\.\d+Z$/, 'Z') };
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
        const forKind = this.watchers.get(o.kind);
        if (!forKind) continue;
        for (const w of forKind) {
          if (w.since > seq) continue;
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
