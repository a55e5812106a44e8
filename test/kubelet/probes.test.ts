// readinessProbe, livenessProbe and startupProbe against the real listeners, driving the pod's Ready
// condition and so its EndpointSlice. One probe second lasts 40 ms here.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import http from 'node:http';
import net from 'node:net';
import { cluster, get, NODES3, NO_COREDNS } from '../helpers/cluster.ts';
import { ClusterNetwork } from '../../src/kubelet/network.ts';
import { ContainerRuntime } from '../../src/kubelet/runtime.ts';
import { httpProbe, probePort, tcpProbe } from '../../src/kubelet/prober.ts';
import type { Cluster } from '../../src/cluster/cluster.ts';
import type { EndpointSlice, KubeObject, Pod } from '../../src/cluster/objects.ts';
import { request } from './helpers.ts';
import { until } from '../helpers/until.ts';

const AGNHOST = 'registry.k8s.io/e2e-test-images/agnhost:2.52';
const pod = (name: string, container: string, annotations: Record<string, string> = {}) => `---
apiVersion: v1
kind: Pod
metadata: {name: ${name}, labels: {app: probed}, annotations: ${JSON.stringify(annotations)}}
spec: {nodeName: node2, containers: [${container}]}
`;
const healthz = (extra = '') => `{httpGet: {path: /healthz, port: http}, periodSeconds: 1${extra}}`;

const TOPOLOGY = NODES3 + NO_COREDNS
  + `---\napiVersion: v1\nkind: Service\nmetadata: {name: probed}\nspec: {selector: {app: probed}, ports: [{port: 80, targetPort: 8080}]}\n`
  + pod('healthy', `{name: c, image: "${AGNHOST}", args: [netexec], ports: [{name: http, containerPort: 8080}], readinessProbe: ${healthz()}}`)
  + pod('no-udp', `{name: c, image: "${AGNHOST}", args: [netexec, --udp-port=-1], ports: [{name: http, containerPort: 8080}], readinessProbe: ${healthz()}}`)
  + pod('slow', `{name: c, image: "${AGNHOST}", args: [netexec], ports: [{name: http, containerPort: 8080}], readinessProbe: ${healthz(', timeoutSeconds: 1')}}`, { 'kdp.dev/delay-ms': '200' })
  + pod('late', `{name: c, image: "${AGNHOST}", args: [netexec], ports: [{name: http, containerPort: 8080}], readinessProbe: ${healthz(', initialDelaySeconds: 25')}}`)
  + pod('tcp-none', `{name: c, ports: [{containerPort: 8080}], readinessProbe: {tcpSocket: {port: 8080}, periodSeconds: 1}}`, { 'kdp.dev/app': 'none' })
  + pod('tcp-ok', `{name: c, ports: [{containerPort: 8080}], readinessProbe: {tcpSocket: {port: 8080}, periodSeconds: 1}}`)
  + pod('whoami', `{name: c, image: traefik/whoami, args: [--port=8080], ports: [{containerPort: 8080}], readinessProbe: {httpGet: {path: /health, port: 8080}, periodSeconds: 1, failureThreshold: 2}}`)
  + pod('dying', `{name: c, image: "${AGNHOST}", args: [netexec, --udp-port=-1], ports: [{name: http, containerPort: 8080}], livenessProbe: ${healthz(', failureThreshold: 2')}}`)
  + pod('dns', `{name: coredns, image: "registry.k8s.io/coredns/coredns:v1.11.3", ports: [{containerPort: 53, protocol: UDP}], readinessProbe: {httpGet: {path: /ready, port: 8181}, periodSeconds: 1}, livenessProbe: {httpGet: {path: /health, port: 8080}, periodSeconds: 1, failureThreshold: 1}}`)
  + pod('booting', `{name: c, image: "${AGNHOST}", args: [netexec], ports: [{name: http, containerPort: 8080}], startupProbe: {httpGet: {path: /healthz, port: 9999}, periodSeconds: 1, failureThreshold: 2}}`);

