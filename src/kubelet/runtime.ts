// The node agents' container side: for every running pod, each container's app behind real loopback
// listeners (one per TCP port it listens on), kdp.dev/upstream relays, and the registry the data plane asks
// which real socket serves a pod's IP and port. It follows the store: a pod started or deleted starts or stops
// its containers at once. A container whose process exits (agnhost's /exit) stops listening and is restarted
// by its restartPolicy with kubelet's crash-loop back-off; every change of state is written to the pod's status.
import net from 'node:net';
import type * as core from 'kubernetes-types/core/v1.js';
import type { Cluster } from '../cluster/cluster.ts';
import { describeObject, patch, type KubeObject, type Pod } from '../cluster/objects.ts';
import { isPodTerminal, podIPs } from '../cluster/podutil.ts';
import { problemAt } from '../cluster/topology/load.ts';
import { formatProblem } from '../cluster/problems.ts';
import type { PodIdentity } from './apps/app.ts';
import { planPod, type ContainerPlan, type PodPlan } from './apps/select.ts';
import { FrontDoor, HttpPortServer, RelayPortServer, proxyLine, type Peer, type PortServer } from './listener.ts';
import type { ClusterNetwork } from './network.ts';
import { ProbeWorker, type ProbeKind } from './prober.ts';

type P = Pod & KubeObject;

export interface RealAddress {
  host: '127.0.0.1';
  port: number;
}

/** What the data plane asks of the pods' listeners. */
export interface ListenerRegistry {
  /** The real loopback address serving a pod's port, or undefined when nothing listens there (connection refused). */
  resolve(podIP: string, port: number, protocol: 'tcp'): RealAddress | undefined;
  /** A real connection to a pod's port; the app reports `emulatedClient` as the peer. Refused ports error with ECONNREFUSED. */
  connect(podIP: string, port: number, emulatedClient: Peer): net.Socket;
  /** What connect() does, as data another process can follow; undefined when nothing listens there. */
  realConnection(podIP: string, port: number, emulatedClient: Peer): RealConnection | undefined;
}

/** Where a connection to a pod's port really goes, and the line it must say first (naming the emulated client). */
export interface RealConnection {
  host: string;
  port: number;
  preface?: string;
}

/** Opens a RealConnection: a plain socket, its preface already written. */
export function openRealConnection(c: RealConnection): net.Socket {
  const s = net.connect(c.port, c.host);
  if (c.preface) s.write(c.preface);
  return s;
}

export interface RuntimeOptions {
  /** The pod network: the kernel's socket table in each pod's namespace follows the containers. */
  network?: ClusterNetwork;
  /** Problems with pods' annotations and containers that fail, for the person running kdp: whole "warning: ..." lines. */
  warn?: (message: string) => void;
  /** kubelet's initial crash-loop back-off (10 s; doubled per restart, capped at 300 s). */
  backoffMs?: number;
  /** How long one second of a probe's timing lasts (1000; tests shorten it). */
  probeSecondMs?: number;
  /**
   * Connections a pod's own app opens (agnhost's /dial), to a name or an address. Wire it to the data plane
   * (DNS, Services, NAT); without it a pod reaches other pods' IPs directly and resolves no names.
   */
  dial?: (from: PodIdentity, host: string, port: number) => net.Socket;
}

const MAX_BACKOFF_MS = 300_000;

interface Terminated {
  exitCode: number;
  reason: string;
  startedAt: string;
  finishedAt: string;
}

/** One container of a running pod and the process it runs now. */
interface ContainerInstance {
  plan: ContainerPlan;
  spec: core.Container;
  restartCount: number;
  state: { running: { startedAt: string } } | { terminated: Terminated } | { waiting: { reason: string; message: string } };
  lastTerminated?: Terminated;
  /** Readiness as the probes (or their absence) say. */
  ready: boolean;
  /** The startup probe passed (or there is none). */
  started: boolean;
  /** Unready as the topology wrote it (a pod without probes keeps that until it restarts). */
  writtenUnready: boolean;
  servers: Map<number, PortServer>;
  probes: ProbeWorker[];
  restartTimer?: NodeJS.Timeout;
}

