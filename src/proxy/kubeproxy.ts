// kube-proxy on one node: watches Services, EndpointSlices and its own Node in the store, keeps one
// iptables proxier per IP family up to date (change tracking: only what changed is re-synced), and hands
// each sync's restore text and jump rules to whoever programs the node's kernel.
import type { Store, WatchEvent } from '../cluster/store.ts';
import type { ClusterConfig } from '../cluster/config.ts';
import type { EndpointSlice, KubeObject, Node, Service } from '../cluster/objects.ts';
import { IPTablesProxier, masqueradeMarkFor, type IPTablesSettings, type SyncResult } from './iptables/proxier.ts';
import { nodeLocalDetector } from './localdetector.ts';
import { localAddresses, NodeFactError, nodeFacts, primaryNodeIP, type NodeFacts } from './node.ts';
import { servicePorts } from './serviceport.ts';
import { endpointsByServicePort, sliceService, SERVICE_NAME_LABEL } from './endpoints.ts';
import { ZONE_LABEL } from './topology.ts';
import type { Family } from './ip.ts';

export class KubeProxyError extends Error {}

/** The settings kube-proxy of `family` runs with on this node: the KubeProxyConfiguration plus node facts. */
export function iptablesSettings(config: ClusterConfig, facts: NodeFacts, family: Family): IPTablesSettings {
  const p = config.proxy;
  const nodeIP = primaryNodeIP(facts, family);
  return {
    ipFamily: family,
    nodeName: facts.name,
    nodeIP,
    nodeLabels: facts.labels,
    masqueradeMark: masqueradeMarkFor(p.masqueradeBit),
    masqueradeAll: p.masqueradeAll,
    // NewDualStackProxier never enables localhost NodePorts for IPv6.
    localhostNodePorts: family === 'IPv4' && p.localhostNodePorts,
    localDetector: nodeLocalDetector(family, p, facts.podCIDRs),
    nodePortAddresses: p.nodePortAddresses,
    localAddresses: localAddresses(facts),
    randomFully: facts.randomFully,
    nfacct: facts.nfacct,
    conntrackTCPBeLiberal: facts.conntrackTCPBeLiberal,
  };
}

/** The IP families kube-proxy runs for: those the cluster has Service CIDRs of. */
export function clusterFamilies(config: ClusterConfig): Family[] {
  return [...new Set(config.serviceCIDRs.map((c) => c.family))];
}

const nnOf = (o: KubeObject) => `${o.metadata.namespace ?? 'default'}/${o.metadata.name}`;

function slicesOf(store: Store, serviceNN: string): EndpointSlice[] {
  const [namespace, name] = serviceNN.split('/');
  return store.list<EndpointSlice & KubeObject>('EndpointSlice', { namespace }).filter((s) => s.metadata.labels?.[SERVICE_NAME_LABEL] === name && sliceService(s) === serviceNN);
}

function getNode(store: Store, nodeName: string): Node {
  const node = store.get<Node & KubeObject>('Node', undefined, nodeName);
  if (!node) throw new KubeProxyError(`node "${nodeName}" not found`);
  return node;
}

/** A proxier loaded with everything the store holds now (what kube-proxy has once its informers synced). */
export function proxierFromStore(store: Store, config: ClusterConfig, nodeName: string, family: Family): IPTablesProxier {
  const settings = iptablesSettings(config, nodeFacts(getNode(store, nodeName)), family);
  const proxier = new IPTablesProxier(settings);
  for (const svc of store.list<Service & KubeObject>('Service')) proxier.setService(nnOf(svc), servicePorts(svc, family));
  const byService = new Map<string, EndpointSlice[]>();
  for (const s of store.list<EndpointSlice & KubeObject>('EndpointSlice')) {
    const nn = sliceService(s);
    if (!nn) continue;
    let list = byService.get(nn);
    if (!list) byService.set(nn, (list = []));
    list.push(s);
  }
  for (const [nn, slices] of byService) proxier.setEndpoints(nn, endpointsByServicePort(slices, family, nodeName));
  return proxier;
}

export interface ProxySync extends SyncResult {
  family: Family;
}

export type SyncCallback = (node: string, result: ProxySync) => void;

/**
 * One node's kube-proxy. start() does the initial full sync; afterwards every store change that alters a
 * Service's ports or endpoints as this node sees them triggers a partial sync of that service alone.
 */
export class KubeProxy {
  private proxiers = new Map<Family, IPTablesProxier>();
  private stops: (() => void)[] = [];
  private nodePrint = '';
  private zone: string | undefined;

