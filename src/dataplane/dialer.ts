// The Ingress controller's backend connections, decided by the data plane. The controller runs on a node (as
// the ingress-nginx controller pod when the topology has one, else on the first node's host network); for each
// new flow it dials the Service's ClusterIP:port, kube-proxy's rules on that node pick the endpoint, and the
// real listener behind the pod socket the trace ends at carries the bytes. So the backend in the access log is
// the one `kdp trace` shows. How a decision is kept for a client connection: src/ingress/flows.ts.
import type { KubeObject, Pod, Service } from '../cluster/objects.ts';
import { endpointKey, StoreDialer, type DialRequest } from '../ingress/dialer.ts';
import type { FlowDecider, FlowDecision } from '../ingress/flows.ts';
import type { ListenerRegistry } from '../kubelet/runtime.ts';
import { traceFlow } from '../netns/forward.ts';
import type { Netns } from '../netns/netns.ts';
import type { DataPlane } from './dataplane.ts';

/** The kinds a trace from the controller depends on: kube-proxy's rules and the pod network follow them. */
const DECIDING_KINDS = ['Service', 'EndpointSlice', 'Pod', 'Node'];

const CONTROLLER_IMAGE = /(^|\/)ingress-nginx\/controller(:|@|$)/;

type Listeners = Pick<ListenerRegistry, 'resolve' | 'realConnection'>;

/** Decides each new flow from the controller by tracing it through the node's rules. */
export class DataPlaneRouter implements FlowDecider {
  private connections = 0;
  /** Headless Services have no ClusterIP for kube-proxy to translate: ingress-nginx dials their endpoints itself. */
  private readonly headless: StoreDialer;
  /** Bumped by every change that can change a trace: decisions of an older generation are not reused. */
  generation = 0;
  private source?: Netns;
  private readonly unwatch: (() => void)[];
  private readonly listeners = new Set<() => void>();

  constructor(private readonly dp: DataPlane, private readonly sockets: Listeners) {
    this.headless = new StoreDialer(dp.cluster.store, { get: (ep) => this.target(ep) });
    const changed = () => {
      this.generation++;
      this.source = undefined;
      for (const cb of this.listeners) cb();
    };
    this.unwatch = DECIDING_KINDS.map((kind) => dp.cluster.store.watch({ kind }, changed));
  }

  onChange(cb: () => void): () => void {
    this.listeners.add(cb);
    return () => this.listeners.delete(cb);
  }

  close(): void {
    for (const u of this.unwatch.splice(0)) u();
    this.headless.close();
    this.listeners.clear();
  }

  /** Where the controller's connections start: its pod's namespace, or the first node's host namespace. */
  private from(): Netns | undefined {
    return (this.source ??= this.findSource());
  }

  private findSource(): Netns | undefined {
    const net = this.dp.network;
    for (const p of this.dp.cluster.store.list<Pod & KubeObject>('Pod')) {
      if (!(p.spec?.containers ?? []).some((c) => CONTROLLER_IMAGE.test(c.image ?? ''))) continue;
      const sandbox = net.pod(p.metadata.namespace!, p.metadata.name);
      if (sandbox) return sandbox.netns;
      if (p.spec?.hostNetwork && p.spec.nodeName) return net.host(p.spec.nodeName);
    }
    return net.hosts.values().next().value;
  }

  private target(endpoint: string) {
    const m = /^\[?([^\]]+)\]?:(\d+)$/.exec(endpoint);
    return m ? this.sockets.resolve(m[1], Number(m[2]), 'tcp') : undefined;
  }

  /** One new flow from the controller to the Service port. */
  decide(req: DialRequest): FlowDecision {
    const { namespace, name } = req.service;
    const what = `service ${namespace}/${name}`;
    const svc = this.dp.cluster.store.get<Service & KubeObject>('Service', namespace, name);
    if (!svc) return { ok: false, reason: 'no-service', detail: `${what} not found` };
    const sp = (svc.spec?.ports ?? []).find((p) => (typeof req.port === 'number' ? p.port === req.port : p.name === req.port));
    if (!sp) return { ok: false, reason: 'no-endpoints', detail: `${what} has no port ${req.port}` };
    const clusterIP = svc.spec?.clusterIP;
    if (!clusterIP || clusterIP === 'None') {
      const r = this.headless.pick(req);
      return r.ok ? { ok: true, endpoint: r.endpoint, target: r.target, generation: this.generation } : r;
    }
    const from = this.from();
    if (!from) return { ok: false, reason: 'unreachable', detail: 'no node to run the controller on' };
    // Every connection is a new flow from a new ephemeral port, so kube-proxy's random choice is drawn anew.
    const n = ++this.connections;
    const trace = traceFlow(this.dp.network, from, { protocol: 'tcp', dst: clusterIP, dport: sp.port, sport: 32768 + (n % 28232) }, { seed: n });
    const v = trace.request.verdict;
    if (v.kind === 'delivered' && v.socket?.port !== undefined) {
      const { address, port, peer } = v.socket;
      const endpoint = endpointKey(address, port);
      const target = this.sockets.resolve(address, port, 'tcp');
      if (!target) return { ok: false, reason: 'refused', detail: `${endpoint}: nothing listens there`, endpoint };
      const generation = this.generation;
      if (!peer?.port) return { ok: true, endpoint, target, generation };
      const via = this.sockets.realConnection(address, port, { ip: peer.address, port: peer.port });
      return via ? { ok: true, endpoint, target, generation, via, client: peer.address } : { ok: true, endpoint, target, generation };
    }
    if (v.kind === 'rejected' && /has no (local )?endpoints/.test(v.by)) return { ok: false, reason: 'no-endpoints', detail: v.by };
    // A pod that refuses names its endpoint (the access log's upstream_addr); a REJECT rule names none.
    if (v.kind === 'refused' && v.target?.port !== undefined) return { ok: false, reason: 'refused', detail: v.by, endpoint: endpointKey(v.target.address, v.target.port) };
    if (v.kind === 'refused' || v.kind === 'rejected') return { ok: false, reason: 'refused', detail: v.by };
    // A dropped SYN is never answered: the connect times out.
    if (v.kind === 'dropped') return { ok: false, reason: 'timeout', detail: v.by };
    return { ok: false, reason: 'unreachable', detail: v.by };
  }
}
