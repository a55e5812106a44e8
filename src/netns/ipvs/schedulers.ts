// The kernel's IPVS schedulers (net/netfilter/ipvs/ip_vs_<name>.c), each a port of its selection code: the same
// list walks, tie-breaks, hash functions and table layouts, so the same state picks the same real server.
import { hsiphashU32 } from './siphash.ts';
import {
  Destination, SCHED_FALLBACK, SCHED_PORT, foldAddress, parseAddress,
  type SchedulerName, type SchedulerState, type ScheduledPacket, type VirtualService,
} from './service.ts';

const usable = (d: Destination): boolean => !d.overloaded && d.weight > 0;

/** ip_vs_rr.c: the destination after the last one chosen, wrapping around once. */
class RoundRobin implements SchedulerState {
  private last: Destination | undefined;
  changed(svc: VirtualService, removed?: Destination): void {
    // ip_vs_rr_del_dest: when the current position is removed, step back to its predecessor.
    if (removed && removed === this.last) {
      const i = svc.destinations.indexOf(removed);
      this.last = i > 0 ? svc.destinations[i - 1] : undefined;
    }
  }
  schedule(svc: VirtualService): Destination | undefined {
    const list = svc.destinations;
    const start = this.last ? list.indexOf(this.last) : -1;
    const order = start < 0 ? list : [...list.slice(start + 1), ...list.slice(0, start + 1)];
    const hit = order.find(usable);
    if (hit) this.last = hit;
    return hit;
  }
}

const gcd = (a: number, b: number): number => (b === 0 ? a : gcd(b, a % b));

/** ip_vs_wrr.c: passes with a falling current weight cw from mw to 1 in steps of the weights' gcd. */
class WeightedRoundRobin implements SchedulerState {
  /** Index of the current destination; -1 is the list head. */
  private cl = -1;
  private cw = 0;
  private mw = 0;
  private di = 1;
  private current: Destination | undefined;

  changed(svc: VirtualService): void {
    const weights = svc.destinations.map((d) => d.weight);
    const g = weights.filter((w) => w > 0).reduce((a, w) => (a > 0 ? gcd(w, a) : w), 0);
    this.di = g || 1;
    this.mw = Math.max(0, ...weights) - (this.di - 1);
    this.current = undefined;
    this.cl = -1;
    if (this.cw > this.mw || !this.cw) this.cw = this.mw;
    else if (this.di > 1) this.cw = Math.floor(this.cw / this.di) * this.di + 1;
  }

  schedule(svc: VirtualService): Destination | undefined {
    const list = svc.destinations;
    if (this.current) this.cl = list.indexOf(this.current);
    if (this.mw === 0) return undefined;
    let i = this.cl;
    const last = this.cl;
    let stop = -2;
    let lastPass = false;
    let restarted = false;
    for (;;) {
      for (i = i + 1; i < list.length; i++) {
        const d = list[i];
        if (!d.overloaded && d.weight >= this.cw) {
          this.cl = i;
          this.current = d;
          return d;
        }
        if (i === stop) return this.fail(i, list);
      }
      i = -1;
      this.cw -= this.di;
      if (this.cw <= 0) {
        this.cw = this.mw;
        if (lastPass || last === -1) return this.fail(i, list);
        restarted = true;
      }
      lastPass = this.cw <= this.di;
      if (lastPass && restarted && last !== -1) stop = last;
    }
  }

  private fail(i: number, list: Destination[]): undefined {
    this.cl = i;
    this.current = i >= 0 ? list[i] : undefined;
    return undefined;
  }
}

/** ip_vs_lc.c: the least overhead (active*256 + inactive); the first such wins ties. */
class LeastConnection implements SchedulerState {
  changed(): void {}
  schedule(svc: VirtualService): Destination | undefined {
    let least: Destination | undefined;
    for (const d of svc.destinations) {
      if (!usable(d)) continue;
      if (!least || d.overhead < least.overhead) least = d;
    }
    return least;
  }
}

/**
 * The weighted "least loaded" walk shared by wlc and sed: the first usable destination, then any whose
 * overhead/weight is strictly smaller (compared as loh*dw > doh*lw, as the kernel does).
 */
