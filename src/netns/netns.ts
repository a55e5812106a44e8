// A network namespace: its devices, addresses, routing tables, neighbours and bridge/vxlan forwarding
// databases. Adding an address does what the kernel does (a local route, an IPv4 broadcast route, and the
// connected prefix route once the device is up), so what `ip route` shows follows from how it was wired.
import { formatIP, parseIP, type Cidr, type Family } from '../cluster/net.ts';
import type { PeerEntries, PeerTable } from './peers.ts';
import type { Device, FdbEntry, InterfaceAddress, Listener, Neighbour, Route, RouteTable, Scope } from './types.ts';
import { Netfilter } from './netfilter/netfilter.ts';
import { Ipvs } from './ipvs.ts';
import { Ipsets } from './ipset.ts';

export interface Sysctls {
  /** net.ipv4.ip_forward */
  ipForward: boolean;
  /** net.bridge.bridge-nf-call-iptables: bridged IPv4 frames traverse iptables. */
  bridgeNfCallIptables: boolean;
}

const BITS: Record<Family, number> = { IPv4: 32, IPv6: 128 };

/** The network an address with a prefix belongs to, as a Cidr. */
export function networkOf(ip: string, prefix: number): Cidr {
  const p = parseIP(ip)!;
  return networkOfValue(p.family, p.value, prefix, ip);
}

/** Per family and prefix length: the host bits and the size of such a network, made once. */
const HOST_BITS: Record<Family, bigint[]> = { IPv4: [], IPv6: [] };
const SIZES: Record<Family, bigint[]> = { IPv4: [], IPv6: [] };
for (const family of ['IPv4', 'IPv6'] as const) {
  for (let prefix = 0; prefix <= BITS[family]; prefix++) {
    HOST_BITS[family].push(BigInt(BITS[family] - prefix));
    SIZES[family].push(1n << BigInt(BITS[family] - prefix));
  }
}

/**
 * Networks (not host routes) by family, prefix and base. Every pod on a node has the same connected network
 * and every device the same fe80::/64, so each is one object, not one per address (Cidrs are never changed).
 */
const NETWORKS: Record<Family, Map<bigint, Cidr>[]> = { IPv4: [], IPv6: [] };

/** The same from a parsed address; a host route's text is the address itself (no formatting needed). */
function networkOfValue(family: Family, value: bigint, prefix: number, ip: string): Cidr {
  if (prefix === BITS[family]) return { family, base: value, prefix, size: SIZES[family][prefix], text: `${ip}/${prefix}` };
  const host = HOST_BITS[family][prefix];
  const base = (value >> host) << host;
  const byBase = (NETWORKS[family][prefix] ??= new Map());
  let net = byBase.get(base);
  if (!net) byBase.set(base, (net = { family, base, prefix, size: SIZES[family][prefix], text: `${formatIP(family, base)}/${prefix}` }));
  return net;
}

/** A MAC's six bytes. */
function macBytes(mac: string): number[] {
  const b: number[] = [];
  for (let i = 0; i < 17; i += 3) b.push(parseInt(mac.slice(i, i + 2), 16));
  return b;
}

/** The four 16-bit groups of a MAC's EUI-64 interface identifier: ff:fe in the middle, the universal/local bit flipped. */
function eui64Groups(mac: string): [number, number, number, number] {
  const b = macBytes(mac);
  return [((b[0] ^ 2) << 8) | b[1], (b[2] << 8) | 0xff, 0xfe00 | b[3], (b[4] << 8) | b[5]];
}

// Joined in one piece: a flat string (every device keeps one) rather than a prefix and a tail.
const linkLocalText = (g: number[]) => `fe80::${g[0].toString(16)}:${g[1].toString(16)}:${g[2].toString(16)}:${g[3].toString(16)}`;

/** The EUI-64 link-local address of a MAC: fe80:: with ff:fe in the middle and the universal/local bit flipped. */
export function linkLocal(mac: string): string {
  return linkLocalText(eui64Groups(mac));
}

