// The Ingress controller's worker processes: each connection goes to the next worker, a worker that dies is
// started again (and the person running kdp is told), every change to Ingresses and Secrets reaches every
// worker's copy, what two workers both meet is said once, and stopping ends them all.
import http from 'node:http';
import https from 'node:https';
import net from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import WebSocket from 'ws';
import { generate } from 'selfsigned';
import tls from 'node:tls';
import type { KubeObject } from '../../src/cluster/objects.ts';
import { startIngress, type RunningIngress } from '../../src/dataplane/ingress.ts';
import { ContainerRuntime } from '../../src/kubelet/runtime.ts';
import { NODES3, NO_COREDNS } from '../helpers/cluster.ts';
import { appPod, dataPlaneOf, ingressDoc, serviceDoc } from '../helpers/dataplane.ts';
import { until } from '../helpers/until.ts';

const cleanups: (() => Promise<void> | void)[] = [];
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c();
});

async function start(extra = '') {
  const { c, dp } = dataPlaneOf(NODES3 + NO_COREDNS + appPod('w1', 'node1', 'web') + serviceDoc('web', 'web') + ingressDoc('web', 'web.example', 'web', 80) + extra);
  const rt = await ContainerRuntime.start(c, { network: dp.network });
  cleanups.push(() => rt.close(), () => dp.close());
  const log: string[] = [];
  const access: string[] = [];
  const ingress = await startIngress(c, dp, rt, { httpPort: 0, httpsPort: 0, workers: 2, accessLog: (t) => access.push(t), log: (l) => log.push(l) });
  cleanups.push(() => ingress.stop());
  return { c, ingress, log, access };
}

/** The status of GET / for `host` on a fresh connection. */
function status(ingress: RunningIngress, host: string): Promise<number> {
  return new Promise((resolve, reject) => {
    http.get({ host: '127.0.0.1', port: ingress.httpPort, path: '/', headers: { host }, agent: false }, (res) => {
      res.resume();
      res.on('end', () => resolve(res.statusCode!));
    }).on('error', reject);
  });
}

/** A raw client connection: each ask() sends one keep-alive GET and resolves with the status line's code. */
async function connection(port: number) {
  const sock = net.connect(port, '127.0.0.1');
  await new Promise((r) => sock.once('connect', r));
  let closed = false;
  sock.once('close', () => (closed = true));
  sock.on('error', () => {});
  return {
    get closed() {
      return closed;
    },
    ask: () => new Promise<number>((resolve) => {
      sock.once('data', (d: Buffer) => resolve(Number(/^HTTP\/1\.1 (\d+)/.exec(d.toString('latin1'))?.[1])));
      sock.write('GET / HTTP/1.1\r\nHost: web.example\r\n\r\n');
    }),
    end: () => {
      sock.destroy();
    },
  };
}

const alive = (pid: number) => {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
};

