// The packet path: one decision procedure for every packet, in the Linux kernel's order — OUTPUT (route,
// hooks, neighbour), the device (veth to its peer, bridge by FDB with learning and hairpin, vxlan by FDB into
// an outer UDP packet over the underlay), then on the receiving side PREROUTING, the routing decision, INPUT to
// a socket or FORWARD and out again. Every step is a Hop of the Trace; the Trace's verdict is where it ended.
// Netfilter (src/netns/netfilter) is traversed hook by hook with its tables; conntrack keeps each flow's
// NAT bindings, so later packets and replies are translated without the nat table.
import { fnv32a } from '../cluster/names.ts';
import { parseIP } from '../cluster/net.ts';
import type { Netns } from './netns.ts';
import type { Device } from './types.ts';
import { describePacket, ETHERNET, IP_HEADER, L4_HEADER, VXLAN_HEADERS, type IPv4Packet, type Packet } from './packet.ts';
import type { CapturedFrame, Hop, HopKind, Trace, Verdict } from './trace.ts';
import type { CtRef } from './netfilter/conntrack.ts';
import type { HookName } from './netfilter/model.ts';
import type { IpvsHookFn } from './netfilter/netfilter.ts';
import { hostPort, SVC_F, type IpvsProtocol, type VirtualService } from './ipvs.ts';
import { enumerate, seeded, type Choice, type Random } from './netfilter/random.ts';
import { quiet } from './netfilter/netfilter.ts';
import { withUndo } from './netfilter/journal.ts';

/** What the engine needs to know of the world around one namespace. */
export interface Fabric {
  netns(name: string): Netns | undefined;
  /** "node/node1", "p/default/web-x" */
  label(netns: Netns): string;
  /** The node whose kernel a namespace belongs to. */
  nodeOf(netns: Netns): string;
  /** The underlay interface (the nodes' eth0, on one segment with its router) with this address or MAC (ARP's and the segment's lookups). */
  underlayHost(by: { ip: string } | { mac: string }): { netns: Netns; dev: Device } | undefined;
  /** The interface, anywhere, that has this address or MAC (callers check it is on their segment). */
  owner(by: { ip: string } | { mac: string }): { netns: Netns; dev: Device } | undefined;
  /** Why the underlay drops a packet between two hosts (a firewall fault), if it does. */
  underlayFilter(from: Netns, to: Netns, p: IPv4Packet): string | undefined;
}

const faultNote = (ns: Netns, what: string) => (ns.faults.has(what) ? ` (fault: ${ns.faults.get(what)})` : '');

const MAX_HOPS = 256;
const BROADCAST = 'ff:ff:ff:ff:ff:ff';

class Leg {
  readonly hops: Hop[] = [];
  verdict?: Verdict;
  /** The namespace whose socket took the packet. */
  deliveredIn?: Netns;
  readonly frames: CapturedFrame[] = [];
  /** The packet as the socket got it (after NAT), which the answer is made from. */
  delivered?: IPv4Packet;
  /** The packet's conntrack entry in the namespace it is in, and its skb->mark there. */
  ct?: CtRef;
  mark = 0;
  /** outsideClient: the client behind the underlay's router this trace is for, if any. */
  constructor(readonly fabric: Fabric, readonly random: Random, readonly outsideClient?: string) {}

  hop(ns: Netns, kind: HopKind, what: string, change?: { before: string; after: string }): void {
    if (this.hops.length >= MAX_HOPS) throw new LoopError();
    const h: Hop = { node: this.fabric.nodeOf(ns), netns: this.fabric.label(ns), kind, what };
    if (change) {
      h.before = change.before;
      h.after = change.after;
    }
    this.hops.push(h);
  }

  end(v: Verdict): void {
    this.verdict ??= v;
  }
}

class LoopError extends Error {}

const tupleKey = (p: IPv4Packet) => `${p.protocol} ${p.src}:${p.sport ?? ''} ${p.dst}:${p.dport ?? ''}`;

/** conntrack where a packet enters a namespace's stack: its flow's entry (a new one for a first packet). */
function conntrack(leg: Leg, ns: Netns, p: IPv4Packet, quiet = false): void {
  leg.mark = 0;
  if (!ns.loadedNetfilter?.tracking) {
    leg.ct = undefined;
    return;
  }
  const ct = ns.netfilter.track(p);
  leg.ct = ct;
  if (quiet) return;
  const ports = p.sport !== undefined ? ` sport=${p.sport} dport=${p.dport}` : '';
  if (ct.state === 'INVALID') {
    leg.hop(ns, 'conntrack', `${p.protocol} ${p.flags ?? ''} of no known flow [INVALID]`);
  } else if (!ct.entry.confirmed) {
    leg.hop(ns, 'conntrack', `new ${p.protocol} flow src=${p.src} dst=${p.dst}${ports} [NEW]`);
  } else {
    const e = ct.entry;
    const nat = e.dnat || e.snat ? ` (${[e.dnat ? `DNAT ${e.original.dst}${e.original.dport !== undefined ? `:${e.original.dport}` : ''} -> ${e.reply.src}${e.reply.sport !== undefined ? `:${e.reply.sport}` : ''}` : '', e.snat ? `SNAT ${e.original.src} -> ${e.reply.dst}` : ''].filter(Boolean).join(', ')})` : '';
    leg.hop(ns, 'conntrack', `${p.protocol} ${ct.dir} direction of a known flow [${ct.state}]${nat}`);
  }
}