/** The MAC whose EUI-64 link-local address this is, if it is one (written as linkLocal writes it). */
export function macOfLinkLocal(ip: string): string | undefined {
  if (!ip.startsWith('fe80::')) return undefined;
  const g = ip.slice(6).split(':').map((x) => parseInt(x, 16));
  if (g.length !== 4 || (g[1] & 0xff) !== 0xff || g[2] >> 8 !== 0xfe) return undefined;
  const mac = [(g[0] >> 8) ^ 2, g[0] & 0xff, g[1] >> 8, g[2] & 0xff, g[3] >> 8, g[3] & 0xff].map((x) => x.toString(16).padStart(2, '0')).join(':');
  return linkLocal(mac) === ip ? mac : undefined;
}

/** The network of every link-local address (a device's own needs no parsing to know it). */
const LINK_LOCAL = networkOfValue('IPv6', 0xfe80n << 112n, 64, 'fe80::');

export type RouteSpec = Omit<Route, 'table' | 'type' | 'scope'> & Partial<Pick<Route, 'table' | 'type' | 'scope'>>;

/** A route as `ip route add` makes it: the main table, unicast, scope link unless it has a gateway. */
export function makeRoute(r: RouteSpec): Route {
  // Object.assign, not a spread of r into the literal: that adds keys, a slow path in V8.
  return Object.assign({ table: 'main', type: 'unicast', scope: r.via ? 'universe' : 'link' }, r) as Route;
}

/**
 * Among a namespace's own entries, the place where the peer entries added up to `upTo` (a PeerSlot's seq)
 * come: listings merge the shared entries in where a kernel holding its own copy would have them.
 */
class PeerMark {
  constructor(readonly upTo: number) {}
}

type PeerKind = 'neighbour' | 'fdb' | 'route';

/**
 * A loopback's addresses and the routes they bring (lo: 127.0.0.1/8, ::1) are the same in every namespace:
 * one copy, by what it holds, serves them all (addresses and routes are never changed once added).
 */
const LOOPBACK = new Map<string, InterfaceAddress | Route>();
function loopbackCopy<T extends InterfaceAddress | Route>(key: string, made: T): T {
  const had = LOOPBACK.get(key) as T | undefined;
  if (had) return had;
  LOOPBACK.set(key, made);
  return made;
}
const routeKey = (r: Route) => `${r.table} ${r.type} ${r.dst?.text} ${r.via} ${r.dev} ${r.proto} ${r.scope} ${r.src} ${r.onlink}`;

const LOCAL_ROUTE = 1;
const BROADCAST_ROUTE = 2;
const PREFIX_ROUTE = 4;

/**
 * Routes the kernel adds for an address (fib_add_ifaddr: its local route, the IPv4 broadcast route, the
 * connected prefix route once the device is up), kept as the address and made into Route objects when first
 * read — as the kernel's own are derived from its ifaddrs. A node holds one address a pod (its veth's
 * link-local one), whose routes few ever read. `kinds`: which of the three, in that order.
 */
class AddressRoutes {
  private made?: Route[];
  constructor(readonly a: InterfaceAddress, readonly kinds: number) {}

  get routes(): Route[] {
    if (this.made) return this.made;
    const { a, kinds } = this;
    const p = parseIP(a.ip)!;
    const out: Route[] = [];
    if (kinds & LOCAL_ROUTE) out.push({ table: 'local', type: 'local', dst: networkOfValue(p.family, p.value, BITS[p.family], a.ip), dev: a.dev, proto: 'kernel', scope: 'host', src: a.ip });
    const net = networkOfValue(p.family, p.value, a.prefix, a.ip);
    if (kinds & BROADCAST_ROUTE) {
      const b = net.base + net.size - 1n;
      const text = formatIP('IPv4', b);
      out.push({ table: 'local', type: 'broadcast', dst: networkOfValue('IPv4', b, 32, text), dev: a.dev, proto: 'kernel', scope: 'link', src: a.ip });
    }
    if (kinds & PREFIX_ROUTE) out.push({ table: 'main', type: 'unicast', dst: net, dev: a.dev, proto: 'kernel', scope: 'link', src: a.ip });
    return (this.made = out);
  }
}

/** A family's longest-prefix-match index, by table, and the peer table's version it was built with. */
interface RouteIndex {
  tables: Map<RouteTable, { prefixes: number[]; byPrefix: Map<number, Map<bigint, Route>>; peers: boolean }>;
  version: number;
}