interface PodInstance {
  key: string;
  uid: string | undefined;
  namespace: string;
  name: string;
  ips: string[];
  restartPolicy: string;
  identity: PodIdentity;
  /** The node's address towards the pod: where its kubelet's probes come from. */
  nodeAddress: string;
  plan: PodPlan;
  containers: ContainerInstance[];
  relays: Map<number, RelayPortServer>;
}

const isoNow = () => new Date().toISOString().replace(/\.\d+Z$/, 'Z');

function refused(podIP: string, port: number): net.Socket {
  const s = new net.Socket();
  const err = Object.assign(new Error(`connect ECONNREFUSED ${podIP}:${port}`), { code: 'ECONNREFUSED', errno: -111, syscall: 'connect', address: podIP, port });
  process.nextTick(() => s.destroy(err));
  return s;
}

export class ContainerRuntime implements ListenerRegistry {
  private readonly pods = new Map<string, PodInstance>();
  /** "podIP:port" -> the server behind it (relays before apps). */
  private readonly byAddress = new Map<string, PortServer>();
  private readonly pending = new Set<Promise<unknown>>();
  private readonly front = new FrontDoor((pod) => this.byAddress.get(`${pod.ip}:${pod.port}`));
  private readonly stopWatch: () => void;
  private closed = false;
  private nextPort = 32767;
  private readonly bindFailures = new Set<string>();
  private readonly warned = new Set<string>();

  private constructor(private readonly cluster: Cluster, private readonly opts: RuntimeOptions) {
    this.stopWatch = cluster.store.watch({ kind: 'Pod' }, (e) => {
      const p = e.object as P;
      const key = `${p.metadata.namespace}/${p.metadata.name}`;
      const running = this.pods.get(key);
      // A deleted, finished or recreated pod's containers stop.
      if (running && (e.type === 'DELETED' || isPodTerminal(p) || running.uid !== p.metadata.uid)) this.stopPod(running);
      if (e.type === 'DELETED') return;
      if (!this.pods.has(key)) this.startPod(p);
    });
  }

  /** Starts the listeners for every running pod and follows the store from then on. */
  static async start(cluster: Cluster, opts: RuntimeOptions = {}): Promise<ContainerRuntime> {
    const rt = new ContainerRuntime(cluster, opts);
    await rt.front.listen();
    for (const p of cluster.store.list<P>('Pod')) rt.startPod(p);
    await rt.ready();
    return rt;
  }

  /** Resolves once every listener started so far is bound. */
  async ready(): Promise<void> {
    while (this.pending.size) await Promise.all([...this.pending]);
  }

  resolve(podIP: string, port: number, _protocol: 'tcp' = 'tcp'): RealAddress | undefined {
    const server = this.byAddress.get(`${podIP}:${port}`);
    if (server instanceof RelayPortServer && server.direct) return server.direct;
    const real = server?.realPort;
    return real === undefined ? undefined : { host: '127.0.0.1', port: real };
  }

  connect(podIP: string, port: number, emulatedClient: Peer): net.Socket {
    const c = this.realConnection(podIP, port, emulatedClient);
    return c ? openRealConnection(c) : refused(podIP, port);
  }

  realConnection(podIP: string, port: number, emulatedClient: Peer): RealConnection | undefined {
    const server = this.byAddress.get(`${podIP}:${port}`);
    if (this.closed || !server) return undefined;
    // The user's own process: the bytes go straight to it (it would not understand the PROXY line).
    if (server instanceof RelayPortServer) return { host: server.upstream.host, port: server.upstream.port };
    return { host: '127.0.0.1', port: this.front.realPort!, preface: proxyLine(emulatedClient, { ip: podIP, port }) };
  }

