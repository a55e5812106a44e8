// The pods' real listeners: which app answers on which port, the registry the data plane uses (resolve and
// connect, with the emulated client address), upstream relays, refusal, exits and restarts, clean shutdown.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import net from 'node:net';
import { execFile } from 'node:child_process';
import { WebSocket } from 'ws';
import { promisify } from 'node:util';
import { cluster, get, NODES3, NO_COREDNS } from '../helpers/cluster.ts';
import { ClusterNetwork } from '../../src/kubelet/network.ts';
import { ContainerRuntime } from '../../src/kubelet/runtime.ts';
import type { Cluster } from '../../src/cluster/cluster.ts';
import type { EndpointSlice, KubeObject, Pod } from '../../src/cluster/objects.ts';
import { CLIENT, request, tcpOutcome } from './helpers.ts';
import { until } from '../helpers/until.ts';

const run = promisify(execFile);

const pod = (name: string, node: string, container: string, annotations: Record<string, string> = {}) => `---
apiVersion: v1
kind: Pod
metadata: {name: ${name}, labels: {app: ${name}}, annotations: ${JSON.stringify(annotations)}}
spec: {nodeName: ${node}, containers: [${container}]}
`;

const TOPOLOGY = (upstreamPort: number) => NODES3 + NO_COREDNS
  + pod('web', 'node1', '{name: web, image: "registry.k8s.io/e2e-test-images/agnhost:2.52", args: [netexec, --http-port=8080], ports: [{containerPort: 8080}]}')
  + pod('plain', 'node2', '{name: c, image: myapp:1.0, ports: [{containerPort: 80}, {containerPort: 81}]}')
  + pod('nginx', 'node2', '{name: nginx, image: "nginx:1.27.3", ports: [{containerPort: 80}, {containerPort: 8080}]}')
  + pod('whoami', 'node3', '{name: w, image: traefik/whoami, args: [--port, "2001"], ports: [{containerPort: 2001}]}')
  + pod('hello', 'node3', '{name: h, image: hashicorp/http-echo, args: ["-text=hello world", "-listen=:5678"], ports: [{containerPort: 5678}]}')
  + pod('silent', 'node1', '{name: c, ports: [{containerPort: 80}]}', { 'kdp.dev/app': 'none' })
  + pod('mine', 'node1', '{name: c, ports: [{containerPort: 3000}]}', { 'kdp.dev/upstream.3000': `http://127.0.0.1:${upstreamPort}` })
  + pod('slow', 'node2', '{name: c, ports: [{containerPort: 80}]}', { 'kdp.dev/delay-ms': '300' })
  + pod('nginx-as', 'node3', '{name: c, image: busybox, ports: [{containerPort: 9090}]}', { 'kdp.dev/app': 'nginx' })
  + pod('crashy', 'node3', '{name: c, image: hashicorp/http-echo, ports: [{containerPort: 5678}]}')
  + `---\napiVersion: v1\nkind: Service\nmetadata: {name: web}\nspec: {selector: {app: web}, ports: [{port: 80, targetPort: 8080}]}\n`
  + pod('bad', 'node3', '{name: c, ports: [{containerPort: 80}]}', { 'kdp.dev/app': 'apache' });

let c: Cluster;
let rt: ContainerRuntime;
let upstream: net.Server;
const warnings: string[] = [];
const webEndpoint = () => c.store.list<EndpointSlice & KubeObject>('EndpointSlice', { namespace: 'default' })
  .filter((s) => s.metadata.labels?.['kubernetes.io/service-name'] === 'web').flatMap((s) => s.endpoints ?? [])[0];
const ip = (name: string) => get<Pod>(c, 'Pod', 'default', name).status!.podIP!;

beforeAll(async () => {
  // The user's own process: a TCP server that is not HTTP at all.
  upstream = net.createServer((s) => s.once('data', (d) => s.end(`you said ${d}`)));
  await new Promise<void>((r) => upstream.listen(0, '127.0.0.1', r));
  c = cluster(TOPOLOGY((upstream.address() as net.AddressInfo).port));
  rt = await ContainerRuntime.start(c, { network: new ClusterNetwork(c), warn: (m) => warnings.push(m), backoffMs: 100 });
});

afterAll(async () => {
  await rt.close();
  await new Promise((r) => upstream.close(r));
});

