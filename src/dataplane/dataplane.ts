// The data plane of a whole cluster, as one object: every node's and pod's kernel (the pod network, wired by
// CNI and flanneld) and kube-proxy on every node programming those kernels. Whatever decides a connection —
// a trace, the Ingress controller, a pod's resolver, curl from a pod — asks this one data plane.
import type { Cluster } from '../cluster/cluster.ts';
import { ClusterNetwork } from '../kubelet/network.ts';
import { NodeProxies } from '../proxy/program.ts';

export class DataPlane {
  readonly network: ClusterNetwork;
  readonly proxies: NodeProxies;

  constructor(readonly cluster: Cluster) {
    this.network = new ClusterNetwork(cluster);
    this.proxies = new NodeProxies(cluster, (node) => this.network.host(node));
    this.proxies.start();
  }

  /** Stops following the store (kube-proxy's watches); the kernels keep what they were given. */
  close(): void {
    this.proxies.stop();
  }
}
