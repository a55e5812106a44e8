// The cluster's network as the nodes' kubelets, CNI plugins and flanneld build it: a host namespace per node
// (lo, eth0 on the underlay, cni0, flannel.1) and a namespace per running pod (lo, eth0), wired by the chain in
// 10-flannel.conflist. It follows the store: a pod started or deleted, a node added, changes it at once.
import type { Cluster } from '../cluster/cluster.ts';
import type { KubeObject, Node, Pod } from '../cluster/objects.ts';
import { fnv32a } from '../cluster/names.ts';
import { isCidr, nthAddress, parseCIDR, parseIP, type Cidr } from '../cluster/net.ts';
import { internalIPs } from '../cluster/controllers/nodes.ts';
import { macFor } from '../netns/mac.ts';
import { Netns, networkOf } from '../netns/netns.ts';
import { bridgeAdd, bridgeDel } from '../cni/bridge.ts';
import { FLANNEL_CONFLIST, VXLAN_PORT, flannelDelegate, programHostGw, programVxlan, vtepMac, type Peer, type SubnetEnv } from '../cni/flannel.ts';
import type { Fault } from '../cluster/config.ts';
import type { IPv4Packet } from '../netns/packet.ts';
import type { Result } from '../cni/types.ts';
import type { Fabric } from '../netns/forward.ts';
import type { Device } from '../netns/types.ts';
import { planPod } from './apps/select.ts';

/** The underlay every node's eth0 sits on: a /24 with its router at .1, 1500-byte MTU. */
const UNDERLAY_PREFIX = 24;
export const UNDERLAY_MTU = 1500;

export interface Sandbox {
  /** "namespace/name" */
  pod: string;
  node: string;
  netns: Netns;
  containerId: string;
  netnsPath: string;
  /** What CNI ADD returned. */
  result: Result;
}

const hex = (s: string, n: number) => Array.from({ length: Math.ceil(n / 8) }, (_, i) => fnv32a(`${s}#${i}`).toString(16).padStart(8, '0')).join('').slice(0, n);

/** kubelet's own listener on every node (its API, for logs and exec). */
const KUBELET_PORT = 10250;

export class ClusterNetwork implements Fabric {
  readonly hosts = new Map<string, Netns>();
  readonly sandboxes = new Map<string, Sandbox>();
  private readonly byName = new Map<string, Netns>();
  private readonly underlayIndex = new Map<string, { netns: Netns; dev: Device }>();
  /** Pods' eth0 and the nodes' bridges, by address and by MAC. */
  private readonly ownerIndex = new Map<string, { netns: Netns; dev: Device }>();
  private readonly labels = new WeakMap<Netns, { label: string; node: string }>();
  private readonly leases = new Map<string, Cidr>();

