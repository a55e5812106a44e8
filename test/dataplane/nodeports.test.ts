// Real HTTP from outside the cluster: each node's NodePorts on its own loopback address, LoadBalancer IPs on
// theirs, every connection decided by kube-proxy's rules on the node it enters.
import http from 'node:http';
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { afterEach, describe, expect, it } from 'vitest';
import { DataPlane } from '../../src/dataplane/dataplane.ts';
import { canBind, ExternalEntrances, OUTSIDE_CLIENT } from '../../src/dataplane/nodeports.ts';
import { traceFromOutside } from '../../src/netns/forward.ts';
import { kdp, kdpUp } from '../helpers/cli.ts';
import { rmSync } from 'node:fs';
import { dirname } from 'node:path';
import { topologyFile } from '../helpers/files.ts';
import { ContainerRuntime } from '../../src/kubelet/runtime.ts';
import { cluster, get, warnings, NODES3, NO_COREDNS } from '../helpers/cluster.ts';
import { appPod } from '../helpers/dataplane.ts';

const run = promisify(execFile);

const svc = (name: string, spec: string) => `---
apiVersion: v1
kind: Service
metadata: {name: ${name}}
spec: {selector: {app: web}, ports: [{port: 8088, targetPort: 8080}], ${spec}}
`;
const TOPO = NODES3 + NO_COREDNS + appPod('w1', 'node2', 'web')
  + svc('np', 'type: NodePort').replace('targetPort: 8080', 'targetPort: 8080, nodePort: 30080')
  + svc('np-local', 'type: NodePort, externalTrafficPolicy: Local').replace('targetPort: 8080', 'targetPort: 8080, nodePort: 30081')
  + svc('lb', 'type: LoadBalancer');

const cleanups: (() => Promise<void> | void)[] = [];
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c();
});

// Other tests' `kdp up` runs pass loopback ranges of their own, so these default ones (127.0.1.N, 127.0.2.K) are
// this file's; a second cluster in one test takes 127.26 so the first's listeners cannot answer for it.
async function setup(topo = TOPO, loopback?: number | 'single') {
  const c = cluster(topo);
  const dp = new DataPlane(c);
  const runtime = await ContainerRuntime.start(c, { network: dp.network });
  const ext = await ExternalEntrances.start(dp, runtime, { loopback });
  cleanups.push(() => dp.close(), () => runtime.close(), () => ext.close());
  return { c, dp, runtime, ext };
}

/** GET over a real socket; resolves with the body, or "timeout" when nothing answers in `ms`. */
function get200(host: string, port: number, ms = 2000): Promise<string> {
  return new Promise((resolve, reject) => {
    const req = http.get({ host, port, path: '/', agent: false, timeout: ms }, (res) => {
      let body = '';
      res.setEncoding('utf8');
      res.on('data', (d) => (body += d));
      res.on('end', () => resolve(body));
    });
    req.on('timeout', () => {
      req.destroy();
      resolve('timeout');
    });
    req.on('error', (e: NodeJS.ErrnoException) => (e.code === 'ECONNRESET' ? resolve('reset') : reject(e)));
  });
}

