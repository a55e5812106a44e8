// The cluster's network as the nodes' kubelets, CNI plugins and flanneld build it: a host namespace per node
// (lo, eth0 on the underlay, cni0, flannel.1) and a namespace per running pod (lo, eth0), wired by the chain in
// 10-flannel.conflist. It follows the store: a pod started or deleted, a node added, changes it at once.
import type { Cluster } from '../cluster/cluster.ts';
import type { KubeObject, Node, Pod } from '../cluster/objects.ts';
import { fnv32a, fnv32aContinue } from '../cluster/names.ts';
import { isCidr, nthAddress, parseCIDR, parseIP, type Cidr } from '../cluster/net.ts';
import { internalIPs } from '../cluster/controllers/nodes.ts';
import { macFor } from '../netns/mac.ts';
import { macOfLinkLocal, Netns, networkOf } from '../netns/netns.ts';
import { bridgeAddContainer, bridgeAddHost, bridgeDel, type BridgeConf, type VethEnd } from '../cni/bridge.ts';
import { cacheAttachment, newNodeCniState, type NodeCniState } from '../cni/libcni.ts';
import type { NetworkConfigList, PluginConf } from '../cni/types.ts';
import { clusterConflist } from '../cni/conflist.ts';
import { netConfProblems } from '../cni/netconf.ts';
import { hasErrors } from '../cluster/cluster.ts';
import { TopologyError } from '../cluster/problems.ts';
import { portmapAdd, portmapDel, portmapOptions, type PortMapEntry } from '../cni/portmap.ts';
import { VXLAN_PORT, flannelDelegate, hostGwPeer, peerDevice, programHostGw, programMasquerade, programVxlan, vtepMac, vxlanPeer, type Peer, type SubnetEnv } from '../cni/flannel.ts';
import { PeerTable } from '../netns/peers.ts';
import type { Fault } from '../cluster/config.ts';
import type { IPv4Packet } from '../netns/packet.ts';
import type { Result } from '../cni/types.ts';
import type { Fabric } from '../netns/forward.ts';
import type { Device } from '../netns/types.ts';
import { planPod } from './apps/select.ts';

/** The underlay every node's eth0 sits on: a /24 with its router at .1, 1500-byte MTU. */
const UNDERLAY_PREFIX = 24;
export const UNDERLAY_MTU = 1500;

type Owner = { netns: Netns; dev: Device };

export interface Sandbox {
  /** "namespace/name" */
  pod: string;
  node: string;
  /** The pod's namespace (set up when first asked for: see PodSandbox). */
  readonly netns: Netns;
  /** Its name (cni-<uuid>), known without setting it up. */
  readonly netnsName: string;
  /** The namespace if anything asked for it yet (what was never used holds no state: no sockets, no conntrack). */
  readonly loadedNetns: Netns | undefined;
  containerId: string;
  netnsPath: string;
  /** What CNI ADD returned. */
  result: Result;
}

/**
 * A pod's sandbox. Its namespace is made when first used (a trace, `kdp ip`, the runtime's sockets), by the
 * same steps in the same order as at ADD: lo, then the bridge plugin's container half (eth0 with the ifindex,
 * MAC and peer fixed at ADD), then the sockets the pod's plan opens. Every namespace of a pod network has this
 * one shape, and a cluster of 100,000 pods uses a few of them; what the host holds is built at ADD, eagerly.
 * The sockets come from the pod object ADD saw (its spec and annotations are replaced, never changed in place,
 * as planPod's cache also takes).
 */
class PodSandbox implements Sandbox {
  private ns?: Netns;
  private owned?: Owner;
  private shown?: string;

  constructor(
    readonly pod: string,
    readonly node: string,
    readonly netnsName: string,
    readonly containerId: string,
    readonly netnsPath: string,
    readonly result: Result,
    private readonly setup: { conf: BridgeConf; hostEnd: VethEnd; spec: Pod & KubeObject },
  ) {}

  get netns(): Netns {
    return (this.ns ??= this.create());
  }