describe('which app answers where', () => {
  it('agnhost netexec on its --http-port, reporting the emulated client as /clientip', async () => {
    expect((await request(rt, ip('web'), 8080, '/hostname')).body).toBe('web');
    expect((await request(rt, ip('web'), 8080, '/clientip', { client: { ip: '192.168.1.12', port: 31000 } })).body).toBe('192.168.1.12:31000');
  });

  it('agnhost /dial makes the requests from the pod and reports answers and errors as netexec does', async () => {
    const ok = await request(rt, ip('web'), 8080, `/dial?request=clientip&host=${ip('plain')}&port=80&protocol=http&tries=2`);
    expect(JSON.parse(JSON.parse(ok.body).responses[0]).clientIP).toBe(ip('web'));
    expect(JSON.parse(ok.body).responses).toHaveLength(2);
    const hello = await request(rt, ip('web'), 8080, `/dial?request=hostname&host=${ip('hello')}&port=5678`);
    expect(hello.body).toBe('{"responses":["hello world\\n"]}');
    const refused = await request(rt, ip('web'), 8080, `/dial?request=hostname&host=${ip('silent')}&port=80`);
    expect(refused.body).toBe(`{"errors":["Get \\"http://${ip('silent')}:80/hostname\\": dial tcp ${ip('silent')}:80: connect: connection refused"]}`);
    const bad = await request(rt, ip('web'), 8080, '/dial?host=x&port=80');
    expect([bad.status, bad.body]).toEqual([400, 'request parameter not specified. <nil>\n']);
  });

  it('an unknown image runs kdp\'s echo on each declared port', async () => {
    const a = await request(rt, ip('plain'), 81, '/x?y=1', { method: 'POST', headers: { 'X-Test': 'yes' } });
    const j = JSON.parse(a.body);
    expect(j).toMatchObject({ pod: 'plain', namespace: 'default', node: 'node2', podIP: ip('plain'), containerPort: 81, method: 'POST', path: '/x?y=1', proto: 'HTTP/1.1', clientIP: CLIENT.ip });
    expect(j.headers['x-test']).toBe('yes');
  });

  it('nginx on 80 only: its declared 8080 refuses, as a port nothing listens on', async () => {
    const a = await request(rt, ip('nginx'), 80, '/');
    expect(a.status).toBe(200);
    expect(a.headers.slice(0, 2)).toEqual(['Server', 'nginx/1.27.3']);
    expect(a.body).toContain('Welcome to nginx!');
    expect((await request(rt, ip('nginx'), 80, '/nope')).status).toBe(404);
    expect(await tcpOutcome(rt.connect(ip('nginx'), 8080, CLIENT))).toBe('ECONNREFUSED');
    expect(rt.resolve(ip('nginx'), 8080, 'tcp')).toBeUndefined();
  });

  it('the annotation picks the app and it answers on the declared port', async () => {
    expect((await request(rt, ip('nginx-as'), 9090, '/')).body).toContain('Welcome to nginx!');
  });

  it('whoami prints its layout; http-echo its text', async () => {
    const w = await request(rt, ip('whoami'), 2001, '/hi');
    expect(w.body).toMatch(new RegExp(`^Hostname: whoami\\nIP: 127\\.0\\.0\\.1\\nIP: ::1\\nIP: ${ip('whoami').replace(/\./g, '\\.')}\\nIP: fe80::[0-9a-f:]+\\nRemoteAddr: 10\\.244\\.0\\.9:45678\\nGET /hi HTTP/1\\.1\\r\\n`));
    const h = await request(rt, ip('hello'), 5678, '/');
    expect([h.status, h.body]).toEqual([200, 'hello world\n']);
    expect(h.headers.slice(0, 4)).toEqual(['X-App-Name', 'http-echo', 'X-App-Version', '1.0.0']);
  });

  it('app none: the declared port refuses, in the registry and in the pod\'s socket table', async () => {
    expect(await tcpOutcome(rt.connect(ip('silent'), 80, CLIENT))).toBe('ECONNREFUSED');
    expect(rt.resolve(ip('silent'), 80, 'tcp')).toBeUndefined();
  });

  it('bad annotations are reported with the field; the image decides instead', async () => {
    expect(warnings).toContainEqual(expect.stringMatching(/^warning: topo\.yaml:\d+: Pod default\/bad: metadata\.annotations\[kdp\.dev\/app\]: Unsupported value: "apache": supported values: "echo", /));
    expect(JSON.parse((await request(rt, ip('bad'), 80, '/')).body).pod).toBe('bad');
  });
});

