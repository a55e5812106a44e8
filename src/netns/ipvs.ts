// IPVS, the kernel's layer-4 load balancer (net/netfilter/ipvs): the virtual service table, real servers with
// their connection counters, the connection table with persistence templates, and the scheduling decision a
// first packet gets. Deterministic: the same table, clock and packets give the same choices.
import { formatIP } from '../cluster/net.ts';
import { newScheduler } from './ipvs/schedulers.ts';
import {
  Destination, SVC_F, VirtualService, hostPort, parseAddress, serviceKey,
  type DestinationSpec, type IpvsProtocol, type VirtualServiceSpec,
} from './ipvs/service.ts';

export * from './ipvs/service.ts';

/** The first packet of a flow as IPVS's LOCAL_IN/FORWARD hooks see it. */
export interface IpvsPacket {
  protocol: IpvsProtocol;
  src: string;
  dst: string;
  sport: number;
  dport: number;
  /** The skb mark, for firewall-mark services. */
  fwmark?: number;
}

export type ConnState =
  | 'NONE' | 'ESTABLISHED' | 'SYN_SENT' | 'SYN_RECV' | 'FIN_WAIT' | 'TIME_WAIT' | 'CLOSE' | 'CLOSE_WAIT' | 'LAST_ACK'
  | 'UDP' | 'INIT1';

/** Per-state timeouts in seconds: tcp_timeouts (ip_vs_proto_tcp.c), udp_timeouts, sctp_timeouts. */
const TIMEOUTS: Record<ConnState, number> = {
  NONE: 2, ESTABLISHED: 15 * 60, SYN_SENT: 2 * 60, SYN_RECV: 60, FIN_WAIT: 2 * 60, TIME_WAIT: 2 * 60, CLOSE: 10,
  CLOSE_WAIT: 60, LAST_ACK: 30, UDP: 5 * 60, INIT1: 3,
};

/** An entry of the connection table (/proc/net/ip_vs_conn), or a persistence template. */
export interface IpvsConnection {
  protocol: IpvsProtocol;
  template: boolean;
  client: { address: string; port: number };
  virtual: { address: string; port: number };
  dest: { address: string; port: number };
  state: ConnState;
  /** When it expires, in ms of the IPVS clock. */
  expires: number;
  service: VirtualService;
  destination: Destination;
  /** The persistence template this connection was scheduled under. */
  controller?: IpvsConnection;
  /** Templates: how many live connections it controls (it does not expire while any do). */
  controlled: number;
  /** IP_VS_CONN_F_INACTIVE: counted in the destination's InActConn. */
  inactive: boolean;
}

export type IpvsDecision =
  | { service: VirtualService; destination: Destination; connection: IpvsConnection; existing: boolean }
  /**
   * No real server for the packet: `port-unreachable` when a service matched but none could be scheduled
   * (ip_vs_leave answers ICMP port unreachable); `drop` when the connection's server is gone and
   * expire_nodest_conn is off.
   */
  | { service: VirtualService; destination: undefined; verdict: 'port-unreachable' | 'drop' };

export interface IpvsOptions {
  /** The clock, in ms (connection and template expiry, lblc/lblcr aging). */
  now?: () => number;
  /** /proc/sys/net/ipv4/vs/expire_quiescent_template (default 0: a weight-0 server keeps its persistent clients). */
  expireQuiescentTemplate?: boolean;
  /**
   * /proc/sys/net/ipv4/vs/expire_nodest_conn: a packet of a connection whose server was deleted expires the
   * connection and is scheduled afresh (1), or is dropped (0, the default).
   */
  expireNodestConn?: boolean;
  /** /proc/sys/net/ipv4/vs/conntrack (default 0). */
  conntrack?: boolean;
}

/** Connection table size as `ipvsadm -Ln` reports it (CONFIG_IP_VS_TAB_BITS 12). */
export const IPVS_CONN_TAB_SIZE = 4096;

export class Ipvs {
  private readonly table = new Map<string, VirtualService>();
  private readonly conns = new Map<string, IpvsConnection>();
  /** The same connections by the tuple of their real server's answers (ip_vs_conn_out_get's lookup). */
  private readonly replies = new Map<string, IpvsConnection>();
  private readonly now: () => number;
  /** The net.ipv4.vs sysctls of the namespace (kube-proxy sets them when it starts). */
  expireQuiescentTemplate: boolean;
  expireNodestConn: boolean;
  /** net.ipv4.vs.conntrack: IPVS keeps netfilter's conntrack entry of a connection it forwards (so iptables NAT applies too). */
  conntrack: boolean;