  get loadedNetns(): Netns | undefined {
    return this.ns;
  }

  /** How traces name it: p/namespace/name. */
  get label(): string {
    return (this.shown ??= `p/${this.pod}`);
  }

  /** The pod's eth0 with its namespace, as the Fabric's owner index hands it out. */
  get owner(): Owner {
    return (this.owned ??= { netns: this.netns, dev: this.netns.device('eth0')! });
  }

  private create(): Netns {
    const { conf, hostEnd, spec: p } = this.setup;
    const netns = new Netns(this.netnsName, {}, true);
    netns.addDevice({ name: 'lo', kind: 'loopback', mtu: 65536, mac: '00:00:00:00:00:00', up: false });
    netns.addAddress('lo', '127.0.0.1', 8, 'host', false);
    netns.setUp('lo');
    bridgeAddContainer(conf, 'eth0', netns, POD_ETH0_INDEX, this.result, hostEnd);
    // TCP: what each container's app listens on (its image and arguments decide, as ./apps/select.ts says; the
    // runtime's real listeners follow the same plan) and the kdp.dev/upstream relays. UDP: what is declared.
    const plan = planPod(p);
    for (const c of plan.containers) {
      for (const port of c.fails ? [] : c.ports) netns.listeners.push({ protocol: 'tcp', address: '0.0.0.0', port, owner: c.container });
    }
    for (const port of plan.upstreams.keys()) {
      if (!netns.listeners.some((l) => l.protocol === 'tcp' && l.port === port)) netns.listeners.push({ protocol: 'tcp', address: '0.0.0.0', port, owner: 'kdp.dev/upstream' });
    }
    for (const c of p.spec?.containers ?? []) {
      for (const port of c.ports ?? []) {
        if (port.protocol === 'UDP') netns.listeners.push({ protocol: 'udp', address: '0.0.0.0', port: port.containerPort, owner: c.name });
      }
    }
    return netns;
  }
}

/** A fresh sandbox holds lo (ifindex 1): the CNI's eth0 is the second device. */
const POD_ETH0_INDEX = 2;


const HEX_DIGITS = Array.from('0123456789abcdef', (c) => c.charCodeAt(0));
const DASH = '-'.charCodeAt(0);
/** The words' suffixes ('0', '1', ...): made once, not per pod. */
const WORD_SUFFIX = Array.from({ length: 8 }, (_, i) => String(i));

/**
 * n hex digits derived from kind + uid: FNV-32a of `${kind}${uid}#0`, `...#1`, ..., the shared prefix hashed
 * once (FNV is a running state), after `lead` and with a dash before each digit at `dashes`. Written as
 * character codes and made one flat string: every pod keeps two, and a string built by += or joined from
 * slices is a tree of pieces the garbage collector walks for as long as the pod lives.
 */
function hexId(lead: string, kind: number, uid: string, n: number, dashes: readonly number[] = []): string {
  const prefix = fnv32aContinue(fnv32aContinue(kind, uid), '#');
  const codes: number[] = [];
  for (let i = 0; i < lead.length; i++) codes.push(lead.charCodeAt(i));
  let word = 0;
  for (let i = 0; i < n; i++) {
    if (i % 8 === 0) word = fnv32aContinue(prefix, WORD_SUFFIX[i / 8]);
    if (dashes.includes(i)) codes.push(DASH);
    codes.push(HEX_DIGITS[(word >>> (28 - 4 * (i % 8))) & 15]);
  }
  return String.fromCharCode.apply(null, codes);
}

const SANDBOX_SEED = fnv32a('sandbox/');
const NETNS_SEED = fnv32a('netns/');
const UUID_DASHES = [8, 12, 16, 20];

/** Whether a registered kernel is this namespace (a sandbox's only once it was made). */
const holds = (e: { kernel: Netns } | PodSandbox, ns: Netns) => (e instanceof PodSandbox ? e.loadedNetns === ns : e.kernel === ns);

