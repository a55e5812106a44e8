// kdp up: load the topology and keep the cluster running until Ctrl-C. One process runs the model, the data
// plane (every node's kernel, programmed by kube-proxy), the pods' real listeners, the cluster DNS and the
// Ingress controller (whose connections its worker processes serve, as nginx's workers do, each flow still
// decided here), and prints how to reach each.
import type { Cluster } from '../../cluster/cluster.ts';
import type { KubeObject, Pod, Service } from '../../cluster/objects.ts';
import type { IO } from '../io.ts';
import { startDns, CorefileProblems, type RunningDns } from '../../dns/service.ts';
import { ContainerRuntime } from '../../kubelet/runtime.ts';
import { curlExamples } from '../../ingress/examples.ts';
import { DataPlane } from '../../dataplane/dataplane.ts';
import { defaultIngressWorkers, startIngress, type RunningIngress } from '../../dataplane/ingress.ts';
import { formatListeners } from '../printers/listeners.ts';
import { LB_POOL_TEXT } from '../../cluster/controllers/loadbalancer.ts';
import { ExternalEntrances } from '../../dataplane/nodeports.ts';
import { formatEntrances } from '../printers/entrances.ts';
import { watchTopology } from '../watch.ts';
import { netConfProblems } from '../../cni/netconf.ts';
import { formatProblem } from '../../cluster/problems.ts';

export interface UpOptions {
  dnsHost?: string;
  dnsPort?: number;
  dnsMetricsPort?: number;
  /** The Ingress controller's ports; 0 picks a free one. */
  httpPort?: number;
  httpsPort?: number;
  /** Worker processes serving the Ingress controller's connections; 0: this process serves them. */
  ingressWorkers?: number;
  /** X of the NodePort, LoadBalancer and externalIP listeners' 127.X.1.N, 127.X.2.K, 127.X.3.K (default 0); 'single': all on 127.0.0.1. */
  loopback?: number | 'single';
}

/** A name worth digging: the user's first Service, else kube-dns. */
function digExample(cluster: Cluster): string {
  const svc = cluster.store.list('Service').find((x) => x.metadata.namespace !== 'kube-system' && !(x.metadata.namespace === 'default' && x.metadata.name === 'kubernetes'));
  const s = svc ?? { metadata: { name: 'kube-dns', namespace: 'kube-system' } };
  return `${s.metadata.name}.${s.metadata.namespace}.svc.${cluster.config.clusterDomain}`;
}

/** A Service worth curling from a pod: the user's first with a TCP port that is not a database's, by name. */
function webName(cluster: Cluster): string | undefined {
  const svc = cluster.store.list<Service & KubeObject>('Service').find((x) => x.metadata.namespace !== 'kube-system' && x.spec?.clusterIP && x.spec.clusterIP !== 'None'
    && !(x.metadata.namespace === 'default' && x.metadata.name === 'kubernetes') && (x.spec.ports ?? []).some((p) => (p.protocol ?? 'TCP') === 'TCP'));
  if (!svc) return undefined;
  const port = svc.spec!.ports!.find((p) => (p.protocol ?? 'TCP') === 'TCP')!.port;
  return `${svc.metadata.name}.${svc.metadata.namespace}${port === 80 ? '' : `:${port}`}`;
}

/** The Ingress controller; undefined (the reason printed) if it cannot start. */
async function startIngressController(cluster: Cluster, dp: DataPlane, runtime: ContainerRuntime, opts: UpOptions, io: IO): Promise<RunningIngress | undefined> {
  const httpPort = opts.httpPort ?? 0;
  const httpsPort = opts.httpsPort ?? 0;
  const workers = opts.ingressWorkers ?? defaultIngressWorkers();
  try {
    return await startIngress(cluster, dp, runtime, {
      httpPort, httpsPort, workers, accessLog: io.stdout, log: (line) => io.stderr(`ingress: ${line}\n`),
    });
  } catch (e) {
    const listening = (e as NodeJS.ErrnoException).syscall === 'listen';
    io.stderr(listening
      ? `error: the Ingress controller cannot listen on 127.0.0.1 (--http-port ${httpPort}, --https-port ${httpsPort}): ${(e as Error).message}\n`
      : `error: the Ingress controller's worker processes did not start (--ingress-workers ${workers}): ${(e as Error).message}\n`);
    return undefined;
  }
}