describe('the registry', () => {
  it('resolve gives a real loopback address that curl can use directly', async () => {
    const real = rt.resolve(ip('web'), 8080, 'tcp')!;
    expect(real.host).toBe('127.0.0.1');
    const { stdout } = await run('curl', ['-s', '-i', `http://127.0.0.1:${real.port}/echo?msg=hi`]);
    expect(stdout).toMatch(/^HTTP\/1\.1 200 OK\r\nDate: .*\r\nContent-Length: 2\r\nContent-Type: text\/plain; charset=utf-8\r\n\r\nhi$/);
  });

  it('keeps a connection alive across requests and carries the emulated client on each', async () => {
    const sock = rt.connect(ip('web'), 8080, { ip: '10.244.2.7', port: 5555 });
    const got = await new Promise<string>((resolve) => {
      let buf = '';
      sock.on('data', (d) => {
        buf += d;
        if ((buf.match(/10\.244\.2\.7:5555/g) ?? []).length === 2) resolve(buf);
      });
      sock.write('GET /clientip HTTP/1.1\r\nHost: x\r\n\r\nGET /clientip HTTP/1.1\r\nHost: x\r\n\r\n');
    });
    sock.destroy();
    expect(got.split('HTTP/1.1 200 OK').length).toBe(3);
  });

  it('bytes that are not HTTP get the server\'s own 400, then the connection closes', async () => {
    const raw = (podIP: string, port: number) => new Promise<string>((resolve) => {
      const sock = rt.connect(podIP, port, CLIENT);
      let buf = '';
      sock.on('data', (d) => (buf += d));
      sock.on('end', () => resolve(buf));
      sock.write('HELLO THERE\r\n\r\n');
    });
    expect(await raw(ip('web'), 8080)).toBe('HTTP/1.1 400 Bad Request\r\nContent-Type: text/plain; charset=utf-8\r\nConnection: close\r\n\r\n400 Bad Request');
    expect(await raw(ip('nginx'), 80)).toMatch(/^HTTP\/1\.1 400 Bad Request\r\nServer: nginx\/1\.27\.3\r\nDate: .*\r\nContent-Type: text\/html\r\nContent-Length: 157\r\nConnection: close\r\n\r\n<html>\r\n<head><title>400 Bad Request<\/title>/);
  });

  it('lists what serves each pod port', () => {
    const l = rt.listening();
    expect(l.find((x) => x.pod === 'default/web')).toMatchObject({ container: 'web', app: 'agnhost netexec', port: 8080, podIP: ip('web') });
    expect(l.find((x) => x.pod === 'default/mine')?.app).toMatch(/^upstream http:\/\/127\.0\.0\.1:\d+$/);
  });

  it('the pod network\'s socket table agrees with the apps', () => {
    const net = new ClusterNetwork(c);
    const ports = (name: string) => net.pod('default', name)!.netns.listeners.filter((l) => l.protocol === 'tcp').map((l) => l.port);
    expect(ports('nginx')).toEqual([80]);
    expect(ports('silent')).toEqual([]);
    expect(ports('mine')).toEqual([3000]);
  });
});

describe('WebSocket', () => {
  const echoOver = (podIP: string, port: number, path: string, message: string | Buffer) => new Promise<{ data: string; binary: boolean }>((resolve, reject) => {
    const ws = new WebSocket(`ws://${podIP}:${port}${path}`, { createConnection: () => rt.connect(podIP, port, CLIENT) });
    ws.on('open', () => ws.send(message));
    ws.on('message', (data, binary) => {
      ws.close();
      resolve({ data: data.toString(), binary });
    });
    ws.on('error', reject);
  });

  it('whoami\'s /echo and kdp\'s echo send every message back with its type', async () => {
    expect(await echoOver(ip('whoami'), 2001, '/echo', 'hello')).toEqual({ data: 'hello', binary: false });
    expect(await echoOver(ip('whoami'), 2001, '/echo', Buffer.from([1, 2, 3]))).toEqual({ data: '\u0001\u0002\u0003', binary: true });
    expect(await echoOver(ip('bad'), 80, '/any', 'ping')).toEqual({ data: 'ping', binary: false });
  });

  it('an app without WebSockets answers the upgrade request as a plain one', async () => {
    const sock = rt.connect(ip('web'), 8080, CLIENT);
    const answer = await new Promise<string>((resolve) => {
      let buf = '';
      sock.on('data', (d) => (buf += d));
      sock.on('end', () => resolve(buf));
      sock.write('GET /hostname HTTP/1.1\r\nHost: x\r\nConnection: Upgrade\r\nUpgrade: websocket\r\nSec-WebSocket-Version: 13\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n\r\n');
    });
    expect(answer).toMatch(/^HTTP\/1\.1 200 OK\r\n[^]*\r\n\r\nweb$/);
  });
});

