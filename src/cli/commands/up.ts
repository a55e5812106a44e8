// kdp up: load the topology and keep the cluster running until Ctrl-C, with the Ingress controller serving it.
// Later releases attach DNS and NodePorts too.
import type { Cluster } from '../../cluster/cluster.ts';
import type { KubeObject, Pod } from '../../cluster/objects.ts';
import type { IO } from '../io.ts';
import { IngressController } from '../../ingress/controller.ts';
import { StoreDialer, TargetRegistry } from '../../ingress/dialer.ts';
import { curlExamples } from '../../ingress/examples.ts';

export interface UpOptions {
  /** The Ingress controller's ports; 0 picks a free one. */
  httpPort: number;
  httpsPort: number;
}

/** The Ingress controller, started on the given ports; undefined (with the reason printed) if a port is taken. */
async function startIngress(cluster: Cluster, opts: UpOptions, targets: TargetRegistry, io: IO): Promise<{ ctl: IngressController; stop(): Promise<void> } | undefined> {
  const dialer = new StoreDialer(cluster.store, targets);
  const ctl = new IngressController({
    store: cluster.store,
    dialer,
    httpPort: opts.httpPort,
    httpsPort: opts.httpsPort,
    accessLog: (line) => io.stdout(line + '\n'),
    log: (line) => io.stderr(`ingress: ${line}\n`),
  });
  const stop = async () => {
    await ctl.stop();
    dialer.close();
  };
  try {
    await ctl.start();
    return { ctl, stop };
  } catch (e) {
    await stop();
    io.stderr(`error: the Ingress controller cannot listen on 127.0.0.1 (--http-port ${opts.httpPort}, --https-port ${opts.httpsPort}): ${(e as Error).message}\n`);
    return undefined;
  }
}

/** A flow worth tracing: from the user's first pod to a port another pod declares, on another node if any. */
function traceExample(cluster: Cluster): { from: string; to: string } | undefined {
  const pods = cluster.store.list<Pod & KubeObject>('Pod').filter((p) => p.status?.podIP && !p.spec?.hostNetwork);
  // The user's own workloads first, then the system's.
  const ordered = [...pods.filter((p) => p.metadata.namespace !== 'kube-system'), ...pods.filter((p) => p.metadata.namespace === 'kube-system')];
  const from = ordered[0];
  if (!from) return undefined;
  const tcpPort = (p: Pod) => p.spec?.containers?.flatMap((c) => c.ports ?? []).find((x) => (x.protocol ?? 'TCP') === 'TCP')?.containerPort;
  const candidates = ordered.filter((p) => p !== from && tcpPort(p));
  const to = candidates.find((p) => p.spec?.nodeName !== from.spec?.nodeName) ?? candidates[0];
  return to ? { from: `${from.metadata.namespace}/${from.metadata.name}`, to: `${to.status!.podIP}:${tcpPort(to)}` } : undefined;
}

export async function up(cluster: Cluster, files: string[], io: IO, opts: UpOptions = { httpPort: 0, httpsPort: 0 }): Promise<number> {
  // Listen for Ctrl-C before saying it stops us, so an early one is not lost.
  const stopped = io.interrupted();
  // The real listeners behind pod endpoints register here (podIP:port -> loopback port).
  const targets = new TargetRegistry();
  const ingress = await startIngress(cluster, opts, targets, io);
  if (!ingress) return 1;
  const curls = curlExamples(ingress.ctl.routingTable, '127.0.0.1', { http: ingress.ctl.httpPort, https: ingress.ctl.httpsPort });
  const s = cluster.store;
  const c = cluster.config;
  const firstNode = s.list('Node')[0]?.metadata.name ?? 'NODE';
  const example = traceExample(cluster);
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
    `  kdp ip --node ${firstNode} route${f}`,
    ...(example ? [`  kdp trace --from ${example.from} --to ${example.to}${f}`] : []),
    '',
    `Ingress controller on http://127.0.0.1:${ingress.ctl.httpPort} and https://127.0.0.1:${ingress.ctl.httpsPort}:`,
    ...(curls.length ? curls.map((x) => `  ${x}`) : ['  (no Ingress rules yet)']),
    '',
    'Press Ctrl-C to stop.',
    '',
  ].join('\n'));
  await stopped;
  await ingress.stop();
  io.stdout('kdp: stopped\n');
  return 0;
}