const REJECT_ANSWER: Record<string, string> = { 'tcp-reset': 'TCP RST' };

/**
 * A hook: its tables' rules in the kernel's order, each matching rule a hop, NAT's rewrites shown before ->
 * after. Returns the packet as it leaves the hook, or undefined when a rule or policy dropped or rejected it.
 */
function hook(leg: Leg, ns: Netns, name: HookName, p: IPv4Packet, dev: { in?: string; out?: string }, via = '', ipvs?: IpvsHookFn): IPv4Packet | undefined {
  const nf = ns.loadedNetfilter;
  if (!nf && !ipvs) {
    // A namespace that never had rules (most pods): every hook accepts.
    leg.hop(ns, 'hook', quiet(`${name}${via}`, name, false).what);
    return p;
  }
  const io = { in: dev.in, out: dev.out, mark: leg.mark, random: leg.random, via, ipvs };
  const r = (nf ?? ns.netfilter).hook(name, p, leg.ct, io);
  leg.mark = io.mark;
  const note = r.policy?.table === 'filter' && r.policy.chain === 'FORWARD' ? faultNote(ns, 'forward-policy') : '';
  for (let i = 0; i < r.lines.length; i++) {
    const l = r.lines[i];
    leg.hop(ns, 'hook', i === r.lines.length - 1 ? `${l.what}${note}` : l.what, l.before !== undefined ? { before: l.before, after: l.after! } : undefined);
  }
  if (r.verdict === 'drop') {
    leg.end({ kind: 'dropped', by: `${leg.fabric.label(ns)}: ${r.by}${note}` });
    return undefined;
  }
  if (r.verdict === 'reject') {
    const answer = REJECT_ANSWER[r.rejectWith!] ?? `ICMP ${r.rejectWith!.replace(/^icmp6?-/, '').replace(/-/g, ' ')}`;
    leg.end({ kind: 'rejected', by: `${leg.fabric.label(ns)}: ${r.by} (${answer})` });
    return undefined;
  }
  return r.packet;
}

/** The bridge a device is on the segment of: itself, or its veth peer's master (a pod's eth0 -> cni0). */
function segmentOf(fabric: Fabric, ns: Netns, dev: Device): { ns: Netns; bridge: string } | undefined {
  if (dev.kind === 'bridge') return { ns, bridge: dev.name };
  if (dev.master) return { ns, bridge: dev.master };
  if (dev.kind === 'veth' && dev.peer) {
    const pn = fabric.netns(dev.peer.netns);
    const pd = pn?.device(dev.peer.name);
    if (pn && pd?.master) return { ns: pn, bridge: pd.master };
  }
  return undefined;
}

/** Who owns an IP on the L2 segment a device reaches (ARP's answer), and by which device there. */
function l2Owner(fabric: Fabric, ns: Netns, dev: Device, ip: string): { ns: Netns; dev: Device } | undefined {
  if (dev.kind === 'ether') {
    const host = fabric.underlayHost({ ip });
    return host && host.netns !== ns ? { ns: host.netns, dev: host.dev } : undefined;
  }
  const owner = fabric.owner({ ip });
  if (!owner || (owner.netns === ns && owner.dev === dev)) return undefined;
  // A veth pair without a bridge is a segment of two.
  if (dev.kind === 'veth' && dev.peer && owner.netns.name === dev.peer.netns && owner.dev.name === dev.peer.name) return { ns: owner.netns, dev: owner.dev };
  const mine = segmentOf(fabric, ns, dev);
  const theirs = segmentOf(fabric, owner.netns, owner.dev);
  return mine && theirs && mine.ns === theirs.ns && mine.bridge === theirs.bridge ? { ns: owner.netns, dev: owner.dev } : undefined;
}

/** Sends a packet a process in `ns` wrote: the OUTPUT path. */
function output(leg: Leg, ns: Netns, pkt: Packet): void {
  const p = pkt.l3;
  const route = ns.lookup(p.dst);
  if (!route) {
    leg.hop(ns, 'route', `ip route get ${p.dst}: no route`);
    leg.end({ kind: 'no-route', by: `route lookup in ${leg.fabric.label(ns)}: Network is unreachable` });
    return;
  }
  leg.hop(ns, 'route', `ip route get ${p.dst}: ${routeText(route)}`);
  conntrack(leg, ns, p);
  const local_ = route.type === 'local' ? 'lo' : route.dev;
  let ipvsTook = false;
  const q = hook(leg, ns, 'OUTPUT', p, { out: local_ }, '', ipvsRequest(leg, ns, () => (ipvsTook = true)));
  if (!q) return;
  if (ipvsTook) return ipvsNatXmit(leg, ns, q, { hook: 'OUTPUT' });
  let r = route;
  if (q.dst !== p.dst) {
    // DNAT in OUTPUT: the kernel routes the packet again for its new destination (ip_route_me_harder).
    const again = ns.lookup(q.dst);
    if (!again) {
      leg.hop(ns, 'route', `ip route get ${q.dst}: no route (after DNAT)`);
      leg.end({ kind: 'no-route', by: `route lookup in ${leg.fabric.label(ns)} after DNAT: Network is unreachable` });
      return;
    }
    leg.hop(ns, 'route', `ip route get ${q.dst}: ${routeText(again)} (re-routed after DNAT)`);
    r = again;
  }
  if (r.type === 'local') {
    const q2 = hook(leg, ns, 'POSTROUTING', q, { out: 'lo' });
    if (!q2) return;
    leg.hop(ns, 'device', 'loopback: lo');
    // The looped-back packet keeps its conntrack entry: PREROUTING sees it, conntrack does not look again.
    const q3 = hook(leg, ns, 'PREROUTING', q2, { in: 'lo' });
    if (!q3) return;
    local(leg, ns, { ...pkt, l3: q3 }, 'lo');
    return;
  }
  const q2 = hook(leg, ns, 'POSTROUTING', q, { out: r.dev });
  if (!q2) return;
  transmit(leg, ns, ns.device(r.dev)!, r.via ?? q2.dst, { ...pkt, l3: q2 });
}