/** No index built yet (shared, never written to: routes change at every address a node's pods bring). */
const NO_INDEX: Partial<Record<Family, RouteIndex>> = Object.freeze({});

/** The empty table a namespace reads until it writes one of its own (never written to itself). */
const NONE = new Map<string, never>();

const neighbourKey = (n: Neighbour) => `${n.ip}|${n.dev}`;
const fdbKey = (e: FdbEntry) => (e.master ? `${e.mac}|@${e.master}` : `${e.mac}|${e.dev}|self`);

export class Netns {
  readonly devices = new Map<string, Device>();
  readonly addresses: InterfaceAddress[] = [];
  /** The routes this namespace added itself, with marks where peer routes come (only while peers are attached). */
  private readonly ownRoutes: (Route | PeerMark | AddressRoutes)[] = [];
  /** Whether ownRoutes holds an address's routes not yet made into Route objects. */
  private addressRoutes = false;
  /** ip|dev -> entry, in the order learned or added (as `ip neigh` lists them). */
  private neighbourTable: Map<string, Neighbour | PeerMark> = NONE;
  /** A bridge's entries by mac|@bridge (one port per MAC); a device's own (self) entries by mac|dev|self. */
  private fdbTable: Map<string, FdbEntry | PeerMark> = NONE;
  /** Longest-prefix-match index over the routes, rebuilt when they change. */
  private routeIndex: Partial<Record<Family, RouteIndex>> = NO_INDEX;
  /** `routes` with the peers' merged in, made when first asked for, and the peer table's version then. */
  private routeList?: Route[];
  private routeListVersion = 0;
  /**
   * An overlay's peer entries this namespace holds (flanneld's, on every node), less its own peer's; `marked`:
   * the newest peer entry already placed among the namespace's own entries, per kind.
   */
  private peerView?: { table: PeerTable; self: string; marked: Record<PeerKind, number> };
  readonly listeners: Listener[] = [];
  /** The addresses of each device (a node has hundreds of devices: no scans of them all). */
  private readonly byDevice = new Map<string, InterfaceAddress[]>();
  /**
   * The devices with a connected route to each network (by table and network), so adding one is not a scan
   * of the table: one set per network, not a key per device (a node's veths all have fe80::/64).
   */
  private readonly connected: Record<RouteTable, Map<string, Set<string>>> = { main: new Map(), local: new Map() };
  readonly sysctls: Sysctls;
  private nf?: Netfilter;
  private ipvsTable?: Ipvs;
  private ipsetTable?: Ipsets;
  /** A kernel that does not answer at all (a node that is down). */
  down = false;
  /** Settings a topology fault put here, by what they change: a trace names the fault where it bites. */
  readonly faults = new Map<string, string>();
  private nextIndex = 1;

  /**
   * `named`: the namespace is bind-mounted under /var/run/netns (containerd does this for pod sandboxes), so
   * other namespaces' `ip` shows it by name (link-netns NAME) rather than by id (link-netnsid N).
   */
  constructor(readonly name: string, sysctls: Partial<Sysctls> = {}, readonly named = false) {
    this.sysctls = { ipForward: false, bridgeNfCallIptables: true, ...sysctls };
  }

  /** iptables, ip6tables and conntrack of this namespace (made when first used: most pods never load rules). */
  get netfilter(): Netfilter {
    return (this.nf ??= new Netfilter({
      addrType: (family, ip, dev) => {
        if (family === 'IPv4' && ip === '255.255.255.255') return 'BROADCAST';
        const r = this.lookup(ip);
        if (r?.table === 'local') return r.type === 'broadcast' ? 'BROADCAST' : dev !== undefined && r.dev !== dev ? 'UNICAST' : 'LOCAL';
        const v = parseIP(ip)?.value ?? 0n;
        const multicast = family === 'IPv4' ? v >> 28n === 0xen : v >> 120n === 0xffn;
        return multicast ? 'MULTICAST' : 'UNICAST';
      },
      primaryAddress: (dev, family) => this.addressesOf(dev).find((a) => a.family === family && a.scope === 'global')?.ip,
    }));
  }

  /** The netfilter state if anything made it yet (the packet path skips namespaces that never had rules). */
  get loadedNetfilter(): Netfilter | undefined {
    return this.nf;
  }

