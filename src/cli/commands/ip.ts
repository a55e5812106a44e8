// kdp ip / kdp bridge: a node's or a pod's network namespace through iproute2's own commands and layout.
import type { Cluster } from '../../cluster/cluster.ts';
import { ClusterNetwork } from '../../kubelet/network.ts';
import type { Netns } from '../../netns/netns.ts';
import { bridgeFdb, ipAddr, ipLink, ipNeigh, ipRoute, ipRouteGet } from '../../netns/iproute2.ts';
import { parseIP } from '../../cluster/net.ts';
import { UserError, type IO } from '../io.ts';

export interface Where {
  node?: string;
  pod?: string;
}

function namespaceOf(cluster: Cluster, where: Where): { ns: Netns; named: Set<string> } {
  if (!!where.node === !!where.pod) throw new UserError('say which network namespace: --node NAME or --pod NAMESPACE/NAME');
  const net = new ClusterNetwork(cluster);
  if (where.node) {
    const host = net.host(where.node);
    if (!host) throw new UserError(`node "${where.node}" not found`);
    return { ns: host, named: net.namedNamespaces() };
  }
  const [ns, name] = where.pod!.includes('/') ? where.pod!.split('/') : ['default', where.pod!];
  const sandbox = net.pod(ns, name);
  if (!sandbox) {
    const pod = cluster.store.get('Pod', ns, name) as { spec?: { hostNetwork?: boolean } } | undefined;
    if (!pod) throw new UserError(`pod "${ns}/${name}" not found`);
    if (pod.spec?.hostNetwork) throw new UserError(`pod "${ns}/${name}" uses the host network: use --node`);
    throw new UserError(`pod "${ns}/${name}" has no network namespace yet (it is not running)`);
  }
  return { ns: sandbox.netns, named: new Set() };
}

const OBJECTS: Record<string, 'route' | 'addr' | 'link' | 'neigh'> = {
  r: 'route', ro: 'route', route: 'route',
  a: 'addr', addr: 'addr', address: 'addr',
  l: 'link', link: 'link',
  n: 'neigh', neigh: 'neigh', neighbor: 'neigh', neighbour: 'neigh',
};

/** `kdp ip --node N route [show] [table local|main]`, `addr`, `link`, `neigh`. */
export function ip(cluster: Cluster, args: string[], where: Where, io: IO): number {
  const [objectArg, ...rest] = args;
  const object = OBJECTS[objectArg ?? ''];
  if (!object) throw new UserError(`Object "${objectArg ?? ''}" is unknown, try "kdp ip help" (route, addr, link, neigh).`);
  const words = rest.filter((w) => w !== 'show' && w !== 'list');
  const { ns, named } = namespaceOf(cluster, where);
  if (object === 'route' && words[0] === 'get') {
    const dst = words[1];
    if (!dst || !parseIP(dst)) throw new UserError(`"${dst ?? ''}" is not an address: kdp ip route get ADDRESS`);
    const out = ipRouteGet(ns, dst);
    if (!out) {
      io.stderr('RTNETLINK answers: Network is unreachable\n');
      return 2;
    }
    io.stdout(out);
  } else if (object === 'route') {
    const t = words.indexOf('table');
    const table = t >= 0 ? words[t + 1] : 'main';
    if (table !== 'main' && table !== 'local') throw new UserError(`table "${table}": kdp models the main and local tables`);
    io.stdout(ipRoute(ns, table));
  } else if (object === 'addr') io.stdout(ipAddr(ns, named));
  else if (object === 'link') io.stdout(ipLink(ns, named));
  else io.stdout(ipNeigh(ns));
  return 0;
}

/** `kdp bridge --node N fdb [show]`. */
export function bridge(cluster: Cluster, args: string[], where: Where, io: IO): number {
  if (args[0] !== 'fdb') throw new UserError(`Object "${args[0] ?? ''}" is unknown, try "kdp bridge fdb".`);
  io.stdout(bridgeFdb(namespaceOf(cluster, where).ns));
  return 0;
}
