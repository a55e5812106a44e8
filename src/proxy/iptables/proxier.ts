// kube-proxy's iptables mode (pkg/proxy/iptables/proxier.go syncProxyRules): service port plans rendered as
// the iptables-restore input kube-proxy writes, line for line. Pure: state in, text out; the caller loads it.
import type { EndpointInfo } from '../endpoints.ts';
import type { ServicePortInfo } from '../serviceport.ts';
import type { LocalTrafficDetector } from '../localdetector.ts';
import type { Family } from '../ip.ts';
import { isLoopback } from '../ip.ts';
import { planServicePort, type ServicePortPlan } from '../plan.ts';
import { nodeIPsFor, nodePortAddresses, type NodePortAddresses } from '../nodeportaddresses.ts';
import {
  EXT_PREFIX, FW_PREFIX, KUBE_EXTERNAL_SERVICES, KUBE_FIREWALL, KUBE_FORWARD, KUBE_MARK_MASQ, KUBE_NODEPORTS, KUBE_POSTROUTING,
  KUBE_PROXY_FIREWALL, KUBE_SERVICES, SVC_PREFIX, SVL_PREFIX, portProtoHash, servicePortEndpointChainName,
} from './chains.ts';
import { iptablesJumpRules, type JumpRule } from './jumps.ts';

/** Above this many endpoints kube-proxy drops the comments of endpoint rules ("large cluster mode"). */
export const LARGE_CLUSTER_ENDPOINTS_THRESHOLD = 1000;

export const CT_STATE_INVALID_DROPPED_COUNTER = 'ct_state_invalid_dropped_pkts';
export const LOCALHOST_NODEPORT_ACCEPTED_COUNTER = 'localhost_nps_accepted_pkts';

export interface IPTablesSettings {
  ipFamily: Family;
  nodeName: string;
  /** kube-proxy's node IP of this family (loadBalancerSourceRanges' allow-from-node check, "primary"). */
  nodeIP?: string;
  nodeLabels: Record<string, string>;
  /** The mark as it appears in the rules, e.g. "0x4000". */
  masqueradeMark: string;
  masqueradeAll: boolean;
  /** --iptables-localhost-nodeports as configured (turned off when nodePortAddresses excludes 127.0.0.1). */
  localhostNodePorts: boolean;
  localDetector: LocalTrafficDetector;
  nodePortAddresses: readonly string[];
  /** The host's addresses (what net.InterfaceAddrs lists), for nodePortAddresses. */
  localAddresses: readonly string[];
  randomFully: boolean;
  nfacct: boolean;
  conntrackTCPBeLiberal: boolean;
}

export interface SyncResult {
  /** The iptables-restore input (for `iptables-restore --noflush --counters`). */
  restoreText: string;
  fullSync: boolean;
  /** The jumps to ensure in the built-in chains (full syncs only, as kube-proxy does). */
  jumps: JumpRule[];
}

/** What one service port contributes, kept so a partial sync re-renders only what changed. */
interface Rendered {
  /** Its filter-table rules, one string ("" or lines each ending in "\n"). */
  filterRules: string;
  /** KUBE-SERVICES / KUBE-NODEPORTS rules: written on every sync. */
  natDispatch: string;
  /** The port's own chains and their rules: written only when the service changed (or on a full sync). */
  natChains: string;
  natRules: string;
  chains: readonly string[];
  largeClusterMode: boolean;
}

interface PortChains {
  svc: string;
  svl: string;
  ext: string;
  fw: string;
}

const q = (s: string) => `"${s}"`;