  /** The namespace's IPVS table (ip_vs is per network namespace), on netfilter's clock. */
  get ipvs(): Ipvs {
    return (this.ipvsTable ??= new Ipvs({ now: () => this.netfilter.now() }));
  }

  /** Whether IPVS has virtual services here: only then do its hooks look at packets. */
  get ipvsActive(): boolean {
    return (this.ipvsTable?.serviceCount ?? 0) > 0;
  }

  /** The namespace's ipsets; iptables' `-m set` looks them up. */
  get ipsets(): Ipsets {
    if (!this.ipsetTable) {
      this.ipsetTable = new Ipsets({ now: () => this.netfilter.now() });
      this.netfilter.ipsets = this.ipsetTable;
    }
    return this.ipsetTable;
  }

  device(name: string): Device | undefined {
    return this.devices.get(name);
  }

  /** The ifindex the next device added gets (dev_new_index: one past the highest handed out). */
  get nextIfindex(): number {
    return this.nextIndex;
  }

  /** Adds a device; its ifindex is the next free one, as the kernel hands them out. */
  addDevice(d: Omit<Device, 'index'> & { index?: number }): Device {
    if (this.devices.has(d.name)) throw new Error(`${this.name}: device ${d.name} exists`);
    // Object.assign, not a key-adding spread: V8 takes a slow path for those, and every pod adds devices.
    const dev = Object.assign({}, d) as Device;
    dev.index = d.index ?? this.nextIndex;
    this.nextIndex = Math.max(this.nextIndex, dev.index) + 1;
    this.devices.set(dev.name, dev);
    return dev;
  }

  removeDevice(name: string): void {
    // The peer entries are all on one device: without it the namespace has none.
    if (this.peerView?.table.dev === name) this.dropPeers();
    this.devices.delete(name);
    const kept = this.addresses.filter((x) => x.dev !== name);
    this.addresses.length = 0;
    this.addresses.push(...kept);
    this.byDevice.delete(name);
    for (const byNetwork of [this.connected.main, this.connected.local]) for (const devs of byNetwork.values()) devs.delete(name);
    this.removeRoutes((r) => r.dev === name);
    for (const [k, n] of this.neighbourTable) if (!(n instanceof PeerMark) && n.dev === name) this.neighbourTable.delete(k);
    for (const [k, e] of this.fdbTable) if (!(e instanceof PeerMark) && e.dev === name) this.fdbTable.delete(k);
  }

  // --- the peer entries an overlay shares between namespaces -----------------------------------------

  /**
   * Holds an overlay's peer entries (flanneld's neighbours, FDB entries and routes) as this namespace's own,
   * less those of `self` (the node this namespace is). Lookups answer from the table; listings merge its
   * entries in where they were added. A change to one of them here (not in the table) makes a private copy.
   */
  attachPeers(table: PeerTable, self: string): void {
    if (this.peerView?.table === table && this.peerView.self === self) return;
    if (this.peerView) this.copyPeers();
    this.peerView = { table, self, marked: { neighbour: -1, fdb: -1, route: -1 } };
    for (const kind of ['neighbour', 'fdb', 'route'] as const) this.markPeers(kind);
    this.routesChanged();
  }

  /** The neighbour or FDB table, made on the first write (most pods never learn a neighbour, none has an FDB). */
  private writable(kind: 'neighbour'): Map<string, Neighbour | PeerMark>;
  private writable(kind: 'fdb'): Map<string, FdbEntry | PeerMark>;
  private writable(kind: 'neighbour' | 'fdb'): Map<string, Neighbour | PeerMark> | Map<string, FdbEntry | PeerMark>;
  private writable(kind: 'neighbour' | 'fdb'): Map<string, Neighbour | PeerMark> | Map<string, FdbEntry | PeerMark> {
    if (kind === 'neighbour') return this.neighbourTable === NONE ? (this.neighbourTable = new Map()) : this.neighbourTable;
    return this.fdbTable === NONE ? (this.fdbTable = new Map()) : this.fdbTable;
  }