  constructor(options: IpvsOptions = {}) {
    this.now = options.now ?? (() => Date.now());
    this.expireQuiescentTemplate = options.expireQuiescentTemplate ?? false;
    this.expireNodestConn = options.expireNodestConn ?? false;
    this.conntrack = options.conntrack ?? false;
  }

  services(): VirtualService[] {
    return [...this.table.values()];
  }

  /** How many virtual services there are (the packet path asks on every packet). */
  get serviceCount(): number {
    return this.table.size;
  }

  getService(s: Pick<VirtualServiceSpec, 'address' | 'protocol' | 'port' | 'fwmark'>): VirtualService | undefined {
    return this.table.get(serviceKey(s));
  }

  /** ipvsadm -A */
  addService(spec: VirtualServiceSpec): VirtualService {
    const key = serviceKey(spec);
    if (this.table.has(key)) throw new Error(`IPVS: service ${key} already exists`);
    const svc = new VirtualService(normalise(spec), newScheduler(spec.scheduler));
    this.table.set(key, svc);
    return svc;
  }

  /** ipvsadm -E: a new scheduler starts from a fresh state, as the kernel's bind/unbind does. */
  editService(spec: VirtualServiceSpec): VirtualService {
    const svc = this.mustGet(spec);
    const scheduler = svc.spec.scheduler;
    Object.assign(svc.spec, normalise(spec));
    if (spec.scheduler !== scheduler) {
      svc.sched = newScheduler(spec.scheduler);
      svc.sched.changed(svc);
    }
    return svc;
  }

  /** ipvsadm -D: its connections go with it. */
  deleteService(s: Pick<VirtualServiceSpec, 'address' | 'protocol' | 'port' | 'fwmark'>): void {
    const svc = this.mustGet(s);
    for (const [k, c] of this.conns) if (c.service === svc) { this.unbind(c); this.conns.delete(k); this.forgetReply(c); }
    for (const d of svc.destinations) d.available = false;
    this.table.delete(svc.key);
  }

  /** ipvsadm -a */
  addDestination(s: Pick<VirtualServiceSpec, 'address' | 'protocol' | 'port' | 'fwmark'>, spec: DestinationSpec): Destination {
    const svc = this.mustGet(s);
    if (svc.findDestination(spec.address, spec.port)) throw new Error(`IPVS: ${svc.key} already has ${hostPort(spec.address, spec.port)}`);
    const d = new Destination(spec);
    svc.destinations.unshift(d);
    svc.sched.changed(svc);
    return d;
  }

  /** ipvsadm -e */
  updateDestination(s: Pick<VirtualServiceSpec, 'address' | 'protocol' | 'port' | 'fwmark'>, spec: DestinationSpec): Destination {
    const svc = this.mustGet(s);
    const d = svc.findDestination(spec.address, spec.port);
    if (!d) throw new Error(`IPVS: ${svc.key} has no real server ${hostPort(spec.address, spec.port)}`);
    d.weight = spec.weight;
    if (spec.weight > 0) d.lastWeight = spec.weight;
    d.forward = spec.forward;
    d.uThreshold = spec.uThreshold ?? 0;
    d.lThreshold = spec.lThreshold ?? 0;
    // __ip_vs_update_dest clears the overload flag when the thresholds change.
    d.overloaded = false;
    svc.sched.changed(svc);
    return d;
  }

  /** ipvsadm -d: existing connections keep their (now unavailable) destination until they expire. */
  deleteDestination(s: Pick<VirtualServiceSpec, 'address' | 'protocol' | 'port' | 'fwmark'>, address: string, port: number): void {
    const svc = this.mustGet(s);
    const d = svc.findDestination(address, port);
    if (!d) throw new Error(`IPVS: ${svc.key} has no real server ${hostPort(address, port)}`);
    svc.sched.changed(svc, d);
    svc.destinations.splice(svc.destinations.indexOf(d), 1);
    d.available = false;
    svc.sched.changed(svc);
  }

  /** ipvsadm -C */
  clear(): void {
    for (const svc of this.services()) this.deleteService(svc.spec);
  }

  /** The connection table, templates included, in insertion order. */
  connections(): IpvsConnection[] {
    this.expire();
    return [...this.conns.values()];
  }

