// `ip link`, `ip addr`, `ip route`, `ip neigh` and `bridge fdb` as iproute2 prints them, so walkthroughs use the
// commands people know. Pure renderings of a Netns.
import type { Netns } from './netns.ts';
import type { Device, Route } from './types.ts';
import { BROADCAST_MAC, ZERO_MAC } from './mac.ts';

interface LinkLook {
  flags: string;
  state: string;
  qdisc: string;
  qlen?: number;
}

/** What the kernel reports for each kind of device once it is up. */
function look(d: Device, ns: Netns): LinkLook {
  if (!d.up) return { flags: 'BROADCAST,MULTICAST', state: 'DOWN', qdisc: 'noop', qlen: 1000 };
  switch (d.kind) {
    case 'loopback': return { flags: 'LOOPBACK,UP,LOWER_UP', state: 'UNKNOWN', qdisc: 'noqueue', qlen: 1000 };
    case 'ether': return { flags: 'BROADCAST,MULTICAST,UP,LOWER_UP', state: 'UP', qdisc: 'fq_codel', qlen: 1000 };
    case 'dummy': return { flags: 'BROADCAST,NOARP,UP,LOWER_UP', state: 'UNKNOWN', qdisc: 'noqueue', qlen: 1000 };
    case 'vxlan': return { flags: 'BROADCAST,MULTICAST,UP,LOWER_UP', state: 'UNKNOWN', qdisc: 'noqueue', qlen: 1000 };
    case 'bridge': {
      // A bridge without ports has no carrier.
      const ports = [...ns.devices.values()].some((x) => x.master === d.name && x.up);
      return ports
        ? { flags: 'BROADCAST,MULTICAST,UP,LOWER_UP', state: 'UP', qdisc: 'noqueue', qlen: 1000 }
        : { flags: 'NO-CARRIER,BROADCAST,MULTICAST,UP', state: 'DOWN', qdisc: 'noqueue', qlen: 1000 };
    }
    case 'veth': return { flags: 'BROADCAST,MULTICAST,UP,LOWER_UP', state: 'UP', qdisc: 'noqueue', qlen: 1000 };
  }
}

function linkName(d: Device, ns: Netns): string {
  if (!d.peer) return d.name;
  // A peer in this namespace is named; one elsewhere is known only by its ifindex.
  return d.peer.netns === ns.name ? `${d.name}@${d.peer.name}` : `${d.name}@if${d.peer.index}`;
}

function linkLines(d: Device, ns: Netns, withMode: boolean, netnsIds: Map<string, number>, named: Set<string>): string[] {
  const l = look(d, ns);
  const head = `${d.index}: ${linkName(d, ns)}: <${l.flags}> mtu ${d.mtu} qdisc ${l.qdisc} ${d.master ? `master ${d.master} ` : ''}state ${l.state} ` +
    `${withMode ? 'mode DEFAULT ' : ''}group default ${l.qlen !== undefined ? `qlen ${l.qlen}` : ''}`;
  const kind = d.kind === 'loopback' ? 'loopback' : 'ether';
  const brd = d.kind === 'loopback' ? ZERO_MAC : BROADCAST_MAC;
  let link = `    link/${kind} ${d.mac} brd ${brd}`;
  if (d.peer && d.peer.netns !== ns.name) link += named.has(d.peer.netns) ? ` link-netns ${d.peer.netns}` : ` link-netnsid ${netnsIds.get(d.peer.netns) ?? 0}`;
  return [head, link];
}

/** The ids `ip` shows for peer namespaces (link-netnsid): in the order this namespace first met them. */
function peerNetnsIds(ns: Netns): Map<string, number> {
  const ids = new Map<string, number>();
  for (const d of ns.devices.values()) if (d.peer && d.peer.netns !== ns.name && !ids.has(d.peer.netns)) ids.set(d.peer.netns, ids.size);
  return ids;
}

const byIndex = (ns: Netns) => [...ns.devices.values()].sort((a, b) => a.index - b.index);

/**
 * `named`: the namespaces this one's `ip` can name (pod sandboxes under /var/run/netns). A node's own
 * namespace is not visible from inside a pod, so it shows there as link-netnsid 0.
 */
export function ipLink(ns: Netns, named: Set<string> = new Set()): string {
  const ids = peerNetnsIds(ns);
  return byIndex(ns).flatMap((d) => linkLines(d, ns, true, ids, named)).map((l) => `${l}\n`).join('');
}