  /** Before an own entry is added: the peer entries added since the last one come before it. */
  private markPeers(kind: PeerKind): void {
    const v = this.peerView;
    if (!v || v.table.latest <= v.marked[kind]) return;
    const mark = new PeerMark((v.marked[kind] = v.table.latest));
    if (kind === 'route') this.ownRoutes.push(mark);
    else this.writable(kind).set(`#peers ${mark.upTo}`, mark);
  }

  /** Own entries and the visible peer entries of one kind, in the order a kernel would list them. */
  private merged<T extends object>(own: Iterable<T | PeerMark>, pick: (e: PeerEntries) => T | undefined): T[] {
    const out: T[] = [];
    const v = this.peerView;
    if (!v) {
      for (const e of own) out.push(e as T);
      return out;
    }
    const slots = v.table.inOrder();
    let next = slots.next();
    const upTo = (seq: number) => {
      for (; !next.done && next.value.seq <= seq; next = slots.next()) {
        const e = next.value.peer !== v.self ? pick(next.value.entries) : undefined;
        if (e) out.push(e);
      }
    };
    for (const e of own) {
      if (e instanceof PeerMark) upTo(e.upTo);
      else out.push(e);
    }
    upTo(Infinity);
    return out;
  }

  /** The peer entries become this namespace's own copy (in their places), and the table is let go. */
  private copyPeers(): void {
    if (!this.peerView) return;
    const neighbours = this.neighbours;
    const fdb = this.fdb;
    const routes = this.routes;
    this.peerView = undefined;
    this.neighbourTable = new Map(neighbours.map((n) => [neighbourKey(n), n]));
    this.fdbTable = new Map(fdb.map((e) => [fdbKey(e), e]));
    this.ownRoutes.length = 0;
    this.ownRoutes.push(...routes);
    this.routesChanged();
  }

  /** The namespace's own routes, an address's made into Route objects, with the peer marks in their places. */
  private *ownEntries(): Iterable<Route | PeerMark> {
    for (const r of this.ownRoutes) {
      if (r instanceof AddressRoutes) yield* r.routes;
      else yield r;
    }
  }

  /** The table is let go with its entries (their device is gone). */
  private dropPeers(): void {
    this.peerView = undefined;
    const own = this.ownRoutes.filter((r) => !(r instanceof PeerMark));
    this.ownRoutes.length = 0;
    this.ownRoutes.push(...own);
    for (const [k, n] of this.neighbourTable) if (n instanceof PeerMark) this.neighbourTable.delete(k);
    for (const [k, e] of this.fdbTable) if (e instanceof PeerMark) this.fdbTable.delete(k);
    this.routesChanged();
  }

  // --- tables -------------------------------------------------------------------------------------

  /** Every route of every table, in the order added. */
  get routes(): Route[] {
    if (!this.peerView) return this.addressRoutes ? (this.routeList ??= [...this.ownEntries()] as Route[]) : (this.ownRoutes as Route[]);
    if (!this.routeList || this.routeListVersion !== this.peerView.table.version) {
      this.routeList = this.merged(this.ownEntries(), (e) => e.route);
      this.routeListVersion = this.peerView.table.version;
    }
    return this.routeList;
  }

  /**
   * The first default route of the main table through a device (`ip route show default dev DEV`), found
   * without listing every route: peers' routes and an address's routes always have a destination.
   */
  defaultRoute(dev: string): Route | undefined {
    for (const r of this.ownRoutes) {
      if (!(r instanceof PeerMark) && !(r instanceof AddressRoutes) && r.table === 'main' && !r.dst && r.dev === dev) return r;
    }
    return undefined;
  }

  get neighbours(): Neighbour[] {
    return this.merged(this.neighbourTable.values(), (e) => e.neighbour);
  }

  get fdb(): FdbEntry[] {
    return this.merged(this.fdbTable.values(), (e) => e.fdb);
  }

  neighbour(ip: string, dev: string): Neighbour | undefined {
    const own = this.neighbourTable.get(`${ip}|${dev}`) as Neighbour | undefined;
    const v = this.peerView;
    return own ?? (v && dev === v.table.dev ? v.table.neighbour(ip, v.self) : undefined);
  }