/** The Result's addresses of a pod's eth0 (its link-local one is found by its MAC: see podByLinkLocal). */
function podEth0Addresses(result: Result): string[] {
  return (result.ips ?? []).map((ip) => ip.address.slice(0, ip.address.indexOf('/')));
}

/** kubelet's own listener on every node (its API, for logs and exec). */
const KUBELET_PORT = 10250;

export class ClusterNetwork implements Fabric {
  readonly hosts = new Map<string, Netns>();
  readonly sandboxes = new Map<string, Sandbox>();
  /** Every namespace by name, with how traces name it and the node whose kernel it is. */
  private readonly byName = new Map<string, { kernel: Netns; label: string; node: string } | PodSandbox>();
  /** The nodes' eth0, by address and by MAC. */
  private readonly underlayByIP = new Map<string, Owner>();
  private readonly underlayByMac = new Map<string, Owner>();
  /** Pods' eth0 and the nodes' bridges, by address and by MAC (two maps: no key strings made per lookup). */
  private readonly ownerByIP = new Map<string, Owner | PodSandbox>();
  private readonly ownerByMac = new Map<string, Owner | PodSandbox>();
  /** Per node, the bridge configuration flannel's CNI plugin hands the bridge plugin (the same for every pod there). */
  private readonly bridgeConfs = new Map<string, BridgeConf>();
  private readonly leases = new Map<string, Cidr>();
  private readonly cniStates = new Map<string, NodeCniState>();
  /** flanneld's per-peer entries, which every node's kernel holds alike: one table for the cluster. */
  private readonly overlay: PeerTable;

  /** The nodes' conflist (kube-flannel-cfg's cni-conf.json, else kube-flannel.yml's), and its portmap plugin. */
  readonly conflist: NetworkConfigList;
  private readonly portmap: PluginConf | undefined;

  constructor(private readonly cluster: Cluster) {
    const conflist = clusterConflist(cluster);
    // As kubelet with a conflist the runtime cannot load: no pod gets a network; as flanneld that cannot start.
    const problems = [...conflist.problems, ...netConfProblems(cluster)];
    if (hasErrors(problems)) throw new TopologyError(problems.filter((p) => p.severity === 'error'));
    this.conflist = conflist.list;
    // libcni hands portMappings only to a plugin that declares the capability; without one, hostPorts do nothing.
    this.portmap = conflist.list.plugins.find((x) => x.type === 'portmap' && (x.capabilities as Record<string, boolean> | undefined)?.portMappings);
    this.overlay = new PeerTable(peerDevice(cluster.config.overlay));
    for (const n of cluster.store.list<Node & KubeObject>('Node')) this.addNode(n);
    this.programOverlay();
    for (const p of cluster.store.list<Pod & KubeObject>('Pod')) this.syncPod(p);
    cluster.store.watch({ kind: 'Node' }, (e) => {
      const n = e.object as Node & KubeObject;
      this.bridgeConfs.delete(n.metadata.name);
      if (e.type === 'DELETED') {
        this.byName.delete(n.metadata.name);
        this.hosts.delete(n.metadata.name);
      }
      else if (!this.hosts.has(n.metadata.name) || !this.leases.has(n.metadata.name)) this.addNode(n);
      this.programOverlay();
    });
    cluster.store.watch({ kind: 'Pod' }, (e) => {
      const p = e.object as Pod & KubeObject;
      if (e.type === 'DELETED') this.removePod(`${p.metadata.namespace}/${p.metadata.name}`);
      else this.syncPod(p);
    });
  }

  // --- the Fabric the forwarding engine walks ----------------------------------------------------

  netns(name: string): Netns | undefined {
    const e = this.byName.get(name);
    return e instanceof PodSandbox ? e.netns : e?.kernel;
  }

  label(ns: Netns): string {
    const e = this.byName.get(ns.name);
    return e && holds(e, ns) ? e.label : ns.name;
  }

  nodeOf(ns: Netns): string {
    const e = this.byName.get(ns.name);
    return e && holds(e, ns) ? e.node : '';
  }