function routeText(r: { dst?: { text: string }; via?: string; dev: string; type: string; onlink?: boolean }): string {
  return `${r.type === 'local' ? 'local ' : ''}${r.dst?.text ?? 'default'}${r.via ? ` via ${r.via}` : ''} dev ${r.dev}${r.onlink ? ' onlink' : ''}`;
}

/** Puts a packet on a device towards `nexthop`: neighbour resolution, MTU, then whatever the device does. */
function transmit(leg: Leg, ns: Netns, dev: Device, nexthop: string, pkt: Packet): void {
  const p = pkt.l3;
  if (p.length > dev.mtu) {
    leg.hop(ns, 'device', `${dev.name}: packet of ${p.length} bytes exceeds mtu ${dev.mtu}`);
    leg.end({ kind: 'mtu-exceeded', by: `${leg.fabric.label(ns)} ${dev.name} mtu ${dev.mtu}${p.dontFragment ? ' (DF set: ICMP fragmentation needed)' : ''}` });
    return;
  }
  // Neighbour: a permanent entry, else ARP on the device's L2 domain.
  const known = ns.neighbour(nexthop, dev.name);
  let mac = known?.lladdr;
  if (mac) {
    leg.hop(ns, 'neigh', `${nexthop} dev ${dev.name} lladdr ${mac} ${known!.state}`);
  } else if (dev.kind !== 'vxlan') {
    const owner = l2Owner(leg.fabric, ns, dev, nexthop);
    const downHost = dev.kind === 'ether' ? leg.fabric.underlayHost({ ip: nexthop }) : undefined;
    if (downHost?.netns.down) {
      leg.hop(ns, 'neigh', `${nexthop} dev ${dev.name}: ARP got no answer (FAILED)`);
      leg.end({ kind: 'unreachable', by: `${leg.fabric.label(downHost.netns)} is down${faultNote(downHost.netns, 'down')}` });
      return;
    }
    if (!owner) {
      const router = dev.kind === 'ether' ? ns.defaultRoute(dev.name)?.via : undefined;
      if (router && nexthop === router) {
        leg.hop(ns, 'neigh', `${nexthop} dev ${dev.name}: the underlay's router`);
        // The router joins the nodes' subnets: another node's address is routed on to it.
        const host = leg.fabric.underlayHost({ ip: p.dst });
        if (host) {
          if (p.ttl <= 1) {
            leg.end({ kind: 'ttl-exceeded', by: `the underlay's router ${router}: TTL exceeded in transit` });
            return;
          }
          leg.hop(ns, 'underlay', `${dev.name} -> router ${router} -> ${host.dev.name} of ${leg.fabric.label(host.netns)}`);
          receive(leg, host.netns, host.dev, { ...pkt, l2: { src: 'router', dst: host.dev.mac }, l3: { ...p, ttl: p.ttl - 1 } });
          return;
        }
        leg.hop(ns, 'underlay', `${dev.name} -> router ${router}: leaves the cluster`);
        if (leg.outsideClient === p.dst) {
          leg.hop(ns, 'socket', `the router delivers to the outside client ${p.dst}`);
          leg.end({ kind: 'delivered', by: `the outside client ${p.dst}${p.dport !== undefined ? `:${p.dport}` : ''}` });
        } else {
          leg.end({ kind: 'unreachable', by: `${p.dst} is outside the emulated cluster (sent to the router ${router})` });
        }
        return;
      }
      leg.hop(ns, 'neigh', `${nexthop} dev ${dev.name}: ARP got no answer (FAILED)`);
      leg.end({ kind: 'unreachable', by: `${leg.fabric.label(ns)}: no host ${nexthop} on ${dev.name} (Destination Host Unreachable)` });
      return;
    }
    mac = owner.dev.mac;
    ns.addNeighbour({ ip: nexthop, dev: dev.name, lladdr: mac, state: 'REACHABLE' });
    leg.hop(ns, 'neigh', `${nexthop} dev ${dev.name} lladdr ${mac} REACHABLE (ARP)`);
  }
  const frame: Packet = { ...pkt, l2: { src: dev.mac, dst: mac ?? BROADCAST } };
  switch (dev.kind) {
    case 'veth': {
      const pn = leg.fabric.netns(dev.peer!.netns)!;
      const pd = pn.device(dev.peer!.name)!;
      leg.hop(ns, 'device', `${dev.name} -> veth peer ${pd.name} in ${leg.fabric.label(pn)}`);
      receive(leg, pn, pd, frame);
      return;
    }
    case 'bridge':
      leg.hop(ns, 'device', `${dev.name}: the host sends through its bridge`);
      bridgeForward(leg, ns, dev, undefined, frame);
      return;
    case 'vxlan':
      vxlanEncap(leg, ns, dev, frame);
      return;
    case 'ether': {
      const target = leg.fabric.underlayHost({ mac: frame.l2!.dst });
      leg.hop(ns, 'underlay', `${dev.name} ${frame.l2!.src} > ${frame.l2!.dst}: to ${target ? leg.fabric.label(target.netns) : 'nobody'}`);
      if (!target) {
        leg.end({ kind: 'dropped', by: 'no host on the underlay owns the destination MAC' });
        return;
      }
      const blocked = leg.fabric.underlayFilter(ns, target.netns, p);
      if (blocked) {
        leg.hop(ns, 'underlay', `dropped between ${leg.fabric.label(ns)} and ${leg.fabric.label(target.netns)}: ${blocked}`);
        leg.end({ kind: 'dropped', by: `the underlay: ${blocked}` });
        return;
      }
      receive(leg, target.netns, target.dev, frame);
      return;
    }
    default:
      leg.hop(ns, 'device', `${dev.name}: ${dev.kind} devices do not carry traffic`);
      leg.end({ kind: 'dropped', by: `${dev.name} (${dev.kind})` });
  }
}