export class IPTablesProxier {
  private readonly svcPortMap = new Map<string, ServicePortInfo>();
  private readonly endpointsMap = new Map<string, readonly EndpointInfo[]>();
  /** serviceNN -> the keys of its ports, and a fingerprint to see real changes. */
  private readonly servicePortsOf = new Map<string, { keys: string[]; print: string }>();
  private readonly endpointPrintOf = new Map<string, string>();
  private readonly endpointKeysOf = new Map<string, string[]>();
  /** Services whose ports or endpoints changed since the last sync (upstream's change trackers' result). */
  private readonly changed = new Set<string>();
  /** Endpoints of proxied ports, summed as they change: more than 1000 switches to large-cluster mode. */
  private totalEndpoints = 0;
  private readonly rendered = new Map<string, Rendered>();
  private readonly chainNames = new Map<string, PortChains>();
  /** Per service port, endpoint "ip:port" -> its KUBE-SEP chain: 110,000 sha256s are not redone every sync. */
  private readonly sepNames = new Map<string, Map<string, string>>();
  private readonly probabilities: string[] = ['<bad value>'];
  /** Per service port, the NAT chains the kernel holds after our last sync (what iptables-save would list). */
  private readonly kernelChains = new Map<string, readonly string[]>();
  /** The entries the last sync replaced in kernelChains, to put back if its restore fails. */
  private undo: [string, readonly string[] | undefined][] = [];
  /** Ports deleted since the last sync whose chains the kernel may still hold. */
  private readonly removedKeys = new Set<string>();
  private needFullSync = true;
  private lastLargeClusterMode: boolean | undefined;
  private readonly npa: NodePortAddresses;
  private readonly localhostNodePorts: boolean;
  /** The service port keys in order, in chunks whose filter and dispatch text is cached between syncs. */
  private chunks: Chunk[] | undefined;
  private readonly chunkOf = new Map<string, Chunk>();

  constructor(readonly settings: IPTablesSettings) {
    this.npa = nodePortAddresses(settings.ipFamily, settings.nodePortAddresses, settings.nodeIP);
    this.localhostNodePorts = settings.localhostNodePorts && this.npa.containsIPv4Loopback;
  }

  /** Replaces a service's ports (`[]` when it was deleted or is not proxied). Returns whether anything changed. */
  setService(serviceNN: string, ports: readonly ServicePortInfo[]): boolean {
    const print = JSON.stringify(ports);
    const prev = this.servicePortsOf.get(serviceNN);
    if (prev?.print === print || (!prev && ports.length === 0)) return false;
    const sameKeys = !!prev && prev.keys.length === ports.length && ports.every((p, i) => p.key === prev.keys[i]);
    for (const k of prev?.keys ?? []) {
      if (!ports.some((p) => p.key === k)) this.removedKeys.add(k);
      this.totalEndpoints -= this.endpointsMap.get(k)?.length ?? 0;
      this.svcPortMap.delete(k);
      this.rendered.delete(k);
      this.sepNames.delete(k);
    }
    for (const p of ports) {
      this.removedKeys.delete(p.key);
      this.svcPortMap.set(p.key, p);
      this.totalEndpoints += this.endpointsMap.get(p.key)?.length ?? 0;
    }
    if (ports.length) this.servicePortsOf.set(serviceNN, { keys: ports.map((p) => p.key), print });
    else this.servicePortsOf.delete(serviceNN);
    this.changed.add(serviceNN);
    if (!sameKeys) this.chunks = undefined;
    return true;
  }

  /** Replaces a service's endpoints (from all its slices). Returns whether anything changed. */
  setEndpoints(serviceNN: string, byPort: ReadonlyMap<string, readonly EndpointInfo[]>): boolean {
    const print = JSON.stringify([...byPort]);
    if ((this.endpointPrintOf.get(serviceNN) ?? '[]') === print) return false;
    for (const k of this.endpointKeysOf.get(serviceNN) ?? []) {
      if (this.svcPortMap.has(k)) this.totalEndpoints -= this.endpointsMap.get(k)?.length ?? 0;
      this.endpointsMap.delete(k);
    }
    for (const [k, eps] of byPort) {
      this.endpointsMap.set(k, eps);
      if (this.svcPortMap.has(k)) this.totalEndpoints += eps.length;
    }
    this.endpointKeysOf.set(serviceNN, [...byPort.keys()]);
    this.endpointPrintOf.set(serviceNN, print);
    this.changed.add(serviceNN);
    return true;
  }

  /** As the canary chain vanishing or a topology-label change do: the next sync rewrites everything. */
  forceFullSync(): void {
    this.needFullSync = true;
  }

  sync(): SyncResult {
    return this.render(this.needFullSync);
  }