  underlayFilter(from: Netns, to: Netns, p: IPv4Packet): string | undefined {
    if (p.protocol !== 'udp' || p.dport !== VXLAN_PORT) return undefined;
    const a = this.nodeOf(from);
    const b = this.nodeOf(to);
    const blocked = this.cluster.config.faults.some((f) => f.type === 'vxlan-blocked' && f.between.includes(a) && f.between.includes(b));
    return blocked ? `UDP ${VXLAN_PORT} is blocked between ${a} and ${b} (fault: vxlan-blocked)` : undefined;
  }

  /** The faults of the topology that concern one node. */
  private faultsOf(node: string): Fault[] {
    return this.cluster.config.faults.filter((f) => 'node' in f && f.node === node);
  }

  owner(by: { ip: string } | { mac: string }): Owner | undefined {
    const o = 'ip' in by ? this.ownerByIP.get(by.ip) ?? this.podByLinkLocal(by.ip) : this.ownerByMac.get(by.mac);
    return (o instanceof PodSandbox ? o.owner : o) ?? this.underlayHost(by);
  }

  /** A pod's eth0 by its link-local address, which is its MAC's EUI-64: found by the MAC, not kept as a key per pod. */
  private podByLinkLocal(ip: string): PodSandbox | undefined {
    const mac = macOfLinkLocal(ip);
    const o = mac && this.ownerByMac.get(mac);
    return o instanceof PodSandbox ? o : undefined;
  }

  private indexOwner(netns: Netns, dev: Device): void {
    const owner = { netns, dev };
    this.ownerByMac.set(dev.mac, owner);
    for (const a of netns.addressesOf(dev.name)) this.ownerByIP.set(a.ip, owner);
  }

  underlayHost(by: { ip: string } | { mac: string }): Owner | undefined {
    return 'ip' in by ? this.underlayByIP.get(by.ip) : this.underlayByMac.get(by.mac);
  }


  /** The namespaces a node's `ip` shows by name: its pods' sandboxes. */
  namedNamespaces(): Set<string> {
    return new Set([...this.sandboxes.values()].map((s) => s.netnsName));
  }

  host(node: string): Netns | undefined {
    return this.hosts.get(node);
  }

  pod(namespace: string, name: string): Sandbox | undefined {
    return this.sandboxes.get(`${namespace}/${name}`);
  }

  /** What a CNI runtime finds on a node: its host namespace, flanneld's subnet.env, /var/lib/cni. */
  cniNode(node: string): { host: Netns; subnetEnv: SubnetEnv | undefined; state: NodeCniState } | undefined {
    const host = this.hosts.get(node);
    if (!host) return undefined;
    let state = this.cniStates.get(node);
    if (!state) this.cniStates.set(node, (state = newNodeCniState()));
    return { host, subnetEnv: this.subnetEnv(node), state };
  }

  /** A pod's attachment as libcni and flannel left it on disk: the cached result and flannel's saved delegate. */
  adoptAttachment(list: NetworkConfigList, s: Sandbox): void {
    const node = this.cniNode(s.node);
    const conf = this.bridgeConf(s.node);
    if (!node || !conf) return;
    cacheAttachment(node.state, list, { containerId: s.containerId, ifName: 'eth0' }, s.result);
    node.state.flannelScratch.set(s.containerId, conf);
  }

