// One Ingress controller worker process (src/ingress/workers.ts starts them): an IngressController in its
// 'serve' role over a copy of the store's Ingresses, IngressClasses and Secrets, fed the connections the main
// process accepted, asking the main process to decide each new flow (the data plane lives there). It stops
// when its channel to the main process closes, so it never outlives kdp.
import type { Socket } from 'node:net';
import type { KubeObject } from '../cluster/objects.ts';
import { Store, type EventType } from '../cluster/store.ts';
import { bufferedLines } from './accesslog.ts';
import { IngressController } from './controller.ts';
import { FlowDialer, type FlowDecision } from './flows.ts';
import type { FromWorker, Scheme, ToWorker } from './workers.ts';

const send = (m: FromWorker, then?: () => void) => {
  if (!process.connected) then?.();
  else if (then) process.send!(m, () => then());
  else process.send!(m);
};
/** The access log crosses to the main process in batches: one message for many requests. */
const ACCESS_LOG_FLUSH_MS = 20;

const store = new Store();
let generation = 0;
let nextId = 0;
const waiting = new Map<number, { resolve: (f: FlowDecision) => void; reject: (e: Error) => void }>();
const dialer = new FlowDialer(
  ({ service, port, clientIP, exclude }) => new Promise<FlowDecision>((resolve, reject) => {
    const id = ++nextId;
    waiting.set(id, { resolve, reject });
    send({ t: 'dial', id, req: { service, port, clientIP, exclude } });
  }),
  () => generation,
);
const accessLog = bufferedLines((text) => send({ t: 'access', text }), ACCESS_LOG_FLUSH_MS);
let controller: IngressController | undefined;
/** Connections handed over before the controller serves. */
const early: [Socket, Scheme][] = [];

function apply(type: EventType, o: KubeObject): void {
  const { kind, metadata: { namespace, name } } = o;
  const have = store.get(kind, namespace, name);
  if (type === 'DELETED') {
    if (have) store.delete(kind, namespace, name);
  } else if (have) store.update(o);
  else store.create(o);
}

async function init(m: Extract<ToWorker, { t: 'init' }>): Promise<void> {
  generation = m.generation;
  for (const o of m.objects) apply('ADDED', o);
  const ctl = new IngressController({
    store,
    dialer,
    role: 'serve',
    httpPort: m.httpPort,
    httpsPort: m.httpsPort,
    defaultCertificate: m.certificate,
    accessLog,
    log: (line) => send({ t: 'log', line }),
  });
  await ctl.start();
  controller = ctl;
  for (const [sock, scheme] of early.splice(0)) ctl.accept(sock, scheme);
  send({ t: 'ready' });
}

process.on('message', (m: ToWorker, handle?: Socket) => {
  switch (m.t) {
    case 'init':
      void init(m);
      return;
    case 'event':
      apply(m.type, m.object);
      return;
    case 'stop':
      // The last lines go out before the worker does.
      accessLog.flush();
      send({ t: 'stopped' }, () => process.exit(0));
      return;
    case 'generation':
      generation = m.generation;
      return;
    case 'conn':
      if (!handle) return;
      if (controller) controller.accept(handle, m.scheme);
      else early.push([handle, m.scheme]);
      return;
    case 'flow': {
      const w = waiting.get(m.id);
      waiting.delete(m.id);
      if ('error' in m) w?.reject(new Error(m.error));
      else w?.resolve(m.flow);
    }
  }
});

// The controller guards every request; what still escapes is a bug: said through the main process, which starts
// this worker again.
process.on('uncaughtException', (e) => {
  send({ t: 'log', line: `worker failed: ${e.message}` });
  process.exit(70);
});

// Ctrl-C reaches every process of the terminal's group: stopping is the main process's to decide, and it tells
// its workers (who write out their access log first). Killed, the main process's channel closes and this ends.
for (const signal of ['SIGINT', 'SIGTERM'] as const) process.on(signal, () => {});

process.on('disconnect', () => {
  dialer.close();
  process.exit(0);
});
