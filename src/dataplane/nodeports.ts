// The cluster's outside entrances on this machine: every node's NodePorts on a loopback address of that node's
// own (127.0.1.N for the N-th node; Linux routes all of 127/8 to lo, so they bind without setup), each
// LoadBalancer IP on 127.0.2.K and each externalIP on 127.0.3.K, at the Service's port. Where only 127.0.0.1
// exists (macOS, some containers) each entrance listens on 127.0.0.1 at a port of its own instead, kept while
// kdp runs and printed beside the address it stands for. A connection accepted
// there enters the data plane as a client outside the cluster would send it — to the node's InternalIP and the
// nodePort, or to the LB IP / externalIP delivered to a node — so kube-proxy's rules on that node decide it:
// externalTrafficPolicy, sessionAffinity, masquerade. A delivered SYN's bytes are piped to the pod's real
// listener, which sees the peer the trace ends with; a refused or rejected one resets the client's connection;
// a dropped one is never answered, so the client waits until its own timeout. While kube-proxy REJECTs every
// new connection to an entrance (its Service has no endpoints) the entrance does not listen at all, so the
// client's connect is refused as a real node's ICMP port unreachable refuses it (curl: exit 7), instead of a
// connection accepted and then reset.
import http from 'node:http';
import net from 'node:net';
import type { EndpointSlice, KubeObject, Node, Service } from '../cluster/objects.ts';
import { internalIPs } from '../cluster/controllers/nodes.ts';
import type { ListenerRegistry } from '../kubelet/runtime.ts';
import { traceFromOutside } from '../netns/forward.ts';
import { withUndo } from '../netns/netfilter/journal.ts';
import { tupleKey, type Tuple } from '../netns/netfilter/conntrack.ts';
import type { Trace } from '../netns/trace.ts';
import type { Store } from '../cluster/store.ts';
import type { DataPlane } from './dataplane.ts';

type S = Service & KubeObject;

/**
 * The one emulated client outside the cluster every connection comes from (TEST-NET-3, RFC 5737: outside
 * every cluster range), with the real client's source port. One address, so sessionAffinity: ClientIP holds
 * across connections, as it would for one real client.
 */
export const OUTSIDE_CLIENT = '203.0.113.10';

/** healthCheckNodePort: kube-proxy's own HTTP health server for a Service, which a cloud LB polls. */
export type EntranceKind = 'NodePort' | 'LoadBalancer' | 'externalIP' | 'healthCheckNodePort';

/** One address:port of the cluster reachable from outside, and where on this machine it listens. */
export interface Entrance {
  kind: EntranceKind;
  /** "namespace/name" of the Service */
  service: string;
  /** The address the outside client dials: node InternalIP, LB IP or externalIP. */
  dst: string;
  dport: number;
  /** NodePort: the node it belongs to. */
  node?: string;
  /** The real loopback listener. */
  host: string;
  port: number;
  /** Why it does not listen (EADDRINUSE, EACCES), if it does not. */
  error?: string;
}

export interface ExternalOptions {
  client?: string;
  /**
   * X of the 127.X.1.N / 127.X.2.K / 127.X.3.K listeners (default 0), so two runs on one machine need not
   * collide; 'single': every entrance on 127.0.0.1 at a free port (chosen by itself where 127.X.1.1 cannot
   * be bound).
   */
  loopback?: number | 'single';
  warn?: (message: string) => void;
  /** Every connection's trace, as it is decided. */
  onTrace?: (e: Entrance, trace: Trace) => void;
}

interface Open {
  entrance: Entrance;
  server?: net.Server;
  /** kube-proxy rejects every new connection to it now: it does not listen. */
  refusing?: boolean;
}

/** The client a refusal probe comes from: not the outside client, so its sessionAffinity is not touched. */
const PROBE_CLIENT = '203.0.113.254';

/** An entrance is the address the outside client dials; where it listens follows from it. */
const entranceKey = (e: Pick<Entrance, 'dst' | 'dport'>) => `${e.dst}:${e.dport}`;

/**
 * Whether this machine can bind the address (EADDRNOTAVAIL: it has no such address); kdp asks it of 127.X.1.1,
 * which Linux has (all of 127/8 is lo's) and macOS does not.
 */
