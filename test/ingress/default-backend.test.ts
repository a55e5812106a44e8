// ingress-controller-conformance features/default_backend.feature, over real sockets: an Ingress with only a
// defaultBackend gets every method, host and path, with the response headers the feature asserts.
import { request } from 'node:http';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { IngressController } from '../../src/ingress/controller.ts';
import { StoreDialer } from '../../src/ingress/dialer.ts';
import { cluster, NODES3, NO_COREDNS } from '../helpers/cluster.ts';
import { startBackends, type Backends, type Echo } from './backends.ts';

const TOPOLOGY = NODES3 + NO_COREDNS + `---
apiVersion: v1
kind: Pod
metadata: {name: echo-1, labels: {app: echo}}
spec: {nodeName: node1, containers: [{name: c, ports: [{containerPort: 3000}]}]}
---
apiVersion: v1
kind: Service
metadata: {name: echo-service}
spec: {selector: {app: echo}, ports: [{port: 8080, targetPort: 3000}]}
---
apiVersion: networking.k8s.io/v1
kind: Ingress
metadata: {name: default-backend}
spec:
  defaultBackend:
    service: {name: echo-service, port: {number: 8080}}
`;

let backends: Backends;
let ctl: IngressController;

beforeAll(async () => {
  const c = cluster(TOPOLOGY);
  backends = await startBackends(c.store);
  ctl = new IngressController({ store: c.store, dialer: new StoreDialer(c.store, backends.registry), httpPort: 0 });
  await ctl.start();
});
afterAll(async () => {
  await ctl.stop();
  await backends.close();
});

function send(method: string, host: string, path: string): Promise<{ status: number; headers: Record<string, unknown>; httpVersion: string; echo: Echo }> {
  return new Promise((resolve, reject) => {
    // An empty host in the feature means the ingress address itself, which is what Go's client then sends.
    const headers: Record<string, string> = { 'user-agent': 'Go-http-client/1.1', host: host || `127.0.0.1:${ctl.httpPort}` };
    const req = request({ host: '127.0.0.1', port: ctl.httpPort, method, path, headers, agent: false }, (res) => {
      let body = '';
      res.on('data', (d) => (body += d));
      res.on('end', () => {
        try {
          resolve({ status: res.statusCode!, headers: res.headers, httpVersion: res.httpVersion, echo: JSON.parse(body) as Echo });
        } catch (e) {
          reject(new Error(`${res.statusCode}: ${body}: ${(e as Error).message}`));
        }
      });
    });
    req.on('error', reject);
    req.end();
  });
}

describe('conformance: default backend (default_backend.feature)', () => {
  it.each([
    ['GET', 'my-host', '/'],
    ['GET', 'my-host', '/sub-path'],
    ['POST', 'some-host', '/'],
    ['PUT', '', '/resource'],
    ['DELETE', 'some-host', '/resource'],
    ['PATCH', 'my-host', '/resource'],
  ])('%s http://%s%s goes to echo-service unchanged', async (method, host, path) => {
    const r = await send(method, host, path);
    expect(r.status).toBe(200);
    expect(r.echo.pod).toBe('echo-1');
    expect(r.httpVersion).toBe('1.1');
    for (const h of ['content-length', 'content-type', 'date', 'server']) expect(r.headers[h], h).toBeDefined();
    expect(r.echo.method).toBe(method);
    expect(r.echo.url).toBe(path);
    expect(r.echo.headers['user-agent']).toBe('Go-http-client/1.1');
  });
});
