// The Ingress controller's HTTP work on more than one event loop, as nginx runs worker processes: this process
// (the one with the model and the data plane) accepts every connection on the controller's ports and hands each
// to a worker process in turn (src/ingress/worker.ts), as Node's cluster module does by default. A worker parses,
// routes and proxies; it keeps a copy of what the controller reads from the store (Ingresses, IngressClasses,
// Secrets), kept current by every change, and asks this process to decide each new flow to a backend, so the one
// data plane still decides every connection and `kdp trace` agrees with the access log. The workers write their
// access-log lines and notes through this process.
import { fork, type ChildProcess } from 'node:child_process';
import { createRequire } from 'node:module';
import net from 'node:net';
import { fileURLToPath, pathToFileURL } from 'node:url';
import type { KubeObject } from '../cluster/objects.ts';
import type { EventType, Store } from '../cluster/store.ts';
import { CONTROLLER_KINDS } from './controller.ts';
import type { DialRequest } from './dialer.ts';
import type { FlowDecider, FlowDecision } from './flows.ts';
import type { KeyPair } from './tls.ts';

export type Scheme = 'http' | 'https';

/** What a worker is told. */
export type ToWorker =
  | { t: 'init'; httpPort: number; httpsPort: number; certificate: KeyPair; generation: number; objects: KubeObject[] }
  | { t: 'event'; type: EventType; object: KubeObject }
  | { t: 'generation'; generation: number }
  | { t: 'conn'; scheme: Scheme }
  | { t: 'stop' }
  | { t: 'flow'; id: number; flow: FlowDecision }
  | { t: 'flow'; id: number; error: string };

/** What a worker says. */
export type FromWorker =
  | { t: 'ready' }
  | { t: 'dial'; id: number; req: Omit<DialRequest, 'connection'> }
  | { t: 'access'; text: string }
  | { t: 'log'; line: string }
  /** Sent last, after the access log's last lines: the worker exits once it is out. */
  | { t: 'stopped' };

export interface IngressWorkersOptions {
  store: Store;
  decider: FlowDecider;
  /** How many worker processes. */
  count: number;
  /** 0: any free port. */
  httpPort: number;
  httpsPort: number;
  /** 127.0.0.1 unless told otherwise. */
  address?: string;
  /** The certificate for names no tls Secret covers; every worker presents the same. */
  defaultCertificate: KeyPair;
  /** Access-log text, whole lines. */
  accessLog: (text: string) => void;
  /** What the workers would log (each line once), and workers that exit. */
  log: (line: string) => void;
}

const WORKER = fileURLToPath(new URL('./worker.ts', import.meta.url));
// The workers run the TypeScript sources as this process does.
const TSX = pathToFileURL(createRequire(import.meta.url).resolve('tsx')).href;
/** A worker that exits is started again after this long (and twice as long each time in a row, up to 10 s). */
const RESTART_MS = 250;
const STOP_MS = 2_000;

interface Worker {
  proc: ChildProcess;
  ready: boolean;
  /** The last lines it wrote to stderr: why it died, when it does. */
  stderr: string;
}

export class IngressWorkers {
  private readonly workers: (Worker | undefined)[];
  private readonly servers = new Map<Scheme, net.Server>();
  private next = 0;
  private stopped?: Promise<void>;
  private generationQueued = false;
  private restarts = 0;
  private readonly logged = new Set<string>();
  private readonly stopWatches: (() => void)[] = [];

  private constructor(private readonly opts: IngressWorkersOptions) {
    this.workers = new Array<Worker | undefined>(opts.count).fill(undefined);
  }

  /** Listens, starts the workers, and resolves once every worker serves. */
  static async start(opts: IngressWorkersOptions): Promise<IngressWorkers> {
    const w = new IngressWorkers(opts);
    try {
      await w.listen('http', opts.httpPort);
      await w.listen('https', opts.httpsPort);
      w.follow();
      await Promise.all(w.workers.map((_, i) => w.spawn(i)));
    } catch (e) {
      await w.stop();
      throw e;
    }
    return w;
  }

  get httpPort(): number {
    return (this.servers.get('http')!.address() as net.AddressInfo).port;
  }

  get httpsPort(): number {
    return (this.servers.get('https')!.address() as net.AddressInfo).port;
  }

  /** The workers' process ids (a restarted worker has a new one). */
  get pids(): number[] {
    return this.workers.flatMap((w) => (w?.proc.pid ? [w.proc.pid] : []));
  }

  stop(): Promise<void> {
    this.stopped ??= this.end();
    return this.stopped;
  }

  private get stopping(): boolean {
    return this.stopped !== undefined;
  }

  private async end(): Promise<void> {
    for (const stop of this.stopWatches.splice(0)) stop();
    // Not waiting for 'close': a server counts the connections it handed to workers as its own until they end.
    for (const s of this.servers.values()) s.close();
    await Promise.all(this.workers.map((w) => w && this.endWorker(w)));
  }