function weightedLeast(svc: VirtualService, overhead: (d: Destination) => number): Destination | undefined {
  let least: Destination | undefined;
  let loh = 0;
  for (const d of svc.destinations) {
    if (!least) {
      if (usable(d)) { least = d; loh = overhead(d); }
      continue;
    }
    if (d.overloaded) continue;
    const doh = overhead(d);
    if (loh * d.weight > doh * least.weight) { least = d; loh = doh; }
  }
  return least;
}

/** ip_vs_wlc.c */
class WeightedLeastConnection implements SchedulerState {
  changed(): void {}
  schedule(svc: VirtualService): Destination | undefined {
    return weightedLeast(svc, (d) => d.overhead);
  }
}

/** ip_vs_sed.c: shortest expected delay, (active + 1) / weight. */
class ShortestExpectedDelay implements SchedulerState {
  changed(): void {}
  schedule(svc: VirtualService): Destination | undefined {
    return weightedLeast(svc, (d) => d.activeConns + 1);
  }
}

/** ip_vs_nq.c: an idle server at once, else shortest expected delay. */
class NeverQueue implements SchedulerState {
  changed(): void {}
  schedule(svc: VirtualService): Destination | undefined {
    let least: Destination | undefined;
    let loh = 0;
    for (const d of svc.destinations) {
      if (!usable(d)) continue;
      const doh = d.activeConns + 1;
      if (d.activeConns === 0) return d;
      if (!least || loh * d.weight > doh * least.weight) { least = d; loh = doh; }
    }
    return least;
  }
}

/** lblc/lblcr's overload test: more active connections than weight while some server is under half load. */
function lblcOverloaded(d: Destination, svc: VirtualService): boolean {
  if (d.activeConns > d.weight) return svc.destinations.some((o) => o.activeConns * 2 < o.weight);
  return false;
}

/** __ip_vs_lblc_schedule / __ip_vs_lblcr_schedule: weighted least connection over the service. */
function lblcLeast(svc: VirtualService): Destination | undefined {
  let least: Destination | undefined;
  let loh = 0;
  for (const d of svc.destinations) {
    if (d.overloaded) continue;
    if (!least) {
      if (d.weight > 0) { least = d; loh = d.overhead; }
      continue;
    }
    const doh = d.overhead;
    if (loh * d.weight > doh * least.weight) { least = d; loh = doh; }
  }
  return least;
}

/** sysctl lblc_expiration / lblcr_expiration: 24 hours. */
const LBLC_EXPIRATION_MS = 24 * 60 * 60 * 1000;

/** ip_vs_lblc.c: one server per destination address, kept while it is not overloaded. */
class LocalityBasedLeastConnection implements SchedulerState {
  private table = new Map<string, { dest: Destination; lastuse: number }>();
  changed(): void {}
  schedule(svc: VirtualService, pkt: ScheduledPacket, now: number): Destination | undefined {
    const en = this.table.get(pkt.dst);
    if (en && now - en.lastuse > LBLC_EXPIRATION_MS) this.table.delete(pkt.dst);
    else if (en) {
      en.lastuse = now;
      const d = en.dest;
      if (d.available && d.weight > 0 && !lblcOverloaded(d, svc)) return d;
    }
    const dest = lblcLeast(svc);
    if (!dest) return undefined;
    this.table.set(pkt.dst, { dest, lastuse: now });
    return dest;
  }
}

interface DestSet { list: Destination[]; lastmod: number; lastuse: number }

/** ip_vs_lblcr.c: a set of servers per destination address, grown on overload and shrunk after expiration. */
class LocalityBasedLeastConnectionReplication implements SchedulerState {
  private table = new Map<string, DestSet>();
  changed(): void {}

  schedule(svc: VirtualService, pkt: ScheduledPacket, now: number): Destination | undefined {
    let en = this.table.get(pkt.dst);
    // The full expiration check drops entries unused for lblcr_expiration.
    if (en && now - en.lastuse > LBLC_EXPIRATION_MS) { this.table.delete(pkt.dst); en = undefined; }
    if (en) {
      en.lastuse = now;
      const min = setMin(en.list);
      if (en.list.length > 1 && now - en.lastmod > LBLC_EXPIRATION_MS) {
        const m = setMax(en.list);
        if (m) { en.list.splice(en.list.indexOf(m), 1); en.lastmod = now; }
      }
      if (min && !lblcOverloaded(min, svc)) return min;
      const dest = lblcLeast(svc);
      if (!dest) return undefined;
      if (!en.list.includes(dest)) { en.list.unshift(dest); en.lastmod = now; }
      return dest;
    }
    const dest = lblcLeast(svc);
    if (!dest) return undefined;
    this.table.set(pkt.dst, { list: [dest], lastmod: now, lastuse: now });
    return dest;
  }
}

