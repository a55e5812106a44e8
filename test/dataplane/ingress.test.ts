// The Ingress controller dialling through the data plane (what `kdp up` runs): kube-proxy's choice is made per
// flow, so a new client connection draws anew, a kept-alive one stays on the endpoint its first request got,
// and a change to the Service's endpoints is followed at once. The access log names the pod that answered. All
// of it alike whether `kdp up`'s own process serves the controller's connections or its worker processes do.
import http from 'node:http';
import { afterEach, describe, expect, it } from 'vitest';
import type { KubeObject, Pod } from '../../src/cluster/objects.ts';
import { startIngress } from '../../src/dataplane/ingress.ts';
import { ContainerRuntime } from '../../src/kubelet/runtime.ts';
import { NODES3, NO_COREDNS } from '../helpers/cluster.ts';
import { appPod, dataPlaneOf, ingressDoc, serviceDoc } from '../helpers/dataplane.ts';

const INGRESS = ingressDoc('web', 'web.example', 'web', 80);

const cleanups: (() => Promise<void> | void)[] = [];
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c();
});

async function start(workers: number, extra = '') {
  const { c, dp } = dataPlaneOf(NODES3 + NO_COREDNS + appPod('w1', 'node1', 'web') + appPod('w2', 'node2', 'web') + appPod('w3', 'node3', 'web') + serviceDoc('web', 'web') + INGRESS + extra);
  const rt = await ContainerRuntime.start(c, { network: dp.network });
  cleanups.push(() => rt.close(), () => dp.close());
  const log: string[] = [];
  const ingress = await startIngress(c, dp, rt, {
    httpPort: 0, httpsPort: 0, workers, accessLog: (text) => log.push(...text.split('\n').filter(Boolean)), log: () => {},
  });
  cleanups.push(() => ingress.stop());
  const podIP = (name: string) => c.store.get<Pod & KubeObject>('Pod', 'default', name)!.status!.podIP!;
  return { c, log, port: ingress.httpPort, podIP };
}

/** GET / through the controller; the echo app's JSON names the pod and the request's X-Request-ID. */
function get(port: number, agent: http.Agent): Promise<{ status: number; pod: string; podIP: string; id: string }> {
  return new Promise((resolve, reject) => {
    http.get({ host: '127.0.0.1', port, path: '/', headers: { host: 'web.example' }, agent }, (res) => {
      let body = '';
      res.setEncoding('utf8');
      res.on('data', (d: string) => (body += d));
      res.on('end', () => {
        const j = res.statusCode === 200 ? JSON.parse(body) : {};
        resolve({ status: res.statusCode!, pod: j.pod, podIP: j.podIP, id: j.headers?.['x-request-id'] });
      });
    }).on('error', reject);
  });
}

/**
 * The upstream address ($upstream_addr) the access log names for each answer, found by its $request_id (worker
 * processes write their lines independently, so the log's order need not be the requests').
 */
function upstreams(log: string[], answers: { id: string }[]): (string | undefined)[] {
  const byId = new Map(log.map((l) => [l.split(' ').pop(), /\[default-web-80\] \[\] (\S+) /.exec(l)?.[1]]));
  return answers.map((a) => byId.get(a.id));
}

/** Waits until the access log has `n` lines (it is written when each response closes). */
async function lines(log: string[], n: number): Promise<string[]> {
  for (let i = 0; i < 200 && log.length < n; i++) await new Promise((r) => setTimeout(r, 10));
  return log;
}

describe.each([
  ['served by kdp\'s own process', 0],
  ['served by two worker processes', 2],
])('the Ingress controller through the data plane, %s', (_, workers) => {
  it('draws kube-proxy\'s choice for each new client connection, and the access log names the pod that answered', async () => {
    const { log, port } = await start(workers);
    const fresh = new http.Agent({ keepAlive: false });
    cleanups.push(() => fresh.destroy());
    const answers = [];
    for (let i = 0; i < 30; i++) answers.push(await get(port, fresh));
    expect(answers.every((a) => a.status === 200)).toBe(true);
    // 30 draws over three equally likely endpoints: all three answer. (The draws are seeded by the dialer's
    // count of flows, so every run sees the same ones.)
    expect(new Set(answers.map((a) => a.pod))).toEqual(new Set(['w1', 'w2', 'w3']));
    expect(upstreams(await lines(log, 30), answers)).toEqual(answers.map((a) => `${a.podIP}:8080`));
  });

  it('names a pod that refuses in the access log, each of the three tries (proxy_next_upstream), and answers 502', async () => {
    const refusing = appPod('dead', 'node2', 'dead').replace('labels: {app: dead}}', 'labels: {app: dead}, annotations: {kdp.dev/app: none}}');
    const { log, port, podIP } = await start(workers, refusing + serviceDoc('dead', 'dead') + ingressDoc('dead', 'dead.example', 'dead', 80));
    const status = await new Promise<number>((resolve, reject) => {
      http.get({ host: '127.0.0.1', port, path: '/', headers: { host: 'dead.example' }, agent: false }, (res) => {
        res.resume();
        resolve(res.statusCode!);
      }).on('error', reject);
    });
    expect(status).toBe(502);
    const ep = `${podIP('dead')}:8080`;
    const [line] = await lines(log, 1);
    expect(line).toContain(`[default-dead-80] [] ${ep}, ${ep}, ${ep} 0, 0, 0 0.000, 0.000, 0.000 502, 502, 502 `);
  });

  it('keeps a kept-alive client connection on its flow\'s endpoint, and follows the Service when that pod goes', async () => {
    const { c, log, port } = await start(workers);
    const one = new http.Agent({ keepAlive: true, maxSockets: 1 });
    cleanups.push(() => one.destroy());
    const first = await get(port, one);
    const rest = [];
    for (let i = 0; i < 10; i++) rest.push(await get(port, one));
    expect(rest.map((a) => a.pod)).toEqual(Array(10).fill(first.pod));
    // The pod behind the flow is deleted: its endpoint leaves the Service, and the same client connection's
    // next requests are decided anew among the others.
    c.store.delete('Pod', 'default', first.pod);
    // A kept-alive connection's bytes do not pass the channel the change comes down: a worker follows it within
    // a moment (as an Ingress controller follows endpoints in a real cluster).
    if (workers) await new Promise((r) => setTimeout(r, 200));
    const after = [];
    for (let i = 0; i < 5; i++) after.push(await get(port, one));
    expect(after.every((a) => a.status === 200 && a.pod !== first.pod)).toBe(true);
    expect(upstreams(await lines(log, 16), after)).toEqual(after.map((a) => `${a.podIP}:8080`));
  });
});
