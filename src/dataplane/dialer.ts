// The Ingress controller's backend connections, decided by the data plane. The controller runs on a node (as
// the ingress-nginx controller pod when the topology has one, else on the first node's host network); for each
// connection it dials the Service's ClusterIP:port, kube-proxy's rules on that node pick the endpoint, and the
// real listener behind the pod socket the trace ends at carries the bytes. So the backend in the access log is
// the one `kdp trace` shows.
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
    return this.open();
  }
}

const CONTROLLER_IMAGE = /(^|\/)ingress-nginx\/controller(:|@|$)/;

export class DataPlaneDialer implements Dialer {
  private connections = 0;
  /** Headless Services have no ClusterIP for kube-proxy to translate: ingress-nginx dials their endpoints itself. */
  private readonly headless: StoreDialer;
  /** One pool per endpoint and client address the data plane delivered with. */
  private readonly agents = new Map<string, PeerAgent>();

  constructor(private readonly dp: DataPlane, private readonly listeners: Pick<ListenerRegistry, 'resolve' | 'connect'>) {
    this.headless = new StoreDialer(dp.cluster.store, { get: (ep) => this.target(ep) });
  }

  close(): void {
    this.headless.close();
    for (const a of this.agents.values()) a.destroy();
    this.agents.clear();
  }

  /** Where the controller's connections start: its pod's namespace, or the first node's host namespace. */
  from(): Netns | undefined {
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

  async dial(req: DialRequest): Promise<DialResult> {
    const { namespace, name } = req.service;
    const what = `service ${namespace}/${name}`;
    const svc = this.dp.cluster.store.get<Service & KubeObject>('Service', namespace, name);
    if (!svc) return { ok: false, reason: 'no-service', detail: `${what} not found` };
    const sp = (svc.spec?.ports ?? []).find((p) => (typeof req.port === 'number' ? p.port === req.port : p.name === req.port));
    if (!sp) return { ok: false, reason: 'no-endpoints', detail: `${what} has no port ${req.port}` };
    const clusterIP = svc.spec?.clusterIP;
    if (!clusterIP || clusterIP === 'None') return this.headless.dial(req);
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