  private addNode(n: Node & KubeObject): void {
    const name = n.metadata.name;
    const ip = internalIPs(n).find((a) => parseIP(a)?.family === 'IPv4');
    if (!this.hosts.has(name)) {
      const host = new Netns(name, { ipForward: true, bridgeNfCallIptables: true });
      host.addDevice({ name: 'lo', kind: 'loopback', mtu: 65536, mac: '00:00:00:00:00:00', up: false });
      host.addAddress('lo', '127.0.0.1', 8, 'host', false);
      host.setUp('lo');
      host.addDevice({ name: 'eth0', kind: 'ether', mtu: this.underlayMtu(name), mac: macFor(`${name}/eth0`), up: false });
      for (const f of this.faultsOf(name)) {
        if (f.type === 'bridge-nf-call-iptables-off') {
          host.sysctls.bridgeNfCallIptables = false;
          host.faults.set('bridge-nf-call-iptables', f.type);
        } else if (f.type === 'forward-policy-drop') {
          host.netfilter.iptables.setPolicy('filter', 'FORWARD', 'DROP');
          host.faults.set('forward-policy', f.type);
        } else if (f.type === 'node-down') {
          host.down = true;
          host.faults.set('down', f.type);
        } else if (f.type === 'mtu-mismatch') {
          host.faults.set('mtu', f.type);
        } else if (f.type === 'hairpin-off') {
          host.faults.set('hairpin', f.type);
        }
      }
      if (ip) {
        host.addAddress('eth0', ip, UNDERLAY_PREFIX);
        host.setUp('eth0');
        const router = nthAddress(networkOf(ip, UNDERLAY_PREFIX), 1n);
        if (router !== ip) host.addRoute({ via: router, dev: 'eth0' });
      } else {
        host.setUp('eth0');
      }
      host.listeners.push({ protocol: 'tcp', address: '0.0.0.0', port: KUBELET_PORT, owner: 'kubelet' });
      const eth0 = { netns: host, dev: host.device('eth0')! };
      this.underlayByMac.set(eth0.dev.mac, eth0);
      if (ip) this.underlayByIP.set(ip, eth0);
      this.hosts.set(name, host);
      this.byName.set(name, { kernel: host, label: `node/${name}`, node: name });
    }
    const cidr = n.spec?.podCIDRs?.[0] ?? n.spec?.podCIDR;
    const lease = cidr ? parseCIDR(cidr, false) : undefined;
    if (lease && isCidr(lease)) this.leases.set(name, lease);
  }

  private peers(): Peer[] {
    const out: Peer[] = [];
    for (const [node, lease] of this.leases) {
      const n = this.cluster.store.get<Node & KubeObject>('Node', undefined, node);
      const ip = n && internalIPs(n).find((a) => parseIP(a)?.family === 'IPv4');
      if (ip) out.push({ node, ip, lease, vtepMac: vtepMac(node) });
    }
    return out;
  }

  /**
   * flanneld on every node, programmed for every peer (idempotent: entries are replaced, not repeated). A peer
   * that left takes its ARP entry, FDB entry and route with it, as flanneld's handling of a removed lease does.
   */
  private programOverlay(): void {
    const peers = this.peers();
    const vxlan = this.cluster.config.overlay === 'vxlan';
    const current = new Set(peers.map((p) => p.node));
    for (const node of [...this.overlay.peers()]) if (!current.has(node)) this.overlay.delete(node);
    for (const p of peers) this.overlay.set(p.node, vxlan ? vxlanPeer(p) : hostGwPeer(p));
    for (const p of peers) {
      const host = this.hosts.get(p.node)!;
      if (vxlan) programVxlan(host, { node: p.node, ip: p.ip, lease: p.lease, underlayMtu: this.underlayMtu(p.node) }, this.overlay);
      else programHostGw(host, { node: p.node }, this.overlay);
      const network = this.cluster.config.podCIDRs.find((c) => c.family === p.lease.family);
      if (network) programMasquerade(host, network, p.lease);
    }
  }

  /** The node's NIC MTU: the underlay's, unless a fault gave this node another. */
  private underlayMtu(node: string): number {
    const f = this.faultsOf(node).find((x) => x.type === 'mtu-mismatch');
    return f && f.type === 'mtu-mismatch' ? f.mtu : UNDERLAY_MTU;
  }

  private subnetEnv(node: string): SubnetEnv | undefined {
    const lease = this.leases.get(node);
    if (!lease) return undefined;
    // flanneld derives the pods' MTU from its node's NIC.
    const mtu = this.underlayMtu(node);
    return { network: this.cluster.config.podCIDRs[0], lease, mtu: this.cluster.config.overlay === 'vxlan' ? mtu - 50 : mtu, ipMasq: true };
  }