describe('NodePorts on each node\'s loopback address', () => {
  it('lists every node\'s NodePorts on 127.0.1.N and the LB IP on 127.0.2.K', async () => {
    const { ext } = await setup();
    const rows = ext.list().map((e) => `${e.kind} ${e.service} ${e.dst}:${e.dport} ${e.host}:${e.port}`);
    expect(rows).toEqual(expect.arrayContaining([
      'NodePort default/np 192.168.1.11:30080 127.0.1.1:30080',
      'NodePort default/np 192.168.1.12:30080 127.0.1.2:30080',
      'NodePort default/np 192.168.1.13:30080 127.0.1.3:30080',
      'NodePort default/np-local 192.168.1.11:30081 127.0.1.1:30081',
      'LoadBalancer default/lb 172.18.255.200:8088 127.0.2.1:8088',
    ]));
    expect(ext.list().every((e) => !e.error)).toBe(true);
  });

  it('externalTrafficPolicy Cluster: the pod sees the node\'s masqueraded address, via any node', async () => {
    const { dp } = await setup();
    const via1 = JSON.parse(await get200('127.0.1.1', 30080));
    expect(via1.pod).toBe('w1');
    // node1 has no endpoint: the SNAT is to node1's flannel.1 address, towards node2 over the overlay.
    const v4 = (node: string, dev: string) => dp.network.host(node)!.addressesOf(dev).find((a) => !a.ip.includes(':'))!.ip;
    expect(via1.clientIP).toBe(v4('node1', 'flannel.1'));
    const via2 = JSON.parse(await get200('127.0.1.2', 30080));
    expect(via2.clientIP).toBe(v4('node2', 'cni0'));
    expect(via2.clientIP).not.toBe(OUTSIDE_CLIENT);
  });

  it('externalTrafficPolicy Local: the client\'s address is preserved; the node without a local endpoint drops the SYN', async () => {
    await setup();
    const local = JSON.parse(await get200('127.0.1.2', 30081));
    expect(local.clientIP).toBe(OUTSIDE_CLIENT);
    expect(await get200('127.0.1.1', 30081, 400)).toBe('timeout');
  });

  it('real curl: a NodePort answers; the node without a local endpoint times out (exit 28)', async () => {
    await setup();
    const { stdout } = await run('curl', ['-s', '--max-time', '3', 'http://127.0.1.3:30080/']);
    expect(JSON.parse(stdout).pod).toBe('w1');
    await expect(run('curl', ['-s', '--max-time', '0.5', 'http://127.0.1.3:30081/'])).rejects.toMatchObject({ code: 28 });
  });

  it('a closed connection leaves no conntrack entry behind, on the node it entered nor on the endpoint\'s', async () => {
    const { dp } = await setup();
    const flows = () => ['node1', 'node2'].flatMap((n) => dp.network.host(n)!.netfilter.conntrack.entries.filter((e) => e.proto === 'tcp' && e.original.dport !== 6443 && (e.original.src === OUTSIDE_CLIENT || e.reply.src === '10.244.1.2')));
    expect(JSON.parse(await get200('127.0.1.1', 30080)).pod).toBe('w1');
    const deadline = Date.now() + 2000;
    while (flows().length && Date.now() < deadline) await new Promise((r) => setTimeout(r, 10));
    expect(flows()).toEqual([]);
  });

  it('a Service without endpoints: kube-proxy REJECTs, so the node refuses the connection (curl exit 7) until endpoints return', async () => {
    const { c } = await setup();
    c.store.delete('Pod', 'default', 'w1');
    // The entrance stops listening as the endpoints go (a moment later: it follows the EndpointSlice).
    const refused = async () => get200('127.0.1.1', 30080).then(() => false, (e: NodeJS.ErrnoException) => e.code === 'ECONNREFUSED');
    for (let i = 0; i < 100 && !(await refused()); i++) await new Promise((r) => setTimeout(r, 10));
    expect(await refused()).toBe(true);
    // Real curl says what it says against a real node's REJECT (ICMP port unreachable): couldn't connect.
    const curl = await run('curl', ['-s', '-o', '/dev/null', '-w', '%{http_code}', 'http://127.0.1.1:30080/']).then(() => ({ code: 0, stdout: '' }), (e: { code: number; stdout: string }) => e);
    expect(curl).toMatchObject({ code: 7, stdout: '000' });
    c.api.create({ apiVersion: 'v1', kind: 'Pod', metadata: { name: 'w1', namespace: 'default', labels: { app: 'web' } }, spec: { nodeName: 'node2', containers: [{ name: 'c', ports: [{ containerPort: 8080 }] }] } } as any);
    for (let i = 0; i < 100 && (await refused()); i++) await new Promise((r) => setTimeout(r, 10));
    expect(JSON.parse(await get200('127.0.1.1', 30080)).pod).toBe('w1');
  });
});

