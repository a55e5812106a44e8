// The controller's side of its backend connections once something has decided them. A FlowDecider (the data
// plane: src/dataplane/dialer.ts) decides one new flow as plain data — which endpoint, and how to open a real
// connection the pod's app sees as coming from the client the data plane delivered — so the decision can be
// made in one process and followed in another (the Ingress worker processes: src/ingress/workers.ts).
//
// FlowDialer keeps a decision for the client connection it was made for, per Service port, as conntrack keeps
// a connection on the endpoint its first packet was DNATed to: a new client connection (each curl) draws
// kube-proxy's choice anew, the next requests on a kept-alive one go where its first did, at the cost of a Map
// lookup instead of a trace. A decision older than the decider's generation (a change to anything a trace
// depends on) is not reused.
import { Agent } from 'node:http';
import type { Socket } from 'node:net';
import { openRealConnection, type RealConnection } from '../kubelet/runtime.ts';
import type { Dialer, DialRequest, DialResult, Target } from './dialer.ts';

export type FlowDecision =
  | {
    ok: true;
    endpoint: string;
    target: Target;
    /** The decider's generation when it decided. */
    generation: number;
    /** How to reach the endpoint as the delivered client; absent: plain connections to `target`. */
    via?: RealConnection;
    /** The delivered client's address: connections for one endpoint and client share a keep-alive pool. */
    client?: string;
  }
  | Extract<DialResult, { ok: false }>;

export interface FlowDecider {
  decide(req: DialRequest): FlowDecision;
  readonly generation: number;
  /** Calls back after every change that can change a decision; returns the function that stops it. */
  onChange(cb: () => void): () => void;
}

/** Keep-alive connections to one endpoint on behalf of one client address: the pod's app sees that client. */
class PeerAgent extends Agent {
  constructor(private readonly via: RealConnection) {
    super({ keepAlive: true, maxSockets: Infinity, maxFreeSockets: 256, scheduling: 'lifo' });
  }

  override createConnection(): Socket {
    const s = openRealConnection(this.via);
    // What Agent's own createConnection gets from its noDelay default: no Nagle wait on a request's last bytes.
    s.setNoDelay(true);
    return s;
  }
}

type Delivered = Extract<DialResult, { ok: true }>;

interface Kept {
  generation: number;
  result: Delivered;
}

const FLOWS = Symbol('kdp.ingress.flows');
type Connection = object & { [FLOWS]?: Map<string, Kept> };

export class FlowDialer implements Dialer {
  /** One pool per endpoint and client address the data plane delivered with. */
  private readonly agents = new Map<string, PeerAgent>();

  constructor(
    private readonly decide: (req: DialRequest) => FlowDecision | Promise<FlowDecision>,
    private readonly generation: () => number,
  ) {}

  close(): void {
    for (const a of this.agents.values()) a.destroy();
    this.agents.clear();
  }

  dial(req: DialRequest): DialResult | Promise<DialResult> {
    const conn = req.connection as Connection | undefined;
    const key = `${req.service.namespace}/${req.service.name}:${req.port}`;
    const kept = conn?.[FLOWS]?.get(key);
    // A retry (the kept endpoint refused) is a new connection: the rules decide again.
    if (kept && kept.generation >= this.generation() && !req.exclude?.includes(kept.result.endpoint)) return kept.result;
    const d = this.decide(req);
    return 'then' in d ? d.then((x) => this.follow(conn, key, x)) : this.follow(conn, key, d);
  }

  private follow(conn: Connection | undefined, key: string, d: FlowDecision): DialResult {
    if (!d.ok || !d.via) {
      conn?.[FLOWS]?.delete(key);
      return d.ok ? { ok: true, endpoint: d.endpoint, target: d.target } : d;
    }
    const pool = `${d.endpoint} ${d.client ?? ''}`;
    let agent = this.agents.get(pool);
    if (!agent) this.agents.set(pool, (agent = new PeerAgent(d.via)));
    const result: Delivered = { ok: true, endpoint: d.endpoint, target: d.target, agent };
    if (conn) (conn[FLOWS] ??= new Map()).set(key, { generation: d.generation, result });
    return result;
  }
}