  constructor(private readonly cluster: Cluster) {
    for (const n of cluster.store.list<Node & KubeObject>('Node')) this.addNode(n);
    this.programOverlay();
    for (const p of cluster.store.list<Pod & KubeObject>('Pod')) this.syncPod(p);
    cluster.store.watch({ kind: 'Node' }, (e) => {
      const n = e.object as Node & KubeObject;
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
    return this.byName.get(name);
  }

  label(ns: Netns): string {
    return this.labels.get(ns)?.label ?? ns.name;
  }

  nodeOf(ns: Netns): string {
    return this.labels.get(ns)?.node ?? '';
  }

  private register(ns: Netns, label: string, node: string): void {
    this.byName.set(ns.name, ns);
    this.labels.set(ns, { label, node });
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

  owner(by: { ip: string } | { mac: string }): { netns: Netns; dev: Device } | undefined {
    return this.ownerIndex.get('ip' in by ? `ip:${by.ip}` : `mac:${by.mac}`) ?? this.underlayHost(by);
  }

  private indexOwner(netns: Netns, dev: Device): void {
    this.ownerIndex.set(`mac:${dev.mac}`, { netns, dev });
    for (const a of netns.addressesOf(dev.name)) this.ownerIndex.set(`ip:${a.ip}`, { netns, dev });
  }

  underlayHost(by: { ip: string } | { mac: string }): { netns: Netns; dev: Device } | undefined {
    return this.underlayIndex.get('ip' in by ? `ip:${by.ip}` : `mac:${by.mac}`);
  }


  /** The namespaces a node's `ip` shows by name: its pods' sandboxes. */
  namedNamespaces(): Set<string> {
    return new Set([...this.sandboxes.values()].map((s) => s.netns.name));
  }

  host(node: string): Netns | undefined {
    return this.hosts.get(node);
  }

  pod(namespace: string, name: string): Sandbox | undefined {
    return this.sandboxes.get(`${namespace}/${name}`);
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
          host.policies.FORWARD = 'DROP';
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
      const eth0 = host.device('eth0')!;
      this.underlayIndex.set(`mac:${eth0.mac}`, { netns: host, dev: eth0 });
      if (ip) this.underlayIndex.set(`ip:${ip}`, { netns: host, dev: eth0 });
      this.hosts.set(name, host);
      this.register(host, `node/${name}`, name);
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

  /** flanneld on every node, programmed for every peer (idempotent: entries are replaced, not repeated). */
  private programOverlay(): void {
    const peers = this.peers();
    for (const p of peers) {
      const host = this.hosts.get(p.node)!;
      // A re-sync rewrites the overlay's routes from the current peers.
      const leaseTexts = new Set([...this.leases.values()].map((l) => l.text));
      host.removeRoutes((r) => r.table === 'main' && r.proto !== 'kernel' && !!r.dst && leaseTexts.has(r.dst.text));
      if (this.cluster.config.overlay === 'vxlan') programVxlan(host, { node: p.node, ip: p.ip, lease: p.lease, underlayMtu: this.underlayMtu(p.node) }, peers);
      else programHostGw(host, { node: p.node }, peers);
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

  /** A running pod gets its sandbox (loopback, then the conflist's chain) once it has an IP. */
  private syncPod(p: Pod & KubeObject): void {
    const key = `${p.metadata.namespace}/${p.metadata.name}`;
    if (this.sandboxes.has(key) || p.spec?.hostNetwork || !p.status?.podIP || !p.spec?.nodeName) return;
    const host = this.hosts.get(p.spec.nodeName);
    const env = this.subnetEnv(p.spec.nodeName);
    if (!host || !env) return;
    const containerId = hex(`sandbox/${p.metadata.uid}`, 64);
    // containerd names pod namespaces cni-<uuid>.
    const u = hex(`netns/${p.metadata.uid}`, 32);
    const netnsPath = `/var/run/netns/cni-${u.slice(0, 8)}-${u.slice(8, 12)}-${u.slice(12, 16)}-${u.slice(16, 20)}-${u.slice(20)}`;
    const netns = new Netns(netnsPath.slice('/var/run/netns/'.length), {}, true);
    netns.addDevice({ name: 'lo', kind: 'loopback', mtu: 65536, mac: '00:00:00:00:00:00', up: false });
    netns.addAddress('lo', '127.0.0.1', 8, 'host', false);
    netns.setUp('lo');
    const ips = (p.status.podIPs ?? [{ ip: p.status.podIP }]).map((x) => x.ip).filter(Boolean).join(',');
    const conf = flannelDelegate(FLANNEL_CONFLIST, env);
    // kubelet's --hairpin-mode=none on that node leaves the bridge ports without hairpin.
    if (this.faultsOf(p.spec.nodeName).some((f) => f.type === 'hairpin-off')) conf.hairpinMode = false;
    const result = bridgeAdd(conf, { containerId, netnsPath, ifName: 'eth0', args: { IP: ips } }, host, netns, FLANNEL_CONFLIST.cniVersion);
    // TCP: what each container's app listens on (its image and arguments decide, as ./apps/select.ts says; the
    // runtime's real listeners follow the same plan) and the kdp.dev/upstream relays. UDP: what is declared.
    const plan = planPod(p);
    for (const c of plan.containers) {
      for (const port of c.fails ? [] : c.ports) netns.listeners.push({ protocol: 'tcp', address: '0.0.0.0', port, owner: c.container });
    }
    for (const port of plan.upstreams.keys()) {
      if (!netns.listeners.some((l) => l.protocol === 'tcp' && l.port === port)) netns.listeners.push({ protocol: 'tcp', address: '0.0.0.0', port, owner: 'kdp.dev/upstream' });
    }
    for (const c of p.spec.containers ?? []) {
      for (const port of c.ports ?? []) {
        if (port.protocol === 'UDP') netns.listeners.push({ protocol: 'udp', address: '0.0.0.0', port: port.containerPort, owner: c.name });
      }
    }
    this.sandboxes.set(key, { pod: key, node: p.spec.nodeName, netns, containerId, netnsPath, result });
    this.register(netns, `p/${key}`, p.spec.nodeName);
    this.indexOwner(netns, netns.device('eth0')!);
    // The bridge is indexed once, when the first pod brings it (and its gateway address) to life.
    const cni0 = host.device('cni0')!;
    if (!this.ownerIndex.has(`mac:${cni0.mac}`)) this.indexOwner(host, cni0);
  }

  private removePod(key: string): void {
    const s = this.sandboxes.get(key);
    if (!s) return;
    const host = this.hosts.get(s.node);
    const eth0 = s.netns.device('eth0');
    if (eth0) {
      this.ownerIndex.delete(`mac:${eth0.mac}`);
      for (const a of s.netns.addressesOf('eth0')) this.ownerIndex.delete(`ip:${a.ip}`);
    }
    if (host) bridgeDel({ containerId: s.containerId, netnsPath: s.netnsPath, ifName: 'eth0', args: {} }, host, s.netns);
    this.sandboxes.delete(key);
    this.byName.delete(s.netns.name);
  }
}