/** A bridge's forwarding decision for a frame that entered by `inPort` (or from the host, when undefined). */
function bridgeForward(leg: Leg, ns: Netns, br: Device, inPort: Device | undefined, pkt: Packet): void {
  const dst = pkt.l2!.dst;
  if (dst === br.mac) {
    leg.hop(ns, 'bridge', `${br.name}: frame for the bridge's own address: up to the host's stack`);
    ip(leg, ns, br, pkt);
    return;
  }
  const entry = ns.fdbEntry(dst, { master: br.name });
  let out = entry && ns.device(entry.dev);
  if (out) {
    leg.hop(ns, 'bridge', `${br.name}: fdb ${dst} dev ${out.name}${entry!.permanent ? ' permanent' : ''}`);
  } else {
    // Unknown unicast floods; the port whose far side owns the address takes it.
    const far = leg.fabric.owner({ mac: dst });
    const port = far?.dev.peer && far.dev.peer.netns === ns.name ? ns.device(far.dev.peer.name) : undefined;
    out = port?.master === br.name ? port : undefined;
    leg.hop(ns, 'bridge', `${br.name}: no fdb entry for ${dst}: flooded${out ? `, answered on ${out.name}` : ''}`);
    if (!out) {
      leg.end({ kind: 'dropped', by: `${br.name}: nobody answered for ${dst}` });
      return;
    }
  }
  if (inPort && out === inPort && !inPort.hairpin) {
    leg.end({ kind: 'dropped', by: `${br.name}: the frame would leave by ${out.name}, its way in, and hairpin is off on that port${faultNote(ns, 'hairpin')}` });
    return;
  }
  // br_netfilter hands frames bridged between ports to iptables; a packet the host routed out through the
  // bridge has been through iptables already and is not hooked again.
  if (inPort && ns.sysctls.bridgeNfCallIptables) {
    const via = ' (bridged, br_netfilter)';
    const io = { in: br.name, out: br.name };
    conntrack(leg, ns, pkt.l3, true);
    const a = hook(leg, ns, 'PREROUTING', pkt.l3, { in: br.name }, via);
    const forwarded = a && hook(leg, ns, 'FORWARD', a, io, via);
    const b = forwarded && ipvsReply(leg, ns, forwarded);
    const c = b && hook(leg, ns, 'POSTROUTING', b, io, via);
    if (!c) return;
    pkt = { ...pkt, l3: c };
  } else if (inPort) {
    leg.hop(ns, 'hook', `bridge-nf-call-iptables=0: the bridged frame skips iptables${faultNote(ns, 'bridge-nf-call-iptables')}`);
  }
  const pn = leg.fabric.netns(out.peer!.netns)!;
  const pd = pn.device(out.peer!.name)!;
  leg.hop(ns, 'device', `${out.name} -> veth peer ${pd.name} in ${leg.fabric.label(pn)}`);
  receive(leg, pn, pd, pkt);
}

function vxlanEncap(leg: Leg, ns: Netns, dev: Device, pkt: Packet): void {
  const v = dev.vxlan!;
  const fdb = ns.fdbEntry(pkt.l2!.dst, { dev: dev.name, self: true });
  if (!fdb?.dst) {
    leg.hop(ns, 'vxlan', `${dev.name}: no fdb entry for ${pkt.l2!.dst}`);
    leg.end({ kind: 'dropped', by: `${dev.name}: unknown VTEP for ${pkt.l2!.dst} (nolearning)` });
    return;
  }
  const inner = pkt.l3;
  // The outer UDP source port is a hash of the inner flow, as the kernel spreads flows (vxlan_src_port).
  const sport = 32768 + (fnv32a(tupleKey(inner)) % 28232);
  const outer: IPv4Packet = {
    src: v.local, dst: fdb.dst, ttl: 64, protocol: 'udp', sport, dport: v.port,
    length: inner.length + ETHERNET + VXLAN_HEADERS, dontFragment: inner.dontFragment,
  };
  leg.hop(ns, 'vxlan', `${dev.name}: fdb ${pkt.l2!.dst} dst ${fdb.dst}: encapsulate in VXLAN VNI ${v.vni}`, {
    before: `${pkt.l2!.src} > ${pkt.l2!.dst} ${describePacket(inner)}`,
    after: `UDP ${outer.src}:${outer.sport} > ${outer.dst}:${outer.dport} [VXLAN VNI ${v.vni}] { ${pkt.l2!.src} > ${pkt.l2!.dst} ${describePacket(inner)} }`,
  });
  const route = ns.lookup(outer.dst);
  if (!route) {
    leg.end({ kind: 'no-route', by: `no route to VTEP ${outer.dst}` });
    return;
  }
  leg.hop(ns, 'route', `ip route get ${outer.dst}: ${routeText(route)} (outer packet)`);
  // The encapsulating UDP packet is a flow of its own to conntrack.
  conntrack(leg, ns, outer, true);
  const o1 = hook(leg, ns, 'OUTPUT', outer, { out: route.dev }, ' (outer)');
  const o2 = o1 && hook(leg, ns, 'POSTROUTING', o1, { out: route.dev }, ' (outer)');
  if (!o2) return;
  transmit(leg, ns, ns.device(route.dev)!, route.via ?? o2.dst, { l3: o2, inner: { vni: v.vni, packet: pkt } });
}