  constructor(
    private readonly store: Store,
    private readonly config: ClusterConfig,
    readonly nodeName: string,
    private readonly onSync: SyncCallback,
    /** A later Node update kube-proxy cannot use (a bad capability annotation): it keeps its rules and says so. */
    private readonly onError: (err: Error) => void = (err) => {
      throw err;
    },
  ) {}

  start(): void {
    if (this.config.proxy.mode !== 'iptables') throw new KubeProxyError(`kube-proxy mode "${this.config.proxy.mode}": only iptables mode is written by src/proxy/iptables`);
    this.rebuild();
    this.stops.push(
      this.store.watch({ kind: 'Service' }, (e) => this.onService(e as WatchEvent<Service & KubeObject>)),
      this.store.watch({ kind: 'EndpointSlice' }, (e) => this.onSlice(e as WatchEvent<EndpointSlice & KubeObject>)),
      this.store.watch({ kind: 'Node' }, (e) => this.onNode(e as WatchEvent<Node & KubeObject>)),
    );
  }

  stop(): void {
    for (const s of this.stops.splice(0)) s();
  }

  /** The node's rules were flushed behind kube-proxy's back (its canary chain vanished): rewrite everything. */
  forceFullSync(): void {
    for (const p of this.proxiers.values()) p.forceFullSync();
    this.syncAll();
  }

  /** The caller could not load the last sync of `family` into the kernel: the next one will be full. */
  restoreFailed(family: Family): void {
    this.proxiers.get(family)?.restoreFailed();
  }

  private rebuild(): void {
    const node = getNode(this.store, this.nodeName);
    const facts = nodeFacts(node);
    this.nodePrint = JSON.stringify({ ...facts, labels: undefined });
    this.zone = facts.labels[ZONE_LABEL];
    this.proxiers = new Map(clusterFamilies(this.config).map((f) => [f, proxierFromStore(this.store, this.config, this.nodeName, f)]));
    this.syncAll();
  }

  private syncAll(): void {
    for (const [family, p] of this.proxiers) this.onSync(this.nodeName, { family, ...p.sync() });
  }

  private syncChanged(changed: Family[]): void {
    for (const family of changed) this.onSync(this.nodeName, { family, ...this.proxiers.get(family)!.sync() });
  }

  private onService(e: WatchEvent<Service & KubeObject>): void {
    const nn = nnOf(e.object);
    const changed: Family[] = [];
    for (const [family, p] of this.proxiers) {
      if (p.setService(nn, e.type === 'DELETED' ? [] : servicePorts(e.object, family))) changed.push(family);
    }
    this.syncChanged(changed);
  }

  private onSlice(e: WatchEvent<EndpointSlice & KubeObject>): void {
    const nns = new Set([sliceService(e.object), e.old && sliceService(e.old)].filter((x): x is string => !!x));
    const changed = new Set<Family>();
    for (const nn of nns) {
      const slices = slicesOf(this.store, nn);
      for (const [family, p] of this.proxiers) {
        if (p.setEndpoints(nn, endpointsByServicePort(slices, family, this.nodeName))) changed.add(family);
      }
    }
    this.syncChanged([...changed]);
  }

  private onNode(e: WatchEvent<Node & KubeObject>): void {
    if (e.object.metadata.name !== this.nodeName || e.type === 'DELETED') return;
    let facts: NodeFacts;
    try {
      facts = nodeFacts(e.object);
    } catch (err) {
      if (err instanceof NodeFactError) return this.onError(err);
      throw err;
    }
    // New addresses or capabilities: kube-proxy would be restarted with them. A new zone is a topology change.
    if (JSON.stringify({ ...facts, labels: undefined }) !== this.nodePrint || facts.labels[ZONE_LABEL] !== this.zone) this.rebuild();
  }
}

/** What `kdp rules` prints: a full sync of the node's rules for one family, as the store holds them now. */
export function iptablesRules(store: Store, config: ClusterConfig, nodeName: string, family: Family): ProxySync {
  if (config.proxy.mode !== 'iptables') throw new KubeProxyError(`this topology's kube-proxy runs in ${config.proxy.mode} mode, not iptables mode`);
  if (!clusterFamilies(config).includes(family)) throw new KubeProxyError(`the cluster has no ${family} Service CIDR (serviceCIDR ${config.serviceCIDRs.map((c) => c.text).join(',')})`);
  return { family, ...proxierFromStore(store, config, nodeName, family).sync() };
}
