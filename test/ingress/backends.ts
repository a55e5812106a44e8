// Real backend listeners for the controller tests: one echo server per pod endpoint (JSON of what arrived),
// registered under podIP:port as the kubelet's listeners will be; WebSocket echo on every one of them.
import { createServer, request, type IncomingHttpHeaders, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { WebSocketServer } from 'ws';
import type { KubeObject, Pod } from '../../src/cluster/objects.ts';
import type { Store } from '../../src/cluster/store.ts';
import { endpointKey, TargetRegistry } from '../../src/ingress/dialer.ts';

export interface Echo {
  pod: string;
  method: string;
  url: string;
  headers: IncomingHttpHeaders;
}

export interface Backends {
  registry: TargetRegistry;
  close(): Promise<void>;
}

/** Starts an echo server for each pod's TCP ports, except pods in `silent` (they refuse connections). */
export async function startBackends(store: Store, opts: { silent?: string[]; delayMs?: Record<string, number> } = {}): Promise<Backends> {
  const registry = new TargetRegistry();
  const servers: Server[] = [];
  for (const pod of store.list<Pod & KubeObject>('Pod')) {
    const name = pod.metadata.name;
    if (opts.silent?.includes(name) || pod.metadata.namespace === 'kube-system' || !pod.status?.podIP) continue;
    for (const port of pod.spec?.containers?.flatMap((c) => c.ports ?? []) ?? []) {
      const delay = opts.delayMs?.[name] ?? 0;
      const srv = createServer((req, res) => {
        const body = JSON.stringify({ pod: name, method: req.method ?? '', url: req.url ?? '', headers: req.headers } satisfies Echo);
        setTimeout(() => res.writeHead(200, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(body), 'x-pod': name }).end(body), delay);
      });
      const wss = new WebSocketServer({ server: srv });
      wss.on('connection', (ws) => ws.on('message', (m, binary) => ws.send(binary ? m : `${name}: ${m.toString()}`, { binary })));
      await new Promise<void>((resolve) => srv.listen(0, '127.0.0.1', resolve));
      servers.push(srv);
      registry.set(endpointKey(pod.status.podIP, port.containerPort), { host: '127.0.0.1', port: (srv.address() as AddressInfo).port });
    }
  }
  return {
    registry,
    close: () => Promise.all(servers.map((s) => new Promise<void>((r) => (s.closeAllConnections(), s.close(() => r()))))).then(() => {}),
  };
}

export interface Reply {
  status: number;
  headers: IncomingHttpHeaders;
  body: string;
  json?: Echo;
}

/** A plain HTTP/1.1 request with the Host header the test wants (fetch will not send a chosen Host). */
export function get(port: number, host: string, path: string, headers: Record<string, string> = {}, method = 'GET'): Promise<Reply> {
  return new Promise((resolve, reject) => {
    const req = request({ host: '127.0.0.1', port, path, method, headers: { host, ...headers }, agent: false }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('end', () => {
        const body = Buffer.concat(chunks).toString('utf8');
        let json: Echo | undefined;
        try {
          json = res.headers['content-type'] === 'application/json' ? (JSON.parse(body) as Echo) : undefined;
        } catch {
          json = undefined;
        }
        resolve({ status: res.statusCode ?? 0, headers: res.headers, body, json });
      });
    });
    req.on('error', reject);
    req.end();
  });
}