describe('LoadBalancer IPs', () => {
  it('get an address from the pool in status.loadBalancer.ingress, and reach an endpoint through it', async () => {
    const { c } = await setup();
    expect(get<any>(c, 'Service', 'default', 'lb').status.loadBalancer).toEqual({ ingress: [{ ip: '172.18.255.200' }] });
    const body = JSON.parse(await get200('127.0.2.1', 8088));
    expect(body.pod).toBe('w1');
  });
});

describe('live', () => {
  it('a Service added opens its listeners, deleted closes them; close() closes everything', async () => {
    const { c, ext } = await setup();
    c.api.create({ apiVersion: 'v1', kind: 'Service', metadata: { name: 'late', namespace: 'default' }, spec: { type: 'NodePort', selector: { app: 'web' }, ports: [{ port: 81, targetPort: 8080, nodePort: 30090 }] } } as any);
    await ext.ready();
    expect(JSON.parse(await get200('127.0.1.2', 30090)).pod).toBe('w1');
    c.api.delete('Service', 'default', 'late');
    await ext.ready();
    await expect(get200('127.0.1.2', 30090)).rejects.toMatchObject({ code: 'ECONNREFUSED' });
    await ext.close();
    await expect(get200('127.0.1.1', 30080)).rejects.toMatchObject({ code: 'ECONNREFUSED' });
  });
});

const TWO = NODES3 + NO_COREDNS + appPod('w1', 'node2', 'web') + appPod('w2', 'node3', 'web')
  + svc('sticky', 'type: NodePort, sessionAffinity: ClientIP').replace('targetPort: 8080', 'targetPort: 8080, nodePort: 30082')
  + svc('spread', 'type: NodePort').replace('targetPort: 8080', 'targetPort: 8080, nodePort: 30083')
  + svc('ext', 'externalIPs: [198.51.100.7]')
  + svc('lb-local', 'type: LoadBalancer, externalTrafficPolicy: Local').replace('port: 8088', 'port: 8089');

describe('live nodes and ports', () => {
  it('a node added gets the next loopback address; a nodePort changed moves its listeners', async () => {
    const { c, ext } = await setup();
    c.api.create({ apiVersion: 'v1', kind: 'Node', metadata: { name: 'node4' }, status: { addresses: [{ type: 'InternalIP', address: '192.168.1.14' }] } } as any);
    await ext.ready();
    expect(ext.list().find((e) => e.node === 'node4' && e.service === 'default/np')).toMatchObject({ host: '127.0.1.4', port: 30080, dst: '192.168.1.14' });
    expect(JSON.parse(await get200('127.0.1.4', 30080)).pod).toBe('w1');
    const np = get<any>(c, 'Service', 'default', 'np');
    c.api.update({ ...np, spec: { ...np.spec, ports: [{ ...np.spec.ports[0], nodePort: 30099 }] } });
    await ext.ready();
    expect(JSON.parse(await get200('127.0.1.1', 30099)).pod).toBe('w1');
    await expect(get200('127.0.1.1', 30080)).rejects.toMatchObject({ code: 'ECONNREFUSED' });
  });
});

describe('sessionAffinity, externalIPs, LoadBalancer with externalTrafficPolicy Local', () => {
  it('sessionAffinity ClientIP keeps the outside client on one pod; without it connections spread', async () => {
    await setup(TWO);
    const pods = async (port: number) => {
      const seen: string[] = [];
      for (let i = 0; i < 8; i++) seen.push(JSON.parse(await get200('127.0.1.1', port)).pod);
      return new Set(seen);
    };
    expect((await pods(30082)).size).toBe(1);
    expect(await pods(30083)).toEqual(new Set(['w1', 'w2']));
  });

  it('an externalIP listens on 127.0.3.K at the Service port and reaches an endpoint', async () => {
    const { ext } = await setup(TWO);
    expect(ext.list().find((e) => e.kind === 'externalIP')).toMatchObject({ service: 'default/ext', dst: '198.51.100.7', dport: 8088, host: '127.0.3.1', port: 8088 });
    expect(['w1', 'w2']).toContain(JSON.parse(await get200('127.0.3.1', 8088)).pod);
  });

  it('a LoadBalancer with externalTrafficPolicy Local delivers only to nodes with an endpoint: the client\'s address is kept', async () => {
    const { ext } = await setup(TWO);
    const lb = ext.list().find((e) => e.service === 'default/lb-local' && e.kind === 'LoadBalancer')!;
    expect(lb).toMatchObject({ host: '127.0.2.1', port: 8089, dst: '172.18.255.200' });
    for (let i = 0; i < 4; i++) expect(JSON.parse(await get200(lb.host, lb.port)).clientIP).toBe(OUTSIDE_CLIENT);
  });
});

