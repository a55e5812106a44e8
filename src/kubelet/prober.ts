// kubelet's prober (pkg/kubelet/prober): one worker per container and probe kind. Every periodSeconds it
// probes (skipping ticks during initialDelaySeconds and while a probe is still out), counts consecutive
// results against successThreshold / failureThreshold, and reports a changed result. A liveness failure puts
// the worker on hold until the container restarts; a startup probe stops once it succeeds, and until then the
// other two wait. Probes are real connections to the pod's real listener,
// from the node's address, as kubelet's are.
import http from 'node:http';
import type net from 'node:net';
import type * as core from 'kubernetes-types/core/v1.js';
import { KUBELET_VERSION } from '../cluster/controllers/nodes.ts';

export type ProbeKind = 'startup' | 'readiness' | 'liveness';

/** Opens a connection to host:port as the node would (through the registry, with the node as client). */
export type Dial = (host: string, port: number) => net.Socket;

/** "kube-probe/1.31" (the kubelet's major.minor). */
const USER_AGENT = `kube-probe/${KUBELET_VERSION.replace(/^v/, '').split('.').slice(0, 2).join('.')}`;

/** The probe's port: a number, or the name of one of the container's ports. */
export function probePort(port: number | string | undefined, container: core.Container): number | undefined {
  if (typeof port === 'number') return port;
  if (port === undefined) return undefined;
  if (/^\d+$/.test(port)) return Number(port);
  return container.ports?.find((p) => p.name === port)?.containerPort;
}

/**
 * One HTTP GET as kubelet's HTTP prober sends it; success is a final status in [200, 400). Redirects to the same
 * host name are followed (10 at most); one to another host is itself the answer (RedirectChecker).
 */
export function httpProbe(dial: Dial, g: core.HTTPGetAction, host: string, port: number, timeoutMs: number): Promise<boolean> {
  return new Promise((resolve) => {
    if ((g.scheme ?? 'HTTP') !== 'HTTP') return resolve(false); // kdp's listeners speak no TLS
    const headers: Record<string, string> = { 'User-Agent': USER_AGENT, Accept: '*/*', Connection: 'close' };
    for (const h of g.httpHeaders ?? []) headers[h.name] = h.value;
    let settled = false;
    let req: http.ClientRequest | undefined;
    const done = (ok: boolean) => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      req?.destroy();
      resolve(ok);
    };
    const timer = setTimeout(() => done(false), timeoutMs);
    const get = (h: string, p: number, path: string, redirects: number) => {
      req = http.request({ host: h, port: p, path, method: 'GET', headers, createConnection: () => dial(h, p) }, (res) => {
        res.resume();
        const code = res.statusCode!;
        const location = res.headers.location;
        if (code >= 300 && code < 400 && location) {
          const next = new URL(location, `http://${h.includes(':') ? `[${h}]` : h}:${p}${path}`);
          if (next.protocol === 'http:' && next.hostname.replace(/^\[|\]$/g, '') === host) {
            if (redirects >= 10) return done(false);
            return get(host, Number(next.port || 80), next.pathname + next.search, redirects + 1);
          }
        }
        res.on('end', () => done(code >= 200 && code < 400));
        res.on('error', () => done(false));
      });
      req.on('error', () => done(false));
      req.end();
    };
    get(host, port, g.path ? (g.path.startsWith('/') ? g.path : `/${g.path}`) : '/', 0);
  });
}

/** A TCP connect: success once the connection is established. */
export function tcpProbe(dial: Dial, host: string, port: number, timeoutMs: number): Promise<boolean> {
  return new Promise((resolve) => {
    const s = dial(host, port);
    const done = (ok: boolean) => {
      clearTimeout(timer);
      s.destroy();
      resolve(ok);
    };
    const timer = setTimeout(() => done(false), timeoutMs);
    s.once('connect', () => done(true));
    s.once('error', () => done(false));
  });
}

export interface WorkerOptions {
  kind: ProbeKind;
  probe: core.Probe;
  container: core.Container;
  podIP: string;
  dial: Dial;
  /** A changed result: ready or not (readiness), alive or not (liveness). */
  onResult: (ok: boolean) => void;
  /** How long one of the probe's seconds lasts (1000; tests shorten it). */
  secondMs: number;
  /** exec and grpc probes cannot run here; said once, then taken as successes. */
  warn: (message: string) => void;
}

export class ProbeWorker {
  private timer?: NodeJS.Timeout;
  private readonly started = Date.now();
  private inFlight = false;
  private onHold = false;
  private stopped = false;
  private lastResult?: boolean;
  private resultRun = 0;
  /** The result last reported (undefined: none yet, as kubelet's Unknown). */
  private current: boolean | undefined;

  constructor(private readonly o: WorkerOptions) {
    // Liveness starts as success; readiness and startup are failures until a probe says otherwise.
    this.current = o.kind === 'liveness' ? true : undefined;
    if (o.probe.exec || o.probe.grpc) o.warn(`container ${o.container.name}: ${o.kind} probe ${o.probe.exec ? 'exec' : 'grpc'} is not run by kdp; taken as succeeding`);
  }

  start(): void {
    const period = Math.max(1, this.o.probe.periodSeconds ?? 10) * this.o.secondMs;
    void this.tick();
    this.timer = setInterval(() => void this.tick(), period);
  }

  stop(): void {
    this.stopped = true;
    clearInterval(this.timer);
  }

  private async tick(): Promise<void> {
    if (this.stopped || this.onHold || this.inFlight) return;
    if (Date.now() - this.started < (this.o.probe.initialDelaySeconds ?? 0) * this.o.secondMs) return;
    this.inFlight = true;
    const ok = await this.run();
    this.inFlight = false;
    if (this.stopped) return;
    if (this.lastResult === ok) this.resultRun++;
    else {
      this.lastResult = ok;
      this.resultRun = 1;
    }
    const threshold = ok ? this.o.probe.successThreshold ?? 1 : this.o.probe.failureThreshold ?? 3;
    if (this.resultRun < threshold) return;
    if (ok !== this.current) {
      this.current = ok;
      this.o.onResult(ok);
    }
    if (this.o.kind !== 'readiness' && !ok) {
      this.onHold = true;
      this.resultRun = 0;
    }
    if (this.o.kind === 'startup' && ok) this.stop();
  }

  private run(): Promise<boolean> {
    const p = this.o.probe;
    const timeoutMs = Math.max(1, p.timeoutSeconds ?? 1) * this.o.secondMs;
    if (p.httpGet) {
      const port = probePort(p.httpGet.port, this.o.container);
      return port === undefined ? Promise.resolve(false) : httpProbe(this.o.dial, p.httpGet, p.httpGet.host || this.o.podIP, port, timeoutMs);
    }
    if (p.tcpSocket) {
      const port = probePort(p.tcpSocket.port, this.o.container);
      return port === undefined ? Promise.resolve(false) : tcpProbe(this.o.dial, p.tcpSocket.host || this.o.podIP, port, timeoutMs);
    }
    return Promise.resolve(true);
  }
}
