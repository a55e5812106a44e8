// Real HTTP from outside the cluster: each node's NodePorts on its own loopback address, LoadBalancer IPs on
// theirs, every connection decided by kube-proxy's rules on the node it enters.
import http from 'node:http';
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { afterEach, describe, expect, it } from 'vitest';
import { DataPlane } from '../../src/dataplane/dataplane.ts';
import { ExternalEntrances, OUTSIDE_CLIENT } from '../../src/dataplane/nodeports.ts';
import { LoadBalancerIPAM } from '../../src/dataplane/lbipam.ts';
import { ContainerRuntime } from '../../src/kubelet/runtime.ts';
import { cluster, get, NODES3, NO_COREDNS, podDoc } from '../helpers/cluster.ts';

const run = promisify(execFile);

const labelled = (name: string, node: string, app: string) => podDoc(name, node, [8080]).replace(`metadata: {name: ${name}}`, `metadata: {name: ${name}, labels: {app: ${app}}}`);
const svc = (name: string, spec: string) => `---
apiVersion: v1
kind: Service
metadata: {name: ${name}}
spec: {selector: {app: web}, ports: [{port: 8088, targetPort: 8080}], ${spec}}
`;
const TOPO = NODES3 + NO_COREDNS + labelled('w1', 'node2', 'web')
  + svc('np', 'type: NodePort').replace('targetPort: 8080', 'targetPort: 8080, nodePort: 30080')
  + svc('np-local', 'type: NodePort, externalTrafficPolicy: Local').replace('targetPort: 8080', 'targetPort: 8080, nodePort: 30081')
  + svc('lb', 'type: LoadBalancer');

const cleanups: (() => Promise<void> | void)[] = [];
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c();
});

async function setup(topo = TOPO) {
  const c = cluster(topo);
  const ipam = new LoadBalancerIPAM(c.store);
  const dp = new DataPlane(c);
  const runtime = await ContainerRuntime.start(c, { network: dp.network });
  const ext = await ExternalEntrances.start(dp, runtime);
  cleanups.push(() => ipam.close(), () => dp.close(), () => runtime.close(), () => ext.close());
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

  it('a Service without endpoints: kube-proxy REJECTs, the client\'s connection is reset', async () => {
    const { c } = await setup();
    c.store.delete('Pod', 'default', 'w1');
    expect(await get200('127.0.1.1', 30080)).toBe('reset');
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