/** A frame arriving on a device. */
function receive(leg: Leg, ns: Netns, dev: Device, pkt: Packet): void {
  leg.frames.push({ netns: leg.fabric.label(ns), dev: dev.name, packet: pkt });
  if (dev.kind === 'ether' && pkt.l3.length > dev.mtu) {
    // A frame larger than the receiving NIC's MTU is dropped there (an underlay MTU mismatch).
    leg.hop(ns, 'device', `receive on ${dev.name}: ${pkt.l3.length}-byte packet exceeds mtu ${dev.mtu}, dropped${faultNote(ns, 'mtu')}`);
    leg.end({ kind: 'mtu-exceeded', by: `${leg.fabric.label(ns)} ${dev.name} mtu ${dev.mtu} < ${pkt.l3.length}${faultNote(ns, 'mtu')}` });
    return;
  }
  leg.hop(ns, 'device', `receive on ${dev.name}`);
  if (dev.master) {
    const br = ns.device(dev.master)!;
    const src = pkt.l2!.src;
    if (ns.fdbEntry(src, { master: br.name })?.dev !== dev.name) {
      ns.addFdb({ mac: src, dev: dev.name, master: br.name, learned: true });
      leg.hop(ns, 'bridge', `${br.name}: learned ${src} on ${dev.name}`);
    }
    bridgeForward(leg, ns, br, dev, pkt);
    return;
  }
  ip(leg, ns, dev, pkt);
}

/** The IP layer of a namespace receiving a packet: PREROUTING, the routing decision, INPUT or FORWARD. */
function ip(leg: Leg, ns: Netns, dev: Device, pkt: Packet): void {
  conntrack(leg, ns, pkt.l3);
  const p = hook(leg, ns, 'PREROUTING', pkt.l3, { in: dev.name });
  if (!p) return;
  const route = ns.lookup(p.dst);
  if (!route) {
    leg.hop(ns, 'route', `ip route get ${p.dst} from ${p.src} iif ${dev.name}: no route`);
    leg.end({ kind: 'no-route', by: `${leg.fabric.label(ns)}: no route to ${p.dst}` });
    return;
  }
  leg.hop(ns, 'route', `ip route get ${p.dst} from ${p.src} iif ${dev.name}: ${routeText(route)}`);
  if (route.type === 'local' || route.type === 'broadcast') {
    local(leg, ns, { ...pkt, l3: p }, dev.name);
    return;
  }
  if (!ns.sysctls.ipForward) {
    leg.end({ kind: 'dropped', by: `${leg.fabric.label(ns)}: net.ipv4.ip_forward=0` });
    return;
  }
  const hooked = hook(leg, ns, 'FORWARD', p, { in: dev.name, out: route.dev });
  if (!hooked) return;
  const f = ipvsReply(leg, ns, hooked);
  if (f.ttl <= 1) {
    leg.end({ kind: 'ttl-exceeded', by: `${leg.fabric.label(ns)}: TTL exceeded in transit` });
    return;
  }
  const out = hook(leg, ns, 'POSTROUTING', { ...f, ttl: f.ttl - 1 }, { in: dev.name, out: route.dev });
  if (!out) return;
  transmit(leg, ns, ns.device(route.dev)!, route.via ?? out.dst, { l3: out });
}

