// What each node's kubelet and its CNI plugin write about the pods bound there: an IP from host-local IPAM
// (the node's pod CIDR, .1 kept for the cni0 gateway, handed out round-robin from .2), the host's addresses
// for hostNetwork pods, and a Running status. Readiness written in the files (status.conditions) is kept;
// otherwise pods are Ready. While the real listeners run (src/kubelet/runtime.ts, under `kdp up`), their probes
// and exits take over readiness and container states.
import type { Controller, ControllerContext } from './controller.ts';
import { patch, type KubeObject, type Node, type Pod } from '../objects.ts';
import type * as core from 'kubernetes-types/core/v1.js';
import { cidrContains, formatIP, formatIPv4, isCidr, parseCIDR, parseIP, type Cidr } from '../net.ts';
import { internalIPs } from './nodes.ts';
import { isPodTerminal } from '../podutil.ts';
import { NamespacedMap } from '../namespacedmap.ts';

type P = Pod & KubeObject;
type N = Node & KubeObject;

/**
 * host-local's range for one node CIDR: gateway .1 skipped, IPv4 broadcast excluded, round-robin from the
 * address after the last one reserved. Offsets from the network address are numbers (a node never holds
 * 2^53 pods), so the hot path does no BigInt arithmetic.
 */
class HostLocalRange {
  private readonly used = new Map<number, string>();
  private readonly first = 2;
  private readonly last: number;
  private cursor = 1;
  /** An IPv4 range's network address as a number: its addresses are then formatted without BigInt. */
  private readonly ipv4Base: number | undefined;

  constructor(readonly cidr: Cidr) {
    const size = cidr.size > 1n << 32n ? 2 ** 32 : Number(cidr.size);
    this.last = size - (cidr.family === 'IPv4' ? 2 : 1);
    this.ipv4Base = cidr.family === 'IPv4' ? Number(cidr.base) : undefined;
  }

  /** The offset of an address inside this range, or undefined. */
  offset(value: bigint): number | undefined {
    const o = value - this.cidr.base;
    return o >= 0n && o < this.cidr.size ? Number(o) : undefined;
  }

  /** Reserves a written address; returns the pod holding it already, if another. */
  reserve(offset: number, pod: string): string | undefined {
    const holder = this.used.get(offset);
    if (holder && holder !== pod) return holder;
    this.used.set(offset, pod);
    return undefined;
  }

  /** The offset the next allocation takes, or undefined when the range is full. */
  private nextFree(): number | undefined {
    const n = this.last - this.first + 1;
    for (let k = 1; k <= n; k++) {
      const o = this.first + ((this.cursor - this.first + k) % n + n) % n;
      if (!this.used.has(o)) return o;
    }
    return undefined;
  }

  private format(o: number): string {
    return this.ipv4Base !== undefined ? formatIPv4(this.ipv4Base + o) : formatIP(this.cidr.family, this.cidr.base + BigInt(o));
  }

  allocate(pod: string): string | undefined {
    const o = this.nextFree();
    if (o === undefined) return undefined;
    this.used.set(o, pod);
    this.cursor = o;
    return this.format(o);
  }

  /** The address the next allocation would take, without taking it. */
  peek(): string | undefined {
    const o = this.nextFree();
    return o === undefined ? undefined : this.format(o);
  }

  release(offset: number, pod: string): void {
    if (this.used.get(offset) === pod) this.used.delete(offset);
  }
}

const NONE: readonly string[] = Object.freeze([]);

/** How IPAM names the pod holding an address (problems quote it). */
const podKey = (p: P): string => `${p.metadata.namespace}/${p.metadata.name}`;

export class Kubelet implements Controller {
  readonly name = 'kubelet+cni';
  /** node name -> its host-local ranges, one per family */
  private readonly ranges = new Map<string, HostLocalRange[]>();
  /** pod -> the addresses CNI gave it, for release on delete */
  private readonly given = new NamespacedMap<string[]>();

