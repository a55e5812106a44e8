// How the controller reaches a backend. It never picks a socket itself: it asks a Dialer, which decides the
// endpoint (the data plane's kube-proxy rules: src/dataplane/dialer.ts, which `kdp up` uses; or here the store)
// and names the real listener that carries the bytes. StoreDialer picks from the store alone: Service ->
// EndpointSlices -> ready endpoints, round robin (ingress-nginx's default load-balance), then a registry of real
// listeners; the data-plane dialer uses it for headless Services, which kube-proxy does not translate.
import type { EndpointSlice, KubeObject, Service } from '../cluster/objects.ts';
import type { Store } from '../cluster/store.ts';
import type { Agent } from 'node:http';

export interface DialRequest {
  service: { namespace: string; name: string };
  /** The Service port: its number, or its name. */
  port: number | string;
  clientIP: string;
  /** Endpoints already tried for this request (ingress-nginx's proxy_next_upstream moves on to the next). */
  exclude?: readonly string[];
  /** The client's connection the request came on: a Dialer may keep what it decided for it for its next requests. */
  connection?: object;
}

export type DialFailure = 'no-endpoints' | 'no-service' | 'refused' | 'timeout' | 'unreachable';

export type DialResult =
  | {
    ok: true;
    endpoint: string /* podIP:port */;
    target: { host: string; port: number };
    /** The connections to use instead of plain ones to `target`: they carry the client the data plane delivered. */
    agent?: Agent;
  }
  | { ok: false; reason: DialFailure; detail: string; endpoint?: string };

export interface Dialer {
  /** A Dialer that knows at once answers at once: no promise and microtask for every request. */
  dial(req: DialRequest): DialResult | Promise<DialResult>;
}

export interface Target {
  host: string;
  port: number;
}

/** podIP:port -> the real loopback listener behind it (what the kubelet starts for a container port). */
export class TargetRegistry {
  private readonly targets = new Map<string, Target>();

  set(endpoint: string, target: Target): void {
    this.targets.set(endpoint, target);
  }

  delete(endpoint: string): void {
    this.targets.delete(endpoint);
  }

  get(endpoint: string): Target | undefined {
    return this.targets.get(endpoint);
  }
}

/** "10.244.1.5:8080", "[fd00::5]:8080". */
export const endpointKey = (ip: string, port: number) => (ip.includes(':') ? `[${ip}]:${port}` : `${ip}:${port}`);

const SERVICE_NAME = 'kubernetes.io/service-name';

type Endpoints = { endpoints: string[] } | { reason: DialFailure; detail: string };

export class StoreDialer implements Dialer {
  private readonly next = new Map<string, number>();
  /** Ready endpoints per Service port, dropped whenever a Service or EndpointSlice changes. */
  private readonly cache = new Map<string, Endpoints>();
  private readonly unwatch: (() => void)[];

  constructor(
    private readonly store: Store,
    private readonly targets: { get(endpoint: string): Target | undefined },
  ) {
    const drop = () => this.cache.clear();
    this.unwatch = ['Service', 'EndpointSlice'].map((kind) => store.watch({ kind }, drop));
  }

  close(): void {
    for (const u of this.unwatch.splice(0)) u();
  }

  dial(req: DialRequest): DialResult {
    return this.pick(req);
  }

  /** Ready endpoints of a Service port, in slice order. */
  endpoints(namespace: string, name: string, port: number | string): Endpoints {
    const key = `${namespace}/${name}:${port}`;
    let found = this.cache.get(key);
    if (!found) this.cache.set(key, (found = this.lookup(namespace, name, port)));
    return found;
  }

  private lookup(namespace: string, name: string, port: number | string): Endpoints {
    const what = `service ${namespace}/${name}`;
    const svc = this.store.get<Service & KubeObject>('Service', namespace, name);
    if (!svc) return { reason: 'no-service', detail: `${what} not found` };
    const sp = (svc.spec?.ports ?? []).find((p) => (typeof port === 'number' ? p.port === port : p.name === port || String(p.targetPort) === port));
    if (!sp) return { reason: 'no-endpoints', detail: `${what} has no port ${port}` };
    const portName = sp.name ?? '';
    const out: string[] = [];
    for (const slice of this.store.list<EndpointSlice & KubeObject>('EndpointSlice', { namespace })) {
      if (slice.metadata.labels?.[SERVICE_NAME] !== name) continue;
      const p = (slice.ports ?? []).find((x) => (x.name ?? '') === portName && (x.protocol ?? 'TCP') === 'TCP');
      if (p?.port == null) continue;
      for (const ep of slice.endpoints ?? []) {
        // A nil ready condition means ready (discovery/v1 EndpointConditions).
        if (ep.conditions?.ready === false) continue;
        const ip = ep.addresses?.[0];
        if (ip) out.push(endpointKey(ip, p.port));
      }
    }
    if (out.length === 0) return { reason: 'no-endpoints', detail: `${what} port ${port} has no ready endpoints` };
    return { endpoints: out };
  }

  /** The next ready endpoint, round robin, as a DialResult. */
  pick(req: DialRequest): DialResult {
    const { namespace, name } = req.service;
    const found = this.endpoints(namespace, name, req.port);
    if ('reason' in found) return { ok: false, reason: found.reason, detail: found.detail };
    const key = `${namespace}/${name}:${req.port}`;
    const candidates = req.exclude?.length ? found.endpoints.filter((e) => !req.exclude!.includes(e)) : found.endpoints;
    if (candidates.length === 0) return { ok: false, reason: 'refused', detail: `every endpoint of ${namespace}/${name} refused` };
    const n = this.next.get(key) ?? 0;
    this.next.set(key, n + 1);
    const endpoint = candidates[n % candidates.length];
    const target = this.targets.get(endpoint);
    // A pod that declares a port but runs nothing on it refuses the connection, as a real one would.
    if (!target) return { ok: false, reason: 'refused', detail: `nothing listens on ${endpoint}`, endpoint };
    return { ok: true, endpoint, target };
  }
}
