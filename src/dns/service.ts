// Cluster DNS for a running cluster: the Corefile from kube-system/coredns (kubeadm's when the topology has
// none), its plugin chain over a live view of the store, the UDP/TCP server and the health/ready/metrics port.
import { readFileSync } from 'node:fs';
import type { FastifyInstance } from 'fastify';
import type { Cluster } from '../cluster/cluster.ts';
import type { ConfigMap, KubeObject } from '../cluster/objects.ts';
import { defaultCorefile } from '../cluster/bootstrap.ts';
import { LiveView } from './view.ts';
import { DnsChain } from './chain.ts';
import { parseCorefile } from './corefile.ts';
import { DnsMetrics } from './metrics.ts';
import { DnsServer } from './server.ts';
import { startDnsHttp } from './http.ts';
import { socketExchange, type Exchange } from './forward.ts';
import { problemInBlock } from '../cluster/topology/load.ts';
import { formatProblem } from '../cluster/problems.ts';

export interface DnsServiceOptions {
  host?: string;
  port?: number;
  /** The /health, /ready and /metrics port; undefined: not served. */
  metricsPort?: number;
  exchange?: Exchange;
  /** The host's resolv.conf text (forward . /etc/resolv.conf). */
  resolvConf?: () => string;
  readFile?: (path: string) => string;
  /** The log plugin's lines. */
  log?: (line: string) => void;
  /** A changed kube-system/coredns ConfigMap was loaded (reload plugin), or refused for its errors. */
  onReload?: (problems: string[], applied: boolean) => void;
}

export interface RunningDns {
  host: string;
  port: number;
  metricsPort?: number;
  /** The running chain (a reload replaces it). */
  readonly chain: DnsChain;
  server: DnsServer;
  metrics: DnsMetrics;
  /** Warnings about the Corefile, as kdp prints problems. */
  warnings: string[];
  close(): Promise<void>;
}

export class CorefileProblems extends Error {
  constructor(readonly lines: string[]) {
    super(lines.join('\n'));
  }
}

/** The Corefile the cluster's CoreDNS would load, and where it came from. */
export function clusterCorefile(cluster: Cluster): { text: string; source: string } {
  const cm = cluster.store.get<ConfigMap & KubeObject>('ConfigMap', 'kube-system', 'coredns');
  const text = cm?.data?.Corefile;
  if (text !== undefined) return { text, source: 'ConfigMap kube-system/coredns data.Corefile' };
  return { text: defaultCorefile(cluster.config.clusterDomain), source: "kubeadm's default Corefile" };
}

export function buildChain(cluster: Cluster, live: LiveView, opts: DnsServiceOptions & { localIPs: () => string[]; metrics?: DnsMetrics }): DnsChain {
  const { text, source } = clusterCorefile(cluster);
  return new DnsChain(text, {
    live,
    localIPs: opts.localIPs,
    resolvConf: opts.resolvConf ?? (() => readFileSync('/etc/resolv.conf', 'utf8')),
    readFile: opts.readFile ?? ((p) => readFileSync(p, 'utf8')),
    exchange: opts.exchange ?? socketExchange,
    metrics: opts.metrics,
  }, source);
}

/**
 * The chain's Corefile problems as kdp prints problems: the topology file and line of the ConfigMap's
 * Corefile (a block scalar: its line N is N lines below the key), the object and the field.
 */
export function corefileProblems(cluster: Cluster, chain: DnsChain, severity: 'error' | 'warning'): string[] {
  const origin = cluster.origins.get('ConfigMap', 'kube-system', 'coredns');
  return chain.problems.filter((p) => p.severity === severity).map((p) => {
    if (!origin) return `${severity}: ${chain.source}:${p.line}: ${p.message}`;
    return formatProblem(problemInBlock(origin, 'ConfigMap kube-system/coredns', ['data', 'Corefile'], p.line, `Corefile line ${p.line}: ${p.message}`, severity));
  });
}

/** The Corefile's problems without serving it (kdp validate): the host's files are not read. */
export function checkCorefile(cluster: Cluster): { errors: string[]; warnings: string[] } {
  const live = new LiveView(cluster.store);
  try {
    const chain = buildChain(cluster, live, { localIPs: () => ['127.0.0.1'], resolvConf: () => 'nameserver 127.0.0.1\n', readFile: () => '' });
    return { errors: corefileProblems(cluster, chain, 'error'), warnings: corefileProblems(cluster, chain, 'warning') };
  } finally {
    live.close();
  }
}

export async function startDns(cluster: Cluster, opts: DnsServiceOptions = {}): Promise<RunningDns> {
  const host = opts.host ?? '127.0.0.1';
  const live = new LiveView(cluster.store);
  // The server label is the Corefile's address, as CoreDNS names its servers (dns://:53).
  let corefilePort = 53;
  try {
    corefilePort = parseCorefile(clusterCorefile(cluster).text)[0]?.port ?? 53;
  } catch {
    // The chain reports the syntax error below.
  }
  const metrics = new DnsMetrics(`dns://:${corefilePort}`);
  const chain = buildChain(cluster, live, { ...opts, localIPs: () => [host], metrics });
  const errors = chain.problems.filter((p) => p.severity === 'error');
  if (errors.length) {
    live.close();
    throw new CorefileProblems(corefileProblems(cluster, chain, 'error'));
  }
  const server = new DnsServer({ chain, metrics, log: opts.log ?? ((l) => process.stdout.write(`${l}\n`)) });
  const bound = await server.listen(host, opts.port ?? 0);
  // The reload plugin: a changed Corefile is loaded; one with errors is refused and the running one kept.
  let running = chain;
  const stopWatch = cluster.store.watch({ kind: 'ConfigMap', namespace: 'kube-system' }, (e) => {
    if (e.object.metadata.name !== 'coredns') return;
    const next = buildChain(cluster, live, { ...opts, localIPs: () => [host], metrics });
    const errs = corefileProblems(cluster, next, 'error');
    if (errs.length === 0) {
      running = next;
      server.setChain(next);
    }
    opts.onReload?.(errs.length ? errs : corefileProblems(cluster, next, 'warning'), errs.length === 0);
  });
  let app: FastifyInstance | undefined;
  let metricsPort: number | undefined;
  if (opts.metricsPort !== undefined) {
    const http = await startDnsHttp({ metrics, notReady: () => [] }, host, opts.metricsPort);
    app = http.app;
    metricsPort = http.port;
  }
  return {
    host, port: bound.port, metricsPort, server, metrics,
    get chain() {
      return running;
    },
    warnings: corefileProblems(cluster, chain, 'warning'),
    async close() {
      stopWatch();
      live.close();
      await Promise.all([server.close(), app?.close()]);
    },
  };
}