  /**
   * The caller's iptables-restore of the last sync failed: the kernel kept its old chains, and the
   * consumed changes can only be recovered by a full sync, as kube-proxy does after a failed restore.
   */
  restoreFailed(): void {
    for (const [key, inKernel] of this.undo) {
      if (inKernel) this.kernelChains.set(key, inKernel);
      else this.kernelChains.delete(key);
      if (inKernel && !this.svcPortMap.has(key)) this.removedKeys.add(key);
    }
    this.undo = [];
    this.needFullSync = true;
  }

  private render(full: boolean): SyncResult {
    const s = this.settings;
    const mark = s.masqueradeMark;
    const isIPv6 = s.ipFamily === 'IPv6';
    const filterChains = [KUBE_SERVICES, KUBE_EXTERNAL_SERVICES, KUBE_FORWARD, KUBE_NODEPORTS, KUBE_PROXY_FIREWALL].map(chainLine);
    const filterHead: string[] = [];
    const natChains = [KUBE_SERVICES, KUBE_NODEPORTS, KUBE_POSTROUTING, KUBE_MARK_MASQ].map(chainLine);
    const natHead: string[] = [
      `-A ${KUBE_POSTROUTING} -m mark ! --mark ${mark}/${mark} -j RETURN`,
      // Clearing the mark keeps a packet that re-traverses the stack from being masqueraded twice.
      `-A ${KUBE_POSTROUTING} -j MARK --xor-mark ${mark}`,
      `-A ${KUBE_POSTROUTING} -m comment --comment ${q('kubernetes service traffic requiring SNAT')} -j MASQUERADE${s.randomFully ? ' --random-fully' : ''}`,
      `-A ${KUBE_MARK_MASQ} -j MARK --or-mark ${mark}`,
    ];
    if (!isIPv6 && this.localhostNodePorts) {
      // route_localnet opens 127/8 to the network (CVE-2020-8558); this is kubelet's mitigation, duplicated.
      filterChains.push(chainLine(KUBE_FIREWALL));
      filterHead.push(`-A ${KUBE_FIREWALL} -m comment --comment ${q('block incoming localnet connections')} -d 127.0.0.0/8 ! -s 127.0.0.0/8 -m conntrack ! --ctstate RELATED,ESTABLISHED,DNAT -j DROP`);
    }

    const largeClusterMode = this.totalEndpoints > LARGE_CLUSTER_ENDPOINTS_THRESHOLD;
    // Comments come and go with large-cluster mode: every port is re-rendered (its chains written only if changed).
    const rerenderAll = largeClusterMode !== this.lastLargeClusterMode;
    const node = { name: s.nodeName, labels: s.nodeLabels, ip: s.nodeIP };
    const renderKey = (key: string) => this.renderServicePort(planServicePort(this.svcPortMap.get(key)!, this.endpointsMap.get(key) ?? [], node), largeClusterMode);

    // Which ports to re-render: all of them, or only those of changed services.
    let chunks = this.chunks;
    if (!chunks) {
      this.chunks = chunks = chunked([...this.svcPortMap.keys()].sort());
      this.chunkOf.clear();
      for (const c of chunks) for (const k of c.keys) this.chunkOf.set(k, c);
    }
    const fresh = new Map<string, Rendered>();
    const rendered = (key: string): Rendered => {
      let r = fresh.get(key) ?? (rerenderAll ? undefined : this.rendered.get(key));
      if (!r) fresh.set(key, (r = renderKey(key)));
      return r;
    };
    const changedKeys: string[] = [];
    for (const nn of this.changed) for (const k of this.servicePortsOf.get(nn)?.keys ?? []) changedKeys.push(k);
    for (const k of changedKeys) {
      fresh.set(k, renderKey(k));
      this.chunkOf.get(k)!.filter = undefined;
    }

    const natChainParts: string[] = [lines(natChains)];
    const natRuleParts: string[] = [];
    const filterParts: string[] = [lines(filterHead)];
    const dispatchParts: string[] = [];
    for (const chunk of chunks) {
      if (chunk.filter === undefined || chunk.dispatch === undefined || rerenderAll) {
        const f: string[] = [];
        const d: string[] = [];
        for (const key of chunk.keys) {
          const r = rendered(key);
          f.push(r.filterRules);
          d.push(r.natDispatch);
        }
        chunk.filter = f.join('');
        chunk.dispatch = d.join('');
      }
      filterParts.push(chunk.filter);
      dispatchParts.push(chunk.dispatch);
    }

    // The service chains: every port's on a full sync, only the changed services' otherwise.
    const undo: [string, readonly string[] | undefined][] = [];
    const stale: string[] = [];
    const written = full ? chunks.flatMap((c) => c.keys) : changedKeys;
    for (const key of written) {
      const r = rendered(key);
      natChainParts.push(r.natChains);
      natRuleParts.push(r.natRules);
    }
    // Stale chains: those the kernel holds for a port that the port no longer uses, or for ports gone.
    const touched = full || rerenderAll ? chunks.flatMap((c) => c.keys) : changedKeys;
    for (const key of touched) {
      const r = rendered(key);
      const inKernel = this.kernelChains.get(key);
      if (inKernel === r.chains) continue;
      if (inKernel) {
        const now = new Set(r.chains);
        for (const c of inKernel) if (!now.has(c)) stale.push(c);
      }
      undo.push([key, inKernel]);
    }
    for (const key of this.removedKeys) {
      const inKernel = this.kernelChains.get(key);
      if (!inKernel || this.svcPortMap.has(key)) continue;
      stale.push(...inKernel);
      undo.push([key, inKernel]);
    }
    // A chain line flushes the chain, -X removes it.
    for (const chain of stale) {
      natChainParts.push(`${chainLine(chain)}\n`);
      natRuleParts.push(`-X ${chain}\n`);
    }

    // The tail call to KUBE-NODEPORTS must stay the last rule of KUBE-SERVICES.
    const natTail: string[] = [];
    const lastComment = `-m comment --comment ${q('kubernetes service nodeports; NOTE: this must be the last rule in this chain')}`;
    if (this.npa.matchAll) {
      let dst = '-m addrtype --dst-type LOCAL';
      if (isIPv6) dst += ' ! -d ::1/128';
      else if (!this.localhostNodePorts) dst += ' ! -d 127.0.0.0/8';
      natTail.push(`-A ${KUBE_SERVICES} ${lastComment} ${dst} -j ${KUBE_NODEPORTS}`);
    } else {
      for (const ip of nodeIPsFor(this.npa, s.localAddresses)) {
        if (isLoopback(ip) && (isIPv6 || !this.localhostNodePorts)) continue;
        natTail.push(`-A ${KUBE_SERVICES} ${lastComment} -d ${ip} -j ${KUBE_NODEPORTS}`);
      }
    }

    const filterTail: string[] = [];
    if (!s.conntrackTCPBeLiberal) {
      filterTail.push(`-A ${KUBE_FORWARD} -m conntrack --ctstate INVALID${s.nfacct ? ` -m nfacct --nfacct-name ${CT_STATE_INVALID_DROPPED_COUNTER}` : ''} -j DROP`);
    }
    filterTail.push(`-A ${KUBE_FORWARD} -m comment --comment ${q('kubernetes forwarding rules')} -m mark --mark ${mark}/${mark} -j ACCEPT`);
    filterTail.push(`-A ${KUBE_FORWARD} -m comment --comment ${q('kubernetes forwarding conntrack rule')} -m conntrack --ctstate RELATED,ESTABLISHED -j ACCEPT`);

    // KUBE-SERVICES and KUBE-NODEPORTS rules come before the service chains' rules: within each chain the
    // order is kube-proxy's, and iptables-restore builds the same chains whatever the interleaving.
    const restoreText = `*filter\n${lines(filterChains)}${filterParts.join('')}${lines(filterTail)}COMMIT\n`
      + `*nat\n${natChainParts.join('')}${lines(natHead)}${dispatchParts.join('')}${natRuleParts.join('')}${lines(natTail)}COMMIT\n`;
    for (const [key, r] of fresh) if (this.svcPortMap.has(key)) this.rendered.set(key, r);
    for (const [key] of undo) {
      const r = this.rendered.get(key);
      if (r && this.svcPortMap.has(key)) this.kernelChains.set(key, r.chains);
      else this.kernelChains.delete(key);
    }
    this.undo = undo;
    this.removedKeys.clear();
    this.changed.clear();
    this.needFullSync = false;
    this.lastLargeClusterMode = largeClusterMode;
    return { restoreText, fullSync: full, jumps: full ? iptablesJumpRules() : [] };
  }

