// The upstream's response as the client gets it: status line and headers passed on as nginx does (its Server,
// no hop-by-hop headers), a chunked body re-framed for an HTTP/1.0 client, which cannot read chunks.
import { createServer, type Server } from 'node:http';
import { connect, type AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { KubeObject, Pod } from '../../src/cluster/objects.ts';
import { IngressController } from '../../src/ingress/controller.ts';
import { endpointKey, StoreDialer, TargetRegistry } from '../../src/ingress/dialer.ts';
import { cluster, NODES3, NO_COREDNS } from '../helpers/cluster.ts';
import { appPod, ingressDoc, serviceDoc } from '../helpers/dataplane.ts';

const INGRESS = ingressDoc('web', 'web.example', 'web', 80);

let backend: Server;
/** Resolves when the streaming backend's response is closed under it. */
let streamClosed: Promise<void>;
let ctl: IngressController;

beforeAll(async () => {
  const c = cluster(NODES3 + NO_COREDNS + appPod('w1', 'node1', 'web') + serviceDoc('web', 'web') + INGRESS);
  // No Content-Length: the body goes out in chunks; hop-by-hop and Server headers nginx would not pass on.
  let closed!: () => void;
  streamClosed = new Promise((r) => (closed = r));
  backend = createServer((req, res) => {
    if (req.url === '/stream') {
      // A download that never ends by itself.
      res.writeHead(200, { 'content-type': 'application/octet-stream' });
      const t = setInterval(() => res.write(Buffer.alloc(1024)), 5);
      res.on('close', () => {
        clearInterval(t);
        closed();
      });
      return;
    }
    res.writeHead(201, 'Made It', { 'content-type': 'text/plain', 'keep-alive': 'timeout=5', server: 'backend/1.0', 'x-app': 'yes' });
    res.write('hello ');
    setTimeout(() => res.end('world'), 5);
  });
  await new Promise<void>((r) => backend.listen(0, '127.0.0.1', r));
  const targets = new TargetRegistry();
  const ip = c.store.get<Pod & KubeObject>('Pod', 'default', 'w1')!.status!.podIP!;
  targets.set(endpointKey(ip, 8080), { host: '127.0.0.1', port: (backend.address() as AddressInfo).port });
  ctl = new IngressController({ store: c.store, dialer: new StoreDialer(c.store, targets), httpPort: 0 });
  await ctl.start();
});

afterAll(async () => {
  await ctl.stop();
  backend.closeAllConnections();
  await new Promise((r) => backend.close(r));
});

/** One raw request; the whole answer as bytes arrive until the controller closes (Connection: close). */
function raw(request: string): Promise<string> {
  return new Promise((resolve, reject) => {
    const s = connect(ctl.httpPort!, '127.0.0.1', () => s.write(request));
    let out = '';
    s.setEncoding('latin1');
    s.on('data', (d: string) => (out += d));
    s.on('end', () => resolve(out));
    s.on('error', reject);
  });
}

const head = (answer: string) => answer.slice(0, answer.indexOf('\r\n\r\n')).split('\r\n');

describe('the response the client gets', () => {
  it('HTTP/1.1: the upstream\'s status line, its headers but the hop-by-hop ones, nginx as Server, the chunks', async () => {
    const a = await raw('GET / HTTP/1.1\r\nHost: web.example\r\nConnection: close\r\n\r\n');
    const lines = head(a);
    expect(lines[0]).toBe('HTTP/1.1 201 Made It');
    expect(lines).toContain('server: nginx');
    expect(lines).toContain('x-app: yes');
    expect(lines).toContain('transfer-encoding: chunked');
    expect(lines).toContain('connection: close');
    expect(lines.some((l) => /^keep-alive:/i.test(l))).toBe(false);
    expect(a.slice(a.indexOf('\r\n\r\n') + 4)).toBe('6\r\nhello \r\n5\r\nworld\r\n0\r\n\r\n');
  });

  it('HTTP/1.0: no chunks (the body ends with the connection)', async () => {
    const a = await raw('GET / HTTP/1.0\r\nHost: web.example\r\n\r\n');
    const lines = head(a);
    expect(lines[0]).toBe('HTTP/1.1 201 Made It');
    expect(lines.some((l) => /^transfer-encoding:/i.test(l))).toBe(false);
    expect(lines).toContain('connection: close');
    expect(a.slice(a.indexOf('\r\n\r\n') + 4)).toBe('hello world');
  });

  it('a client hanging up mid-body closes the upstream connection too', async () => {
    const s = connect(ctl.httpPort!, '127.0.0.1', () => s.write('GET /stream HTTP/1.1\r\nHost: web.example\r\n\r\n'));
    await new Promise((r) => s.once('data', r));
    s.destroy();
    await streamClosed;
  });
});