/** Local delivery: INPUT, then VXLAN decapsulation or a socket. */
function local(leg: Leg, ns: Netns, arriving: Packet, dev: string, afterIpvs = false): void {
  let ipvsTook = false;
  const p = afterIpvs ? arriving.l3 : hook(leg, ns, 'INPUT', arriving.l3, { in: dev }, '', ipvsRequest(leg, ns, () => (ipvsTook = true)));
  if (!p) return;
  if (ipvsTook) return ipvsNatXmit(leg, ns, p, { hook: 'INPUT', iif: dev });
  const pkt: Packet = { ...arriving, l3: p };
  if (pkt.inner && p.protocol === 'udp') {
    const vx = [...ns.devices.values()].find((d) => d.kind === 'vxlan' && d.vxlan!.port === p.dport && d.vxlan!.vni === pkt.inner!.vni);
    if (vx) {
      leg.hop(ns, 'vxlan', `UDP :${p.dport} is ${vx.name}'s: decapsulate VNI ${pkt.inner.vni}`, {
        before: `UDP ${p.src}:${p.sport} > ${p.dst}:${p.dport} [VXLAN VNI ${pkt.inner.vni}]`,
        after: `${pkt.inner.packet.l2!.src} > ${pkt.inner.packet.l2!.dst} ${describePacket(pkt.inner.packet.l3)}`,
      });
      receive(leg, ns, vx, pkt.inner.packet);
      return;
    }
  }
  const label = leg.fabric.label(ns);
  if (p.protocol === 'icmp') {
    const what = p.flags === 'echo-reply' ? 'to the ping socket' : 'the kernel answers';
    leg.hop(ns, 'socket', `ICMP ${p.flags ?? 'echo-request'} for ${p.dst}: ${what}`);
    leg.deliveredIn = ns;
    leg.delivered = p;
    leg.end({ kind: 'delivered', by: `${p.flags === 'echo-reply' ? 'ping socket' : 'kernel'} of ${label}`, socket: { netns: label, address: p.dst, protocol: 'icmp' } });
    return;
  }
  const l = ns.listener(p.protocol, p.dst, p.dport!);
  if (l) {
    leg.hop(ns, 'socket', `${p.protocol} ${l.address}:${l.port} ${l.owner === 'the connecting process' ? 'ESTABLISHED' : 'LISTEN'} (${l.owner})`);
    leg.deliveredIn = ns;
    leg.delivered = p;
    leg.end({ kind: 'delivered', by: `socket ${p.dst}:${p.dport}/${p.protocol} in ${label}`, socket: { netns: label, address: p.dst, port: p.dport, protocol: p.protocol, peer: { address: p.src, port: p.sport } } });
  } else {
    const answer = p.protocol === 'tcp' ? 'TCP RST (Connection refused)' : 'ICMP port unreachable';
    leg.hop(ns, 'socket', `no ${p.protocol} socket on ${p.dst}:${p.dport}: ${answer}`);
    leg.end({ kind: 'refused', by: `${label}: nothing listens on ${p.dst}:${p.dport}/${p.protocol}`, target: { netns: label, address: p.dst, port: p.dport } });
  }
}

/** A virtual service as `ipvsadm -Ln` names it: "TCP 10.96.0.10:53 rr", with its persistence if any. */
function virtualServiceText(svc: VirtualService): string {
  const s = svc.spec;
  const persistent = s.flags & SVC_F.PERSISTENT ? ` persistent ${s.timeout}` : '';
  return `${s.protocol.toUpperCase()} ${hostPort(s.address, s.port)} ${s.scheduler}${persistent}`;
}

/**
 * IPVS's hook function (ip_vs_remote_request at LOCAL_IN, ip_vs_local_request at LOCAL_OUT) for a namespace
 * with virtual services: a connection's first packet to one is scheduled to a real server (through its
 * persistence template for a persistent service) and rewritten to it (Masq: DNAT); `took` is told, for the
 * caller to send it on (ipvsNatXmit). With net.ipv4.vs.conntrack=1 the conntrack entry is kept and its reply
 * tuple altered to the real server (ip_vs_update_conntrack), so POSTROUTING's masquerade applies and the
 * answer is un-NATed; with 0 the packet leaves untracked. No real server: ip_vs_leave's ICMP port unreachable.
 */
function ipvsRequest(leg: Leg, ns: Netns, took: () => void): IpvsHookFn | undefined {
  if (!ns.ipvsActive) return undefined;
  return (p) => {
    if (p.protocol !== 'tcp' && p.protocol !== 'udp' && p.protocol !== 'sctp') return undefined;
    // ip_vs_out first: a real server's answer to a client on this host.
    const answer = ipvsAnswer(ns, p);
    if (answer) return { kind: 'mangle', ...answer };
    // Answers of flows IPVS did not schedule are not its; a TCP connection is scheduled on its SYN only
    // (sloppy_tcp=0).
    if (leg.ct?.dir === 'reply' || (p.protocol === 'tcp' && p.flags !== 'SYN')) return undefined;
    const d = ns.ipvs.schedule({ protocol: p.protocol as IpvsProtocol, src: p.src, dst: p.dst, sport: p.sport!, dport: p.dport! });
    if (!d) return undefined;
    const vs = virtualServiceText(d.service);
    if (!d.destination) {
      if (d.verdict === 'drop') return { kind: 'drop', what: `IPVS: ${vs}: the connection's real server is gone`, by: `IPVS: ${vs}: real server of the connection removed (expire_nodest_conn=0)` };
      return { kind: 'reject', what: `IPVS: ${vs}: no destination available`, by: `IPVS: ${d.service.spec.scheduler}: ${p.protocol.toUpperCase()} ${hostPort(d.service.spec.address, d.service.spec.port)} - no destination available`, rejectWith: 'icmp-port-unreachable' };
    }
    const rs = d.destination;
    if (rs.forward !== 'Masq') return { kind: 'drop', what: `IPVS: ${vs} -> ${hostPort(rs.address, rs.port)} ${rs.forward}`, by: `IPVS: the ${rs.forward} forwarding method is not emulated (kube-proxy uses Masq)` };
    ns.ipvs.account(d.connection, 'in', p.length);
    const template = d.connection.controller;
    const how = d.existing ? 'existing connection' : template ? `new connection, persistence template ${template.client.address} -> ${hostPort(rs.address, rs.port)}` : 'new connection';
    const ct = leg.ct;
    if (!ns.ipvs.conntrack) leg.ct = undefined;
    else if (ct && !ct.entry.confirmed && ct.state !== 'INVALID') {
      ct.entry.reply = { ...ct.entry.reply, src: rs.address, sport: rs.port };
      ct.entry.dnat = true;
    }
    took();
    return { kind: 'stolen', what: `IPVS: ${vs} -> ${hostPort(rs.address, rs.port)} Masq (${how})`, dst: rs.address, dport: rs.port };
  };
}