  /** Every pod port served now, for `kdp up` to print. */
  listening(): { pod: string; container: string; app: string; podIP: string; port: number; real: RealAddress | undefined }[] {
    const out = [];
    for (const pod of this.pods.values()) {
      for (const port of pod.relays.keys()) out.push({ pod: pod.key, container: '', app: `upstream ${pod.plan.upstreams.get(port)!.text}`, podIP: pod.ips[0], port, real: this.resolve(pod.ips[0], port) });
      for (const c of pod.containers) {
        for (const [port, s] of c.servers) {
          if (pod.relays.has(port)) continue;
          out.push({ pod: pod.key, container: c.plan.container, app: c.plan.describe, podIP: pod.ips[0], port, real: s.realPort === undefined ? undefined : { host: '127.0.0.1' as const, port: s.realPort } });
        }
      }
    }
    return out;
  }

  async close(): Promise<void> {
    this.closed = true;
    this.stopWatch();
    for (const pod of [...this.pods.values()]) this.stopPod(pod);
    await this.ready();
    await this.front.close();
  }

  // --- pods ---------------------------------------------------------------------------------------

  private startPod(p: P): void {
    const key = `${p.metadata.namespace}/${p.metadata.name}`;
    if (this.closed || this.pods.has(key) || !p.spec?.nodeName || !p.status?.podIP || p.status.phase !== 'Running') return;
    const plan = planPod(p);
    for (const prob of plan.problems) this.warn(this.located(p, prob.path, prob.message));
    const ips = podIPs(p);
    const written = new Map((p.status.containerStatuses ?? []).map((s) => [s.name, s]));
    const pod: PodInstance = {
      key, uid: p.metadata.uid, namespace: p.metadata.namespace!, name: p.metadata.name, ips,
      restartPolicy: p.spec.restartPolicy ?? 'Always',
      identity: this.identity(p, ips), nodeAddress: this.nodeAddress(p, ips[0]), plan,
      containers: (p.spec.containers ?? []).map((spec, i) => ({
        plan: plan.containers[i], spec, restartCount: written.get(spec.name)?.restartCount ?? 0,
        state: { running: { startedAt: isoNow() } }, ready: true, started: true, writtenUnready: written.get(spec.name)?.ready === false, servers: new Map(), probes: [],
      })),
      relays: new Map(),
    };
    this.pods.set(key, pod);
    for (const [port, up] of plan.upstreams) {
      const relay = new RelayPortServer(up);
      pod.relays.set(port, relay);
      this.bind(pod, port, relay);
      // A relay socket is only needed for resolve()'s callers when the process is not on loopback.
      if (!relay.direct) this.track(relay.listen());
    }
    for (const c of pod.containers) this.runContainer(pod, c);
    this.writeStatus(pod);
  }

  private stopPod(pod: PodInstance): void {
    this.pods.delete(pod.key);
    for (const c of pod.containers) {
      clearTimeout(c.restartTimer);
      this.stopServers(pod, c);
    }
    for (const [port, relay] of pod.relays) {
      this.unbind(pod, port, relay);
      this.track(relay.close());
    }
    pod.relays.clear();
  }

  /**
   * A problem with a pod's field, placed where the person wrote it: the pod in its file, or the template of the
   * workload that made it (ReplicaSet -> Deployment, StatefulSet, DaemonSet).
   */
  private located(p: P, path: (string | number)[], message: string): string {
    const { store, origins } = this.cluster;
    let obj: KubeObject = p;
    let at = path;
    for (let depth = 0; depth < 3 && !origins.get(obj.kind, obj.metadata.namespace, obj.metadata.name); depth++) {
      const ref = obj.metadata.ownerReferences?.find((r) => r.controller);
      const owner = ref && store.get<KubeObject>(ref.kind, obj.metadata.namespace, ref.name);
      if (!owner) break;
      // A ReplicaSet's pods come from its template, and the ReplicaSet from its Deployment's.
      if (obj === p) at = ['spec', 'template', ...path];
      obj = owner;
    }
    const where = origins.get(obj.kind, obj.metadata.namespace, obj.metadata.name) ? obj : p;
    const fieldAt = where === p ? path : at;
    const problem = problemAt(origins.get(where.kind, where.metadata.namespace, where.metadata.name), describeObject(where.kind, where.metadata.namespace, where.metadata.name), fieldAt, message, 'warning');
    // An annotation's key is a map key, written as the apiserver writes one: annotations[kdp.dev/app].
    const key = fieldAt[fieldAt.length - 1];
    if (fieldAt[fieldAt.length - 2] === 'annotations') problem.field = `${fieldAt.slice(0, -1).join('.')}[${key}]`;
    return formatProblem(problem);
  }

