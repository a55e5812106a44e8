// restartPolicy after an exit, and a clean close(): every listener, the front door and the timers gone.
import { describe, expect, it } from 'vitest';
import net from 'node:net';
import { cluster, get, NODES3, NO_COREDNS } from '../helpers/cluster.ts';
import { ContainerRuntime } from '../../src/kubelet/runtime.ts';
import type { EndpointSlice, KubeObject, Pod } from '../../src/cluster/objects.ts';
import { CLIENT, request, tcpOutcome } from './helpers.ts';
import { until } from '../helpers/until.ts';

const AGNHOST = 'registry.k8s.io/e2e-test-images/agnhost:2.52';
const pod = (name: string, policy: string) => `---
apiVersion: v1
kind: Pod
metadata: {name: ${name}, labels: {app: once}}
spec: {nodeName: node1, restartPolicy: ${policy}, containers: [{name: c, image: "${AGNHOST}", args: [netexec], ports: [{containerPort: 8080}]}]}
`;
const SERVICE = `---\napiVersion: v1\nkind: Service\nmetadata: {name: once}\nspec: {selector: {app: once}, ports: [{port: 80, targetPort: 8080}]}\n`;

describe('restartPolicy', () => {
  it('Never: exit 0 makes the pod Succeeded, exit 1 Failed; they leave their Service', async () => {
    const c = cluster(NODES3 + NO_COREDNS + SERVICE + pod('ok', 'Never') + pod('bad', 'Never') + pod('retry', 'OnFailure'));
    const rt = await ContainerRuntime.start(c, { backoffMs: 20 });
    const ip = (n: string) => get<Pod>(c, 'Pod', 'default', n).status!.podIP!;
    const phase = (n: string) => get<Pod>(c, 'Pod', 'default', n).status!.phase;
    const endpoints = () => c.store.list<EndpointSlice & KubeObject>('EndpointSlice', { namespace: 'default' })
      .filter((s) => s.metadata.labels?.['kubernetes.io/service-name'] === 'once').flatMap((s) => s.endpoints ?? []).map((e) => e.targetRef?.name).sort();
    expect(endpoints()).toEqual(['bad', 'ok', 'retry']);
    const okIP = ip('ok');
    await request(rt, okIP, 8080, '/exit?code=0&timeout=1s');
    await expect(request(rt, ip('bad'), 8080, '/exit?code=1')).rejects.toThrow();
    await until(() => phase('ok') === 'Succeeded' && phase('bad') === 'Failed');
    expect(get<Pod>(c, 'Pod', 'default', 'bad').status!.containerStatuses![0].state?.terminated).toMatchObject({ exitCode: 1, reason: 'Error' });
    expect(endpoints()).toEqual(['retry']);
    expect(await tcpOutcome(rt.connect(okIP, 8080, CLIENT))).toBe('ECONNREFUSED');

    // OnFailure: a clean exit is final, a failed one is restarted.
    await expect(request(rt, ip('retry'), 8080, '/exit?code=2')).rejects.toThrow();
    await until(() => get<Pod>(c, 'Pod', 'default', 'retry').status!.containerStatuses![0].restartCount === 1);
    expect(phase('retry')).toBe('Running');
    await request(rt, ip('retry'), 8080, '/exit?code=0&timeout=1s');
    await until(() => phase('retry') === 'Succeeded');
    await rt.close();
  });
});