describe('healthCheckNodePort', () => {
  it('kube-proxy\'s health server on every node: 200 with a local endpoint, 503 without, upstream\'s JSON', async () => {
    const { c } = await setup(TWO);
    const hc = get<any>(c, 'Service', 'default', 'lb-local').spec.healthCheckNodePort as number;
    const ask = async (host: string) => {
      const r = await fetch(`http://${host}:${hc}/`);
      return { status: r.status, type: r.headers.get('content-type'), body: await r.text() };
    };
    expect(await ask('127.0.1.2')).toEqual({
      status: 200, type: 'application/json',
      body: '{\n\t"service": {\n\t\t"namespace": "default",\n\t\t"name": "lb-local"\n\t},\n\t"localEndpoints": 1,\n\t"serviceProxyHealthy": true\n}',
    });
    const none = await ask('127.0.1.1');
    expect(none.status).toBe(503);
    expect(JSON.parse(none.body).localEndpoints).toBe(0);
  });
});

describe('the load-balancer pool', () => {
  const lbSvc = (name: string, extra = '') => `---
apiVersion: v1
kind: Service
metadata: {name: ${name}}
spec: {type: LoadBalancer, selector: {app: web}, ports: [{port: 80}]${extra}}
`;
  it('allocates in order, honours spec.loadBalancerIP in the pool, skips other loadBalancerClasses, frees on delete and type change', () => {
    const c = cluster(NODES3 + NO_COREDNS + lbSvc('a') + lbSvc('b', ', loadBalancerIP: 172.18.255.210') + lbSvc('c', ', loadBalancerClass: example.com/other') + lbSvc('d', ', loadBalancerIP: 10.1.2.3') + lbSvc('e'));
    const ips = (n: string) => get<any>(c, 'Service', 'default', n).status.loadBalancer;
    expect(ips('a')).toEqual({ ingress: [{ ip: '172.18.255.200' }] });
    expect(ips('b')).toEqual({ ingress: [{ ip: '172.18.255.210' }] });
    expect(ips('c')).toEqual({});
    expect(ips('d')).toEqual({});
    expect(ips('e')).toEqual({ ingress: [{ ip: '172.18.255.201' }] });
    expect(warnings(c).filter((w) => w.includes('load-balancer'))).toEqual([expect.stringMatching(/^warning: topo\.yaml:\d+: Service default\/d: spec\.loadBalancerIP: 10\.1\.2\.3 is not in the load-balancer pool 172\.18\.255\.200-172\.18\.255\.250; its EXTERNAL-IP stays <pending>$/)]);
    // Deleting one frees its address for the next; a type change gives it back and clears the status.
    c.api.delete('Service', 'default', 'a');
    const e = get<any>(c, 'Service', 'default', 'e');
    c.api.update({ ...e, spec: { ...e.spec, type: 'ClusterIP', allocateLoadBalancerNodePorts: undefined, ports: e.spec.ports.map((p: any) => ({ ...p, nodePort: undefined })) } });
    expect(ips('e')).toEqual({});
    c.api.create({ apiVersion: 'v1', kind: 'Service', metadata: { name: 'f', namespace: 'default' }, spec: { type: 'LoadBalancer', selector: { app: 'web' }, ports: [{ port: 80 }] } } as any);
    expect(ips('f')).toEqual({ ingress: [{ ip: '172.18.255.200' }] });
  });

  it('stays <pending> with a warning when the pool is spent', () => {
    const many = Array.from({ length: 52 }, (_, i) => lbSvc(`s${String(i).padStart(2, '0')}`)).join('');
    const c = cluster(NODES3 + NO_COREDNS + many);
    expect(get<any>(c, 'Service', 'default', 's50').status.loadBalancer).toEqual({ ingress: [{ ip: '172.18.255.250' }] });
    expect(get<any>(c, 'Service', 'default', 's51').status.loadBalancer).toEqual({});
    expect(warnings(c).filter((w) => w.includes('load-balancer'))).toEqual([expect.stringMatching(/Service default\/s51: spec\.type: the load-balancer pool 172\.18\.255\.200-172\.18\.255\.250 is exhausted; its EXTERNAL-IP stays <pending>$/)]);
  });

  it('loadBalancerSourceRanges: KUBE-FW lets the outside client in only from a listed range', async () => {
    const topo = (range: string) => NODES3 + NO_COREDNS + appPod('w1', 'node2', 'web') + svc('fw', `type: LoadBalancer, loadBalancerSourceRanges: [${range}]`);
    const { ext } = await setup(topo('203.0.113.0/24'));
    const lb = ext.list().find((e) => e.kind === 'LoadBalancer')!;
    expect(JSON.parse(await get200(lb.host, lb.port)).pod).toBe('w1');
    await ext.close();
    const other = await setup(topo('10.0.0.0/8'), 26);
    const blocked = other.ext.list().find((e) => e.kind === 'LoadBalancer')!;
    expect(await get200(blocked.host, blocked.port, 400)).toBe('timeout');
  });

  it('kube-proxy writes the LB IP into its rules: kdp get svc shows it as EXTERNAL-IP', async () => {
    const { dp } = await setup();
    const t = traceFromOutside(dp.network, OUTSIDE_CLIENT, { protocol: 'tcp', dst: '172.18.255.200', dport: 8088 }, { via: '192.168.1.11' });
    expect(t.request.hops.some((h) => /KUBE-EXT-/.test(h.what))).toBe(true);
    expect(t.request.verdict.kind).toBe('delivered');
    // kdp trace from outside to the LB IP: delivered to a node as the cloud LB would.
    const tr = await kdp(['trace', '--from', OUTSIDE_CLIENT, '--to', '172.18.255.200:8088', '-f', '-'], { stdin: TOPO });
    expect(tr.code, tr.stderr).toBe(0);
    expect(tr.stdout).toMatch(/router -> eth0 of node\/node1: TCP 203\.0\.113\.10:\d+ > 172\.18\.255\.200:8088 SYN/);
    expect(tr.stdout).toContain('"default/lb loadbalancer IP"');
    const r = await kdp(['get', 'svc', '-f', '-'], { stdin: TOPO });
    expect(r.stdout).toMatch(/^lb +LoadBalancer +10\.\d+\.\d+\.\d+ +172\.18\.255\.200 +8088:3\d{4}\/TCP/m);
  });
});

