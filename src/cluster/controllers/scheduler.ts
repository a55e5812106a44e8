// The scheduler: binds each pod without spec.nodeName to a node it fits. Among fitting nodes it prefers the
// one with the fewest pods of the same owner (the default topology spread), then the fewest pods overall,
// then the earliest registered — deterministic, and even.
import { Heap } from 'heap-js';
import type { Controller, ControllerContext } from './controller.ts';
import { controllerOf } from './controller.ts';
import { patch, type KubeObject, type Node, type Pod } from '../objects.ts';
import { unfitReason } from './nodefit.ts';
import { isPodTerminal } from '../podutil.ts';
import { NamespacedMap } from '../namespacedmap.ts';

type P = Pod & KubeObject;
type N = Node & KubeObject;

interface NodeState {
  node: N;
  index: number;
  pods: number;
  capacity: number;
}

interface Entry {
  pods: number;
  index: number;
  state: NodeState;
}

export class Scheduler implements Controller {
  readonly name = 'scheduler';
  private readonly nodes = new Map<string, NodeState>();
  private nextIndex = 0;
  private readonly heap = new Heap<Entry>((a, b) => a.pods - b.pods || a.index - b.index);
  /** owner uid -> node name -> pods of that owner there */
  private readonly byOwner = new Map<string, Map<string, number>>();
  private readonly unschedulable = new Map<string, P>();
  /** pod -> where it is counted; binding is counted when made, before its event arrives */
  private readonly placed = new NamespacedMap<{ node: string; owner?: string }>();

  start(ctx: ControllerContext): void {
    for (const n of ctx.store.list<N>('Node')) this.addNode(n);
    const pending: P[] = [];
    for (const p of ctx.store.list<P>('Pod')) {
      if (p.spec?.nodeName) this.place(p);
      else if (!isPodTerminal(p)) pending.push(p);
    }
    for (const p of pending) this.schedule(ctx, p);

    ctx.store.watch({ kind: 'Node' }, (e) => {
      const n = e.object as N;
      if (e.type === 'ADDED') this.addNode(n);
      else if (e.type === 'DELETED') this.nodes.delete(n.metadata.name);
      else {
        const s = this.nodes.get(n.metadata.name);
        if (s) s.node = n;
      }
      if (e.type !== 'DELETED') this.retry(ctx);
    });
    ctx.store.watch({ kind: 'Pod' }, (e) => {
      const p = e.object as P;
      if (e.type === 'DELETED') {
        this.unschedulable.delete(`${p.metadata.namespace}/${p.metadata.name}`);
        if (this.unplace(p)) this.retry(ctx);
      } else if (e.type === 'MODIFIED' && (e.old as P).spec?.nodeName === p.spec?.nodeName) {
        return; // a status write (kubelet's): the pod is counted where it was, or still waits for a node
      } else if (p.spec?.nodeName) {
        this.place(p);
      } else if (e.type === 'ADDED') {
        this.schedule(ctx, p);
      }
    });
  }

  private addNode(n: N): void {
    const s: NodeState = { node: n, index: this.nextIndex++, pods: 0, capacity: Number(n.status?.allocatable?.pods ?? n.status?.capacity?.pods ?? 110) };
    this.nodes.set(n.metadata.name, s);
    this.heap.push({ pods: 0, index: s.index, state: s });
  }

  /** Counts the pod on its node; false when it was counted there already. */
  private place(p: P): boolean {
    const { namespace, name } = p.metadata;
    if (this.placed.get(namespace, name)?.node === p.spec!.nodeName) return false;
    this.unplace(p);
    const where = { node: p.spec!.nodeName!, owner: controllerOf(p)?.uid };
    this.placed.set(namespace, name, where);
    this.count(where, +1);
    return true;
  }

  private unplace(p: P): boolean {
    const where = this.placed.delete(p.metadata.namespace, p.metadata.name);
    if (!where) return false;
    this.count(where, -1);
    return true;
  }

