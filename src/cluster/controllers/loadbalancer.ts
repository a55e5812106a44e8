// The cluster's load-balancer implementation, as MetalLB (or kind's cloud-provider-kind) would run it: every
// Service of type LoadBalancer gets an address from one pool, written to status.loadBalancer.ingress through
// the store, so `kdp get svc` shows its EXTERNAL-IP and kube-proxy writes the KUBE-EXT/KUBE-FW rules for it.
// Like MetalLB it leaves alone Services that ask for another implementation (spec.loadBalancerClass), honours
// spec.loadBalancerIP when the pool holds it and it is free, and keeps a Service pending when the pool is spent.
import type { KubeObject, Service } from '../objects.ts';
import { patch } from '../objects.ts';
import { formatIPv4, parseIP } from '../net.ts';
import type { Store } from '../store.ts';
import type { ReportFn } from '../apiserver.ts';
import type { Controller, ControllerContext } from './controller.ts';

type S = Service & KubeObject;

/** The documented pool: kind's MetalLB example range, on the docker network kind uses (172.18.0.0/16). */
export const LB_POOL = { first: '172.18.255.200', last: '172.18.255.250' };

const v4 = (ip: string) => {
  const p = parseIP(ip);
  return p?.family === 'IPv4' ? Number(p.value) : undefined;
};

export const LB_POOL_TEXT = `${LB_POOL.first}-${LB_POOL.last}`;

export class LoadBalancerController implements Controller {
  readonly name = 'service-lb-controller';
  private readonly first: number;
  private readonly last: number;
  /** address -> "namespace/name" of the Service holding it */
  private readonly owners = new Map<string, string>();
  private stopWatch?: () => void;
  private readonly warned = new Set<string>();
  private store!: Store;
  private report!: ReportFn;

  constructor(pool = LB_POOL) {
    this.first = v4(pool.first)!;
    this.last = v4(pool.last)!;
    if (this.first === undefined || this.last === undefined || this.first > this.last) throw new Error(`bad load-balancer pool ${pool.first}-${pool.last}`);
  }

  start(ctx: Pick<ControllerContext, 'store' | 'report'>): void {
    this.store = ctx.store;
    this.report = ctx.report;
    const store = ctx.store;
    const all = store.list<S>('Service');
    // Addresses already written (in the topology or before a restart) stay with their Services.
    for (const s of all) if (this.served(s)) for (const ip of this.ingressIPs(s)) this.owners.set(ip, key(s));
    this.stopWatch = store.watch({ kind: 'Service' }, (e) => {
      const s = e.object as S;
      if (e.type === 'DELETED') this.release(key(s));
      else this.sync(s);
    });
    for (const s of all) this.sync(s);
  }

  stop(): void {
    this.stopWatch?.();
  }

  /** The pool, for `kdp up` to print. */
  get pool(): string {
    return `${formatIPv4(this.first)}-${formatIPv4(this.last)}`;
  }

  private served(s: S): boolean {
    return s.spec?.type === 'LoadBalancer' && !s.spec.loadBalancerClass;
  }

  private ingressIPs(s: S): string[] {
    return (s.status?.loadBalancer?.ingress ?? []).map((i) => i.ip).filter((ip): ip is string => !!ip);
  }

  private release(owner: string): void {
    for (const [ip, o] of this.owners) if (o === owner) this.owners.delete(ip);
  }

  private sync(s: S): void {
    const k = key(s);
    if (!this.served(s)) {
      // A Service no longer of type LoadBalancer gives its address back (the controller clears the status).
      const had = [...this.owners].some(([, o]) => o === k);
      this.release(k);
      if (had && this.ingressIPs(s).length) this.write(s, []);
      return;
    }
    const held = this.ingressIPs(s).filter((ip) => this.owners.get(ip) === k);
    const wanted = s.spec?.loadBalancerIP;
    if (held.length && (!wanted || held.includes(wanted))) return;
    this.release(k);
    const ip = this.allocate(s, wanted);
    if (ip) {
      this.owners.set(ip, k);
      this.write(s, [{ ip }]);
    } else if (this.ingressIPs(s).length) this.write(s, []);
  }

  private allocate(s: S, wanted: string | undefined): string | undefined {
    if (wanted) {
      const n = v4(wanted);
      if (n === undefined || n < this.first || n > this.last) return this.warnOnce(s, ['spec', 'loadBalancerIP'], `${wanted} is not in the load-balancer pool ${this.pool}; its EXTERNAL-IP stays <pending>`);
      if (this.owners.has(wanted)) return this.warnOnce(s, ['spec', 'loadBalancerIP'], `${wanted} is already used by service ${this.owners.get(wanted)}; its EXTERNAL-IP stays <pending>`);
      return wanted;
    }
    for (let n = this.first; n <= this.last; n++) {
      const ip = formatIPv4(n);
      if (!this.owners.has(ip)) return ip;
    }
    return this.warnOnce(s, ['spec', 'type'], `the load-balancer pool ${this.pool} is exhausted; its EXTERNAL-IP stays <pending>`);
  }

  private write(s: S, ingress: { ip: string }[]): void {
    this.store.update(patch(s, { status: { ...(s.status ?? {}), loadBalancer: ingress.length ? { ingress } : {} } }));
  }

  private warnOnce(s: S, path: string[], message: string): undefined {
    const k = `${key(s)}\0${message}`;
    if (!this.warned.has(k)) {
      this.warned.add(k);
      this.report(s, path, message, 'warning');
    }
    return undefined;
  }
}

const key = (s: S) => `${s.metadata.namespace}/${s.metadata.name}`;