  private chainsOf(svc: ServicePortInfo): PortChains {
    let c = this.chainNames.get(svc.key);
    if (!c) {
      const h = portProtoHash(svc.nameString, svc.protocol.toLowerCase());
      this.chainNames.set(svc.key, (c = { svc: SVC_PREFIX + h, svl: SVL_PREFIX + h, ext: EXT_PREFIX + h, fw: FW_PREFIX + h }));
    }
    return c;
  }

  private sepOf(svc: ServicePortInfo, ep: EndpointInfo): string {
    let names = this.sepNames.get(svc.key);
    if (!names) this.sepNames.set(svc.key, (names = new Map()));
    let name = names.get(ep.str);
    if (!name) names.set(ep.str, (name = servicePortEndpointChainName(svc.nameString, svc.protocol.toLowerCase(), ep.str)));
    return name;
  }


  private probability(n: number): string {
    for (let i = this.probabilities.length; i <= n; i++) this.probabilities.push(computeProbability(i));
    return this.probabilities[n];
  }

  private renderServicePort(plan: ServicePortPlan, largeClusterMode: boolean): Rendered {
    const s = this.settings;
    const svc = plan.svc;
    const S = svc.nameString;
    const p = svc.protocol.toLowerCase();
    const names = this.chainsOf(svc);
    const clusterPolicyChain = names.svc;
    const localPolicyChain = names.svl;
    const internalChain = plan.internalPolicy === 'local' ? localPolicyChain : clusterPolicyChain;
    const externalPolicyChain = plan.externalPolicy === 'local' ? localPolicyChain : clusterPolicyChain;
    const externalChain = names.ext;
    const lbChain = plan.usesFirewall ? names.fw : externalChain;
    const mp = `-m ${p} -p ${p}`;
    const port = svc.port;
    const filter: string[] = [];
    const dispatch: string[] = [];
    const chains: string[] = [];
    const rules: string[] = [];
    const active: string[] = [];
    const iF = plan.internalFilter;
    const eF = plan.externalFilter;

    if (plan.hasInternalEndpoints) {
      dispatch.push(`-A ${KUBE_SERVICES} -m comment --comment ${q(`${S} cluster IP`)} ${mp} -d ${svc.clusterIP} --dport ${port} -j ${internalChain}`);
    } else if (iF) {
      filter.push(`-A ${KUBE_SERVICES} -m comment --comment ${q(`${S} ${iF.reason}`)} ${mp} -d ${svc.clusterIP} --dport ${port} -j ${iF.target}`);
    }
    for (const ip of svc.externalIPs) {
      if (plan.hasEndpoints) dispatch.push(`-A ${KUBE_SERVICES} -m comment --comment ${q(`${S} external IP`)} ${mp} -d ${ip} --dport ${port} -j ${externalChain}`);
      if (eF) filter.push(`-A ${KUBE_EXTERNAL_SERVICES} -m comment --comment ${q(`${S} ${eF.reason}`)} ${mp} -d ${ip} --dport ${port} -j ${eF.target}`);
    }
    for (const ip of svc.loadBalancerVIPs) {
      if (plan.hasEndpoints) dispatch.push(`-A ${KUBE_SERVICES} -m comment --comment ${q(`${S} loadbalancer IP`)} ${mp} -d ${ip} --dport ${port} -j ${lbChain}`);
      if (plan.usesFirewall) {
        filter.push(`-A ${KUBE_PROXY_FIREWALL} -m comment --comment ${q(`${S} traffic not accepted by ${names.fw}`)} ${mp} -d ${ip} --dport ${port} -j DROP`);
      }
    }
    if (eF) {
      for (const ip of svc.loadBalancerVIPs) {
        filter.push(`-A ${KUBE_EXTERNAL_SERVICES} -m comment --comment ${q(`${S} ${eF.reason}`)} ${mp} -d ${ip} --dport ${port} -j ${eF.target}`);
      }
    }
    if (svc.nodePort !== 0) {
      if (plan.hasEndpoints) {
        // NodePorts are not subject to loadBalancerSourceRanges, for better or worse.
        if (this.localhostNodePorts && s.ipFamily === 'IPv4' && s.nfacct) {
          dispatch.push(`-A ${KUBE_NODEPORTS} -m comment --comment ${S} ${mp} -d 127.0.0.0/8 --dport ${svc.nodePort} -m nfacct --nfacct-name ${LOCALHOST_NODEPORT_ACCEPTED_COUNTER} -j ${externalChain}`);
        }
        dispatch.push(`-A ${KUBE_NODEPORTS} -m comment --comment ${S} ${mp} --dport ${svc.nodePort} -j ${externalChain}`);
      }
      if (eF) {
        filter.push(`-A ${KUBE_EXTERNAL_SERVICES} -m comment --comment ${q(`${S} ${eF.reason}`)} -m addrtype --dst-type LOCAL ${mp} --dport ${svc.nodePort} -j ${eF.target}`);
      }
    }
    if (svc.healthCheckNodePort !== 0) {
      // Accepted whether or not this node has local endpoints: the load balancer must be able to ask.
      filter.push(`-A ${KUBE_NODEPORTS} -m comment --comment ${q(`${S} health check node port`)} -m tcp -p tcp --dport ${svc.healthCheckNodePort} -j ACCEPT`);
    }

    if (plan.hasInternalEndpoints) {
      const args = `-m comment --comment ${q(`${S} cluster IP`)} ${mp} -d ${svc.clusterIP} --dport ${port}`;
      if (s.masqueradeAll) rules.push(`-A ${internalChain} ${args} -j ${KUBE_MARK_MASQ}`);
      // Off-cluster traffic to a ClusterIP (a static route to the service range) may bounce off-node.
      else if (s.localDetector.implemented) rules.push(`-A ${internalChain} ${args} ${s.localDetector.ifNotLocal.join(' ')} -j ${KUBE_MARK_MASQ}`);
    }

    if (plan.usesExternal) {
      chains.push(chainLine(externalChain));
      active.push(externalChain);
      if (plan.externalPolicy === 'cluster') {
        rules.push(`-A ${externalChain} -m comment --comment ${q(`masquerade traffic for ${S} external destinations`)} -j ${KUBE_MARK_MASQ}`);
      } else {
        // Pods reaching an external destination are treated as if they went out to the LB and came back.
        if (s.localDetector.implemented) {
          rules.push(`-A ${externalChain} -m comment --comment ${q(`pod traffic for ${S} external destinations`)} ${s.localDetector.ifLocal.join(' ')} -j ${clusterPolicyChain}`);
        }
        rules.push(`-A ${externalChain} -m comment --comment ${q(`masquerade LOCAL traffic for ${S} external destinations`)} -m addrtype --src-type LOCAL -j ${KUBE_MARK_MASQ}`);
        rules.push(`-A ${externalChain} -m comment --comment ${q(`route LOCAL traffic for ${S} external destinations`)} -m addrtype --src-type LOCAL -j ${clusterPolicyChain}`);
      }
      if (plan.hasExternalEndpoints) rules.push(`-A ${externalChain} -j ${externalPolicyChain}`);
    }

    if (plan.usesFirewall) {
      chains.push(chainLine(names.fw));
      active.push(names.fw);
      const args = `-A ${names.fw} -m comment --comment ${q(`${S} loadbalancer IP`)}`;
      for (const cidr of svc.loadBalancerSourceRanges) rules.push(`${args} -s ${cidr} -j ${externalChain}`);
      // A VIP-like LB's IP is often local: the node reaching it loops back with the VIP as source.
      if (plan.firewallAllowsNode) for (const ip of svc.loadBalancerVIPs) rules.push(`${args} -s ${ip} -j ${externalChain}`);
      // Falls through un-DNATed; KUBE-PROXY-FIREWALL then drops it.
      rules.push(`-A ${names.fw} -m comment --comment ${q(`other traffic to ${S} will be dropped by KUBE-PROXY-FIREWALL`)}`);
    }

    if (plan.usesClusterPolicy) {
      chains.push(chainLine(clusterPolicyChain));
      active.push(clusterPolicyChain);
      this.writeServiceToEndpointRules(rules, svc, clusterPolicyChain, plan.clusterEndpoints, largeClusterMode);
    }
    if (plan.usesLocalPolicy) {
      chains.push(chainLine(localPolicyChain));
      active.push(localPolicyChain);
      this.writeServiceToEndpointRules(rules, svc, localPolicyChain, plan.localEndpoints, largeClusterMode);
    }

    // Names of endpoints long gone are dropped once they outnumber the live ones.
    const known = this.sepNames.get(svc.key);
    if (known && known.size > 2 * plan.allReachableEndpoints.length + 16) {
      const live = new Set(plan.allReachableEndpoints.map((ep) => ep.str));
      for (const k of known.keys()) if (!live.has(k)) known.delete(k);
    }
    for (const ep of plan.allReachableEndpoints) {
      const sep = this.sepOf(svc, ep);
      chains.push(chainLine(sep));
      active.push(sep);
      const head = largeClusterMode ? `-A ${sep}` : `-A ${sep} -m comment --comment ${S}`;
      // Hairpin: an endpoint reaching its own service must be masqueraded or its reply skips the DNAT.
      rules.push(`${head} -s ${ep.ip} -j ${KUBE_MARK_MASQ}`);
      const affinity = svc.sessionAffinityClientIP ? ` -m recent --name ${sep} --set` : '';
      rules.push(`${head}${affinity} ${mp} -j DNAT --to-destination ${ep.str}`);
    }
    return { filterRules: lines(filter), natDispatch: lines(dispatch), natChains: lines(chains), natRules: lines(rules), chains: active, largeClusterMode };
  }