/** ip_vs_dest_set_min: the least loaded available member. */
function setMin(list: Destination[]): Destination | undefined {
  let least: Destination | undefined;
  let loh = 0;
  for (const d of list) {
    if (d.overloaded) continue;
    if (!least) {
      if (d.weight > 0 && d.available) { least = d; loh = d.overhead; }
      continue;
    }
    const doh = d.overhead;
    if (loh * d.weight > doh * least.weight && d.available) { least = d; loh = doh; }
  }
  return least;
}

/** ip_vs_dest_set_max: the most loaded member with weight. */
function setMax(list: Destination[]): Destination | undefined {
  let most: Destination | undefined;
  let moh = 0;
  for (const d of list) {
    if (!most) {
      if (d.weight > 0) { most = d; moh = d.overhead; }
      continue;
    }
    const doh = d.overhead;
    if (moh * d.weight < doh * most.weight && d.weight > 0) { most = d; moh = doh; }
  }
  return most;
}

const HASH_TAB_SIZE = 256;

/** ip_vs_dh.c: 256 buckets dealt round the destination list; the packet's destination address picks one. */
class DestinationHashing implements SchedulerState {
  buckets: (Destination | undefined)[] = new Array(HASH_TAB_SIZE).fill(undefined);
  changed(svc: VirtualService): void {
    const list = svc.destinations;
    for (let i = 0; i < HASH_TAB_SIZE; i++) this.buckets[i] = list.length ? list[i % list.length] : undefined;
  }
  schedule(_svc: VirtualService, pkt: ScheduledPacket): Destination | undefined {
    const d = this.buckets[dhHashKey(pkt.dst)];
    return d && d.available && usable(d) ? d : undefined;
  }
}

/** ip_vs_dh_hashkey: (ntohl(addr) * 2654435761) & 0xff. */
export function dhHashKey(address: string): number {
  const ip = parseAddress(address);
  return Math.imul(foldAddress(ip.family, ip.value), 2654435761 | 0) & (HASH_TAB_SIZE - 1);
}

/** hash_32(val, bits) of include/linux/hash.h. */
function hash32(val: number, bits: number): number {
  return Math.imul(val >>> 0, 0x61c88647) >>> (32 - bits);
}

/** ip_vs_sh_hashkey: (offset + hash_32(ntohs(port) + ntohl(addr), 8)) & 0xff. */
export function shHashKey(address: string, port: number, offset: number): number {
  const ip = parseAddress(address);
  return (offset + hash32((port + foldAddress(ip.family, ip.value)) >>> 0, 8)) & (HASH_TAB_SIZE - 1);
}

/** ip_vs_sh.c: buckets dealt by weight (a server with weight w gets w consecutive buckets per round). */
class SourceHashing implements SchedulerState {
  buckets: (Destination | undefined)[] = new Array(HASH_TAB_SIZE).fill(undefined);
  changed(svc: VirtualService): void {
    const list = svc.destinations;
    let p = 0;
    let count = 0;
    for (let i = 0; i < HASH_TAB_SIZE; i++) {
      if (!list.length) { this.buckets[i] = undefined; continue; }
      if (p === list.length) p = 0;
      const d = list[p];
      this.buckets[i] = d;
      if (++count >= d.weight) { p++; count = 0; }
    }
  }
  schedule(svc: VirtualService, pkt: ScheduledPacket): Destination | undefined {
    const port = svc.spec.flags & SCHED_PORT ? (pkt.sport ?? 0) : 0;
    const ihash = shHashKey(pkt.src, port, 0);
    const d = this.buckets[ihash];
    if (!(svc.spec.flags & SCHED_FALLBACK)) return d && usable(d) ? d : undefined;
    if (!d) return undefined;
    if (usable(d)) return d;
    for (let offset = 0; offset < HASH_TAB_SIZE; offset++) {
      const roffset = (offset + ihash) % HASH_TAB_SIZE;
      const alt = this.buckets[shHashKey(pkt.src, port, roffset)];
      if (alt && usable(alt)) return alt;
    }
    return undefined;
  }
}

