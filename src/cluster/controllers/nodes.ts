// Node registration (what each kubelet writes about its node) and node IPAM (kube-controller-manager's range
// allocator: each node a /24 of the pod CIDR, handed out in registration order, first node first).
import type { Controller, ControllerContext } from './controller.ts';
import type { Node, KubeObject } from '../objects.ts';
import type { NodeShorthand } from '../config.ts';
import { cidrContains, formatIP, isCidr, parseCIDR, parseIP, subnet, type Cidr } from '../net.ts';

export const KUBELET_VERSION = 'v1.31.0';
export const CONTROL_PLANE_LABEL = 'node-role.kubernetes.io/control-plane';

/** Where nodes without a written address get theirs: the underlay the walkthroughs use, 192.168.1.11 on. */
const UNDERLAY = { base: parseIP('192.168.1.10')!.value, end: parseIP('192.168.255.254')!.value };

/** The v1 Node the `Cluster` shorthand stands for. */
export function nodeFromShorthand(n: NodeShorthand): Node {
  return {
    apiVersion: 'v1',
    kind: 'Node',
    metadata: { name: n.name, labels: n.labels, ...(n.annotations ? { annotations: n.annotations } : {}) },
    spec: {
      ...(n.podCIDR ? { podCIDR: n.podCIDR, podCIDRs: [n.podCIDR] } : {}),
      ...(n.taints?.length ? { taints: n.taints } : {}),
    },
    status: n.ip ? { addresses: [{ type: 'InternalIP', address: n.ip }] } : {},
  };
}

const internalIPsOf = new WeakMap<Node, string[]>();

/** The node's InternalIP addresses (asked for once per pod, so remembered per node version). */
export function internalIPs(node: Node): string[] {
  let ips = internalIPsOf.get(node);
  if (!ips) internalIPsOf.set(node, (ips = (node.status?.addresses ?? []).filter((a) => a.type === 'InternalIP').map((a) => a.address)));
  return ips;
}

/** Per IP family, the node CIDRs handed out (round-robin cursor, as cidrset.AllocateNext). */
class CidrSet {
  private readonly max: bigint;
  /** index -> node name */
  private readonly used = new Map<bigint, string>();
  private next = 0n;

  constructor(readonly cluster: Cidr, readonly maskSize: number) {
    this.max = 1n << BigInt(maskSize - cluster.prefix);
  }

  /** Claims a written node CIDR: 'outside' when it is not one of this set's blocks, else the node holding it already. */
  occupy(c: Cidr, node: string): 'outside' | string | undefined {
    if (c.family !== this.cluster.family || c.prefix !== this.maskSize || !cidrContains(this.cluster, { family: c.family, value: c.base })) return 'outside';
    const i = this.index(c);
    const holder = this.used.get(i);
    if (holder && holder !== node) return holder;
    this.used.set(i, node);
    return undefined;
  }

  private index(c: Cidr): bigint {
    return (c.base - this.cluster.base) >> BigInt((c.family === 'IPv4' ? 32 : 128) - this.maskSize);
  }

  release(c: Cidr): void {
    if (c.family === this.cluster.family && c.prefix === this.maskSize) this.used.delete(this.index(c));
  }

  allocateNext(node: string): Cidr | undefined {
    for (let k = 0n; k < this.max; k++) {
      const i = (this.next + k) % this.max;
      if (!this.used.has(i)) {
        this.used.set(i, node);
        this.next = (i + 1n) % this.max;
        return subnet(this.cluster, this.maskSize, i);
      }
    }
    return undefined;
  }
}

export class NodeController implements Controller {
  readonly name = 'node-lifecycle+nodeipam';
  private sets: CidrSet[] = [];
  private readonly usedIPs = new Map<string, string>();
  private nextUnderlay = UNDERLAY.base + 1n;

  start(ctx: ControllerContext): void {
    this.sets = ctx.config.podCIDRs.map((c) => new CidrSet(c, ctx.config.nodeCIDRMaskSize[c.family]));
    const nodes = ctx.store.list<Node & KubeObject>('Node');
    // Written addresses and CIDRs are claimed before anything is handed out, whatever the file order.
    for (const n of nodes) this.claimWritten(ctx, n);
    for (const n of nodes) this.register(ctx, n);
    ctx.store.watch({ kind: 'Node' }, (e) => {
      const n = e.object as Node & KubeObject;
      if (e.type === 'ADDED') {
        this.claimWritten(ctx, n);
        this.register(ctx, n);
      } else if (e.type === 'DELETED') {
        for (const c of n.spec?.podCIDRs ?? []) {
          const p = parseCIDR(c, false);
          if (isCidr(p)) for (const s of this.sets) s.release(p);
        }
        for (const ip of internalIPs(n)) this.usedIPs.delete(ip);
      } else if (!n.spec?.podCIDRs?.length || !internalIPs(n).length) {
        this.register(ctx, n);
      }
    });
  }