/** `kdp up` on TOPO saved in a file, its listeners on `loopback`, once it says it is up. */
async function upWithTopology(loopback: string) {
  const file = topologyFile(TOPO);
  cleanups.push(() => rmSync(dirname(file), { recursive: true, force: true }));
  const up = kdpUp([file, '--loopback', loopback]);
  const deadline = Date.now() + 20_000;
  while (!up.stdout.includes('Press Ctrl-C') && Date.now() < deadline) await new Promise((r) => setTimeout(r, 20));
  return up;
}

describe('where only 127.0.0.1 exists', () => {
  it('is found by binding 127.X.1.1: an address the machine lacks cannot be bound (EADDRNOTAVAIL)', async () => {
    expect(await canBind('127.0.1.1')).toBe(true);
    // TEST-NET-1: no interface of this machine has it, as a Mac's lo0 has no 127.0.1.1.
    expect(await canBind('192.0.2.1')).toBe(false);
  });

  it('each entrance listens on 127.0.0.1 at a port of its own, and each still enters the data plane at its own node', async () => {
    const { c, ext } = await setup(TOPO, 'single');
    expect(ext.single).toBe(true);
    const list = ext.list();
    expect(list.every((e) => e.host === '127.0.0.1' && e.port > 0 && !e.error)).toBe(true);
    expect(new Set(list.map((e) => e.port)).size).toBe(list.length);
    const at = (dst: string, dport: number) => list.find((e) => e.dst === dst && e.dport === dport)!.port;
    // externalTrafficPolicy Local: node2 has the endpoint (client kept), node1 drops the SYN.
    expect(JSON.parse(await get200('127.0.0.1', at('192.168.1.12', 30081))).clientIP).toBe(OUTSIDE_CLIENT);
    expect(await get200('127.0.0.1', at('192.168.1.11', 30081), 400)).toBe('timeout');
    expect(JSON.parse(await get200('127.0.0.1', at('172.18.255.200', 8088))).pod).toBe('w1');
    // The ports stay as they are through changes: another Service comes, the first ones keep theirs.
    const before = list.map((e) => `${e.dst}:${e.dport} ${e.port}`);
    c.api.create({ apiVersion: 'v1', kind: 'Service', metadata: { name: 'late', namespace: 'default' }, spec: { type: 'NodePort', selector: { app: 'web' }, ports: [{ port: 81, targetPort: 8080, nodePort: 30090 }] } } as any);
    await ext.ready();
    const after = ext.list().map((e) => `${e.dst}:${e.dport} ${e.port}`);
    expect(after).toEqual(expect.arrayContaining(before));
    expect(after.length).toBe(before.length + 3);
  });

  it('kdp up --loopback 127.0.0.1 prints the mapping: each address and the curl that reaches it', async () => {
    const up = await upWithTopology('127.0.0.1');
    expect(up.stdout).toContain('this machine has only 127.0.0.1, so each node\'s NodePort, LoadBalancer IP and externalIP listens there on a port of its own');
    const line = /^ {2}default\/np-local +NodePort +node2 +192\.168\.1\.12:30081 +curl (http:\/\/127\.0\.0\.1:\d+\/)$/m.exec(up.stdout);
    expect(line).not.toBeNull();
    const { stdout: body } = await run('curl', ['-s', '--max-time', '3', line![1]]);
    expect(JSON.parse(body).clientIP).toBe(OUTSIDE_CLIENT);
    up.interrupt();
    expect(await up.code).toBe(0);
  }, 30_000);

  it('rejects a --loopback that is neither 127.X nor 127.0.0.1', async () => {
    const r = await kdp(['up', '--loopback', '127.0.0.2']);
    expect(r.code).not.toBe(0);
    expect(r.stderr).toContain('or 127.0.0.1 (each on 127.0.0.1 at a port of its own)');
  });
});