async function startClusterDns(cluster: Cluster, opts: UpOptions, io: IO): Promise<RunningDns | undefined> {
  try {
    const dns = await startDns(cluster, {
      host: opts.dnsHost, port: opts.dnsPort ?? 0, metricsPort: opts.dnsMetricsPort, log: (l) => io.stdout(`${l}\n`),
      onReload: (problems, applied) => {
        for (const p of problems) io.stderr(`${p}\n`);
        io.stderr(applied ? 'kdp: cluster DNS reloaded its Corefile\n' : 'kdp: cluster DNS kept its running Corefile\n');
      },
    });
    for (const w of dns.warnings) io.stderr(`${w}\n`);
    return dns;
  } catch (e) {
    if (!(e instanceof CorefileProblems)) throw e;
    for (const l of e.lines) io.stderr(`${l}\n`);
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

export async function up(cluster: Cluster, files: string[], io: IO, opts: UpOptions = {}): Promise<number> {
  // Listen for Ctrl-C before saying it stops us, so an early one is not lost.
  const stopped = io.interrupted();
  // The data plane first: it opens no socket, so a topology it refuses (the nodes' CNI conflist) leaves
  // nothing running.
  const dp = new DataPlane(cluster);
  // What flanneld's net-conf.json asks that kdp's nodes do otherwise, said once (its errors stopped us above).
  for (const p of netConfProblems(cluster)) io.stderr(`${formatProblem(p)}\n`);
  const dns = await startClusterDns(cluster, opts, io);
  if (!dns) {
    dp.close();
    return 1;
  }
  // The pods' containers: their apps on real loopback listeners, probes, restarts.
  const runtime = await ContainerRuntime.start(cluster, { network: dp.network, warn: (m) => io.stderr(`${m}\n`) });
  const ingress = await startIngressController(cluster, dp, runtime, opts, io);
  if (!ingress) {
    await Promise.all([dns.close(), runtime.close()]);
    dp.close();
    return 1;
  }
  const external = await ExternalEntrances.start(dp, runtime, { loopback: opts.loopback, warn: (m) => io.stderr(`${m}\n`) });
  const curls = curlExamples(ingress.routingTable, '127.0.0.1', { http: ingress.httpPort, https: ingress.httpsPort });
  const listeners = formatListeners(runtime.listening());
  const entrances = formatEntrances(external.list(), external.client, LB_POOL_TEXT, external.single);
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
    ...(example ? [`  kdp dig --from ${example.from} ${digExample(cluster)}${f}`] : []),
    ...(example && webName(cluster) ? [`  kdp curl --from ${example.from} http://${webName(cluster)}/${f}`] : []),
    '',
    `Cluster DNS (CoreDNS) on ${dns.host}:${dns.port} (UDP and TCP)` +
      (dns.metricsPort !== undefined ? `; /health, /ready, /metrics on http://${dns.host}:${dns.metricsPort}` : ''),
    `  dig @${dns.host} -p ${dns.port} ${digExample(cluster)}`,
    '',
    `Ingress controller on http://127.0.0.1:${ingress.httpPort} and https://127.0.0.1:${ingress.httpsPort}:`,
    ...(curls.length ? curls.map((x) => `  ${x}`) : ['  (no Ingress rules yet)']),
    '',
    ...(listeners.length ? [...listeners, ''] : []),
    ...(entrances.length ? [...entrances, ''] : []),
    ...(files.some((x) => x !== '-') ? ['Watching the topology files: a saved change is applied live.'] : []),
    'Press Ctrl-C to stop.',
    '',
  ].join('\n'));
  const watching = watchTopology(cluster, files, io);
  await stopped;
  watching.close();
  await Promise.all([ingress.stop(), external.close()]);
  await Promise.all([dns.close(), runtime.close()]);
  dp.close();
  io.stdout('kdp: stopped\n');
  return 0;
}