  private claimWritten(ctx: ControllerContext, n: Node & KubeObject): void {
    for (const [i, ip] of internalIPs(n).entries()) {
      const other = this.usedIPs.get(ip);
      if (other && other !== n.metadata.name) {
        ctx.report(n, ['status', 'addresses', i, 'address'], `Invalid value: "${ip}": node ${other} has this address already`);
      }
      this.usedIPs.set(ip, n.metadata.name);
      const p = parseIP(ip)!;
      for (const c of [...ctx.config.podCIDRs, ...ctx.config.serviceCIDRs]) {
        if (cidrContains(c, p)) ctx.report(n, ['status', 'addresses', i, 'address'], `Invalid value: "${ip}": a node address inside ${c.text} would collide with pod or service addresses`);
      }
    }
    const written = n.spec?.podCIDRs?.length ? n.spec.podCIDRs : n.spec?.podCIDR ? [n.spec.podCIDR] : [];
    written.forEach((text, i) => {
      const c = parseCIDR(text, false);
      if (!isCidr(c)) return;
      const path = n.spec?.podCIDRs?.length ? ['spec', 'podCIDRs', i] : ['spec', 'podCIDR'];
      const set = this.sets.find((s) => s.cluster.family === c.family);
      const holder = set ? set.occupy(c, n.metadata.name) : 'outside';
      if (holder && holder !== 'outside') {
        ctx.report(n, path, `Invalid value: "${text}": node ${holder} has this pod CIDR already`);
      } else if (holder === 'outside') {
        ctx.report(n, path, `"${text}" is not a /${ctx.config.nodeCIDRMaskSize[c.family]} inside the cluster pod CIDR ${ctx.config.podCIDRs.map((p) => p.text).join(',')}; kept as written`, 'warning');
      }
    });
  }

  private register(ctx: ControllerContext, n: Node & KubeObject): void {
    const name = n.metadata.name;
    const labels: Record<string, string> = {
      'beta.kubernetes.io/arch': 'amd64',
      'beta.kubernetes.io/os': 'linux',
      'kubernetes.io/arch': 'amd64',
      'kubernetes.io/hostname': name,
      'kubernetes.io/os': 'linux',
      ...n.metadata.labels,
    };
    const addresses = [...(n.status?.addresses ?? [])];
    if (!addresses.some((a) => a.type === 'InternalIP')) {
      const ip = this.nextFreeUnderlayIP(ctx);
      this.usedIPs.set(ip, name);
      addresses.unshift({ type: 'InternalIP', address: ip });
    }
    if (!addresses.some((a) => a.type === 'Hostname')) addresses.push({ type: 'Hostname', address: name });

    const spec = { ...n.spec };
    if (!spec.podCIDRs?.length && spec.podCIDR) spec.podCIDRs = [spec.podCIDR];
    if (!spec.podCIDRs?.length) {
      const cidrs: string[] = [];
      for (const s of this.sets) {
        const c = s.allocateNext(name);
        if (!c) {
          ctx.report(n, ['spec', 'podCIDR'], `CIDRNotAvailable: pod CIDR ${s.cluster.text} is exhausted: it holds ${1n << BigInt(s.maskSize - s.cluster.prefix)} node CIDRs of /${s.maskSize}`);
          break;
        }
        cidrs.push(c.text);
      }
      if (cidrs.length === this.sets.length) {
        spec.podCIDR = cidrs[0];
        spec.podCIDRs = cidrs;
      }
    }
    const status = {
      ...n.status,
      addresses,
      capacity: { cpu: '2', memory: '8Gi', pods: '110', 'ephemeral-storage': '100Gi', ...n.status?.capacity },
      allocatable: { cpu: '2', memory: '8Gi', pods: '110', 'ephemeral-storage': '100Gi', ...(n.status?.allocatable ?? n.status?.capacity) },
      conditions: n.status?.conditions ?? [
        { type: 'Ready', status: 'True', reason: 'KubeletReady', message: 'kubelet is posting ready status' },
      ],
      nodeInfo: {
        architecture: 'amd64',
        bootID: '',
        containerRuntimeVersion: 'containerd://1.7.18',
        kernelVersion: '6.1.0-kdp',
        kubeProxyVersion: KUBELET_VERSION,
        kubeletVersion: KUBELET_VERSION,
        machineID: '',
        operatingSystem: 'linux',
        osImage: 'kdp emulated node',
        systemUUID: '',
        ...n.status?.nodeInfo,
      },
    };
    ctx.store.update({ ...n, metadata: { ...n.metadata, labels }, spec, status });
  }

  private nextFreeUnderlayIP(ctx: ControllerContext): string {
    for (; this.nextUnderlay <= UNDERLAY.end; this.nextUnderlay++) {
      const ip = formatIP('IPv4', this.nextUnderlay);
      if (this.nextUnderlay % 256n === 0n || this.nextUnderlay % 256n === 255n) continue;
      if (!this.usedIPs.has(ip)) return ip;
    }
    throw new Error(`no free node address left in 192.168.0.0/16 for ${ctx.store.count('Node')} nodes`);
  }
}

