// kdp up: load the topology and keep the cluster running until Ctrl-C. Later releases attach DNS, the Ingress
// controller and NodePorts to it; today it serves the model and says how to look at it.
import type { Cluster } from '../../cluster/cluster.ts';
import type { IO } from '../io.ts';

export async function up(cluster: Cluster, files: string[], io: IO): Promise<number> {
  // Listen for Ctrl-C before saying it stops us, so an early one is not lost.
  const stopped = io.interrupted();
  const s = cluster.store;
  const c = cluster.config;
  const f = files.map((x) => ` -f ${x}`).join('');
  io.stdout([
    `kdp: cluster "${c.name}" is up: ${s.count('Node')} nodes, ${s.count('Pod')} pods, ${s.count('Service')} services`,
    `  pod CIDR ${c.podCIDRs.map((x) => x.text).join(',')}, service CIDR ${c.serviceCIDRs.map((x) => x.text).join(',')}, ` +
      `cluster domain ${c.clusterDomain}, DNS ${c.dnsClusterIP}, overlay ${c.overlay}, kube-proxy mode ${c.proxy.mode}`,
    '',
    'Look around:',
    `  kdp get nodes -o wide${f}`,
    `  kdp get pods -A -o wide${f}`,
    `  kdp get svc -A${f}`,
    `  kdp get endpointslices${f}`,
    '',
    'Press Ctrl-C to stop.',
    '',
  ].join('\n'));
  await stopped;
  io.stdout('kdp: stopped\n');
  return 0;
}
