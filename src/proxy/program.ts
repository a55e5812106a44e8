// kube-proxy on every node, programming that node's kernel: each sync's jumps are ensured in the built-in
// chains (EnsureChain, EnsureRule) and its restore text is loaded with `iptables-restore --noflush
// --counters`, in that order, as syncProxyRules does. A restore the kernel refuses makes the next sync full.
import type { Cluster } from '../cluster/cluster.ts';
import type { KubeObject, Node } from '../cluster/objects.ts';
import type { Netns } from '../netns/netns.ts';
import { NetfilterError } from '../netns/netfilter/errors.ts';
import { KubeProxy, type ProxySync } from './kubeproxy.ts';

/** The kernel kube-proxy programs on its node: that node's host namespace. */
export type HostOf = (node: string) => Netns | undefined;

export class NodeProxies {
  private readonly proxies = new Map<string, KubeProxy>();
  private stopWatch?: () => void;
  /** The last restore each node's kernel refused, for `kdp` to report (a kube-proxy would log it). */
  readonly failures = new Map<string, string>();

  constructor(private readonly cluster: Cluster, private readonly hostOf: HostOf) {}

  /** Starts kube-proxy on every node, and on nodes that join later. iptables mode only. */
  start(): void {
    if (this.cluster.config.proxy.mode !== 'iptables') return;
    for (const n of this.cluster.store.list<Node & KubeObject>('Node')) this.startOn(n.metadata.name);
    this.stopWatch = this.cluster.store.watch({ kind: 'Node' }, (e) => {
      const name = e.object.metadata.name;
      if (e.type === 'DELETED') {
        this.proxies.get(name)?.stop();
        this.proxies.delete(name);
      } else if (!this.proxies.has(name)) {
        this.startOn(name);
      }
    });
  }

  stop(): void {
    this.stopWatch?.();
    for (const p of this.proxies.values()) p.stop();
    this.proxies.clear();
  }

  private startOn(node: string): void {
    const proxy = new KubeProxy(this.cluster.store, this.cluster.config, node, (n, sync) => this.load(proxy, n, sync));
    this.proxies.set(node, proxy);
    proxy.start();
  }

  private load(proxy: KubeProxy, node: string, sync: ProxySync): void {
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
}