  private identity(p: P, ips: string[]): PodIdentity {
    const ns = this.opts.network?.pod(p.metadata.namespace!, p.metadata.name)?.netns;
    // net.Interfaces() order: by interface, each one's IPv4 addresses before its IPv6 ones.
    const byFamily = (list: string[]) => [...list.filter((a) => !a.includes(':')), ...list.filter((a) => a.includes(':'))];
    const addresses = ns ? [...ns.devices.keys()].flatMap((d) => byFamily(ns.addressesOf(d).map((a) => a.ip))) : ['127.0.0.1', ...ips];
    return {
      pod: p.metadata.name, namespace: p.metadata.namespace!, node: p.spec?.nodeName ?? '', podIP: ips[0],
      hostname: p.spec?.hostname ?? p.metadata.name.slice(0, 63), addresses,
    };
  }

  /** The source address the node's kernel picks for the pod (its cni0 address), else the node's own. */
  private nodeAddress(p: P, podIP: string): string {
    const host = this.opts.network?.host(p.spec?.nodeName ?? '');
    const route = host?.lookup(podIP);
    return (route && host?.sourceFor(route, podIP.includes(':') ? 'IPv6' : 'IPv4')) || p.status?.hostIP || '127.0.0.1';
  }

  // --- containers ----------------------------------------------------------------------------------

  /** Starts the container's process: its app on each of its ports (or an immediate exit). */
  private runContainer(pod: PodInstance, c: ContainerInstance): void {
    const running = { running: { startedAt: isoNow() } };
    c.state = running;
    c.started = !c.spec.startupProbe;
    const writtenUnready = c.writtenUnready;
    c.writtenUnready = false;
    c.ready = c.started && !c.spec.readinessProbe && !writtenUnready;
    if (c.plan.fails) {
      const { code, message } = c.plan.fails;
      this.warn(`warning: ${describeObject('Pod', pod.namespace, pod.name)}: container ${c.plan.container} exited with code ${code}: ${message}`);
      setImmediate(() => c.state === running && this.exited(pod, c, code, 'Error'));
      return;
    }
    const app = c.plan.make?.(pod.identity, (host, port) => this.dialFrom(pod, host, port));
    for (const port of app ? c.plan.ports : []) {
      // Only this run's process can exit: a late answer of a run already replaced is not this one's end.
      const server = new HttpPortServer(app!, port, pod.plan.delayMs, (code) => c.state === running && this.exited(pod, c, code, code === 0 ? 'Completed' : 'Error'));
      c.servers.set(port, server);
      if (!pod.relays.has(port)) this.bind(pod, port, server);
      this.track(server.listen());
    }
    this.kernelSockets(pod, c, true);
    // An add-on's pod (CoreDNS) is served, and so health-checked, by that add-on: it stays ready here.
    if (c.plan.app === 'external') {
      c.started = true;
      c.ready = !writtenUnready;
      return;
    }
    if (c.spec.startupProbe) this.probe(pod, c, 'startup', c.spec.startupProbe);
    else this.startProbes(pod, c);
  }

  private startProbes(pod: PodInstance, c: ContainerInstance): void {
    if (c.spec.readinessProbe) this.probe(pod, c, 'readiness', c.spec.readinessProbe);
    if (c.spec.livenessProbe) this.probe(pod, c, 'liveness', c.spec.livenessProbe);
  }