  /** The forwarding entry for a MAC on a device (self: the device's own table, as vxlan's) or in a bridge. */
  fdbEntry(mac: string, where: { dev: string; self: true } | { master: string }): FdbEntry | undefined {
    if ('master' in where) return this.fdbTable.get(`${mac}|@${where.master}`) as FdbEntry | undefined;
    const own = this.fdbTable.get(`${mac}|${where.dev}|self`) as FdbEntry | undefined;
    const v = this.peerView;
    return own ?? (v && where.dev === v.table.dev ? v.table.fdbEntry(mac, v.self) : undefined);
  }

  removeRoutes(match: (r: Route) => boolean): void {
    const v = this.peerView;
    // Removing a peer's route here (not in the table) leaves this namespace its own copy of the rest.
    if (v && [...v.table.inOrder()].some((s) => s.peer !== v.self && s.entries.route && match(s.entries.route))) this.copyPeers();
    if (this.addressRoutes) {
      // What is removed may be one of an address's routes and not the others: all become Route objects.
      const entries = [...this.ownEntries()];
      this.ownRoutes.length = 0;
      this.ownRoutes.push(...entries);
      this.addressRoutes = false;
    }
    const own = this.ownRoutes as (Route | PeerMark)[];
    const kept = own.filter((r) => r instanceof PeerMark || !match(r));
    if (kept.length === own.length) return;
    for (const r of own) if (!(r instanceof PeerMark) && r.proto === 'kernel' && r.dst && match(r)) this.connected[r.table].get(r.dst.text)?.delete(r.dev);
    this.ownRoutes.length = 0;
    this.ownRoutes.push(...kept);
    this.routesChanged();
  }

  private routesChanged(): void {
    this.routeIndex = NO_INDEX;
    this.routeList = undefined;
  }

  private pushRoute(r: Route): void {
    this.markPeers('route');
    this.ownRoutes.push(this.devices.get(r.dev)?.kind === 'loopback' ? loopbackCopy(routeKey(r), r) : r);
    this.routesChanged();
  }

  /** An address's kernel routes, made into Route objects when read. */
  private pushAddressRoutes(a: InterfaceAddress, kinds: number): void {
    this.markPeers('route');
    this.ownRoutes.push(new AddressRoutes(a, kinds));
    this.addressRoutes = true;
    this.routesChanged();
  }

  /** `ip link set DEV up`: brings up the device and the connected routes of its addresses. */
  setUp(name: string): void {
    const d = this.devices.get(name);
    if (!d || d.up) return;
    d.up = true;
    this.routesChanged();
    const own = this.addressesOf(name);
    for (const a of own) this.addPrefixRoute(a, networkOf(a.ip, a.prefix));
    // With IPv6 enabled (the kernel default) a device coming up gets its link-local address (addrgenmode eui64).
    if (!own.some((a) => a.family === 'IPv6')) {
      if (d.kind === 'loopback') this.addParsedAddress(name, 'IPv6', '::1', 128, 'host', false, networkOfValue('IPv6', 1n, 128, '::1'), 1n);
      else this.addParsedAddress(name, 'IPv6', linkLocal(d.mac), 64, 'link', false, LINK_LOCAL);
    }
  }

  /**
   * `ip addr add IP/PREFIX [brd +] dev DEV`, with the routes the kernel adds for it: a local route, and for an
   * IPv4 prefix shorter than /31 a broadcast route to its last address (whether or not `brd` was given —
   * netlink's AddrAdd, which CNI plugins use, gives it; the kernel's own 127.0.0.1/8 on lo does not).
   */
  addAddress(dev: string, ip: string, prefix: number, scope: Scope = 'global', withBroadcast = true): InterfaceAddress {
    const p = parseIP(ip);
    if (!p) throw new Error(`${this.name}: "${ip}" is not an IP address`);
    return this.addParsedAddress(dev, p.family, ip, prefix, scope, withBroadcast, networkOfValue(p.family, p.value, prefix, ip), p.value);
  }