export function ipAddr(ns: Netns, named: Set<string> = new Set()): string {
  const ids = peerNetnsIds(ns);
  const out: string[] = [];
  for (const d of byIndex(ns)) {
    out.push(...linkLines(d, ns, false, ids, named));
    // inet before inet6, as the kernel dumps them.
    const addrs = ns.addressesOf(d.name);
    for (const a of [...addrs.filter((x) => x.family === 'IPv4'), ...addrs.filter((x) => x.family === 'IPv6')]) {
      // An inet6 line has no label, but keeps the space that would precede it.
      out.push(a.family === 'IPv4'
        ? `    inet ${a.ip}/${a.prefix} ${a.broadcast ? `brd ${a.broadcast} ` : ''}scope ${a.scope} ${d.name}`
        : `    inet6 ${a.ip}/${a.prefix} scope ${a.scope} `);
      out.push('       valid_lft forever preferred_lft forever');
    }
  }
  return out.map((l) => `${l}\n`).join('');
}

/** The kernel dumps a table in key order; for one destination, the longer prefix first. */
function routeOrder(a: Route, b: Route): number {
  const ab = a.dst?.base ?? 0n;
  const bb = b.dst?.base ?? 0n;
  if (ab !== bb) return ab < bb ? -1 : 1;
  return (b.dst?.prefix ?? 0) - (a.dst?.prefix ?? 0);
}

function routeLine(r: Route, withType: boolean): string {
  let s = withType && r.type !== 'unicast' ? `${r.type} ` : '';
  s += r.dst ? (r.type === 'unicast' ? r.dst.text : r.dst.text.replace(/\/(32|128)$/, '')) : 'default';
  s += ' ';
  if (r.via) s += `via ${r.via} `;
  s += `dev ${r.dev} `;
  if (r.proto && r.proto !== 'boot') s += `proto ${r.proto} `;
  if (r.scope !== 'universe' && !(r.scope === 'link' && r.type === 'unicast' && !r.proto)) s += `scope ${r.scope} `;
  if (r.src) s += `src ${r.src} `;
  if (r.onlink) s += 'onlink ';
  return s;
}

/** `ip route [show table local]`: IPv4 routes of a table. */
export function ipRoute(ns: Netns, table: 'main' | 'local' = 'main'): string {
  return ns.routes
    .filter((r) => r.table === table && (!r.dst || r.dst.family === 'IPv4'))
    .sort(routeOrder)
    .map((r) => `${routeLine(r, table === 'local')}\n`)
    .join('');
}

export function ipNeigh(ns: Netns): string {
  return ns.neighbours.map((n) => `${n.ip} dev ${n.dev} ${n.lladdr ? `lladdr ${n.lladdr} ` : ''}${n.state} \n`).join('');
}

/** `ip route get ADDR`: the route the kernel picks and the source it would use. */
export function ipRouteGet(ns: Netns, dst: string): string | undefined {
  const r = ns.lookup(dst);
  if (!r) return undefined;
  const family = dst.includes(':') ? 'IPv6' : 'IPv4';
  const src = r.type === 'local' ? dst : ns.sourceFor(r, family);
  const head = r.type === 'local' ? `local ${dst} dev lo ` : `${dst} ${r.via ? `via ${r.via} ` : ''}dev ${r.dev} `;
  return `${head}${src ? `src ${src} ` : ''}uid 0 \n    cache ${r.type === 'local' ? '<local> ' : ''}\n`;
}

/** `bridge fdb show`: per device in ifindex order, a bridge port's entries (in its master) before its own. */
export function bridgeFdb(ns: Netns): string {
  const index = (dev: string) => ns.device(dev)?.index ?? 0;
  return [...ns.fdb]
    .map((e, i) => ({ e, i }))
    .sort((a, b) => index(a.e.dev) - index(b.e.dev) || Number(!!a.e.self) - Number(!!b.e.self) || a.i - b.i)
    .map(({ e }) => `${[e.mac, `dev ${e.dev}`, e.dst ? `dst ${e.dst}` : '', e.master ? `master ${e.master}` : '', e.self ? 'self' : ''].filter(Boolean).join(' ')} ${e.permanent ? 'permanent' : ''}`.trimEnd() + (e.permanent ? '' : ' '))
    .map((l) => `${l}\n`)
    .join('');
}