  private count(where: { node: string; owner?: string }, delta: number): void {
    const s = this.nodes.get(where.node);
    if (s) {
      s.pods += delta;
      this.heap.push({ pods: s.pods, index: s.index, state: s });
    }
    if (where.owner) {
      let m = this.byOwner.get(where.owner);
      if (!m) this.byOwner.set(where.owner, (m = new Map()));
      const n = (m.get(where.node) ?? 0) + delta;
      if (n > 0) m.set(where.node, n);
      else m.delete(where.node);
      if (m.size === 0) this.byOwner.delete(where.owner);
    }
  }

  private retry(ctx: ControllerContext): void {
    const waiting = [...this.unschedulable.values()];
    this.unschedulable.clear();
    for (const p of waiting) {
      const current = ctx.store.get<P>('Pod', p.metadata.namespace, p.metadata.name);
      if (current && !current.spec?.nodeName) this.schedule(ctx, current);
    }
  }

  private whyNot(p: P, s: NodeState): string | undefined {
    if (!this.nodes.has(s.node.metadata.name)) return 'node(s) were removed';
    if (s.pods >= s.capacity) return 'Too many pods';
    return unfitReason(p, s.node);
  }

  private pick(p: P): NodeState | { reasons: Map<string, number> } {
    const owner = controllerOf(p)?.uid;
    const ownerCounts = owner ? this.byOwner.get(owner) : undefined;
    // Fast path: pop the least loaded nodes until one fits and holds none of this owner's pods.
    const popped: Entry[] = [];
    let chosen: NodeState | undefined;
    while (this.heap.size() > 0) {
      const e = this.heap.pop()!;
      if (e.pods !== e.state.pods || this.nodes.get(e.state.node.metadata.name) !== e.state) continue; // stale
      if (!this.whyNot(p, e.state) && !(ownerCounts?.get(e.state.node.metadata.name))) {
        chosen = e.state;
        break;
      }
      popped.push(e);
    }
    // The chosen node is not pushed back: binding the pod there pushes its new count (see schedule).
    for (const e of popped) this.heap.push(e);
    if (chosen) return chosen;
    // Every fitting node already runs this owner's pods (or none fits): score them all.
    const reasons = new Map<string, number>();
    let best: NodeState | undefined;
    let bestKey: number[] = [];
    for (const s of this.nodes.values()) {
      const why = this.whyNot(p, s);
      if (why) {
        reasons.set(why, (reasons.get(why) ?? 0) + 1);
        continue;
      }
      const key = [ownerCounts?.get(s.node.metadata.name) ?? 0, s.pods, s.index];
      if (!best || key[0] < bestKey[0] || (key[0] === bestKey[0] && (key[1] < bestKey[1] || (key[1] === bestKey[1] && key[2] < bestKey[2])))) {
        best = s;
        bestKey = key;
      }
    }
    return best ?? { reasons };
  }

  private schedule(ctx: ControllerContext, p: P): void {
    const r = this.pick(p);
    if ('reasons' in r) {
      this.unschedulable.set(`${p.metadata.namespace}/${p.metadata.name}`, p);
      const detail = [...r.reasons].map(([why, n]) => `${n} ${why}`).sort().join(', ');
      const message = `0/${this.nodes.size} nodes are available${detail ? `: ${detail}` : ''}.`;
      const cond = (p.status?.conditions ?? []).find((c) => c.type === 'PodScheduled');
      if (cond?.message !== message) {
        ctx.store.update({
          ...p,
          status: { ...p.status, phase: 'Pending', conditions: [{ type: 'PodScheduled', status: 'False', reason: 'Unschedulable', message, lastProbeTime: null as unknown as undefined, lastTransitionTime: p.metadata.creationTimestamp }] },
        });
      }
      return;
    }
    const bound = patch(p, { spec: patch(p.spec, { nodeName: r.node.metadata.name }) });
    if (!this.place(bound)) this.heap.push({ pods: r.pods, index: r.index, state: r }); // counted already: keep the node in the heap
    ctx.store.update(bound);
  }
}