  private probe(pod: PodInstance, c: ContainerInstance, kind: ProbeKind, probe: core.Probe): void {
    const who = `${describeObject('Pod', pod.namespace, pod.name)}: container ${c.plan.container}`;
    const worker = new ProbeWorker({
      kind, probe, container: c.spec, podIP: pod.ips[0], secondMs: this.opts.probeSecondMs ?? 1000,
      warn: (m) => this.warn(`warning: ${describeObject('Pod', pod.namespace, pod.name)}: ${m}`),
      dial: (host, port) => this.connect(host, port, { ip: pod.nodeAddress, port: this.ephemeralPort() }),
      onResult: (ok) => {
        if (this.pods.get(pod.key) !== pod || !('running' in c.state)) return;
        if (kind === 'readiness') {
          c.ready = ok;
          this.writeStatus(pod);
        } else if (!ok) {
          // kubelet kills the container; processes that ignore SIGTERM as PID 1 end by SIGKILL: 137.
          this.warn(`warning: ${who}: ${kind} probe failed, restarting it`);
          this.exited(pod, c, 137, 'Error');
        } else if (kind === 'startup') {
          c.started = true;
          c.ready = !c.spec.readinessProbe;
          this.writeStatus(pod);
          this.startProbes(pod, c);
        }
      },
    });
    c.probes.push(worker);
    worker.start();
  }

  /** A connection the pod's app opens. */
  private dialFrom(pod: PodInstance, host: string, port: number): net.Socket {
    if (this.opts.dial) return this.opts.dial(pod.identity, host, port);
    if (net.isIP(host)) return this.connect(host, port, { ip: pod.ips[0], port: this.ephemeralPort() });
    const s = new net.Socket();
    process.nextTick(() => s.destroy(Object.assign(new Error(`getaddrinfo ENOTFOUND ${host}`), { code: 'ENOTFOUND', hostname: host })));
    return s;
  }

  /** The next source port of a connection from the node or a pod (the kernel's ephemeral range). */
  private ephemeralPort(): number {
    this.nextPort = this.nextPort >= 60999 ? 32768 : this.nextPort + 1;
    return this.nextPort;
  }

  /** The process is gone: its listeners close and its probes stop. */
  private stopServers(pod: PodInstance, c: ContainerInstance): void {
    for (const w of c.probes) w.stop();
    c.probes = [];
    for (const [port, server] of c.servers) {
      this.unbind(pod, port, server);
      this.track(server.close());
    }
    c.servers.clear();
    this.kernelSockets(pod, c, false);
  }

  /** The container's process ended: it stops listening, and its restartPolicy decides what comes next. */
  private exited(pod: PodInstance, c: ContainerInstance, exitCode: number, reason: string): void {
    if (this.pods.get(pod.key) !== pod || !('running' in c.state)) return;
    this.stopServers(pod, c);
    const terminated: Terminated = { exitCode, reason, startedAt: c.state.running.startedAt, finishedAt: isoNow() };
    c.state = { terminated };
    c.ready = false;
    const restart = pod.restartPolicy === 'Always' || (pod.restartPolicy === 'OnFailure' && exitCode !== 0);
    if (restart) {
      // kubelet restarts at once the first time, then backs off: 10 s, 20 s, 40 s ... 300 s.
      const base = this.opts.backoffMs ?? 10_000;
      const delay = c.restartCount === 0 ? 0 : Math.min(base * 2 ** (c.restartCount - 1), MAX_BACKOFF_MS);
      if (delay > 0) {
        c.lastTerminated = terminated;
        c.state = { waiting: { reason: 'CrashLoopBackOff', message: `back-off ${Math.round(delay / 1000)}s restarting failed container=${c.plan.container} pod=${pod.name}_${pod.namespace}(${pod.uid})` } };
      }
      c.restartTimer = setTimeout(() => {
        if (this.pods.get(pod.key) !== pod) return;
        c.lastTerminated = terminated;
        c.restartCount++;
        this.runContainer(pod, c);
        this.writeStatus(pod);
      }, delay);
    }
    this.writeStatus(pod);
  }

  private allTerminated(pod: PodInstance): boolean {
    return pod.containers.every((c) => 'terminated' in c.state);
  }

  private bind(pod: PodInstance, port: number, server: PortServer): void {
    for (const ip of pod.ips) this.byAddress.set(`${ip}:${port}`, server);
  }

  private unbind(pod: PodInstance, port: number, server: PortServer): void {
    for (const ip of pod.ips) {
      const k = `${ip}:${port}`;
      if (this.byAddress.get(k) !== server) continue;
      // A relay or another container's app on the same port takes over, if any.
      const other = pod.relays.get(port) ?? pod.containers.map((c) => c.servers.get(port)).find((s) => s && s !== server);
      if (other && other !== server) this.byAddress.set(k, other);
      else this.byAddress.delete(k);
    }
  }