  start(ctx: ControllerContext): void {
    for (const n of ctx.store.list<N>('Node')) this.nodeRanges(n);
    const pods = ctx.store.list<P>('Pod');
    // Written addresses first, so an allocation never takes an address a later pod in the files claims.
    for (const p of pods) this.claimWritten(ctx, p);
    for (const p of pods) this.syncPod(ctx, p);
    ctx.store.watch({ kind: 'Pod' }, (e) => {
      const p = e.object as P;
      if (e.type === 'DELETED') {
        this.release(p);
        return;
      }
      if (e.type === 'ADDED') this.claimWritten(ctx, p);
      if (p.spec?.nodeName && !this.given.has(p.metadata.namespace, p.metadata.name)) this.syncPod(ctx, p);
    });
    ctx.store.watch({ kind: 'Node' }, (e) => {
      const n = e.object as N;
      if (e.type === 'DELETED') {
        this.ranges.delete(n.metadata.name);
        return;
      }
      const before = this.ranges.get(n.metadata.name);
      const now = this.nodeRanges(n);
      if (now.length && !before?.length) {
        for (const p of ctx.store.list<P>('Pod')) if (p.spec?.nodeName === n.metadata.name) this.syncPod(ctx, p);
      }
    });
  }

  /** host-local's next address on a node, per family, as the next pod there would get it (nothing is reserved). */
  nextAddresses(node: string): string[] {
    return (this.ranges.get(node) ?? []).map((r) => r.peek()).filter((a): a is string => a !== undefined);
  }

  private nodeRanges(n: N): HostLocalRange[] {
    const existing = this.ranges.get(n.metadata.name);
    const cidrs = n.spec?.podCIDRs?.length ? n.spec.podCIDRs : n.spec?.podCIDR ? [n.spec.podCIDR] : [];
    if (existing && existing.length === cidrs.length) return existing;
    const ranges = cidrs.map((c) => parseCIDR(c, false)).filter(isCidr).map((c) => new HostLocalRange(c));
    this.ranges.set(n.metadata.name, ranges);
    return ranges;
  }

  /** The addresses a topology wrote for the pod; the shared NONE (never to be changed) for the usual none. */
  private writtenIPs(p: P): readonly string[] {
    const s = p.status;
    if (!s?.podIPs?.length && !s?.podIP) return NONE;
    const list: string[] = [];
    for (const x of s.podIPs ?? []) if (x.ip) list.push(x.ip);
    if (list.length === 0 && s.podIP) list.push(s.podIP);
    return list;
  }

  private claimWritten(ctx: ControllerContext, p: P): void {
    if (p.spec?.hostNetwork) return;
    const written = this.writtenIPs(p);
    // A loop, not forEach: this runs for every pod, and the callback would be a closure per call.
    for (let i = 0; i < written.length; i++) this.claimOne(ctx, p, written[i], i);
  }

  private claimOne(ctx: ControllerContext, p: P, ip: string, i: number): void {
    const node = p.spec?.nodeName;
    const v = parseIP(ip)!;
    const path = p.status?.podIPs?.length ? ['status', 'podIPs', i, 'ip'] : ['status', 'podIP'];
    // Look for the range holding the address on any node: a dump's pod IPs are where the cluster put them.
    let owner: HostLocalRange | undefined;
    for (const ranges of this.ranges.values()) owner ??= ranges.find((r) => r.offset(v.value) !== undefined);
    if (!owner) {
      const inCluster = ctx.config.podCIDRs.some((c) => cidrContains(c, v));
      ctx.report(p, path, inCluster
        ? `"${ip}" is in no node's pod CIDR; kept as written`
        : `"${ip}" is outside the pod CIDR ${ctx.config.podCIDRs.map((c) => c.text).join(',')}; kept as written`, 'warning');
      return;
    }
    const holder = owner.reserve(owner.offset(v.value)!, podKey(p));
    if (holder) ctx.report(p, path, `Invalid value: "${ip}": pod ${holder} has this IP already`);
    const nodeRanges = node ? this.ranges.get(node) : undefined;
    if (nodeRanges && !nodeRanges.includes(owner)) {
      ctx.report(p, path, `"${ip}" is not in the pod CIDR of node ${node} (${nodeRanges.map((r) => r.cidr.text).join(',')}); kept as written`, 'warning');
    }
  }

  private release(p: P): void {
    const g = this.given.delete(p.metadata.namespace, p.metadata.name);
    if (!g) return;
    const key = podKey(p);
    for (const ip of g) {
      const v = parseIP(ip);
      if (!v) continue;
      for (const ranges of this.ranges.values()) {
        for (const r of ranges) {
          const o = r.offset(v.value);
          if (o !== undefined) r.release(o, key);
        }
      }
    }
  }

