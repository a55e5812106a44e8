// A node's kube-proxy input from the cluster store, and the kernel side of a sync: the pure proxier's output
// applied to the node's emulated IPVS and ipsets, as kube-proxy's ipvs/ipset calls apply it.
import type { Cluster } from '../../cluster/cluster.ts';
import type { EndpointSlice, Node, Service } from '../../cluster/objects.ts';
import { familyOf, type Family } from '../../cluster/net.ts';
import { hostPort, serviceKey, type Ipvs } from '../../netns/ipvs.ts';
import type { Ipsets } from '../../netns/ipset.ts';
import type { Netns } from '../../netns/netns.ts';
import { nodeLocalDetector } from '../localdetector.ts';
import { nodeFacts, primaryNodeIP } from '../node.ts';
import { DUMMY_DEVICE, type IpvsProxierInput, type IpvsProxyState } from './proxier.ts';

export interface IpvsRulesOptions {
  family?: Family;
  /**
   * The node's local addresses (every device but kube-ipvs0). Default: those of `netns` when given, else the
   * Node's InternalIP/ExternalIP addresses of the family and the loopback address.
   */
  nodeAddresses?: string[];
  /** The node's network namespace (ClusterNetwork.host(node)): its devices' addresses are the node's. */
  netns?: Pick<Netns, 'addresses'>;
  now?: () => number;
}

/** The proxier's input for a node, as kube-proxy would see it: its config, its Node object, the API's objects. */
export function proxierInput(cluster: Cluster, nodeName: string, options: IpvsRulesOptions = {}): IpvsProxierInput {
  const family = options.family ?? 'IPv4';
  const node = cluster.store.get('Node', undefined, nodeName) as unknown as Node | undefined;
  if (!node) throw new Error(`kube-proxy: node "${nodeName}" not found (known: ${cluster.store.list('Node').map((n) => n.metadata.name).join(', ')})`);
  const proxy = cluster.config.proxy;
  // The same reading of its Node as iptables mode: sloppy addresses, InternalIP before ExternalIP, the
  // capability annotations checked.
  const facts = nodeFacts(node);
  const addrs = facts.addresses.filter((ip) => familyOf(ip) === family);
  // GetAllLocalAddressesExcept(kube-ipvs0): every device's addresses of the family, IPv6 link-local left out.
  const fromNetns = options.netns?.addresses
    .filter((a) => a.dev !== DUMMY_DEVICE && a.family === family && !(family === 'IPv6' && a.ip.toLowerCase().startsWith('fe80:')))
    .map((a) => a.ip);
  const nodeAddresses = options.nodeAddresses ?? (fromNetns ? [...new Set(fromNetns)] : [...new Set([...addrs, family === 'IPv4' ? '127.0.0.1' : '::1'])]);
  // cmd/kube-proxy builds one local-traffic detector per family for whichever proxy mode runs.
  const detector = nodeLocalDetector(family, proxy, facts.podCIDRs);
  return {
    family,
    nodeName,
    nodeIP: primaryNodeIP(facts, family),
    nodeLabels: facts.labels,
    nodeAddresses,
    services: cluster.store.list('Service') as unknown as Service[],
    endpointSlices: cluster.store.list('EndpointSlice') as unknown as EndpointSlice[],
    scheduler: proxy.ipvsScheduler,
    masqueradeAll: proxy.masqueradeAll,
    masqueradeBit: proxy.masqueradeBit,
    ifNotLocal: detector.implemented ? detector.ifNotLocal : undefined,
    nodePortAddresses: proxy.nodePortAddresses,
    randomFully: facts.randomFully,
  };
}

/**
 * What `References:` shows once the iptables text is loaded: each rule with `-m set --match-set NAME` holds a
 * reference to the set (xt_set takes one per rule).
 */
export function referenceSets(ipsets: Ipsets, iptablesRestore: string): void {
  const counts = new Map<string, number>();
  for (const m of iptablesRestore.matchAll(/ --match-set (\S+) /g)) counts.set(m[1], (counts.get(m[1]) ?? 0) + 1);
  for (const name of ipsets.names()) ipsets.get(name)!.references = counts.get(name) ?? 0;
}

/**
 * Applies a sync to a node's kernel objects as kube-proxy does: ipsets created (-exist) and their entries made
 * to match; virtual servers added, updated or deleted; real servers added with weight 1, and removed ones
 * terminated gracefully — a TCP server with connections is set to weight 0 and deleted once they are gone
 * (GracefulTerminationManager), UDP and SCTP servers at once.
 */
export function loadIntoKernel(state: IpvsProxyState, ipvs: Ipvs, ipsets: Ipsets): void {
  // The kernel's timers have run: connections past their timeout no longer count.
  ipvs.expire();
  for (const s of state.ipsets) {
    const create = state.ipsetRestore.split('\n').find((l) => l.startsWith(`create ${s.name} `))!;
    ipsets.restore(`${create} -exist\n`);
    const current = new Set(ipsets.save(s.name).split('\n').filter((l) => l.startsWith('add ')).map((l) => l.slice(`add ${s.name} `.length)));
    const wanted = new Set(s.entries.map((e) => ipsets.canonical(s.name, e)));
    for (const e of [...current].filter((x) => !wanted.has(x)).sort()) ipsets.command(['del', s.name, e, '-exist']);
    for (const e of s.entries) if (!current.has(ipsets.canonical(s.name, e))) ipsets.command(['add', s.name, e, '-exist']);
  }

  const active = new Set<string>();
  for (const vs of state.virtualServers) {
    active.add(serviceKey(vs.spec));
    const existing = ipvs.getService(vs.spec);
    if (!existing) ipvs.addService(vs.spec);
    else if (JSON.stringify(existing.spec) !== JSON.stringify(vs.spec)) ipvs.editService(vs.spec);
    const svc = ipvs.getService(vs.spec)!;
    const wanted = new Map(vs.realServers.map((rs) => [hostPort(rs.address, rs.port), rs]));
    for (const rs of vs.realServers) {
      const d = svc.findDestination(rs.address, rs.port);
      if (!d) ipvs.addDestination(vs.spec, rs);
      else if (d.weight !== rs.weight) ipvs.updateDestination(vs.spec, rs);
    }
    for (const d of [...svc.destinations]) {
      if (wanted.has(hostPort(d.address, d.port))) continue;
      const graceful = vs.spec.protocol === 'tcp' && d.activeConns + d.inactConns > 0;
      if (graceful) { if (d.weight !== 0) ipvs.updateDestination(vs.spec, { address: d.address, port: d.port, weight: 0, forward: d.forward }); }
      else ipvs.deleteDestination(vs.spec, d.address, d.port);
    }
  }
  for (const svc of ipvs.services()) if (!active.has(svc.key) && svc.family === state.family) ipvs.deleteService(svc.spec);
}