  /** The pod namespace's socket table: a container that exits stops listening there too (trace says refused). */
  private kernelSockets(pod: PodInstance, c: ContainerInstance, listening: boolean): void {
    const ns = this.opts.network?.pod(pod.namespace, pod.name)?.netns;
    if (!ns) return;
    for (const port of c.plan.ports) {
      const i = ns.listeners.findIndex((l) => l.protocol === 'tcp' && l.port === port && l.owner === c.plan.container);
      if (listening && i < 0) ns.listeners.push({ protocol: 'tcp', address: '0.0.0.0', port, owner: c.plan.container });
      if (!listening && i >= 0) ns.listeners.splice(i, 1);
    }
  }

  private track(p: Promise<unknown>): void {
    const t = p.catch((e: NodeJS.ErrnoException) => {
      // Said once per cause: a topology too big for the file-descriptor limit would repeat it for every port.
      const cause = e.code ?? e.message;
      if (this.bindFailures.has(cause)) return;
      this.bindFailures.add(cause);
      this.warn(`warning: a pod listener could not open (${e.message}); connect() still reaches every pod, resolve() does not reach this one`);
    }).finally(() => this.pending.delete(t));
    this.pending.add(t);
  }

  /** Each distinct line once: every replica of a template, every turn of a crash loop, would repeat it. */
  private warn(message: string): void {
    if (this.warned.has(message)) return;
    this.warned.add(message);
    this.opts.warn?.(message);
  }

  // --- status --------------------------------------------------------------------------------------

  /** Writes what the containers are doing into the pod's status (containerStatuses, Ready, phase). */
  private writeStatus(pod: PodInstance): void {
    const store = this.cluster.store;
    const p = store.get<P>('Pod', pod.namespace, pod.name);
    if (!p || p.metadata.uid !== pod.uid || !p.status) return;
    const byName = new Map(pod.containers.map((c) => [c.plan.container, c]));
    const containerStatuses = (p.status.containerStatuses ?? []).map((cs) => {
      const c = byName.get(cs.name);
      if (!c) return cs;
      const out: core.ContainerStatus = { ...cs, ready: c.ready && 'running' in c.state, started: c.started && 'running' in c.state, restartCount: c.restartCount, state: c.state };
      if (c.lastTerminated) out.lastState = { terminated: c.lastTerminated };
      else delete out.lastState;
      return out;
    });
    const unready = containerStatuses.filter((s) => !s.ready).map((s) => s.name);
    const ready = unready.length === 0;
    const now = isoNow();
    const conditions = (p.status.conditions ?? []).map((cond) => {
      if (cond.type !== 'Ready' && cond.type !== 'ContainersReady') return cond;
      const status = ready ? 'True' : 'False';
      if (cond.status === status) return cond;
      const next: core.PodCondition = { type: cond.type, status, lastProbeTime: null as unknown as undefined, lastTransitionTime: now };
      if (!ready) Object.assign(next, { reason: 'ContainersNotReady', message: `containers with unready status: [${unready.join(' ')}]` });
      return next;
    });
    let phase = p.status.phase;
    if (this.allTerminated(pod) && pod.restartPolicy !== 'Always' && !pod.containers.some((c) => c.restartTimer && 'waiting' in c.state)) {
      const pendingRestart = pod.restartPolicy === 'OnFailure' && pod.containers.some((c) => 'terminated' in c.state && c.state.terminated.exitCode !== 0);
      if (!pendingRestart) phase = pod.containers.every((c) => 'terminated' in c.state && c.state.terminated.exitCode === 0) ? 'Succeeded' : 'Failed';
    }
    const same = phase === p.status.phase && JSON.stringify(conditions) === JSON.stringify(p.status.conditions) && JSON.stringify(containerStatuses) === JSON.stringify(p.status.containerStatuses);
    if (same) return;
    store.update(patch(p, { status: patch(p.status, { phase, conditions, containerStatuses }) }));
  }
}