  private syncPod(ctx: ControllerContext, p: P): void {
    const nodeName = p.spec?.nodeName;
    if (!nodeName) return;
    const node = ctx.store.get<N>('Node', undefined, nodeName);
    if (!node) {
      ctx.report(p, ['spec', 'nodeName'], `node "${nodeName}" does not exist; the pod stays Pending`, 'warning');
      return;
    }
    if (isPodTerminal(p)) return;
    const hostIPs = internalIPs(node);
    let ips = this.writtenIPs(p) as string[];
    if (p.spec?.hostNetwork) {
      ips = hostIPs;
    } else if (ips.length === 0) {
      const ranges = this.ranges.get(nodeName) ?? [];
      if (ranges.length === 0) return; // no pod CIDR yet: the sandbox waits, as ContainerCreating
      const key = podKey(p);
      ips = [];
      for (const r of ranges) {
        const ip = r.allocate(key);
        if (!ip) {
          ctx.report(p, ['status', 'podIP'], `failed to allocate for range ${r.cidr.text}: no IP addresses available in range set (node ${nodeName})`);
          return;
        }
        ips.push(ip);
      }
    }
    this.given.set(p.metadata.namespace, p.metadata.name, p.spec?.hostNetwork ? [] : ips);
    ctx.store.update(patch(p, { status: runningStatus(p, hostIPs, ips) }));
  }
}

/**
 * Pods started together have equal conditions and container statuses; objects are immutable, so they share
 * one copy (a large cluster is mostly such pods, and every copy would be work for the garbage collector).
 */
const sharedConditions = new Map<string, core.PodCondition[]>();
const sharedContainerStatuses = new WeakMap<core.Container[], Map<string, core.ContainerStatus[]>>();

/** status.hostIPs per node address list (internalIPs gives one list per node version). */
const hostIPLists = new WeakMap<string[], { ip: string }[]>();
function hostIPList(ips: string[]): { ip: string }[] {
  let list = hostIPLists.get(ips);
  if (!list) hostIPLists.set(ips, (list = ips.map((ip) => ({ ip }))));
  return list;
}

function condition(written: core.PodCondition[], since: string | undefined, type: string, status: boolean): core.PodCondition {
  const w = written.find((c) => c.type === type);
  return { type, status: status ? 'True' : 'False', lastProbeTime: null as unknown as undefined, lastTransitionTime: w?.lastTransitionTime ?? since, ...(w?.reason ? { reason: w.reason } : {}) };
}

/** The status kubelet reports for a started pod; written readiness (conditions) wins. */
function runningStatus(p: P, hostIPs: string[], ips: string[]): core.PodStatus {
  const written = p.status?.conditions ?? [];
  const writtenReady = written.find((c) => c.type === 'Ready');
  const ready = writtenReady ? writtenReady.status === 'True' : true;
  const since = p.status?.startTime ?? p.metadata.creationTimestamp;
  const phase = p.status?.phase && p.status.phase !== 'Pending' ? p.status.phase : 'Running';
  const conditionsKey = `${since}|${ready}`;
  let conditions = written.length ? undefined : sharedConditions.get(conditionsKey);
  if (!conditions) {
    conditions = [
      condition(written, since, 'PodReadyToStartContainers', true),
      condition(written, since, 'Initialized', true),
      condition(written, since, 'Ready', ready),
      condition(written, since, 'ContainersReady', ready),
      condition(written, since, 'PodScheduled', true),
    ];
    if (!written.length) sharedConditions.set(conditionsKey, conditions);
  }
  const containers = p.spec?.containers ?? [];
  let byStart = sharedContainerStatuses.get(containers);
  if (!byStart) sharedContainerStatuses.set(containers, (byStart = new Map()));
  let containerStatuses = p.status?.containerStatuses ?? byStart.get(conditionsKey);
  if (!containerStatuses) {
    containerStatuses = containers.map((c) => ({
      name: c.name,
      image: c.image ?? '',
      imageID: '',
      ready,
      started: true,
      restartCount: 0,
      state: { running: { startedAt: since } },
    }));
    byStart.set(conditionsKey, containerStatuses);
  }
  const status: core.PodStatus = {
    phase,
    conditions,
    hostIP: hostIPs[0],
    hostIPs: hostIPList(hostIPs),
    podIP: ips[0],
    podIPs: ips.map((ip) => ({ ip })),
    qosClass: p.status?.qosClass ?? 'BestEffort',
    startTime: since,
    containerStatuses,
  };
  // Fields a topology wrote that kubelet does not report (a dump's nominatedNodeName, message, ...) stay.
  for (const k in p.status) if (!(k in status)) return Object.assign({}, p.status, status);
  return status;
}