export function canBind(address: string): Promise<boolean> {
  return new Promise((resolve) => {
    const probe = net.createServer();
    probe.once('error', (e: NodeJS.ErrnoException) => resolve(e.code !== 'EADDRNOTAVAIL'));
    probe.listen(0, address, () => probe.close(() => resolve(true)));
  });
}

export class ExternalEntrances {
  private readonly open = new Map<string, Open>();
  private readonly sockets = new Set<net.Socket>();
  /** Node name -> N of 127.0.1.N, kept for the node's life so its address never moves. */
  private readonly nodeIndex = new Map<string, number>();
  /** LB IP -> K of 127.X.2.K, externalIP -> K of 127.X.3.K, kept while the process runs. */
  private readonly vipIndex = { 2: new Map<string, number>(), 3: new Map<string, number>() };
  private readonly stopWatches: (() => void)[];
  private syncing: Promise<void> = Promise.resolve();
  private connections = 0;
  private roundRobin = 0;
  private closed = false;
  /** Every entrance on 127.0.0.1 at a port of its own. */
  readonly single: boolean;

  private constructor(private readonly dp: DataPlane, private readonly listeners: Pick<ListenerRegistry, 'connect'>, private readonly opts: ExternalOptions, single: boolean) {
    this.single = single;
    const store = dp.cluster.store;
    const resync = () => this.resync();
    this.stopWatches = [
      store.watch({ kind: 'Service' }, resync), store.watch({ kind: 'Node' }, resync),
      // Endpoints come and go: only that Service's entrances can start or stop refusing.
      store.watch({ kind: 'EndpointSlice' }, (ev) => {
        const name = ev.object.metadata.labels?.['kubernetes.io/service-name'];
        if (name) this.recheck(`${ev.object.metadata.namespace}/${name}`);
      }),
    ];
  }

  static async start(dp: DataPlane, listeners: Pick<ListenerRegistry, 'connect'>, opts: ExternalOptions = {}): Promise<ExternalEntrances> {
    const single = opts.loopback === 'single' || !(await canBind(`127.${opts.loopback ?? 0}.1.1`));
    const e = new ExternalEntrances(dp, listeners, opts, single);
    e.resync();
    await e.ready();
    return e;
  }

  /** "127.X.<block>.<n>", or undefined past the block's last address; 127.0.0.1 when that is all there is. */
  private loopbackAddress(block: 1 | 2 | 3, n: number): string | undefined {
    if (this.single) return '127.0.0.1';
    return n <= 254 ? `127.${this.opts.loopback ?? 0}.${block}.${n}` : undefined;
  }

  get client(): string {
    return this.opts.client ?? OUTSIDE_CLIENT;
  }

  /** Resolves once every listener the store asks for so far is open (or has failed to). */
  async ready(): Promise<void> {
    let last;
    do {
      last = this.syncing;
      await last;
    } while (last !== this.syncing);
  }

  /** Every entrance, in the order of nodes and Services. */
  list(): Entrance[] {
    return [...this.open.values()].map((o) => o.entrance);
  }

  async close(): Promise<void> {
    this.closed = true;
    for (const stop of this.stopWatches) stop();
    await this.ready();
    for (const s of this.sockets) s.destroy();
    await Promise.all([...this.open.values()].map((o) => closeServer(o.server)));
    this.open.clear();
  }

  private resync(): void {
    this.chain(() => this.reconcile());
  }

  private chain(step: () => Promise<void>): void {
    // One failed pass must not stop the next ones: said, and the chain goes on.
    this.syncing = this.syncing.then(step).catch((e: Error) => this.opts.warn?.(`warning: the NodePort/LoadBalancer listeners could not follow a change: ${e.message}`));
  }

  /** A Service's endpoints changed: its entrances listen, or stop listening, as kube-proxy now lets them. */
  private recheck(service: string): void {
    this.chain(async () => {
      if (this.closed) return;
      await Promise.all([...this.open.values()].filter((o) => o.entrance.service === service).map((o) => this.follow(o)));
    });
  }

