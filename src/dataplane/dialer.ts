// The Ingress controller's backend connections, decided by the data plane. The controller runs on a node (as
// the ingress-nginx controller pod when the topology has one, else on the first node's host network); for each
// connection it dials the Service's ClusterIP:port, kube-proxy's rules on that node pick the endpoint, and the
// real listener behind the pod socket the trace ends at carries the bytes. So the backend in the access log is
// the one `kdp trace` shows.
//
// A flow is decided once per client connection and Service port, as conntrack keeps a connection on the
// endpoint its first packet was DNATed to: a new client connection (each curl) draws kube-proxy's choice anew,
// the next requests on a kept-alive one go where its first did, at the cost of a Map lookup instead of a trace.
// A change to anything a trace depends on (Services, EndpointSlices, Pods, Nodes) forgets every decision.
import type { KubeObject, Pod, Service } from '../cluster/objects.ts';
import { endpointKey, StoreDialer, type Dialer, type DialRequest, type DialResult } from '../ingress/dialer.ts';
import type { ListenerRegistry } from '../kubelet/runtime.ts';
import { traceFlow } from '../netns/forward.ts';
import type { Netns } from '../netns/netns.ts';
import type { DataPlane } from './dataplane.ts';
import { Agent } from 'node:http';
import type { Socket } from 'node:net';

/** Keep-alive connections to one endpoint on behalf of one client address: the pod's app sees that client. */
class PeerAgent extends Agent {
  constructor(private readonly open: () => Socket) {
    super({ keepAlive: true, maxSockets: Infinity, maxFreeSockets: 256, scheduling: 'lifo' });
  }

  override createConnection(): Socket {
    const s = this.open();
    // What Agent's own createConnection gets from its noDelay default: no Nagle wait on a request's last bytes.
    s.setNoDelay(true);
    return s;
  }
}

type Delivered = Extract<DialResult, { ok: true }>;

/** What was decided for one client connection, per Service port ("ns/name:port"), in one generation. */
interface Flows {
  generation: number;
  byPort: Map<string, Delivered>;
}

const FLOWS = Symbol('kdp.dataplane.flows');
type Connection = object & { [FLOWS]?: Flows };

/** The kinds a trace from the controller depends on: kube-proxy's rules and the pod network follow them. */
const DECIDING_KINDS = ['Service', 'EndpointSlice', 'Pod', 'Node'];

const CONTROLLER_IMAGE = /(^|\/)ingress-nginx\/controller(:|@|$)/;

export class DataPlaneDialer implements Dialer {
  private connections = 0;
  /** Headless Services have no ClusterIP for kube-proxy to translate: ingress-nginx dials their endpoints itself. */
  private readonly headless: StoreDialer;
  /** One pool per endpoint and client address the data plane delivered with. */
  private readonly agents = new Map<string, PeerAgent>();
  /** Bumped by every change that can change a trace: decisions of an older generation are not reused. */
  private generation = 0;
  private source?: Netns;
  private readonly unwatch: (() => void)[];

  constructor(private readonly dp: DataPlane, private readonly listeners: Pick<ListenerRegistry, 'resolve' | 'connect'>) {
    this.headless = new StoreDialer(dp.cluster.store, { get: (ep) => this.target(ep) });
    const changed = () => {
      this.generation++;
      this.source = undefined;
    };
    this.unwatch = DECIDING_KINDS.map((kind) => dp.cluster.store.watch({ kind }, changed));
  }

  close(): void {
    for (const u of this.unwatch.splice(0)) u();
    this.headless.close();
    for (const a of this.agents.values()) a.destroy();
    this.agents.clear();
  }

  /** Where the controller's connections start: its pod's namespace, or the first node's host namespace. */
  from(): Netns | undefined {
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
    return m ? this.listeners.resolve(m[1], Number(m[2]), 'tcp') : undefined;
  }

  dial(req: DialRequest): DialResult {
    const conn = req.connection as Connection | undefined;
    if (!conn) return this.decide(req);
    let flows = conn[FLOWS];
    if (flows?.generation !== this.generation) conn[FLOWS] = flows = { generation: this.generation, byPort: new Map() };
    const key = `${req.service.namespace}/${req.service.name}:${req.port}`;
    const kept = flows.byPort.get(key);
    // A retry (the kept endpoint refused) is a new connection: the rules decide again.
    if (kept && !req.exclude?.includes(kept.endpoint)) return kept;
    const r = this.decide(req);
    if (r.ok && r.agent) flows.byPort.set(key, r);
    else flows.byPort.delete(key);
    return r;
  }

  /** One new flow from the controller to the Service port, traced through the node's rules. */
  private decide(req: DialRequest): DialResult {
    const { namespace, name } = req.service;
    const what = `service ${namespace}/${name}`;
    const svc = this.dp.cluster.store.get<Service & KubeObject>('Service', namespace, name);
    if (!svc) return { ok: false, reason: 'no-service', detail: `${what} not found` };
    const sp = (svc.spec?.ports ?? []).find((p) => (typeof req.port === 'number' ? p.port === req.port : p.name === req.port));
    if (!sp) return { ok: false, reason: 'no-endpoints', detail: `${what} has no port ${req.port}` };
    const clusterIP = svc.spec?.clusterIP;
    if (!clusterIP || clusterIP === 'None') return this.headless.pick(req);
    const from = this.from();
    if (!from) return { ok: false, reason: 'unreachable', detail: 'no node to run the controller on' };
    // Every connection is a new flow from a new ephemeral port, so kube-proxy's random choice is drawn anew.
    const n = ++this.connections;
    const trace = traceFlow(this.dp.network, from, { protocol: 'tcp', dst: clusterIP, dport: sp.port, sport: 32768 + (n % 28232) }, { seed: n });
    const v = trace.request.verdict;
    if (v.kind === 'delivered' && v.socket?.port !== undefined) {
      const endpoint = endpointKey(v.socket.address, v.socket.port);
      const target = this.listeners.resolve(v.socket.address, v.socket.port, 'tcp');
      if (!target) return { ok: false, reason: 'refused', detail: `${endpoint}: nothing listens there`, endpoint };
      const peer = v.socket.peer;
      if (!peer?.port) return { ok: true, endpoint, target, trace };
      const key = `${endpoint} ${peer.address}`;
      let agent = this.agents.get(key);
      if (!agent) {
        const { address, port } = v.socket;
        this.agents.set(key, (agent = new PeerAgent(() => this.listeners.connect(address, port, { ip: peer.address, port: peer.port! }))));
      }
      return { ok: true, endpoint, target, trace, agent };
    }
    if (v.kind === 'rejected' && /has no (local )?endpoints/.test(v.by)) return { ok: false, reason: 'no-endpoints', detail: v.by };
    if (v.kind === 'refused' || v.kind === 'rejected') return { ok: false, reason: 'refused', detail: v.by };
    // A dropped SYN is never answered: the connect times out.
    if (v.kind === 'dropped') return { ok: false, reason: 'timeout', detail: v.by };
    return { ok: false, reason: 'unreachable', detail: v.by };
  }
}