  /** `net`: the address's network; `value`: the address's own, needed for a loopback's (whose routes are made at once). */
  private addParsedAddress(dev: string, family: Family, ip: string, prefix: number, scope: Scope, withBroadcast: boolean, net: Cidr, value?: bigint): InterfaceAddress {
    const broadcastValue = family === 'IPv4' && prefix < 31 ? net.base + net.size - 1n : undefined;
    const broadcast = broadcastValue !== undefined ? formatIP('IPv4', broadcastValue) : undefined;
    let a: InterfaceAddress = { family, ip, prefix, scope, dev };
    if (broadcast && withBroadcast) a.broadcast = broadcast;
    if (this.devices.get(dev)?.kind === 'loopback') a = loopbackCopy(`${dev} ${ip}/${prefix} ${scope} ${a.broadcast}`, a);
    this.addresses.push(a);
    let own = this.byDevice.get(dev);
    if (!own) this.byDevice.set(dev, (own = []));
    own.push(a);
    if (this.devices.get(dev)?.kind !== 'loopback') {
      const prefixRoute = this.devices.get(dev)?.up && this.claimConnected('main', a, net);
      this.pushAddressRoutes(a, LOCAL_ROUTE | (broadcast ? BROADCAST_ROUTE : 0) | (prefixRoute ? PREFIX_ROUTE : 0));
      return a;
    }
    this.pushRoute({ table: 'local', type: 'local', dst: networkOfValue(family, value ?? parseIP(ip)!.value, BITS[family], ip), dev, proto: 'kernel', scope: 'host', src: ip });
    if (broadcast) this.pushRoute({ table: 'local', type: 'broadcast', dst: networkOfValue('IPv4', broadcastValue!, 32, broadcast), dev, proto: 'kernel', scope: 'link', src: ip });
    if (this.devices.get(dev)?.up) this.addPrefixRoute(a, net);
    return a;
  }

  /** `ip addr del IP/PREFIX dev DEV`: the address goes, with the routes the kernel added for it. */
  removeAddress(dev: string, ip: string): void {
    const a = this.byDevice.get(dev)?.find((x) => x.ip === ip);
    if (!a) throw new Error(`${this.name}: ${dev} has no address ${ip}`);
    this.addresses.splice(this.addresses.indexOf(a), 1);
    const own = this.byDevice.get(dev)!;
    own.splice(own.indexOf(a), 1);
    const net = networkOf(a.ip, a.prefix).text;
    const sharesNetwork = own.some((x) => networkOf(x.ip, x.prefix).text === net);
    this.removeRoutes((r) => r.dev === dev && r.proto === 'kernel' && r.src === ip && (r.type !== 'unicast' || !sharesNetwork));
  }

  private addPrefixRoute(a: InterfaceAddress, dst: Cidr): void {
    // On a loopback device the whole prefix is the host's own (local 127.0.0.0/8 dev lo), not a network.
    const table = this.devices.get(a.dev)?.kind === 'loopback' ? 'local' : 'main';
    if (!this.claimConnected(table, a, dst)) return;
    if (table === 'main') this.pushAddressRoutes(a, PREFIX_ROUTE);
    else this.pushRoute({ table, type: 'local', dst, dev: a.dev, proto: 'kernel', scope: 'host', src: a.ip });
  }

  /** Whether an address brings a connected route to its network on its device (none yet, and not a /32), noting it if so. */
  private claimConnected(table: RouteTable, a: InterfaceAddress, dst: Cidr): boolean {
    if (a.prefix === BITS[a.family]) return false; // a /32 has no connected network
    // By the network's text: the same string every time (networks are shared), its hash made once.
    let devs = this.connected[table].get(dst.text);
    if (!devs) this.connected[table].set(dst.text, (devs = new Set()));
    if (devs.has(a.dev)) return false;
    devs.add(a.dev);
    return true;
  }

  addRoute(r: RouteSpec): Route {
    const route = makeRoute(r);
    this.pushRoute(route);
    return route;
  }

  addNeighbour(n: Neighbour): void {
    const v = this.peerView;
    // An entry of the peers' own changed here: from now on this namespace keeps its own copy.
    if (v && n.dev === v.table.dev && v.table.neighbour(n.ip, v.self)) this.copyPeers();
    const key = neighbourKey(n);
    if (!this.neighbourTable.has(key)) this.markPeers('neighbour');
    this.writable('neighbour').set(key, n);
  }

  addFdb(e: FdbEntry): void {
    const v = this.peerView;
    if (v && e.self && e.dev === v.table.dev && v.table.fdbEntry(e.mac, v.self)) this.copyPeers();
    const key = fdbKey(e);
    if (!this.fdbTable.has(key)) this.markPeers('fdb');
    this.writable('fdb').set(key, e);
  }

