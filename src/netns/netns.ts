// A network namespace: its devices, addresses, routing tables, neighbours and bridge/vxlan forwarding
// databases. Adding an address does what the kernel does (a local route, an IPv4 broadcast route, and the
// connected prefix route once the device is up), so what `ip route` shows follows from how it was wired.
import { cidrContains, formatIP, parseIP, type Cidr, type Family } from '../cluster/net.ts';
import type { Device, FdbEntry, InterfaceAddress, Listener, Neighbour, Route, Scope } from './types.ts';
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

/** The same from a parsed address; a host route's text is the address itself (no formatting needed). */
function networkOfValue(family: Family, value: bigint, prefix: number, ip: string): Cidr {
  const host = BigInt(BITS[family] - prefix);
  const base = (value >> host) << host;
  const text = prefix === BITS[family] ? `${ip}/${prefix}` : `${formatIP(family, base)}/${prefix}`;
  return { family, base, prefix, size: 1n << host, text };
}

/** The EUI-64 link-local address of a MAC: fe80:: with ff:fe in the middle and the universal/local bit flipped. */
export function linkLocal(mac: string): string {
  const b = mac.split(':').map((x) => parseInt(x, 16));
  const groups = [(b[0] ^ 2) * 256 + b[1], b[2] * 256 + 0xff, 0xfe00 + b[3], b[4] * 256 + b[5]];
  return `fe80::${groups.map((g) => g.toString(16)).join(':')}`;
}

export class Netns {
  readonly devices = new Map<string, Device>();
  readonly addresses: InterfaceAddress[] = [];
  readonly routes: Route[] = [];
  /** ip|dev -> entry, in the order learned or added (as `ip neigh` lists them). */
  private readonly neighbourTable = new Map<string, Neighbour>();
  /** A bridge's entries by mac|@bridge (one port per MAC); a device's own (self) entries by mac|dev|self. */
  private readonly fdbTable = new Map<string, FdbEntry>();
  /** Longest-prefix-match index over `routes`, rebuilt when routes change. */
  private routeIndex?: Map<string, { prefixes: number[]; byPrefix: Map<number, Map<bigint, Route>> }>;
  readonly listeners: Listener[] = [];
  /** Each address's network, computed once when it is added. */
  private readonly networks = new WeakMap<InterfaceAddress, Cidr>();
  /** The addresses of each device (a node has hundreds of devices: no scans of them all). */
  private readonly byDevice = new Map<string, InterfaceAddress[]>();
  /** table|dev|network of the connected routes present, so adding one is not a scan of the table. */
  private readonly connected = new Set<string>();
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


  /** Adds a device; its ifindex is the next free one, as the kernel hands them out. */
  addDevice(d: Omit<Device, 'index'> & { index?: number }): Device {
    if (this.devices.has(d.name)) throw new Error(`${this.name}: device ${d.name} exists`);
    const dev: Device = { ...d, index: d.index ?? this.nextIndex };
    this.nextIndex = Math.max(this.nextIndex, dev.index) + 1;
    this.devices.set(dev.name, dev);
    return dev;
  }

  removeDevice(name: string): void {
    this.devices.delete(name);
    const kept = this.addresses.filter((x) => x.dev !== name);
    this.addresses.length = 0;
    this.addresses.push(...kept);
    this.byDevice.delete(name);
    for (const key of this.connected) if (key.split('|')[1] === name) this.connected.delete(key);
    this.removeRoutes((r) => r.dev === name);
    for (const [k, n] of this.neighbourTable) if (n.dev === name) this.neighbourTable.delete(k);
    for (const [k, e] of this.fdbTable) if (e.dev === name) this.fdbTable.delete(k);
  }

  get neighbours(): Neighbour[] {
    return [...this.neighbourTable.values()];
  }

  get fdb(): FdbEntry[] {
    return [...this.fdbTable.values()];
  }

  neighbour(ip: string, dev: string): Neighbour | undefined {
    return this.neighbourTable.get(`${ip}|${dev}`);
  }

  /** The forwarding entry for a MAC on a device (self: the device's own table, as vxlan's) or in a bridge. */
  fdbEntry(mac: string, where: { dev: string; self: true } | { master: string }): FdbEntry | undefined {
    return this.fdbTable.get('master' in where ? `${mac}|@${where.master}` : `${mac}|${where.dev}|self`);
  }

  removeRoutes(match: (r: Route) => boolean): void {
    const kept = this.routes.filter((r) => !match(r));
    if (kept.length === this.routes.length) return;
    for (const r of this.routes) if (r.proto === 'kernel' && r.dst && match(r)) this.connected.delete(`${r.table}|${r.dev}|${r.dst.text}`);
    this.routes.length = 0;
    this.routes.push(...kept);
    this.routeIndex = undefined;
  }