const l4Text = (p: { protocol: string; src: string; sport?: number; dst: string; dport?: number }) =>
  `${p.protocol.toUpperCase()} ${hostPort(p.src, p.sport ?? 0)} > ${hostPort(p.dst, p.dport ?? 0)}`;

/**
 * ip_vs_out's handle_response for a Masq connection: a real server's packet to its client gets the virtual
 * service's address and port back as its source. The answer makes the connection (as conntrack takes it),
 * so a TCP connection is ESTABLISHED — counted in ActiveConn — from then on.
 */
function ipvsAnswer(ns: Netns, p: { protocol: string; src: string; sport?: number; dst: string; dport?: number; length: number }): { what: string; src: string; sport: number } | undefined {
  if (p.protocol !== 'tcp' && p.protocol !== 'udp' && p.protocol !== 'sctp') return undefined;
  const conn = ns.ipvs.replyConnection({ protocol: p.protocol as IpvsProtocol, src: p.src, sport: p.sport!, dst: p.dst, dport: p.dport! });
  if (!conn || conn.destination.forward !== 'Masq') return undefined;
  ns.ipvs.account(conn, 'out', p.length);
  if (conn.protocol === 'tcp' && conn.state !== 'ESTABLISHED') ns.ipvs.setState(conn, 'ESTABLISHED');
  return {
    what: `IPVS: ${virtualServiceText(conn.service)}: answer of real server ${hostPort(conn.dest.address, conn.dest.port)} Masq (${conn.state})`,
    src: conn.virtual.address, sport: conn.virtual.port,
  };
}

/** ip_vs_out at FORWARD (after the filter table): the answer of a connection IPVS forwarded, un-NATed. */
function ipvsReply(leg: Leg, ns: Netns, p: IPv4Packet): IPv4Packet {
  const answer = ns.ipvsActive ? ipvsAnswer(ns, p) : undefined;
  if (!answer) return p;
  const after = { ...p, src: answer.src, sport: answer.sport };
  leg.hop(ns, 'hook', answer.what, { before: l4Text(p), after: l4Text(after) });
  return after;
}

/**
 * ip_vs_nat_xmit: the rewritten packet is routed to its real server. A real server on this host: the packet
 * goes on through the rest of its hook (NF_ACCEPT) — up the stack from LOCAL_IN, out through lo from
 * LOCAL_OUT. Any other gets it through LOCAL_OUT (ipvs_property set: IPVS does not look again) and
 * POSTROUTING, where KUBE-POSTROUTING's masquerade applies, then out of the device.
 */
function ipvsNatXmit(leg: Leg, ns: Netns, p: IPv4Packet, from: { hook: 'INPUT'; iif: string } | { hook: 'OUTPUT' }): void {
  const route = ns.lookup(p.dst);
  if (!route) {
    leg.hop(ns, 'route', `ip route get ${p.dst}: no route (IPVS real server)`);
    leg.end({ kind: 'no-route', by: `route lookup in ${leg.fabric.label(ns)} for the IPVS real server: Network is unreachable` });
    return;
  }
  leg.hop(ns, 'route', `ip route get ${p.dst}: ${routeText(route)} (IPVS real server)`);
  if (route.type === 'local' && from.hook === 'INPUT') {
    // LOCAL_IN's later hooks: nat's SNAT (kube-proxy writes none there) and conntrack's confirm.
    if (leg.ct) ns.netfilter.conntrack.confirm(leg.ct);
    return local(leg, ns, { l3: p }, from.iif, true);
  }
  const out = route.type === 'local' ? 'lo' : route.dev;
  // From LOCAL_IN and to a remote server from LOCAL_OUT: LOCAL_OUT afresh; to this host from LOCAL_OUT: the
  // rest of LOCAL_OUT (filter). Either way OUTPUT's tables after nat see it.
  const q = hook(leg, ns, 'OUTPUT', p, { out }, ' (IPVS)');
  const q2 = q && hook(leg, ns, 'POSTROUTING', q, { out });
  if (!q2) return;
  if (route.type === 'local') {
    leg.hop(ns, 'device', 'loopback: lo');
    const q3 = hook(leg, ns, 'PREROUTING', q2, { in: 'lo' });
    if (q3) local(leg, ns, { l3: q3 }, 'lo');
    return;
  }
  transmit(leg, ns, ns.device(route.dev)!, route.via ?? q2.dst, { l3: q2 });
}

export interface Flow {
  protocol: 'tcp' | 'udp' | 'icmp';
  dst: string;
  dport?: number;
  /** Source address; default: what the route picks. */
  src?: string;
  sport?: number;
  /** Payload bytes (default: a bare SYN, a 32-byte datagram, a 56-byte ping). */
  size?: number;
}

function runLeg(fabric: Fabric, random: Random, start: (leg: Leg) => void, outsideClient?: string): Leg {
  const leg = new Leg(fabric, random, outsideClient);
  try {
    start(leg);
  } catch (e) {
    if (!(e instanceof LoopError)) throw e;
    leg.end({ kind: 'dropped', by: `gave up after ${MAX_HOPS} hops (a forwarding loop?)` });
  }
  leg.end({ kind: 'dropped', by: 'the packet went nowhere' });
  return leg;
}