describe('close()', () => {
  it('closes every listener and the front door, and refuses from then on', async () => {
    const c = cluster(NODES3 + NO_COREDNS + SERVICE + pod('a', 'Always') + pod('b', 'Always'));
    const rt = await ContainerRuntime.start(c, { backoffMs: 20 });
    const ips = ['a', 'b'].map((n) => get<Pod>(c, 'Pod', 'default', n).status!.podIP!);
    const real = ips.map((ip) => rt.resolve(ip, 8080, 'tcp')!.port);
    // A connection left open and a request still waiting do not hold close() up.
    const open = rt.connect(ips[0], 8080, CLIENT);
    await new Promise((r) => open.once('connect', r));
    const pending = request(rt, ips[1], 8080, '/exit?code=0&timeout=1s&wait=10s').catch((e: Error) => e.message);
    await new Promise((r) => setTimeout(r, 50));
    const t = Date.now();
    await rt.close();
    expect(Date.now() - t).toBeLessThan(1000);
    expect(await pending).toMatch(/socket hang up|ECONNRESET/);
    for (const port of real) expect(await tcpOutcome(net.connect(port, '127.0.0.1'))).toBe('ECONNREFUSED');
    expect(await tcpOutcome(rt.connect(ips[0], 8080, CLIENT))).toBe('ECONNREFUSED');
    expect(rt.resolve(ips[0], 8080, 'tcp')).toBeUndefined();
  });

  it('a pod deleted while its listeners are still binding leaves nothing open', async () => {
    const c = cluster(NODES3 + NO_COREDNS);
    const rt = await ContainerRuntime.start(c);
    c.api.create({ apiVersion: 'v1', kind: 'Pod', metadata: { name: 'brief', namespace: 'default' }, spec: { nodeName: 'node1', containers: [{ name: 'c', ports: [{ containerPort: 80 }] }] } });
    const ip = get<Pod>(c, 'Pod', 'default', 'brief').status!.podIP!;
    expect(rt.listening().map((l) => l.podIP)).toEqual([ip]);
    c.api.delete('Pod', 'default', 'brief');
    await rt.ready();
    expect(rt.listening()).toEqual([]);
    await rt.close();
  });
});

describe('following the store', () => {
  it('a pod waiting for its node starts once the node joins; a hostNetwork pod listens on the node\'s IP', async () => {
    const c = cluster(NODES3 + NO_COREDNS
      + `---\napiVersion: v1\nkind: Pod\nmetadata: {name: later}\nspec: {nodeName: node4, containers: [{name: c, ports: [{containerPort: 80}]}]}\n`
      + `---\napiVersion: v1\nkind: Pod\nmetadata: {name: hostnet}\nspec: {nodeName: node2, hostNetwork: true, containers: [{name: c, ports: [{containerPort: 9100}]}]}\n`);
    const rt = await ContainerRuntime.start(c);
    expect(get<Pod>(c, 'Pod', 'default', 'later').status?.podIP).toBeUndefined();
    expect(JSON.parse((await request(rt, '192.168.1.12', 9100, '/')).body)).toMatchObject({ pod: 'hostnet', podIP: '192.168.1.12' });
    c.api.create({ apiVersion: 'v1', kind: 'Node', metadata: { name: 'node4' }, status: { addresses: [{ type: 'InternalIP', address: '192.168.1.14' }] } });
    const ip = get<Pod>(c, 'Pod', 'default', 'later').status?.podIP;
    expect(ip).toBeTruthy();
    await rt.ready();
    expect(JSON.parse((await request(rt, ip!, 80, '/')).body).node).toBe('node4');
    await rt.close();
  });
});

describe('bad annotations', () => {
  it('are reported once, at the line of the workload template that wrote them', async () => {
    const yaml = `apiVersion: apps/v1
kind: Deployment
metadata: {name: web}
spec:
  replicas: 3
  selector: {matchLabels: {app: web}}
  template:
    metadata:
      labels: {app: web}
      annotations:
        kdp.dev/app: apache
        kdp.dev/upstream.http: localhost
    spec: {containers: [{name: web, ports: [{containerPort: 80}]}]}
`;
    const c = cluster(NODES3 + NO_COREDNS + '---\n' + yaml, 'shop.yaml');
    const warnings: string[] = [];
    const rt = await ContainerRuntime.start(c, { warn: (m) => warnings.push(m) });
    const offset = (NODES3 + NO_COREDNS + '---\n').split('\n').length - 1;
    expect(warnings).toEqual([
      `warning: shop.yaml:${offset + 11}: Deployment default/web: spec.template.metadata.annotations[kdp.dev/app]: Unsupported value: "apache": supported values: "echo", "agnhost", "whoami", "http-echo", "nginx", "none"`,
      `warning: shop.yaml:${offset + 12}: Deployment default/web: spec.template.metadata.annotations[kdp.dev/upstream.http]: Invalid value: "kdp.dev/upstream.http": must be kdp.dev/upstream.<containerPort>`,
    ]);
    await rt.close();
  });
});