  /** The socket a packet to ip:port would reach, if any. */
  listener(protocol: 'tcp' | 'udp', ip: string, port: number): Listener | undefined {
    return this.listeners.find((l) => l.protocol === protocol && l.port === port && (l.address === '0.0.0.0' || l.address === ip));
  }

  /** The addresses of a device (or all), in the order they were added. */
  addressesOf(dev?: string): InterfaceAddress[] {
    return dev === undefined ? this.addresses : (this.byDevice.get(dev) ?? []);
  }

  /**
   * The route the kernel picks for a destination: the local table first (the host's own addresses), then
   * the main table by longest prefix. Routes through a device that is down are not used. A namespace's own
   * route wins over a peer's for the same destination.
   */
  lookup(dst: string): Route | undefined {
    const p = parseIP(dst);
    if (!p) return undefined;
    const v = this.peerView;
    const built = this.routeIndex[p.family];
    const index = built && (!v || built.version === v.table.version) ? built : this.buildRouteIndex(p.family);
    const hostBits = HOST_BITS[p.family];
    for (const table of ['local', 'main'] as const) {
      const t = index.tables.get(table);
      if (!t) continue;
      for (const prefix of t.prefixes) {
        const host = hostBits[prefix];
        const base = (p.value >> host) << host;
        const r = t.byPrefix.get(prefix)?.get(base) ?? (t.peers ? v!.table.route(p.family, prefix, base, v!.self) : undefined);
        if (r) return r;
      }
    }
    return undefined;
  }

  /**
   * One family's index (per table: the prefix lengths present, longest first, and the routes by network).
   * An address of the other family is passed over without making its routes (a node's veths' link-local
   * addresses, for an IPv4 lookup).
   */
  private buildRouteIndex(family: Family): RouteIndex {
    const tables: RouteIndex['tables'] = new Map();
    const tableOf = (table: RouteTable) => {
      let t = tables.get(table);
      if (!t) tables.set(table, (t = { prefixes: [], byPrefix: new Map(), peers: false }));
      return t;
    };
    const add = (r: Route) => {
      // A down device's routes are unusable, except its addresses' local routes: the kernel still delivers
      // to an address on a down device (kube-ipvs0 is a dummy that stays down and takes the VIPs' traffic).
      if (r.table !== 'local' && !this.devices.get(r.dev)?.up) return;
      if ((r.dst?.family ?? (r.via ? parseIP(r.via)?.family : 'IPv4') ?? 'IPv4') !== family) return;
      const t = tableOf(r.table);
      const prefix = r.dst?.prefix ?? 0;
      let m = t.byPrefix.get(prefix);
      if (!m) {
        t.byPrefix.set(prefix, (m = new Map()));
        t.prefixes.push(prefix);
      }
      // The first route for a destination wins, as the first one added does in the kernel.
      const base = r.dst?.base ?? 0n;
      if (!m.has(base)) m.set(base, r);
    };
    for (const r of this.ownRoutes) {
      if (r instanceof PeerMark) continue;
      if (!(r instanceof AddressRoutes)) add(r);
      else if (r.a.family === family) for (const x of r.routes) add(x);
    }
    // The peers' routes (all in the main table) are looked up at their prefix lengths too.
    const v = this.peerView;
    if (v && this.devices.get(v.table.dev)?.up) {
      const prefixes = v.table.prefixes(family);
      if (prefixes.length) {
        const t = tableOf('main');
        t.peers = true;
        for (const prefix of prefixes) if (!t.prefixes.includes(prefix)) t.prefixes.push(prefix);
      }
    }
    for (const t of tables.values()) t.prefixes.sort((a, b) => b - a);
    if (this.routeIndex === NO_INDEX) this.routeIndex = {};
    return (this.routeIndex[family] = { tables, version: v?.table.version ?? 0 });
  }

  /** The source address the kernel would pick for a route: its src, else the first global address on its device. */
  sourceFor(route: Route, family: Family): string | undefined {
    if (route.src) return route.src;
    return this.addresses.find((a) => a.dev === route.dev && a.family === family)?.ip ??
      this.addresses.find((a) => a.family === family && a.scope === 'global')?.ip;
  }
}