let c: Cluster;
let rt: ContainerRuntime;
let network: ClusterNetwork;
/** ms after the runtime started at which each pod first turned Ready. */
const firstReady = new Map<string, number>();
const statusOf = (name: string) => get<Pod>(c, 'Pod', 'default', name).status!;
const isReady = (name: string) => statusOf(name).conditions!.find((x) => x.type === 'Ready')!.status === 'True';
/** The pod's endpoint in the Service's EndpointSlices: ready, or undefined when absent. */
const endpointReady = (name: string) => c.store.list<EndpointSlice & KubeObject>('EndpointSlice', { namespace: 'default' })
  .filter((s) => s.metadata.labels?.['kubernetes.io/service-name'] === 'probed').flatMap((s) => s.endpoints ?? [])
  .find((e) => e.targetRef?.name === name)?.conditions?.ready;

beforeAll(async () => {
  c = cluster(TOPOLOGY);
  network = new ClusterNetwork(c);
  const t0 = Date.now();
  c.store.watch({ kind: 'Pod' }, (e) => {
    const p = e.object as Pod & KubeObject;
    if (!firstReady.has(p.metadata.name) && p.status?.conditions?.some((x) => x.type === 'Ready' && x.status === 'True')) firstReady.set(p.metadata.name, Date.now() - t0);
  });
  rt = await ContainerRuntime.start(c, { network, probeSecondMs: 40, backoffMs: 40, warn: () => {} });
});
afterAll(() => rt.close());

describe('readiness', () => {
  it('a pod with a readiness probe starts unready, and turns ready once /healthz answers 200', async () => {
    await until(() => isReady('healthy'));
    expect(endpointReady('healthy')).toBe(true);
    expect(statusOf('healthy').containerStatuses![0].ready).toBe(true);
  });

  it('netexec --udp-port=-1 answers /healthz 412: never ready, its endpoint stays not ready', async () => {
    await until(() => isReady('healthy'));
    await new Promise((r) => setTimeout(r, 200));
    expect(isReady('no-udp')).toBe(false);
    expect(endpointReady('no-udp')).toBe(false);
    const cond = statusOf('no-udp').conditions!.find((x) => x.type === 'Ready')!;
    expect([cond.reason, cond.message]).toEqual(['ContainersNotReady', 'containers with unready status: [c]']);
  });

  it('an answer slower than timeoutSeconds fails the probe', async () => {
    await new Promise((r) => setTimeout(r, 300));
    expect(isReady('slow')).toBe(false);
    // The app itself still answers, only later than the probe waits.
    expect((await request(rt, statusOf('slow').podIP!, 8080, '/healthz')).status).toBe(200);
  });

  it('initialDelaySeconds holds the first probe back', async () => {
    await until(() => firstReady.has('late') && firstReady.has('healthy'), 3000);
    // 25 probe seconds: 1 s here; the same pod without the delay was ready at its first probes.
    expect(firstReady.get('late')!).toBeGreaterThanOrEqual(990);
    expect(firstReady.get('healthy')!).toBeLessThan(firstReady.get('late')!);
  });

  it('tcpSocket: refused is a failure, a listening port a success', async () => {
    await until(() => isReady('tcp-ok'));
    expect(isReady('tcp-none')).toBe(false);
  });

  it('follows the app live: whoami\'s /health set to 503 takes the pod out of its Service, 200 brings it back', async () => {
    await until(() => isReady('whoami'));
    const ip = statusOf('whoami').podIP!;
    await request(rt, ip, 8080, '/health', { method: 'POST', body: '503' });
    await until(() => !isReady('whoami') && endpointReady('whoami') === false);
    await request(rt, ip, 8080, '/health', { method: 'POST', body: '200' });
    await until(() => isReady('whoami') && endpointReady('whoami') === true);
  });
});

describe('add-ons\' pods', () => {
  it('CoreDNS is served and health-checked by kdp\'s DNS add-on: its probes are not run here, it stays ready', async () => {
    await until(() => isReady('healthy'));
    await new Promise((r) => setTimeout(r, 200));
    expect(isReady('dns')).toBe(true);
    expect(statusOf('dns').containerStatuses![0].restartCount).toBe(0);
  });
});

