// An overlay's per-peer entries, held once for every node. flanneld writes the same entries for a peer into
// each node's kernel — for vxlan a permanent neighbour, an FDB entry and an onlink route on flannel.1, for
// host-gw a route on eth0 — so on 1,000 nodes the kernels hold a million copies of a thousand entries. kdp
// keeps one PeerTable, and each node's namespace (Netns.attachPeers) answers its neighbour, FDB and route
// lookups from it, less the node's own peer, and lists the entries with its own as the kernel would.
import type { Family } from '../cluster/net.ts';
import type { FdbEntry, Neighbour, Route } from './types.ts';

/** What one peer contributes: every entry is on the table's device. */
export interface PeerEntries {
  neighbour?: Neighbour;
  fdb?: FdbEntry;
  route?: Route;
}

export interface PeerSlot {
  peer: string;
  entries: PeerEntries;
  /** When the peer was first set: the order a kernel would have added its entries in. */
  seq: number;
}

const same = (a: object | undefined, b: object | undefined): boolean => {
  if (a === b) return true;
  if (!a || !b) return false;
  const ka = Object.keys(a);
  return ka.length === Object.keys(b).length && ka.every((k) => (a as Record<string, unknown>)[k] === (b as Record<string, unknown>)[k]);
};

export class PeerTable {
  /** Bumped by every change, so namespaces know when their route index is stale. */
  version = 0;
  private seq = 0;
  /** By peer, in the order first set. */
  private readonly slots = new Map<string, PeerSlot>();
  private readonly byNeighbour = new Map<string, PeerSlot>();
  private readonly byMac = new Map<string, PeerSlot>();
  /** Per family: prefix length -> network -> slot, and the prefix lengths present, longest first. */
  private readonly byRoute: Record<Family, Map<number, Map<bigint, PeerSlot>>> = { IPv4: new Map(), IPv6: new Map() };
  private readonly prefixLengths: Record<Family, number[]> = { IPv4: [], IPv6: [] };

  /** `dev`: the device all entries are on (flannel.1, or eth0 for host-gw). */
  constructor(readonly dev: string) {}

  /** Sets a peer's entries; a peer set again keeps its place, as re-adding a kernel entry does. */
  set(peer: string, entries: PeerEntries): void {
    for (const e of [entries.neighbour, entries.fdb, entries.route]) {
      if (e && e.dev !== this.dev) throw new Error(`peer ${peer}: entry on ${e.dev}, not on ${this.dev}`);
    }
    // A device's own FDB (vxlan's), not a bridge's: that is the table namespaces consult for it.
    if (entries.fdb && !entries.fdb.self) throw new Error(`peer ${peer}: FDB entry for ${entries.fdb.mac} is not a self entry`);
    const old = this.slots.get(peer);
    if (old && same(old.entries.neighbour, entries.neighbour) && same(old.entries.fdb, entries.fdb) && same(old.entries.route, entries.route)) return;
    if (old) this.unindex(old);
    const slot: PeerSlot = { peer, entries, seq: old?.seq ?? ++this.seq };
    this.slots.set(peer, slot);
    if (entries.neighbour) this.byNeighbour.set(entries.neighbour.ip, slot);
    if (entries.fdb) this.byMac.set(entries.fdb.mac, slot);
    const dst = entries.route?.dst;
    if (dst) {
      let m = this.byRoute[dst.family].get(dst.prefix);
      if (!m) {
        this.byRoute[dst.family].set(dst.prefix, (m = new Map()));
        this.prefixLengths[dst.family].push(dst.prefix);
        this.prefixLengths[dst.family].sort((a, b) => b - a);
      }
      m.set(dst.base, slot);
    }
    this.version++;
  }

  delete(peer: string): void {
    const old = this.slots.get(peer);
    if (!old) return;
    this.unindex(old);
    this.slots.delete(peer);
    this.version++;
  }

  private unindex(s: PeerSlot): void {
    const { neighbour, fdb, route } = s.entries;
    if (neighbour && this.byNeighbour.get(neighbour.ip) === s) this.byNeighbour.delete(neighbour.ip);
    if (fdb && this.byMac.get(fdb.mac) === s) this.byMac.delete(fdb.mac);
    if (route?.dst) {
      const m = this.byRoute[route.dst.family].get(route.dst.prefix);
      if (m?.get(route.dst.base) === s) m.delete(route.dst.base);
    }
  }

  peers(): IterableIterator<string> {
    return this.slots.keys();
  }

  /** Every peer's slot, in the order first set. */
  inOrder(): IterableIterator<PeerSlot> {
    return this.slots.values();
  }

  /** The newest slot's seq: what a namespace has seen when it marks its own entries. */
  get latest(): number {
    return this.seq;
  }

  neighbour(ip: string, except: string): Neighbour | undefined {
    const s = this.byNeighbour.get(ip);
    return s && s.peer !== except ? s.entries.neighbour : undefined;
  }

  fdbEntry(mac: string, except: string): FdbEntry | undefined {
    const s = this.byMac.get(mac);
    return s && s.peer !== except ? s.entries.fdb : undefined;
  }

  /** The prefix lengths of the routes, longest first. */
  prefixes(family: Family): readonly number[] {
    return this.prefixLengths[family];
  }

  route(family: Family, prefix: number, base: bigint, except: string): Route | undefined {
    const s = this.byRoute[family].get(prefix)?.get(base);
    return s && s.peer !== except ? s.entries.route : undefined;
  }
}