  /**
   * Whether kube-proxy's rules reject every new connection to the entrance (REJECT: the Service has no
   * endpoints), found by tracing one whose effects (conntrack, affinity, counters) are undone. Only a Service
   * without a ready or serving endpoint can be rejected, so the others are not traced.
   */
  private refuses(e: Entrance): boolean {
    if (e.kind === 'healthCheckNodePort') return false;
    const [namespace, name] = e.service.split('/');
    if (usableEndpoints(this.dp.cluster.store, namespace, name)) return false;
    const vias = e.kind === 'NodePort' ? [undefined] : deliveryNodes(this.dp.cluster.store, e.dst);
    return vias.length > 0 && vias.every((via) => {
      const v = withUndo(() => traceFromOutside(this.dp.network, PROBE_CLIENT, { protocol: 'tcp', dst: e.dst, dport: e.dport, sport: 40000 }, { seed: 0, via })).request.verdict;
      return v.kind === 'rejected' || v.kind === 'refused';
    });
  }

  /** Listens or stops listening as the entrance's refusal says. */
  private async follow(o: Open): Promise<void> {
    const refusing = this.refuses(o.entrance);
    if (refusing === !!o.refusing) return;
    o.refusing = refusing;
    if (refusing) {
      const server = o.server;
      o.server = undefined;
      await closeServer(server);
    } else await this.listen(o);
  }

  /** What the store asks for now: every TCP nodePort on every node, every LB IP and externalIP at its port. */
  private desired(): Map<string, Entrance> {
    const store = this.dp.cluster.store;
    const nodes = store.list<Node & KubeObject>('Node').map((n) => ({ name: n.metadata.name, ip: internalIPs(n).find((a) => !a.includes(':')) }));
    for (const n of nodes) if (!this.nodeIndex.has(n.name)) this.nodeIndex.set(n.name, this.nodeIndex.size + 1);
    const out = new Map<string, Entrance>();
    const add = (e: Omit<Entrance, 'host'> & { host: string | undefined }) => {
      // Past 254 nodes (or addresses) the block is full: those entrances are not served.
      if (e.host === undefined) return;
      const k = entranceKey(e);
      // On 127.0.0.1 alone, a free port (0) until it listens.
      if (!out.has(k)) out.set(k, { ...e, port: this.single ? 0 : e.port } as Entrance);
    };
    const vip = (block: 2 | 3, ip: string) => {
      const index = this.vipIndex[block];
      if (!index.has(ip)) index.set(ip, index.size + 1);
      return this.loopbackAddress(block, index.get(ip)!);
    };
    for (const s of store.list<S>('Service')) {
      const service = `${s.metadata.namespace}/${s.metadata.name}`;
      const lbIPs = s.spec?.type === 'LoadBalancer' ? (s.status?.loadBalancer?.ingress ?? []).map((i) => i.ip).filter((ip): ip is string => !!ip && net.isIPv4(ip)) : [];
      const externalIPs = s.spec?.type === 'ExternalName' ? [] : (s.spec?.externalIPs ?? []).filter((ip) => net.isIPv4(ip));
      for (const sp of s.spec?.ports ?? []) {
        if ((sp.protocol ?? 'TCP') !== 'TCP') continue;
        if (sp.nodePort) {
          for (const n of nodes) {
            if (n.ip) add({ kind: 'NodePort', service, dst: n.ip, dport: sp.nodePort, node: n.name, host: this.loopbackAddress(1, this.nodeIndex.get(n.name)!), port: sp.nodePort });
          }
        }
        for (const ip of lbIPs) add({ kind: 'LoadBalancer', service, dst: ip, dport: sp.port, host: vip(2, ip), port: sp.port });
        for (const ip of externalIPs) add({ kind: 'externalIP', service, dst: ip, dport: sp.port, host: vip(3, ip), port: sp.port });
      }
      const hc = s.spec?.type === 'LoadBalancer' && s.spec.externalTrafficPolicy === 'Local' ? s.spec.healthCheckNodePort : undefined;
      for (const n of hc ? nodes : []) {
        if (n.ip) add({ kind: 'healthCheckNodePort', service, dst: n.ip, dport: hc!, node: n.name, host: this.loopbackAddress(1, this.nodeIndex.get(n.name)!), port: hc! });
      }
    }
    return out;
  }