describe('liveness and startup', () => {
  it('a failing liveness probe restarts the container (restartCount +1, exit 137) and its listener comes back', async () => {
    await until(() => (statusOf('dying').containerStatuses![0].restartCount ?? 0) >= 2, 3000);
    const cs = statusOf('dying').containerStatuses![0];
    expect(cs.lastState?.terminated).toMatchObject({ exitCode: 137, reason: 'Error' });
  });

  it('a failing startup probe restarts the container and keeps it unstarted and unready', async () => {
    await until(() => (statusOf('booting').containerStatuses![0].restartCount ?? 0) >= 1, 3000);
    expect(statusOf('booting').containerStatuses![0].started).toBe(false);
    expect(isReady('booting')).toBe(false);
  });
});

describe('the probes kubelet sends', () => {
  it('an HTTP GET with kube-probe\'s User-Agent, Accept and the probe\'s headers; 2xx succeeds, redirects as kubelet follows them', async () => {
    const seen: http.IncomingHttpHeaders[] = [];
    let status = 200;
    const server = http.createServer((req, res) => {
      seen.push(req.headers);
      if (req.url === '/moved') res.writeHead(302, { Location: '/broken' }).end();
      else if (req.url === '/away') res.writeHead(302, { Location: 'http://elsewhere.example/broken' }).end();
      else if (req.url === '/loop') res.writeHead(302, { Location: '/loop' }).end();
      else res.writeHead(req.url === '/broken' ? 500 : status).end();
    });
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    const port = (server.address() as net.AddressInfo).port;
    const dial = () => net.connect(port, '127.0.0.1');
    const g = { path: '/healthz', port, httpHeaders: [{ name: 'X-Custom', value: 'v' }] };
    expect(await httpProbe(dial, g, '10.244.1.5', port, 1000)).toBe(true);
    expect(seen[0]).toMatchObject({ 'user-agent': 'kube-probe/1.31', accept: '*/*', 'x-custom': 'v', host: `10.244.1.5:${port}` });
    status = 404;
    expect(await httpProbe(dial, g, '10.244.1.5', port, 1000)).toBe(false);
    // Same-host redirects are followed to their end; another host's redirect is itself the (passing) answer.
    expect(await httpProbe(dial, { ...g, path: '/moved' }, '10.244.1.5', port, 1000)).toBe(false);
    expect(await httpProbe(dial, { ...g, path: '/away' }, '10.244.1.5', port, 1000)).toBe(true);
    expect(await httpProbe(dial, { ...g, path: '/loop' }, '10.244.1.5', port, 1000)).toBe(false);
    expect(await httpProbe(dial, { ...g, scheme: 'HTTPS' }, '10.244.1.5', port, 1000)).toBe(false);
    expect(await tcpProbe(dial, '10.244.1.5', port, 1000)).toBe(true);
    await new Promise((r) => server.close(r));
    expect(await tcpProbe(dial, '10.244.1.5', port, 1000)).toBe(false);
  });

  it('probes come from the node\'s address on the pod network (its cni0 gateway)', async () => {
    const seen: { ip: string; port: number }[] = [];
    const connect = rt.connect.bind(rt);
    rt.connect = (ip, port, client) => {
      seen.push(client);
      return connect(ip, port, client);
    };
    await until(() => seen.length > 0);
    rt.connect = connect;
    const gw = network.host('node2')!.addressesOf('cni0').map((a) => a.ip).find((a) => !a.includes(':'));
    expect(gw).toMatch(/^10\.244\.\d+\.1$/);
    expect(seen[0].ip).toBe(gw);
    expect(seen[0].port).toBeGreaterThanOrEqual(32768);
  });

  it('a port by name resolves to the container port; an unknown name fails', () => {
    const container = { name: 'c', ports: [{ name: 'http', containerPort: 8080 }] };
    expect(probePort('http', container)).toBe(8080);
    expect(probePort(81, container)).toBe(81);
    expect(probePort('nope', container)).toBeUndefined();
  });
});