const legResult = (leg: Leg) => ({ hops: leg.hops, verdict: leg.verdict!, frames: leg.frames });

/** A flow's first packet: a SYN, a datagram or an echo request, from an ephemeral port hashed from the flow. */
function firstPacket(src: string, flow: Flow): IPv4Packet {
  const sport = flow.protocol === 'icmp' ? undefined : flow.sport ?? 32768 + (fnv32a(`${src}>${flow.dst}:${flow.dport}`) % 28232);
  return {
    src, dst: flow.dst, ttl: 64, protocol: flow.protocol, sport, dport: flow.dport,
    flags: flow.protocol === 'tcp' ? 'SYN' : flow.protocol === 'icmp' ? 'echo-request' : undefined,
    length: IP_HEADER + L4_HEADER[flow.protocol] + (flow.size ?? (flow.protocol === 'tcp' ? 20 : flow.protocol === 'icmp' ? 56 : 32)),
    dontFragment: flow.protocol !== 'udp',
  };
}

/** The answer a delivered first packet gets: SYN-ACK, a datagram back, an echo reply. */
function answerTo(p: IPv4Packet): IPv4Packet {
  return {
    ...p, src: p.dst, dst: p.src, ttl: 64, sport: p.dport, dport: p.sport,
    flags: p.protocol === 'tcp' ? 'SYN-ACK' : p.protocol === 'icmp' ? 'echo-reply' : undefined,
  };
}

/** Runs the request leg, then — when a socket took it — the answer from that socket's namespace. */
function requestAndReply(fabric: Fabric, opts: TraceOptions, send: (leg: Leg) => void, outsideClient?: string): Trace {
  const random = opts.random ?? seeded(opts.seed ?? 1);
  const request = runLeg(fabric, random, send, outsideClient);
  if (request.verdict!.kind !== 'delivered' || !request.deliveredIn) return { request: legResult(request) };
  // The socket answers the packet it got: after DNAT, from the endpoint; conntrack un-NATs it on the way back.
  const reply = runLeg(fabric, random, (leg) => output(leg, request.deliveredIn!, { l3: answerTo(request.delivered!) }), outsideClient);
  return { request: legResult(request), reply: legResult(reply) };
}

/** The first packet of a flow from a process in `from`, and — when it is delivered — its answer. */
export interface TraceOptions {
  /** The seed of the random choices (statistic --mode random, --random-fully ports); default 1. */
  seed?: number;
  /** Or the random source itself (enumeration scripts it). */
  random?: Random;
}

export function traceFlow(fabric: Fabric, from: Netns, flow: Flow, opts: TraceOptions = {}): Trace {
  if (!parseIP(flow.dst)) throw new Error(`"${flow.dst}" is not an IPv4 address`);
  const route = from.lookup(flow.dst);
  const first = firstPacket(flow.src ?? (route ? from.sourceFor(route, 'IPv4') : undefined) ?? '0.0.0.0', flow);
  // The connecting process holds its ephemeral port while it waits for the answer.
  const client = first.sport === undefined ? undefined : { protocol: flow.protocol as 'tcp' | 'udp', address: first.src, port: first.sport, owner: 'the connecting process' };
  if (client) from.listeners.push(client);
  try {
    return requestAndReply(fabric, opts, (leg) => output(leg, from, { l3: first }));
  } finally {
    if (client) from.listeners.splice(from.listeners.indexOf(client), 1);
  }
}

export interface OutsideOptions extends TraceOptions {
  /**
   * The node the router hands the packet to when its destination is not a node's own address: a cloud load
   * balancer (or MetalLB's announcing node) delivering to a LoadBalancer IP, a route for an externalIP.
   */
  via?: string;
}

/**
 * A flow from a client outside the cluster: it reaches the underlay through its router, which knows only the
 * nodes' network — so it can reach a node's address (a NodePort) but not a pod's or a Service's, unless told
 * which node to deliver another address to (`via`).
 */
export function traceFromOutside(fabric: Fabric, client: string, flow: Flow, opts: OutsideOptions = {}): Trace {
  const target = fabric.underlayHost({ ip: opts.via ?? flow.dst });
  const first = firstPacket(client, flow);
  return requestAndReply(fabric, opts, (leg) => {
    if (!target) {
      leg.end({ kind: 'unreachable', by: `the router in front of the cluster knows only the nodes' network; ${opts.via ?? flow.dst} is not a node address` });
      return;
    }
    // The router's frame arrives on the node's eth0 (its ARP answered for the node's address).
    leg.hop(target.netns, 'underlay', `router -> ${target.dev.name} of ${fabric.label(target.netns)}: ${describePacket(first)}`);
    receive(leg, target.netns, target.dev, { l2: { src: 'router', dst: target.dev.mac }, l3: first });
  }, client);
}

export interface TraceBranch {
  /** The probability of this path (the product of its random decisions'). */
  p: number;
  trace: Trace;
  /** The random decisions on the way (statistic rules), in order. */
  choices: Choice[];
}

/**
 * Every path a connection can take through the random rules (statistic --mode random), with its
 * probability: `run` is traced once per branch, and what a run changes (conntrack entries, recent lists,
 * counters) is undone before the next.
 */
export function traceBranches(run: (opts: TraceOptions) => Trace): TraceBranch[] {
  return enumerate((random) => withUndo(() => run({ random }))).map((b) => ({ p: b.p, trace: b.result, choices: b.choices }));
}