/** IP_VS_MH_TAB_SIZE with the default CONFIG_IP_VS_MH_TAB_INDEX 12: primes[12 - 8]. */
export const MH_TAB_SIZE = 4093;
const MH_TAB_BITS = 6;
const MH_KEY1 = 2654435761n;
const MH_KEY2 = 2654446892n;

/** ip_vs_mh_hashkey: hsiphash of offset + ntohs(port) + ntohl(addr) under the fixed key. */
export function mhHashKey(address: string, port: number, key: 1 | 2, offset = 0): number {
  const ip = parseAddress(address);
  const v = (offset + port + foldAddress(ip.family, ip.value)) >>> 0;
  const k = key === 1 ? MH_KEY1 : MH_KEY2;
  return hsiphashU32(v, k, k);
}

const fls = (x: number): number => (x === 0 ? 0 : 32 - Math.clz32(x));

/** ip_vs_mh.c: Maglev hashing — each server walks its own permutation of the table, taking turns by weight. */
export class MaglevHashing implements SchedulerState {
  lookup: (Destination | undefined)[] = new Array(MH_TAB_SIZE).fill(undefined);

  changed(svc: VirtualService): void {
    const list = svc.destinations;
    const g = list.map((d) => d.lastWeight).filter((w) => w > 0).reduce((a, w) => (a > 0 ? gcd(w, a) : w), 0);
    if (g < 1) { this.lookup.fill(undefined); return; }
    const mw = Math.floor(Math.max(...list.map((d) => d.lastWeight)) / g);
    const rshift = Math.max(0, fls(mw) - MH_TAB_BITS);
    const setup = list.map((d) => {
      const offset = mhHashKey(d.address, d.port, 1) % MH_TAB_SIZE;
      const skip = (mhHashKey(d.address, d.port, 2) % (MH_TAB_SIZE - 1)) + 1;
      const lw = d.lastWeight;
      return { skip, perm: offset, turns: (Math.floor(lw / g) >> rshift) || (lw !== 0 ? 1 : 0) };
    });
    const taken = new Uint8Array(MH_TAB_SIZE);
    let n = 0;
    let dtCount = 0;
    let p = 0;
    while (n < MH_TAB_SIZE) {
      if (p === list.length) p = 0;
      while (p < list.length) {
        const ds = setup[p];
        if (ds.turns < 1) { p++; continue; }
        let c = ds.perm;
        while (taken[c]) {
          ds.perm += ds.skip;
          if (ds.perm >= MH_TAB_SIZE) ds.perm -= MH_TAB_SIZE;
          c = ds.perm;
        }
        taken[c] = 1;
        this.lookup[c] = list[p];
        if (++n === MH_TAB_SIZE) return;
        if (++dtCount >= ds.turns) { dtCount = 0; p++; }
      }
    }
  }

  schedule(svc: VirtualService, pkt: ScheduledPacket): Destination | undefined {
    const port = svc.spec.flags & SCHED_PORT ? (pkt.sport ?? 0) : 0;
    const ihash = mhHashKey(pkt.src, port, 1) % MH_TAB_SIZE;
    const d = this.lookup[ihash];
    if (!(svc.spec.flags & SCHED_FALLBACK)) return d && usable(d) ? d : undefined;
    if (!d) return undefined;
    if (usable(d)) return d;
    for (let offset = 0; offset < MH_TAB_SIZE; offset++) {
      const roffset = (offset + ihash) % MH_TAB_SIZE;
      const alt = this.lookup[mhHashKey(pkt.src, port, 1, roffset) % MH_TAB_SIZE];
      if (!alt) break;
      if (usable(alt)) return alt;
    }
    return undefined;
  }
}

export function newScheduler(name: SchedulerName): SchedulerState {
  switch (name) {
    case 'rr': return new RoundRobin();
    case 'wrr': return new WeightedRoundRobin();
    case 'lc': return new LeastConnection();
    case 'wlc': return new WeightedLeastConnection();
    case 'lblc': return new LocalityBasedLeastConnection();
    case 'lblcr': return new LocalityBasedLeastConnectionReplication();
    case 'dh': return new DestinationHashing();
    case 'sh': return new SourceHashing();
    case 'sed': return new ShortestExpectedDelay();
    case 'nq': return new NeverQueue();
    case 'mh': return new MaglevHashing();
  }
}
