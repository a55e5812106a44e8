// What each node's kubelet and its CNI plugin write about the pods bound there: an IP from host-local IPAM
// (the node's pod CIDR, .1 kept for the cni0 gateway, handed out round-robin from .2), the host's addresses
// for hostNetwork pods, and a Running status. Readiness written in the files (status.conditions) is kept;
// otherwise pods are Ready (probes arrive with the real listeners).
import type { Controller, ControllerContext } from './controller.ts';
import type { KubeObject, Node, Pod } from '../objects.ts';
import type * as core from 'kubernetes-types/core/v1.js';
import { cidrContains, formatIP, isCidr, parseCIDR, parseIP, type Cidr } from '../net.ts';
import { internalIPs } from './nodes.ts';
import { isPodTerminal } from '../podutil.ts';

type P = Pod & KubeObject;
type N = Node & KubeObject;

/** host-local's range for one node CIDR: gateway .1 skipped, IPv4 broadcast excluded, cursor after the last reserved. */
class HostLocalRange {
  private readonly used = new Map<bigint, string>();
  private last: bigint;
  private readonly first: bigint;
  private readonly end: bigint;

  constructor(readonly cidr: Cidr) {
    this.first = cidr.base + 2n;
    this.end = cidr.base + cidr.size - (cidr.family === 'IPv4' ? 2n : 1n);
    this.last = this.first - 1n;
  }

  contains(value: bigint): boolean {
    return value >= this.cidr.base && value < this.cidr.base + this.cidr.size;
  }

  /** Reserves a written address; returns the pod holding it already, if another. */
  reserve(value: bigint, pod: string): string | undefined {
    const holder = this.used.get(value);
    if (holder && holder !== pod) return holder;
    this.used.set(value, pod);
    return undefined;
  }

  allocate(pod: string): string | undefined {
    const n = this.end - this.first + 1n;
    for (let k = 1n; k <= n; k++) {
      const v = this.first + ((this.last - this.first + k) % n + n) % n;
      if (!this.used.has(v)) {
        this.used.set(v, pod);
        this.last = v;
        return formatIP(this.cidr.family, v);
      }
    }
    return undefined;
  }

  release(value: bigint, pod: string): void {
    if (this.used.get(value) === pod) this.used.delete(value);
  }
}

export class Kubelet implements Controller {
  readonly name = 'kubelet+cni';
  /** node name -> its host-local ranges, one per family */
  private readonly ranges = new Map<string, HostLocalRange[]>();
  /** pod key -> the addresses CNI gave it, for release on delete */
  private readonly given = new Map<string, { node: string; ips: string[] }>();

