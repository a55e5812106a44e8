// kube-proxy on every node, programming that node's kernel, in the topology's mode.
// iptables mode: each sync's jumps are ensured in the built-in chains (EnsureChain, EnsureRule) and its restore
// text is loaded with `iptables-restore --noflush --counters`, in that order, as syncProxyRules does.
// IPVS mode: the proxier programs the node's own IPVS table, ipsets and kube-ipvs0, then links its chains
// (createAndLinkKubeChain) and loads the iptables rules IPVS mode keeps with `iptables-restore --noflush`.
// A restore the kernel refuses makes the next sync full (iptables mode) and is reported either way.
import type { Cluster } from '../cluster/cluster.ts';
import type { KubeObject, Node } from '../cluster/objects.ts';
import type { Netns } from '../netns/netns.ts';
import { NetfilterError } from '../netns/netfilter/errors.ts';
import { tokenize } from '../netns/netfilter/tokenize.ts';
import { KubeProxy, clusterFamilies, type ProxySync } from './kubeproxy.ts';
import { IpvsProxier } from './ipvs/controller.ts';
import type { IpvsProxyState } from './ipvs/proxier.ts';

/** The kernel kube-proxy programs on its node: that node's host namespace. */
export type HostOf = (node: string) => Netns | undefined;

/** What runs on one node: one KubeProxy (iptables mode), or one IpvsProxier per IP family. */
interface NodeAgent {
  stop(): void;
}

export class NodeProxies {
  private readonly proxies = new Map<string, NodeAgent>();
  private stopWatch?: () => void;
  /** The last restore each node's kernel refused, for `kdp` to report (a kube-proxy would log it). */
  readonly failures = new Map<string, string>();

  constructor(private readonly cluster: Cluster, private readonly hostOf: HostOf) {}

  /** Starts kube-proxy on every node, and on nodes that join later (iptables and IPVS modes). */
  start(): void {
    const mode = this.cluster.config.proxy.mode;
    if (mode !== 'iptables' && mode !== 'ipvs') return;
    const startOn = (node: string) => this.proxies.set(node, mode === 'ipvs' ? this.startIpvs(node) : this.startIptables(node));
    for (const n of this.cluster.store.list<Node & KubeObject>('Node')) startOn(n.metadata.name);
    this.stopWatch = this.cluster.store.watch({ kind: 'Node' }, (e) => {
      const name = e.object.metadata.name;
      if (e.type === 'DELETED') {
        this.proxies.get(name)?.stop();
        this.proxies.delete(name);
      } else if (!this.proxies.has(name)) {
        startOn(name);
      }
    });
  }

  stop(): void {
    this.stopWatch?.();
    for (const p of this.proxies.values()) p.stop();
    this.proxies.clear();
  }

  // --- iptables mode

  private startIptables(node: string): NodeAgent {
    const proxy = new KubeProxy(this.cluster.store, this.cluster.config, node, (n, sync) => this.loadIptables(proxy, n, sync));
    proxy.start();
    return proxy;
  }

  private loadIptables(proxy: KubeProxy, node: string, sync: ProxySync): void {
    const host = this.hostOf(node);
    if (!host) return;
    const ipt = sync.family === 'IPv4' ? host.netfilter.iptables : host.netfilter.ip6tables;
    try {
      for (const j of sync.jumps) {
        ipt.ensureChain(j.table, j.target);
        ipt.ensureRule(j.position, j.table, j.chain, j.args);
      }
      ipt.restore(sync.restoreText, { noflush: true, counters: true });
      this.failures.delete(node);
    } catch (e) {
      if (!(e instanceof NetfilterError)) throw e;
      this.failures.set(node, `${sync.family === 'IPv4' ? 'iptables' : 'ip6tables'}-restore: ${e.message}`);
      proxy.restoreFailed(sync.family);
    }
  }

  // --- IPVS mode

  /** One IpvsProxier per family, all programming the node's one IPVS table and one set of ipsets. */
  private startIpvs(node: string): NodeAgent {
    const host = this.hostOf(node);
    if (!host) return { stop: () => {} };
    const proxiers = clusterFamilies(this.cluster.config).map((family) => new IpvsProxier(this.cluster, node, {
      family, netns: host, now: () => host.netfilter.now(),
      kernel: { ipvs: host.ipvs, ipsets: host.ipsets },
      onSync: (state) => this.loadIpvsIptables(host, node, state),
    }));
    for (const p of proxiers) p.start();
    return { stop: () => proxiers.forEach((p) => p.stop()) };
  }

  /** createAndLinkKubeChain's jumps (EnsureChain, EnsureRule Prepend), then RestoreAll with NoFlushTables. */
  private loadIpvsIptables(host: Netns, node: string, state: IpvsProxyState): void {
    const ipt = state.family === 'IPv4' ? host.netfilter.iptables : host.netfilter.ip6tables;
    try {
      for (const j of state.jumpRules) {
        const args = tokenize(j.args);
        ipt.ensureChain(j.table, args[args.indexOf('-j') + 1]);
        ipt.ensureRule('prepend', j.table, j.chain, args);
      }
      ipt.restore(state.iptablesRestore, { noflush: true, counters: true });
      this.failures.delete(node);
    } catch (e) {
      if (!(e instanceof NetfilterError)) throw e;
      this.failures.set(node, `${state.family === 'IPv4' ? 'iptables' : 'ip6tables'}-restore: ${e.message}`);
    }
  }
}