  private listen(scheme: Scheme, port: number): Promise<void> {
    // Paused: the bytes are the worker's to read.
    const srv = net.createServer({ pauseOnConnect: true }, (sock) => this.handOff(sock, scheme));
    this.servers.set(scheme, srv);
    return new Promise((resolve, reject) => {
      srv.once('error', reject);
      srv.listen(port, this.opts.address ?? '127.0.0.1', () => {
        srv.off('error', reject);
        resolve();
      });
    });
  }

  /** Round robin over the workers that serve now; with none (all restarting) the connection is reset. */
  private handOff(sock: net.Socket, scheme: Scheme): void {
    sock.on('error', () => sock.destroy());
    for (let i = 0; i < this.workers.length; i++) {
      const w = this.workers[this.next++ % this.workers.length];
      if (!w?.ready || !w.proc.connected) continue;
      w.proc.send({ t: 'conn', scheme } satisfies ToWorker, sock, (err) => {
        if (err) sock.destroy();
      });
      return;
    }
    sock.resetAndDestroy();
  }

  /** Every change the workers' copies need, and every new generation of the data plane's decisions. */
  private follow(): void {
    const s = this.opts.store;
    for (const kind of CONTROLLER_KINDS) {
      this.stopWatches.push(s.watch({ kind }, (e) => this.broadcast({ t: 'event', type: e.type, object: e.object })));
    }
    // A burst of changes (a rollout) is one message: the workers only compare generations.
    this.stopWatches.push(this.opts.decider.onChange(() => {
      if (this.generationQueued) return;
      this.generationQueued = true;
      queueMicrotask(() => {
        this.generationQueued = false;
        this.broadcast({ t: 'generation', generation: this.opts.decider.generation });
      });
    }));
  }

  private broadcast(m: ToWorker): void {
    for (const w of this.workers) if (w?.proc.connected) w.proc.send(m);
  }

  private spawn(i: number): Promise<void> {
    const proc = fork(WORKER, [], { execArgv: ['--import', TSX], stdio: ['ignore', 'ignore', 'pipe', 'ipc'] });
    const w: Worker = { proc, ready: false, stderr: '' };
    this.workers[i] = w;
    proc.stderr!.on('data', (d: Buffer) => (w.stderr = (w.stderr + d.toString()).slice(-2000)));
    const s = this.opts.store;
    proc.send({
      t: 'init', httpPort: this.httpPort, httpsPort: this.httpsPort, certificate: this.opts.defaultCertificate,
      generation: this.opts.decider.generation, objects: CONTROLLER_KINDS.flatMap((kind) => s.list(kind)),
    } satisfies ToWorker);
    return new Promise((resolve, reject) => {
      proc.on('message', (m: FromWorker) => {
        if (m.t === 'ready') {
          w.ready = true;
          this.restarts = 0;
          resolve();
        } else this.onMessage(w, m);
      });
      // A worker that cannot be started fails the start; a message to a dying one fails with it (its 'exit'
      // follows): neither may take kdp down as an unhandled 'error' would.
      proc.on('error', (e) => {
        if (!w.ready) reject(new Error(`an Ingress worker could not start: ${e.message}`));
      });
      proc.once('exit', (code, signal) => {
        w.ready = false;
        const why = `exited with ${signal ?? `code ${code}`}`;
        if (this.stopping) return resolve();
        const last = w.stderr.trim().split('\n').filter(Boolean).pop();
        this.opts.log(`worker ${i + 1} ${why}${last ? ` (${last})` : ''}; starting it again`);
        reject(new Error(`an Ingress worker ${why} before it served${last ? `: ${last}` : ''}`));
        const delay = Math.min(RESTART_MS * 2 ** this.restarts++, 10_000);
        setTimeout(() => {
          if (!this.stopping) this.spawn(i).catch(() => {});
        }, delay).unref();
      });
    });
  }

  private onMessage(w: Worker, m: FromWorker): void {
    if (m.t === 'dial') {
      let reply: ToWorker;
      try {
        reply = { t: 'flow', id: m.id, flow: this.opts.decider.decide(m.req) };
      } catch (e) {
        reply = { t: 'flow', id: m.id, error: (e as Error).message };
      }
      if (w.proc.connected) w.proc.send(reply);
    } else if (m.t === 'access') this.opts.accessLog(m.text);
    else if (m.t === 'stopped') return;
    else if (m.t === 'log' && !this.logged.has(m.line)) {
      // Every worker meets the same unusable Secret: the person running kdp reads it once.
      if (this.logged.size >= 1000) this.logged.clear();
      this.logged.add(m.line);
      this.opts.log(m.line);
    }
  }

  private endWorker(w: Worker): Promise<void> {
    if (w.proc.exitCode !== null || w.proc.signalCode !== null) return Promise.resolve();
    return new Promise((resolve) => {
      const kill = setTimeout(() => w.proc.kill('SIGKILL'), STOP_MS);
      w.proc.once('exit', () => {
        clearTimeout(kill);
        resolve();
      });
      // Told to stop, a worker writes out its access log first; without a channel it stops on its own.
      if (w.proc.connected) w.proc.send({ t: 'stop' } satisfies ToWorker);
      else w.proc.kill('SIGTERM');
    });
  }
}