  private async reconcile(): Promise<void> {
    if (this.closed) return;
    const want = this.desired();
    const closing: Promise<void>[] = [];
    for (const [k, o] of this.open) {
      if (want.has(k)) continue;
      this.open.delete(k);
      closing.push(closeServer(o.server));
    }
    await Promise.all(closing);
    const opening: Promise<void>[] = [];
    for (const [k, e] of want) {
      const o = this.open.get(k);
      // A listener already open takes the entrance's new target for its next connection.
      if (o) {
        // On 127.0.0.1 alone the port it was given stays its own.
        o.entrance = { ...e, port: this.single ? o.entrance.port : e.port, error: o.entrance.error };
        opening.push(this.follow(o));
        continue;
      }
      const fresh: Open = { entrance: e, refusing: this.refuses(e) };
      this.open.set(k, fresh);
      if (!fresh.refusing) opening.push(this.listen(fresh));
    }
    await Promise.all(opening);
  }

  private listen(o: Open): Promise<void> {
    // The health check is kube-proxy's own socket on the node: answered there, never NATed.
    const server: net.Server = o.entrance.kind === 'healthCheckNodePort'
      ? http.createServer((_req, res) => this.health(o.entrance, res))
      : net.createServer((sock) => this.accept(o, sock));
    return new Promise((resolve) => {
      server.once('error', (err: NodeJS.ErrnoException) => {
        o.entrance.error = err.code ?? err.message;
        this.opts.warn?.(`warning: ${o.entrance.kind} ${o.entrance.dst}:${o.entrance.dport} of service ${o.entrance.service} cannot listen on ${o.entrance.host}:${o.entrance.port}: ${err.message}`);
        resolve();
      });
      server.listen(o.entrance.port, o.entrance.host, () => {
        o.server = server;
        // A free port, once chosen, is the entrance's for as long as kdp runs (a refusing pause included).
        o.entrance.port = (server.address() as net.AddressInfo).port;
        resolve();
      });
    });
  }

  /**
   * kube-proxy's service health server (pkg/proxy/healthcheck/service_health.go): 200 while the node has a
   * ready local endpoint, else 503, and the count in its JSON.
   */
  private health(e: Entrance, res: http.ServerResponse): void {
    const [namespace, name] = e.service.split('/');
    const count = localReadyEndpoints(this.dp.cluster.store, namespace, name, e.node!);
    res.setHeader('Content-Type', 'application/json');
    res.setHeader('X-Content-Type-Options', 'nosniff');
    res.writeHead(count ? 200 : 503);
    res.end(`{\n\t"service": {\n\t\t"namespace": ${JSON.stringify(namespace)},\n\t\t"name": ${JSON.stringify(name)}\n\t},\n\t"localEndpoints": ${count},\n\t"serviceProxyHealthy": true\n}`);
  }

  /** The node the router hands an LB IP or externalIP to: round-robin over those that may take it. */
  private via(e: Entrance): string | undefined {
    if (e.kind === 'NodePort') return undefined;
    const nodes = deliveryNodes(this.dp.cluster.store, e.dst);
    return nodes.length ? nodes[this.roundRobin++ % nodes.length] : undefined;
  }

  private accept(o: Open, client: net.Socket): void {
    this.sockets.add(client);
    client.on('close', () => this.sockets.delete(client));
    client.on('error', () => client.destroy());
    const e = o.entrance;
    const n = ++this.connections;
    const trace = traceFromOutside(this.dp.network, this.client, { protocol: 'tcp', dst: e.dst, dport: e.dport, sport: client.remotePort }, { seed: n, via: this.via(e) });
    this.opts.onTrace?.(e, trace);
    const v = trace.request.verdict;
    if (v.kind === 'delivered' && v.socket?.port !== undefined) {
      const peer = v.socket.peer ?? { address: this.client, port: client.remotePort };
      const upstream = this.listeners.connect(v.socket.address, v.socket.port, { ip: peer.address, port: peer.port ?? client.remotePort! });
      this.sockets.add(upstream);
      upstream.on('close', () => this.sockets.delete(upstream));
      upstream.on('error', () => client.resetAndDestroy());
      client.on('error', () => upstream.destroy());
      client.pipe(upstream);
      upstream.pipe(client);
      const sport = client.remotePort;
      client.once('close', () => this.forget({ src: this.client, sport, dst: e.dst, dport: e.dport }));
      return;
    }
    // The node answered the SYN with a RST (nothing listens, or kube-proxy's REJECT for no endpoints).
    if (v.kind === 'refused' || v.kind === 'rejected') {
      client.resetAndDestroy();
      return;
    }
    // Dropped (or lost on the way): no answer ever comes; the client's own timeout ends it.
    client.pause();
  }