describe('upstream relay and delay', () => {
  it('relays raw TCP to the user\'s process', async () => {
    const sock = rt.connect(ip('mine'), 3000, CLIENT);
    const answer = await new Promise<string>((resolve) => {
      let buf = '';
      sock.on('data', (d) => (buf += d));
      sock.on('end', () => resolve(buf));
      sock.write('PING');
    });
    expect(answer).toBe('you said PING');
  });

  it('a loopback upstream is the address itself: when the user\'s process is not running, the port refuses', async () => {
    const port = (upstream.address() as net.AddressInfo).port;
    expect(rt.resolve(ip('mine'), 3000, 'tcp')).toEqual({ host: '127.0.0.1', port });
    const stopped = cluster(NODES3 + NO_COREDNS + pod('gone', 'node1', '{name: c, ports: [{containerPort: 3000}]}', { 'kdp.dev/upstream.3000': 'http://127.0.0.1:1' }));
    const rt2 = await ContainerRuntime.start(stopped);
    const gone = get<Pod>(stopped, 'Pod', 'default', 'gone').status!.podIP!;
    expect(await tcpOutcome(rt2.connect(gone, 3000, CLIENT))).toBe('ECONNREFUSED');
    await rt2.close();
  });

  it('kdp.dev/delay-ms holds every answer', async () => {
    const t = Date.now();
    await request(rt, ip('slow'), 80, '/');
    expect(Date.now() - t).toBeGreaterThanOrEqual(290);
  });
});

describe('exits and restarts', () => {
  it('/exit drops the request, the container restarts at once (restartCount 1), then backs off', async () => {
    const status = () => get<Pod>(c, 'Pod', 'default', 'web').status!;
    await expect(request(rt, ip('web'), 8080, '/exit?code=3')).rejects.toThrow(/socket hang up|ECONNRESET/);
    await until(() => status().containerStatuses![0].restartCount === 1 && !!status().containerStatuses![0].state?.running);
    expect(status().containerStatuses![0].lastState?.terminated).toMatchObject({ exitCode: 3, reason: 'Error' });
    await rt.ready();
    expect((await request(rt, ip('web'), 8080, '/hostname')).body).toBe('web');

    // A second exit waits out the back-off: not ready (the EndpointSlice says so), refusing, then back.
    await request(rt, ip('web'), 8080, '/exit?code=0&timeout=1s');
    await until(() => !!status().containerStatuses![0].state?.waiting);
    expect(status().containerStatuses![0].state!.waiting!.reason).toBe('CrashLoopBackOff');
    expect(status().conditions!.find((x) => x.type === 'Ready')!.status).toBe('False');
    expect(webEndpoint().conditions?.ready).toBe(false);
    expect(await tcpOutcome(rt.connect(ip('web'), 8080, CLIENT))).toBe('ECONNREFUSED');
    await until(() => status().containerStatuses![0].restartCount === 2 && !!status().containerStatuses![0].state?.running);
    expect(status().conditions!.find((x) => x.type === 'Ready')!.status).toBe('True');
    expect(webEndpoint().conditions?.ready).toBe(true);
  });

  it('http-echo without -text exits 127 at start and crash-loops', async () => {
    await until(() => (get<Pod>(c, 'Pod', 'default', 'crashy').status!.containerStatuses![0].restartCount ?? 0) >= 1);
    expect(warnings.some((w) => w.includes('container c exited with code 127: Missing -text option or ECHO_TEXT env var!'))).toBe(true);
    expect(rt.resolve(ip('crashy'), 5678, 'tcp')).toBeUndefined();
  });

  it('a deleted pod stops listening', async () => {
    const addr = ip('plain');
    const real = rt.resolve(addr, 80, 'tcp')!;
    c.api.delete('Pod', 'default', 'plain');
    expect(rt.resolve(addr, 80, 'tcp')).toBeUndefined();
    await rt.ready();
    expect(await tcpOutcome(net.connect(real.port, '127.0.0.1'))).toBe('ECONNREFUSED');
  });
});