  /**
   * The decision for a packet entering IPVS: an existing connection's destination, or a new connection scheduled
   * (through its persistence template when the service is persistent). undefined: no virtual service matches.
   */
  schedule(pkt: IpvsPacket): IpvsDecision | undefined {
    this.expire();
    const ckey = connKey(pkt.protocol, false, pkt.src, pkt.sport, pkt.dst, pkt.dport);
    let existing = this.conns.get(ckey);
    if (existing && !existing.destination.available) {
      if (!this.expireNodestConn) return { service: existing.service, destination: undefined, verdict: 'drop' };
      this.drop(ckey, existing);
      existing = undefined;
    }
    if (existing) {
      existing.expires = this.now() + TIMEOUTS[existing.state] * 1000;
      return { service: existing.service, destination: existing.destination, connection: existing, existing: true };
    }
    const svc = this.lookup(pkt);
    if (!svc) return undefined;
    let template: IpvsConnection | undefined;
    let dest: Destination | undefined;
    if (svc.spec.flags & SVC_F.PERSISTENT) {
      const snet = maskAddress(pkt.src, svc.spec.netmask);
      const tkey = connKey(pkt.protocol, true, snet, 0, pkt.dst, svc.spec.fwmark ? 0 : pkt.dport, svc.spec.fwmark);
      template = this.conns.get(tkey);
      if (template && (!template.destination.available || (this.expireQuiescentTemplate && template.destination.weight === 0))) {
        this.drop(tkey, template);
        template = undefined;
      }
      if (!template) {
        dest = svc.sched.schedule(svc, pkt, this.now());
        if (!dest) return { service: svc, destination: undefined, verdict: 'port-unreachable' };
        template = this.newConnection(svc, dest, {
          protocol: pkt.protocol, template: true, client: { address: snet, port: 0 },
          virtual: { address: pkt.dst, port: svc.spec.fwmark ? 0 : pkt.dport }, state: 'NONE',
        });
        this.conns.set(tkey, template);
      }
      dest = template.destination;
      template.expires = this.now() + svc.spec.timeout * 1000;
    } else {
      dest = svc.sched.schedule(svc, pkt, this.now());
      if (!dest) return { service: svc, destination: undefined, verdict: 'port-unreachable' };
    }
    const conn = this.newConnection(svc, dest, {
      protocol: pkt.protocol, template: false, client: { address: pkt.src, port: pkt.sport },
      virtual: { address: pkt.dst, port: pkt.dport },
      state: pkt.protocol === 'tcp' ? 'SYN_RECV' : pkt.protocol === 'udp' ? 'UDP' : 'INIT1',
    });
    if (template) { conn.controller = template; template.controlled++; }
    // One-packet scheduling (ipvsadm -o): each UDP datagram is scheduled alone; no entry outlives it.
    if (svc.spec.flags & SVC_F.ONEPACKET && pkt.protocol === 'udp') {
      this.unbind(conn);
      if (template) template.controlled--;
    } else {
      this.conns.set(connKey(pkt.protocol, false, pkt.src, pkt.sport, pkt.dst, pkt.dport), conn);
      this.replies.set(replyKey(conn), conn);
    }
    svc.stats.conns++;
    dest.stats.conns++;
    return { service: svc, destination: dest, connection: conn, existing: false };
  }

  /**
   * ip_vs_conn_out_get: the connection a real server's packet answers (from the server to the client), if any.
   */
  replyConnection(pkt: IpvsPacket): IpvsConnection | undefined {
    this.expire();
    return this.replies.get(`${pkt.protocol} ${pkt.src} ${pkt.sport} ${pkt.dst} ${pkt.dport}`);
  }

  private forgetReply(c: IpvsConnection): void {
    if (!c.template && this.replies.get(replyKey(c)) === c) this.replies.delete(replyKey(c));
  }


  /**
   * A connection's protocol state moved (TCP's state machine, SCTP's ESTABLISHED): an ESTABLISHED connection
   * counts as active, every other state as inactive, as set_tcp_state moves the destination's counters.
   */
  setState(conn: IpvsConnection, state: ConnState): void {
    const d = conn.destination;
    const active = state === 'ESTABLISHED';
    if (!conn.template && conn.inactive && active) { d.inactConns--; d.activeConns++; conn.inactive = false; }
    else if (!conn.template && !conn.inactive && !active) { d.activeConns--; d.inactConns++; conn.inactive = true; }
    conn.state = state;
    conn.expires = this.now() + TIMEOUTS[state] * 1000;
  }