  private writeServiceToEndpointRules(rules: string[], svc: ServicePortInfo, chain: string, endpoints: readonly EndpointInfo[], largeClusterMode: boolean): void {
    const S = svc.nameString;
    const head = (ep: EndpointInfo) => (largeClusterMode ? `-A ${chain}` : `-A ${chain} -m comment --comment ${q(`${S} -> ${ep.str}`)}`);
    if (svc.sessionAffinityClientIP) {
      for (const ep of endpoints) {
        const sep = this.sepOf(svc, ep);
        rules.push(`${head(ep)} -m recent --name ${sep} --rcheck --seconds ${svc.stickyMaxAgeSeconds} --reap -j ${sep}`);
      }
    }
    const n = endpoints.length;
    endpoints.forEach((ep, i) => {
      const sep = this.sepOf(svc, ep);
      // First match wins: endpoint i of n gets 1/(n-i), so each ends up with 1/n; the last is unconditional.
      const stat = i < n - 1 ? ` -m statistic --mode random --probability ${this.probability(n - i)}` : '';
      rules.push(`${head(ep)}${stat} -j ${sep}`);
    });
  }
}

interface Chunk {
  keys: string[];
  filter?: string;
  dispatch?: string;
}

const CHUNK = 128;

function chunked(keys: string[]): Chunk[] {
  const out: Chunk[] = [];
  for (let i = 0; i < keys.length; i += CHUNK) out.push({ keys: keys.slice(i, i + CHUNK) });
  return out;
}

/** fmt.Sprintf("%0.10f", 1.0/float64(n)): the statistic match's probability for 1 of n. */
export function computeProbability(n: number): string {
  return (1 / n).toFixed(10);
}

function chainLine(chain: string): string {
  return `:${chain} - [0:0]`;
}

function lines(ls: readonly string[]): string {
  return ls.length ? `${ls.join('\n')}\n` : '';
}

/**
 * The mark in the form upstream's tests expect ("0x4000" for bit 14). kube-proxy itself formats it with
 * %#08x ("0x00004000"); both load as the same mark, and the tests are this module's specification.
 */
export function masqueradeMarkFor(bit: number): string {
  return `0x${(2 ** bit).toString(16)}`;
}