describe('the Ingress controller\'s worker processes', () => {
  it('serves each connection in the next worker, and starts a worker that dies again', async () => {
    const { ingress, log } = await start();
    const [first, second] = ingress.workerPids;
    expect(new Set([first, second]).size).toBe(2);
    const a = await connection(ingress.httpPort);
    const b = await connection(ingress.httpPort);
    cleanups.push(() => a.end(), () => b.end());
    expect([await a.ask(), await b.ask()]).toEqual([200, 200]);
    process.kill(first, 'SIGKILL');
    await until(() => log.some((l) => l.startsWith('worker 1 exited with SIGKILL; starting it again')));
    // The first connection lived in the killed worker and went with it; the second, in the other, goes on.
    await until(() => a.closed);
    expect(b.closed).toBe(false);
    expect(await b.ask()).toBe(200);
    await until(() => ingress.workerPids.length === 2 && !ingress.workerPids.includes(first), 20_000);
    expect(alive(first)).toBe(false);
    // New connections reach both workers again, the restarted one included.
    const fresh = await Promise.all(Array.from({ length: 4 }, () => status(ingress, 'web.example')));
    expect(fresh).toEqual([200, 200, 200, 200]);
  });

  it('relays a WebSocket from a worker to the pod and back', async () => {
    const { ingress } = await start();
    const ws = new WebSocket(`ws://127.0.0.1:${ingress.httpPort}/chat`, { headers: { host: 'web.example' } });
    cleanups.push(() => ws.terminate());
    await new Promise((resolve, reject) => ws.once('open', resolve).once('error', reject));
    const echoed = new Promise<string>((resolve) => ws.once('message', (d) => resolve(d.toString())));
    ws.send('hello through a worker');
    expect(await echoed).toBe('hello through a worker');
  });

  it('follows every change to the Ingresses in every worker, before any connection accepted after it', async () => {
    const { c, ingress } = await start();
    const both = () => Promise.all([status(ingress, 'new.example'), status(ingress, 'new.example')]);
    expect(await both()).toEqual([404, 404]);
    c.store.create({
      apiVersion: 'networking.k8s.io/v1', kind: 'Ingress', metadata: { name: 'new', namespace: 'default' },
      spec: { rules: [{ host: 'new.example', http: { paths: [{ path: '/', pathType: 'Prefix', backend: { service: { name: 'web', port: { number: 80 } } } }] } }] },
    } as KubeObject);
    // No wait: a change goes down the same channel as the connections handed over after it, so it is ahead.
    expect(await both()).toEqual([200, 200]);
    // kdp's own process keeps the status, as it would if it served: the address the controller listens on.
    expect(c.store.get<KubeObject & { status?: { loadBalancer?: { ingress?: { ip: string }[] } } }>('Ingress', 'default', 'new')?.status?.loadBalancer?.ingress).toEqual([{ ip: '127.0.0.1' }]);
    c.store.delete('Ingress', 'default', 'new');
    expect(await both()).toEqual([404, 404]);
  });

  it('presents a tls Secret added while it runs from every worker, by SNI', async () => {
    const { c, ingress } = await start();
    const pems = await generate([{ name: 'commonName', value: 'late.example' }], { keySize: 2048, extensions: [{ name: 'subjectAltName', altNames: [{ type: 2, value: 'late.example' }] }] });
    c.store.create({ apiVersion: 'v1', kind: 'Secret', metadata: { name: 'late-tls', namespace: 'default' }, type: 'kubernetes.io/tls', stringData: { 'tls.crt': pems.cert, 'tls.key': pems.private } } as KubeObject);
    c.store.create({
      apiVersion: 'networking.k8s.io/v1', kind: 'Ingress', metadata: { name: 'late', namespace: 'default' },
      spec: { tls: [{ hosts: ['late.example'], secretName: 'late-tls' }], rules: [{ host: 'late.example', http: { paths: [{ path: '/', pathType: 'Prefix', backend: { service: { name: 'web', port: { number: 80 } } } }] } }] },
    } as KubeObject);
    const cn = () => new Promise<string | undefined>((resolve, reject) => {
      const sock = tls.connect({ host: '127.0.0.1', port: ingress.httpsPort, servername: 'late.example', rejectUnauthorized: false }, () => {
        resolve(String(sock.getPeerCertificate().subject?.CN));
        sock.end();
      });
      sock.on('error', reject);
    });
    // Two connections: one in each worker.
    expect(await Promise.all([cn(), cn()])).toEqual(['late.example', 'late.example']);
  });

  it('says once what every worker meets (a tls Secret it cannot use), and redirects to the HTTPS port kdp listens on', async () => {
    const bad = `---
apiVersion: v1
kind: Secret
metadata: {name: bad}
type: kubernetes.io/tls
data: {tls.crt: bm90IGEgY2VydA==, tls.key: bm90IGEga2V5}
---
apiVersion: networking.k8s.io/v1
kind: Ingress
metadata: {name: secure}
spec:
  tls: [{hosts: [secure.example], secretName: bad}]
  rules:
    - host: secure.example
      http: {paths: [{path: /, pathType: Prefix, backend: {service: {name: web, port: {number: 80}}}}]}
`;
    const { ingress, log } = await start(bad);
    const get = () => new Promise<number>((resolve, reject) => {
      https.get({ host: '127.0.0.1', port: ingress.httpsPort, servername: 'secure.example', path: '/', headers: { host: 'secure.example' }, rejectUnauthorized: false, agent: false }, (res) => {
        res.resume();
        res.on('end', () => resolve(res.statusCode!));
      }).on('error', reject);
    });
    // Two connections, one in each worker: both fall back to the default certificate.
    expect([await get(), await get()]).toEqual([200, 200]);
    await until(() => log.some((l) => l.startsWith('Secret default/bad: ')));
    await new Promise((r) => setTimeout(r, 50));
    expect(log.filter((l) => l.startsWith('Secret default/bad: '))).toHaveLength(1);
    // A host with TLS: plain HTTP is sent to HTTPS, at the port the workers' connections come from.
    const location = await new Promise<string | undefined>((resolve, reject) => {
      http.get({ host: '127.0.0.1', port: ingress.httpPort, path: '/a', headers: { host: 'secure.example' }, agent: false }, (res) => {
        res.resume();
        resolve(res.statusCode === 308 ? res.headers.location : `status ${res.statusCode}`);
      }).on('error', reject);
    });
    expect(location).toBe(`https://secure.example:${ingress.httpsPort}/a`);
  });

  it('ends every worker when it stops, a client still connected, their last access-log lines written first', async () => {
    const { ingress, access } = await start();
    const pids = ingress.workerPids;
    expect(pids.every(alive)).toBe(true);
    const open = await connection(ingress.httpPort);
    cleanups.push(() => open.end());
    expect(await open.ask()).toBe(200);
    await ingress.stop();
    expect(pids.some(alive)).toBe(false);
    await until(() => open.closed);
    expect(access.join('')).toMatch(/"GET \/ HTTP\/1\.1" 200 .*\[default-web-80\]/);
  });
});