  /** `ip link set DEV up`: brings up the device and the connected routes of its addresses. */
  setUp(name: string): void {
    const d = this.devices.get(name);
    if (!d || d.up) return;
    d.up = true;
    this.routeIndex = undefined;
    const own = this.addressesOf(name);
    for (const a of own) this.addPrefixRoute(a);
    // With IPv6 enabled (the kernel default) a device coming up gets its link-local address (addrgenmode eui64).
    if (!own.some((a) => a.family === 'IPv6')) {
      if (d.kind === 'loopback') this.addAddress(name, '::1', 128, 'host');
      else this.addAddress(name, linkLocal(d.mac), 64, 'link');
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
    const net = networkOfValue(p.family, p.value, prefix, ip);
    const broadcastValue = p.family === 'IPv4' && prefix < 31 ? net.base + net.size - 1n : undefined;
    const broadcast = broadcastValue !== undefined ? formatIP('IPv4', broadcastValue) : undefined;
    const a: InterfaceAddress = { family: p.family, ip, prefix, scope, dev, ...(broadcast && withBroadcast ? { broadcast } : {}) };
    this.addresses.push(a);
    let own = this.byDevice.get(dev);
    if (!own) this.byDevice.set(dev, (own = []));
    own.push(a);
    this.networks.set(a, net);
    this.routeIndex = undefined;
    this.routes.push({ table: 'local', type: 'local', dst: networkOfValue(p.family, p.value, BITS[p.family], ip), dev, proto: 'kernel', scope: 'host', src: ip });
    if (broadcast) this.routes.push({ table: 'local', type: 'broadcast', dst: networkOfValue('IPv4', broadcastValue!, 32, broadcast), dev, proto: 'kernel', scope: 'link', src: ip });
    if (this.devices.get(dev)?.up) this.addPrefixRoute(a);
    return a;
  }

  /** `ip addr del IP/PREFIX dev DEV`: the address goes, with the routes the kernel added for it. */
  removeAddress(dev: string, ip: string): void {
    const a = this.byDevice.get(dev)?.find((x) => x.ip === ip);
    if (!a) throw new Error(`${this.name}: ${dev} has no address ${ip}`);
    this.addresses.splice(this.addresses.indexOf(a), 1);
    const own = this.byDevice.get(dev)!;
    own.splice(own.indexOf(a), 1);
    const net = this.networks.get(a);
    const sharesNetwork = net && own.some((x) => this.networks.get(x)?.text === net.text);
    this.removeRoutes((r) => r.dev === dev && r.proto === 'kernel' && r.src === ip && (r.type !== 'unicast' || !sharesNetwork));
  }

  private addPrefixRoute(a: InterfaceAddress): void {
    if (a.prefix === BITS[a.family]) return; // a /32 has no connected network
    const dst = this.networks.get(a) ?? networkOf(a.ip, a.prefix);
    // On a loopback device the whole prefix is the host's own (local 127.0.0.0/8 dev lo), not a network.
    const table = this.devices.get(a.dev)?.kind === 'loopback' ? 'local' : 'main';
    const key = `${table}|${a.dev}|${dst.text}`;
    if (this.connected.has(key)) return;
    this.connected.add(key);
    this.routeIndex = undefined;
    this.routes.push({ table, type: table === 'local' ? 'local' : 'unicast', dst, dev: a.dev, proto: 'kernel', scope: table === 'local' ? 'host' : 'link', src: a.ip });
  }

  addRoute(r: Omit<Route, 'table' | 'type' | 'scope'> & Partial<Pick<Route, 'table' | 'type' | 'scope'>>): Route {
    const route: Route = { table: 'main', type: 'unicast', scope: r.via ? 'universe' : 'link', ...r };
    this.routes.push(route);
    this.routeIndex = undefined;
    return route;
  }

  addNeighbour(n: Neighbour): void {
    this.neighbourTable.set(`${n.ip}|${n.dev}`, n);
  }

  addFdb(e: FdbEntry): void {
    this.fdbTable.set(e.master ? `${e.mac}|@${e.master}` : `${e.mac}|${e.dev}|self`, e);
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
   * the main table by longest prefix. Routes through a device that is down are not used.
   */
  lookup(dst: string): Route | undefined {
    const p = parseIP(dst);
    if (!p) return undefined;
    const index = this.routeIndex ?? this.buildRouteIndex();
    const bits = BigInt(BITS[p.family]);
    for (const table of ['local', 'main'] as const) {
      const t = index.get(`${table}|${p.family}`);
      if (!t) continue;
      for (const prefix of t.prefixes) {
        const host = bits - BigInt(prefix);
        const r = t.byPrefix.get(prefix)!.get((p.value >> host) << host);
        if (r) return r;
      }
    }
    return undefined;
  }

  /** Per table and family: the prefix lengths present, longest first, and the routes by network. */
  private buildRouteIndex(): NonNullable<Netns['routeIndex']> {
    const index: NonNullable<Netns['routeIndex']> = new Map();
    for (const r of this.routes) {
      // A down device's routes are unusable, except its addresses' local routes: the kernel still delivers
      // to an address on a down device (kube-ipvs0 is a dummy that stays down and takes the VIPs' traffic).
      if (r.table !== 'local' && !this.devices.get(r.dev)?.up) continue;
      const family = r.dst?.family ?? (r.via ? parseIP(r.via)?.family : 'IPv4') ?? 'IPv4';
      const key = `${r.table}|${family}`;
      let t = index.get(key);
      if (!t) index.set(key, (t = { prefixes: [], byPrefix: new Map() }));
      const prefix = r.dst?.prefix ?? 0;
      let m = t.byPrefix.get(prefix);
      if (!m) {
        t.byPrefix.set(prefix, (m = new Map()));
        t.prefixes.push(prefix);
      }
      // The first route for a destination wins, as the first one added does in the kernel.
      const base = r.dst?.base ?? 0n;
      if (!m.has(base)) m.set(base, r);
    }
    for (const t of index.values()) t.prefixes.sort((a, b) => b - a);
    this.routeIndex = index;
    return index;
  }

  /** The source address the kernel would pick for a route: its src, else the first global address on its device. */
  sourceFor(route: Route, family: Family): string | undefined {
    if (route.src) return route.src;
    return this.addresses.find((a) => a.dev === route.dev && a.family === family)?.ip ??
      this.addresses.find((a) => a.family === family && a.scope === 'global')?.ip;
  }
}
