// The Ingress controller `kdp up` runs, its backends dialled through the data plane: in this process, or with
// its connections served by worker processes (src/ingress/workers.ts) while this one keeps the routing table,
// the Ingresses' status and every data-plane decision.
import { availableParallelism } from 'node:os';
import type { Cluster } from '../cluster/cluster.ts';
import { bufferedLines } from '../ingress/accesslog.ts';
import { IngressController } from '../ingress/controller.ts';
import { FlowDialer } from '../ingress/flows.ts';
import type { RoutingTable } from '../ingress/routes.ts';
import { fakeCertificate } from '../ingress/tls.ts';
import { IngressWorkers } from '../ingress/workers.ts';
import type { DataPlane } from './dataplane.ts';
import { DataPlaneRouter } from './dialer.ts';
import type { ListenerRegistry } from '../kubelet/runtime.ts';

export interface IngressOptions {
  /** 0: any free port. */
  httpPort: number;
  httpsPort: number;
  /** Worker processes; 0: this process serves. */
  workers: number;
  /** Access-log text, whole lines. */
  accessLog: (text: string) => void;
  log: (line: string) => void;
}

export interface RunningIngress {
  readonly routingTable: RoutingTable;
  readonly httpPort: number;
  readonly httpsPort: number;
  /** The worker processes' ids (none when this process serves). */
  readonly workerPids: number[];
  stop(): Promise<void>;
}

/**
 * Two workers, or none on a machine with one CPU (one process does it all there). Not one per CPU as nginx's
 * `auto`: each worker is ~100 MB, and a developer's machine runs kdp beside everything else (and tests run many).
 */
export function defaultIngressWorkers(): number {
  return availableParallelism() > 1 ? 2 : 0;
}

/** Starts the controller; what cannot start (a port taken, a worker that dies at once) rejects, nothing left running. */
export async function startIngress(cluster: Cluster, dp: DataPlane, listeners: Pick<ListenerRegistry, 'resolve' | 'realConnection'>, opts: IngressOptions): Promise<RunningIngress> {
  const router = new DataPlaneRouter(dp, listeners);
  const { httpPort, httpsPort, workers: count, log } = opts;
  const dialer = count === 0 ? new FlowDialer((req) => router.decide(req), () => router.generation) : undefined;
  const ctl = new IngressController({
    store: cluster.store, dialer, log, httpPort, httpsPort,
    role: count === 0 ? 'all' : 'control',
    accessLog: bufferedLines(opts.accessLog),
  });
  let workers: IngressWorkers | undefined;
  const stop = async () => {
    await Promise.all([ctl.stop(), workers?.stop()]);
    dialer?.close();
    router.close();
  };
  try {
    await ctl.start();
    if (count > 0) {
      workers = await IngressWorkers.start({
        store: cluster.store, decider: router, count, httpPort, httpsPort,
        defaultCertificate: await fakeCertificate(), accessLog: opts.accessLog, log,
      });
    }
  } catch (e) {
    await stop();
    throw e;
  }
  const w = workers;
  return {
    get routingTable() {
      return ctl.routingTable;
    },
    httpPort: w ? w.httpPort : ctl.httpPort!,
    httpsPort: w ? w.httpsPort : ctl.httpsPort!,
    get workerPids() {
      return w ? w.pids : [];
    },
    stop,
  };
}