  start(ctx: ControllerContext): void {
    for (const n of ctx.store.list<N>('Node')) this.nodeRanges(n);
    const pods = ctx.store.list<P>('Pod');
    // Written addresses first, so an allocation never takes an address a later pod in the files claims.
    for (const p of pods) this.claimWritten(ctx, p);
    for (const p of pods) this.syncPod(ctx, p);
    ctx.store.watch({ kind: 'Pod' }, (e) => {
      const p = e.object as P;
      const key = `${p.metadata.namespace}/${p.metadata.name}`;
      if (e.type === 'DELETED') {
        this.release(key);
        return;
      }
      if (e.type === 'ADDED') this.claimWritten(ctx, p);
      if (p.spec?.nodeName && !this.given.has(key)) this.syncPod(ctx, p);
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

  private nodeRanges(n: N): HostLocalRange[] {
    const existing = this.ranges.get(n.metadata.name);
    const cidrs = n.spec?.podCIDRs?.length ? n.spec.podCIDRs : n.spec?.podCIDR ? [n.spec.podCIDR] : [];
    if (existing && existing.length === cidrs.length) return existing;
    const ranges = cidrs.map((c) => parseCIDR(c, false)).filter(isCidr).map((c) => new HostLocalRange(c));
    this.ranges.set(n.metadata.name, ranges);
    return ranges;
  }

  private writtenIPs(p: P): string[] {
    const list = (p.status?.podIPs ?? []).map((x) => x.ip).filter((ip): ip is string => !!ip);
    if (list.length === 0 && p.status?.podIP) list.push(p.status.podIP);
    return list;
  }

  private claimWritten(ctx: ControllerContext, p: P): void {
    if (p.spec?.hostNetwork) return;
    const key = `${p.metadata.namespace}/${p.metadata.name}`;
    const node = p.spec?.nodeName;
    this.writtenIPs(p).forEach((ip, i) => {
      const v = parseIP(ip)!;
      const path = p.status?.podIPs?.length ? ['status', 'podIPs', i, 'ip'] : ['status', 'podIP'];
      // Look for the range holding the address on any node: a dump's pod IPs are where the cluster put them.
      let owner: HostLocalRange | undefined;
      for (const ranges of this.ranges.values()) owner ??= ranges.find((r) => r.contains(v.value));
      if (!owner) {
        const inCluster = ctx.config.podCIDRs.some((c) => cidrContains(c, v));
        ctx.report(p, path, inCluster
          ? `"${ip}" is in no node's pod CIDR; kept as written`
          : `"${ip}" is outside the pod CIDR ${ctx.config.podCIDRs.map((c) => c.text).join(',')}; kept as written`, 'warning');
        return;
      }
      const holder = owner.reserve(v.value, key);
      if (holder) ctx.report(p, path, `Invalid value: "${ip}": pod ${holder} has this IP already`);
      const nodeRanges = node ? this.ranges.get(node) : undefined;
      if (nodeRanges && !nodeRanges.includes(owner)) {
        ctx.report(p, path, `"${ip}" is not in the pod CIDR of node ${node} (${nodeRanges.map((r) => r.cidr.text).join(',')}); kept as written`, 'warning');
      }
    });
  }

  private release(key: string): void {
    const g = this.given.get(key);
    if (!g) return;
    this.given.delete(key);
    for (const ip of g.ips) {
      const v = parseIP(ip);
      if (!v) continue;
      for (const ranges of this.ranges.values()) for (const r of ranges) if (r.contains(v.value)) r.release(v.value, key);
    }
  }

  private syncPod(ctx: ControllerContext, p: P): void {
    const nodeName = p.spec?.nodeName;
    if (!nodeName) return;
    const key = `${p.metadata.namespace}/${p.metadata.name}`;
    const node = ctx.store.get<N>('Node', undefined, nodeName);
    if (!node) {
      ctx.report(p, ['spec', 'nodeName'], `node "${nodeName}" does not exist; the pod stays Pending`, 'warning');
      return;
    }
    if (isPodTerminal(p)) return;
    const hostIPs = internalIPs(node);
    let ips = this.writtenIPs(p);
    if (p.spec?.hostNetwork) {
      ips = hostIPs;
    } else if (ips.length === 0) {
      const ranges = this.ranges.get(nodeName) ?? [];
      if (ranges.length === 0) return; // no pod CIDR yet: the sandbox waits, as ContainerCreating
      for (const r of ranges) {
        const ip = r.allocate(key);
        if (!ip) {
          ctx.report(p, ['status', 'podIP'], `failed to allocate for range ${r.cidr.text}: no IP addresses available in range set (node ${nodeName})`);
          return;
        }
        ips.push(ip);
      }
    }
    this.given.set(key, { node: nodeName, ips: p.spec?.hostNetwork ? [] : ips });
    ctx.store.update({ ...p, status: runningStatus(p, hostIPs, ips) });
  }
}

/** The status kubelet reports for a started pod; written readiness (conditions) wins. */
function runningStatus(p: P, hostIPs: string[], ips: string[]): core.PodStatus {
  const written = p.status?.conditions ?? [];
  const writtenReady = written.find((c) => c.type === 'Ready');
  const ready = writtenReady ? writtenReady.status === 'True' : true;
  const since = p.status?.startTime ?? p.metadata.creationTimestamp;
  const cond = (type: string, status: boolean): core.PodCondition => {
    const w = written.find((c) => c.type === type);
    return { type, status: status ? 'True' : 'False', lastProbeTime: null as unknown as undefined, lastTransitionTime: w?.lastTransitionTime ?? since, ...(w?.reason ? { reason: w.reason } : {}) };
  };
  const phase = p.status?.phase && p.status.phase !== 'Pending' ? p.status.phase : 'Running';
  return {
    ...p.status,
    phase,
    conditions: [
      cond('PodReadyToStartContainers', true),
      cond('Initialized', true),
      cond('Ready', ready),
      cond('ContainersReady', ready),
      cond('PodScheduled', true),
    ],
    hostIP: hostIPs[0],
    hostIPs: hostIPs.map((ip) => ({ ip })),
    podIP: ips[0],
    podIPs: ips.map((ip) => ({ ip })),
    qosClass: p.status?.qosClass ?? 'BestEffort',
    startTime: since,
    containerStatuses: p.status?.containerStatuses ?? (p.spec?.containers ?? []).map((c) => ({
      name: c.name,
      image: c.image ?? '',
      imageID: '',
      ready,
      started: true,
      restartCount: 0,
      state: { running: { startedAt: since } },
    })),
  };
}