  /** flannel's delegate for the node, with kubelet's --hairpin-mode=none there leaving the bridge ports without hairpin. */
  private bridgeConf(node: string): BridgeConf | undefined {
    let conf = this.bridgeConfs.get(node);
    if (conf) return conf;
    const env = this.subnetEnv(node);
    if (!env) return undefined;
    conf = flannelDelegate(this.conflist, env);
    if (this.faultsOf(node).some((f) => f.type === 'hairpin-off')) conf.hairpinMode = false;
    this.bridgeConfs.set(node, conf);
    return conf;
  }

  /** A running pod gets its sandbox (loopback, then the conflist's chain) once it has an IP. */
  private syncPod(p: Pod & KubeObject): void {
    const key = `${p.metadata.namespace}/${p.metadata.name}`;
    if (this.sandboxes.has(key) || p.spec?.hostNetwork || !p.status?.podIP || !p.spec?.nodeName) return;
    const host = this.hosts.get(p.spec.nodeName);
    const conf = host && this.bridgeConf(p.spec.nodeName);
    if (!host || !conf) return;
    const containerId = hexId('', SANDBOX_SEED, String(p.metadata.uid), 64);
    // containerd names pod namespaces cni-<uuid>.
    const name = hexId('cni-', NETNS_SEED, String(p.metadata.uid), 32, UUID_DASHES);
    const netnsPath = `/var/run/netns/${name}`;
    const podIPs = p.status.podIPs;
    const ips = !podIPs ? p.status.podIP : podIPs.length === 1 && podIPs[0].ip ? podIPs[0].ip : podIPs.map((x) => x.ip).filter(Boolean).join(',');
    // The conflist as libcni runs it (src/cni/libcni.ts; equal results, tested): flannel's delegate to the
    // bridge plugin, then portmap with the hostPorts kubelet passes as the portMappings capability.
    const { result, hostEnd } = bridgeAddHost(conf, { containerId, netnsPath, ifName: 'eth0', args: { IP: ips } }, host, { netns: name, index: POD_ETH0_INDEX }, this.conflist.cniVersion);
    const mappings: PortMapEntry[] = [];
    for (const c of p.spec.containers ?? []) {
      for (const x of c.ports ?? []) {
        if (x.hostPort) mappings.push({ hostPort: x.hostPort, containerPort: x.containerPort, protocol: (x.protocol ?? 'TCP').toLowerCase(), hostIP: x.hostIP });
      }
    }
    if (mappings.length && this.portmap) {
      for (const ip of result.ips ?? []) portmapAdd(host, this.conflist.name, containerId, ip.address, mappings, portmapOptions(this.portmap));
    }
    const sandbox = new PodSandbox(key, p.spec.nodeName, name, containerId, netnsPath, result, { conf, hostEnd, spec: p });
    this.sandboxes.set(key, sandbox);
    this.byName.set(name, sandbox);
    this.ownerByMac.set(result.interfaces![2].mac, sandbox);
    for (const ip of podEth0Addresses(result)) this.ownerByIP.set(ip, sandbox);
    // The bridge is indexed once, when the first pod brings it (and its gateway address) to life.
    const cni0 = host.device('cni0')!;
    if (!this.ownerByMac.has(cni0.mac)) this.indexOwner(host, cni0);
  }

  private removePod(key: string): void {
    const s = this.sandboxes.get(key);
    if (!s) return;
    const host = this.hosts.get(s.node);
    this.ownerByMac.delete(s.result.interfaces![2].mac);
    for (const ip of podEth0Addresses(s.result)) this.ownerByIP.delete(ip);
    if (host && this.portmap) portmapDel(host, this.conflist.name, s.containerId);
    if (host) bridgeDel({ containerId: s.containerId, netnsPath: s.netnsPath, ifName: 'eth0', args: {} }, host, s.loadedNetns);
    this.sandboxes.delete(key);
    this.byName.delete(s.netnsName);
  }
}