  /**
   * The connection ended (FIN): its conntrack entries go, on every kernel it crossed, so a later connection
   * from the same source port is a new flow with a new decision — as Linux treats a SYN on a TIME_WAIT entry.
   * Each entry's reply tuple, reversed, is the flow as the next kernel on the way saw it (after NAT).
   */
  private forget(first: Tuple): void {
    // A pod namespace nobody used was never made, and has no conntrack: only those made are looked at.
    const kernels = [...this.dp.network.hosts.values(), ...[...this.dp.network.sandboxes.values()].map((s) => s.loadedNetns)]
      .map((ns) => ns?.loadedNetfilter?.conntrack)
      .filter((ct): ct is NonNullable<typeof ct> => !!ct);
    const flows = new Set([tupleKey('tcp', first)]);
    for (let grew = true; grew; ) {
      grew = false;
      for (const ct of kernels) {
        ct.delete((entry) => {
          if (entry.proto !== 'tcp' || !flows.has(tupleKey('tcp', entry.original))) return false;
          const next = tupleKey('tcp', { src: entry.reply.dst, sport: entry.reply.dport, dst: entry.reply.src, dport: entry.reply.sport });
          if (!flows.has(next)) {
            flows.add(next);
            grew = true;
          }
          return true;
        });
      }
    }
  }
}

/**
 * The InternalIPs of the nodes a LoadBalancer IP or externalIP is delivered to (empty when no Service has it):
 * every node, or with externalTrafficPolicy Local only those with a ready local endpoint — what a cloud LB's
 * health check on healthCheckNodePort finds (all of them again when none has one: nothing passes, and the LB
 * spreads over all).
 */
export function deliveryNodes(store: Store, address: string): string[] {
  const svc = store.list<S>('Service').find((s) => (s.spec?.type === 'LoadBalancer' && (s.status?.loadBalancer?.ingress ?? []).some((i) => i.ip === address)) || (s.spec?.type !== 'ExternalName' && (s.spec?.externalIPs ?? []).includes(address)));
  if (!svc) return [];
  const nodes = store.list<Node & KubeObject>('Node').map((n) => ({ name: n.metadata.name, ip: internalIPs(n).find((a) => !a.includes(':')) })).filter((n): n is { name: string; ip: string } => !!n.ip);
  if (svc.spec?.externalTrafficPolicy !== 'Local') return nodes.map((n) => n.ip);
  const { namespace, name } = svc.metadata;
  const healthy = nodes.filter((n) => localReadyEndpoints(store, namespace!, name, n.name) > 0);
  return (healthy.length ? healthy : nodes).map((n) => n.ip);
}

/**
 * Whether the Service has an endpoint kube-proxy would send to: ready, or serving while terminating (it falls
 * back to those when none is ready).
 */
function usableEndpoints(store: Store, namespace: string, name: string): boolean {
  const slices = store.list<EndpointSlice & KubeObject>('EndpointSlice', { namespace, selector: { requirements: [{ key: 'kubernetes.io/service-name', operator: 'Equals', values: [name] }] } });
  return slices.some((sl) => (sl.endpoints ?? []).some((ep) => ep.conditions?.ready !== false || ep.conditions?.serving === true));
}

/** The Service's ready endpoints on the node (kube-proxy's LocalReadyEndpoints), each address once. */
export function localReadyEndpoints(store: Store, namespace: string, name: string, node: string): number {
  const slices = store.list<EndpointSlice & KubeObject>('EndpointSlice', { namespace, selector: { requirements: [{ key: 'kubernetes.io/service-name', operator: 'Equals', values: [name] }] } });
  const addresses = new Set<string>();
  for (const sl of slices) for (const ep of sl.endpoints ?? []) if (ep.nodeName === node && ep.conditions?.ready !== false) addresses.add(ep.addresses[0]);
  return addresses.size;
}

function closeServer(server: net.Server | undefined): Promise<void> {
  return new Promise((resolve) => (server ? server.close(() => resolve()) : resolve()));
}