  /** Packet and byte counters, as ipvsadm --stats shows them. */
  account(conn: IpvsConnection, direction: 'in' | 'out', bytes: number): void {
    for (const s of [conn.service.stats, conn.destination.stats]) {
      if (direction === 'in') { s.inpkts++; s.inbytes += bytes; } else { s.outpkts++; s.outbytes += bytes; }
    }
  }

  /** Drops expired connections, then templates that no longer control any. */
  expire(): void {
    const now = this.now();
    for (const [k, c] of this.conns) if (!c.template && c.expires <= now) this.drop(k, c);
    for (const [k, c] of this.conns) if (c.template && c.expires <= now && c.controlled === 0) this.drop(k, c);
  }

  private drop(key: string, c: IpvsConnection): void {
    this.conns.delete(key);
    this.forgetReply(c);
    this.unbind(c);
    if (c.controller) c.controller.controlled--;
  }

  private newConnection(
    svc: VirtualService, dest: Destination,
    c: Pick<IpvsConnection, 'protocol' | 'template' | 'client' | 'virtual' | 'state'>,
  ): IpvsConnection {
    const conn: IpvsConnection = {
      ...c, dest: { address: dest.address, port: dest.port }, service: svc, destination: dest,
      expires: this.now() + (c.template ? svc.spec.timeout : TIMEOUTS[c.state]) * 1000, controlled: 0, inactive: true,
    };
    // ip_vs_bind_dest: a new connection starts inactive; a template counts as a persistent connection.
    if (conn.template) dest.persistConns++;
    else dest.inactConns++;
    if (dest.uThreshold && dest.totalConns >= dest.uThreshold) dest.overloaded = true;
    return conn;
  }

  /** ip_vs_unbind_dest */
  private unbind(c: IpvsConnection): void {
    const d = c.destination;
    if (c.template) d.persistConns--;
    else if (c.inactive) d.inactConns--;
    else d.activeConns--;
    if (d.lThreshold) { if (d.totalConns < d.lThreshold) d.overloaded = false; }
    else if (d.uThreshold) { if (d.totalConns * 4 < d.uThreshold * 3) d.overloaded = false; }
    else d.overloaded = false;
  }

  /** ip_vs_service_find: firewall-mark services first, then protocol/address/port. */
  private lookup(pkt: IpvsPacket): VirtualService | undefined {
    if (pkt.fwmark) {
      const family = parseAddress(pkt.dst).family;
      const anyAddress = family === 'IPv4' ? '0.0.0.0' : '::';
      const svc = this.table.get(serviceKey({ address: anyAddress, protocol: pkt.protocol, port: 0, fwmark: pkt.fwmark }));
      if (svc) return svc;
    }
    return this.table.get(serviceKey({ address: pkt.dst, protocol: pkt.protocol, port: pkt.dport }));
  }

  private mustGet(s: Pick<VirtualServiceSpec, 'address' | 'protocol' | 'port' | 'fwmark'>): VirtualService {
    const svc = this.table.get(serviceKey(s));
    if (!svc) throw new Error(`IPVS: no service ${serviceKey(s)}`);
    return svc;
  }
}

function normalise(spec: VirtualServiceSpec): VirtualServiceSpec {
  const family = parseAddress(spec.address).family;
  const max = family === 'IPv4' ? 32 : 128;
  if (spec.netmask < 0 || spec.netmask > max) throw new Error(`IPVS: persistence netmask /${spec.netmask} is out of range for ${family}`);
  return { ...spec };
}

const replyKey = (c: IpvsConnection) => `${c.protocol} ${c.dest.address} ${c.dest.port} ${c.client.address} ${c.client.port}`;

function connKey(protocol: string, template: boolean, caddr: string, cport: number, vaddr: string, vport: number, fwmark?: number): string {
  return `${template ? 'T' : 'C'} ${protocol} ${caddr} ${cport} ${fwmark ? `fwm${fwmark}` : vaddr} ${vport}`;
}

/** The client's network under the persistence netmask (ipvsadm -M): clients in it share a template. */
export function maskAddress(address: string, prefix: number): string {
  const ip = parseAddress(address);
  const host = BigInt((ip.family === 'IPv4' ? 32 : 128) - prefix);
  return formatIP(ip.family, (ip.value >> host) << host);
}