describe('kdp up', () => {
  it('prints every NodePort and LB address with a curl line that works when pasted; Ctrl-C closes them', async () => {
    const up = await upWithTopology('127.24');
    expect(up.stdout).toContain('From outside the cluster (client 203.0.113.10; each node\'s NodePorts on its own loopback address, LoadBalancer IPs from 172.18.255.200-172.18.255.250):');
    expect(up.stdout).toMatch(/^  default\/np +NodePort +node3 +192\.168\.1\.13:30080 +curl http:\/\/127\.24\.1\.3:30080\/$/m);
    expect(up.stdout).toMatch(/^  default\/lb +LoadBalancer +172\.18\.255\.200:8088 +curl http:\/\/127\.24\.2\.1:8088\/$/m);
    const line = /curl (http:\/\/127\.24\.2\.1:8088\/)/.exec(up.stdout)!;
    const { stdout: body } = await run('curl', ['-s', '--max-time', '3', line[1]]);
    expect(JSON.parse(body).pod).toBe('w1');
    up.interrupt();
    expect(await up.code).toBe(0);
    // (The topology has no CoreDNS pods: kube-dns's lack of endpoints is the only thing said.)
    expect(up.stderr.split('\n').filter((l) => l && !l.includes('kube-system/kube-dns'))).toEqual([]);
    await expect(run('curl', ['-s', '--max-time', '2', line[1]])).rejects.toMatchObject({ code: 7 });
  }, 30_000);
});
