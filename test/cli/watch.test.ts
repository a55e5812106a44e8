// kdp up watches its topology files: a saved change is applied live through the apiserver's write path, a bad
// edit is reported and changes nothing, an object removed from the files is deleted.
import { afterEach, describe, expect, it } from 'vitest';
import { mkdtempSync, readFileSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { topologyFile } from '../helpers/files.ts';
import { fileURLToPath } from 'node:url';
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { kdpUp } from '../helpers/cli.ts';
import type { IO } from '../../src/cli/io.ts';
import { loadCluster, loadClusterFromText } from '../../src/cluster/cluster.ts';
import { watchTopology } from '../../src/cli/watch.ts';
import { loadTopology } from '../../src/cluster/topology/load.ts';
import { applyTopology, declaredObjects } from '../../src/cluster/apply.ts';
import type { KubeObject, Service } from '../../src/cluster/objects.ts';
import { dig, hasDig } from '../dns/dig.ts';
import { NOW } from '../helpers/cluster.ts';
import { until } from '../helpers/until.ts';

const run = promisify(execFile);
const WALKTHROUGH = readFileSync(fileURLToPath(new URL('../../topologies/walkthroughs/no-endpoints.yaml', import.meta.url)), 'utf8');
const FIXED = WALKTHROUGH.replace('    metadata:\n      labels: {app: nginx}', '    metadata:\n      labels: {app: nginx, role: logstor}');
const SERVICE_DOC = /---\napiVersion: v1\nkind: Service\n[\s\S]*?(?=\n---\n|$)/;

const cleanups: (() => Promise<void> | void)[] = [];
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c();
});

type Slice = KubeObject & { endpoints?: { addresses: string[] }[] };
const sliceAddresses = (c: ReturnType<typeof loadClusterFromText>, svc: string) =>
  c.store.list<Slice>('EndpointSlice').filter((s) => s.metadata.labels?.['kubernetes.io/service-name'] === svc).flatMap((s) => (s.endpoints ?? []).flatMap((e) => e.addresses));

describe('applyTopology', () => {
  const src = (text: string) => [{ file: 'topo.yaml', text }];
  const start = (text: string) => {
    const c = loadClusterFromText(src(text), { now: () => NOW });
    return { c, declared: declaredObjects(loadTopology(src(text))) };
  };

  it('a label fixed in the pod template: the Deployment is configured and the Service gains both pods', () => {
    const { c, declared } = start(WALKTHROUGH);
    expect(sliceAddresses(c, 'logstor')).toEqual([]);
    const ip = c.store.get<Service & KubeObject>('Service', 'default', 'logstor')!.spec!.clusterIP;
    const r = applyTopology(c, declared, loadTopology(src(FIXED)));
    expect(r.lines).toEqual(['deployment.apps/logstor configured']);
    expect(r.warnings).toEqual([]);
    expect(sliceAddresses(c, 'logstor')).toHaveLength(2);
    // The allocated ClusterIP is the registry's, kept though the file never wrote one.
    expect(c.store.get<Service & KubeObject>('Service', 'default', 'logstor')!.spec!.clusterIP).toBe(ip);
  });

  it('labels and annotations merge three ways, as kubectl apply: a key dropped from the file goes, one added by others stays', () => {
    const withLabels = WALKTHROUGH.replace('metadata:\n  name: logstor\nspec:\n  selector', 'metadata:\n  name: logstor\n  labels: {tier: db, team: a}\nspec:\n  selector');
    const { c, declared } = start(withLabels);
    const live = c.store.get<Service & KubeObject>('Service', 'default', 'logstor')!;
    c.api.update({ ...live, metadata: { ...live.metadata, labels: { ...live.metadata.labels, owner: 'ops' }, annotations: { note: 'by hand' } } });
    const r = applyTopology(c, declared, loadTopology(src(withLabels.replace('{tier: db, team: a}', '{tier: cache}'))));
    expect(r.lines).toEqual(['service/logstor configured']);
    const after = c.store.get<Service & KubeObject>('Service', 'default', 'logstor')!;
    expect(after.metadata.labels).toEqual({ tier: 'cache', owner: 'ops' });
    expect(after.metadata.annotations).toEqual({ note: 'by hand' });
    expect(after.metadata.uid).toBe(live.metadata.uid);
  });

  it('the same files again change nothing', () => {
    const { c, declared } = start(WALKTHROUGH);
    const rv = c.store.currentResourceVersion;
    expect(applyTopology(c, declared, loadTopology(src(WALKTHROUGH))).lines).toEqual([]);
    expect(c.store.currentResourceVersion).toBe(rv);
  });

  it('an object removed from the files is deleted, with what it owns; bootstrap objects stay', () => {
    const { c, declared } = start(FIXED);
    const r = applyTopology(c, declared, loadTopology(src(FIXED.replace(/---\napiVersion: apps\/v1\n[\s\S]*?(?=---)/, ''))));
    expect(r.lines).toEqual(['deployment.apps/logstor deleted']);
    // The Deployment's pods went with it; the walkthrough's client pod stays.
    expect(c.store.list('Pod').filter((p) => p.metadata.namespace === 'default').map((p) => p.metadata.name)).toEqual(['client']);
    expect(c.store.get('Service', 'default', 'kubernetes')).toBeDefined();
    expect(c.store.get('Service', 'default', 'logstor')).toBeDefined();
  });

  it('an object added is created; its namespace too when no file defines it', () => {
    const { c, declared } = start(WALKTHROUGH);
    const added = WALKTHROUGH + '---\napiVersion: v1\nkind: Service\nmetadata: {name: web, namespace: shop}\nspec: {selector: {app: web}, ports: [{port: 80}]}\n';
    const r = applyTopology(c, declared, loadTopology(src(added)));
    expect(r.lines).toEqual(['namespace/shop created', 'service/web created']);
    expect(c.store.get<Service & KubeObject>('Service', 'shop', 'web')!.spec!.clusterIP).toMatch(/^10\.(9[6-9]|10\d|11[01])\./);
  });

  it('objects removed from the files are deleted last to first; a deleted Namespace takes what is left in it', () => {
    const shop = '---\napiVersion: v1\nkind: Namespace\nmetadata: {name: shop}\n---\napiVersion: apps/v1\nkind: Deployment\nmetadata: {name: web, namespace: shop}\n'
      + 'spec:\n  replicas: 2\n  selector: {matchLabels: {app: web}}\n  template:\n    metadata: {labels: {app: web}}\n    spec: {containers: [{name: c, image: nginx}]}\n'
      + '---\napiVersion: v1\nkind: Service\nmetadata: {name: web, namespace: shop}\nspec: {selector: {app: web}, ports: [{port: 80}]}\n';
    const { c, declared } = start(WALKTHROUGH + shop);
    expect(c.store.list('Pod').filter((p) => p.metadata.namespace === 'shop')).toHaveLength(2);
    const r = applyTopology(c, declared, loadTopology(src(WALKTHROUGH)));
    expect(r.lines).toEqual(['service/web deleted', 'deployment.apps/web deleted', 'namespace/shop deleted']);
    const { c: c2 } = start(WALKTHROUGH + shop);
    // Deleted alone (not through the files): the namespace controller deletes its contents.
    c2.api.delete('Namespace', undefined, 'shop');
    for (const kind of ['Pod', 'ReplicaSet', 'Deployment', 'Service', 'EndpointSlice', 'Endpoints']) {
      expect(c2.store.list(kind).filter((o) => o.metadata.namespace === 'shop')).toEqual([]);
    }
    for (const kind of ['Pod', 'ReplicaSet', 'Deployment', 'Service', 'EndpointSlice', 'Endpoints']) {
      expect(c.store.list(kind).filter((o) => o.metadata.namespace === 'shop')).toEqual([]);
    }
    // The walkthrough's two logstor pods and its client pod.
    expect(c.store.list('Pod').filter((p) => p.metadata.namespace === 'default')).toHaveLength(3);
  });

  it('what the apiserver refuses to update (immutable fields) is an error on its line; the object keeps its state', () => {
    const pod = '---\napiVersion: v1\nkind: Pod\nmetadata: {name: p}\nspec:\n  containers: [{name: c, image: nginx:1.27, ports: [{containerPort: 80}]}]\n';
    const { c, declared } = start(WALKTHROUGH + pod);
    const r = applyTopology(c, declared, loadTopology(src(WALKTHROUGH.replace('matchLabels: {app: nginx}', 'matchLabels: {app: web}').replace('labels: {app: nginx}', 'labels: {app: web}')
      + pod.replace('containerPort: 80', 'containerPort: 81'))));
    expect(r.lines).toEqual([]);
    expect(r.errors).toEqual([
      'error: topo.yaml:18: Deployment default/logstor: spec.selector: Invalid value: {"matchLabels":{"app":"web"}}: field is immutable',
      expect.stringMatching(/^error: topo\.yaml:\d+: Pod default\/p: spec: Forbidden: pod updates may not change fields other than `spec\.containers\[\*\]\.image`,/),
    ]);
    // An image is a field a pod update may change.
    const again = applyTopology(c, r.declared, loadTopology(src(WALKTHROUGH + pod.replace('nginx:1.27', 'nginx:1.28'))));
    expect(again).toMatchObject({ lines: ['pod/p configured'], errors: [] });
    // A Service's ClusterIP may not change once set.
    const ip = c.store.get<Service & KubeObject>('Service', 'default', 'logstor')!.spec!.clusterIP;
    const other = ip === '10.96.100.100' ? '10.96.100.101' : '10.96.100.100';
    const svc = applyTopology(c, again.declared, loadTopology(src(WALKTHROUGH.replace('selector: {app: nginx, role: logstor}', `clusterIP: ${other}\n  selector: {app: nginx, role: logstor}`) + pod.replace('nginx:1.27', 'nginx:1.28'))));
    expect(svc.errors).toEqual([expect.stringMatching(new RegExp(`^error: topo\\.yaml:\\d+: Service default/logstor: spec\\.clusterIPs\\[0\\]: Invalid value: \\["${other}"\\]: may not change once set$`))]);
    expect(c.store.get<Service & KubeObject>('Service', 'default', 'logstor')!.spec!.clusterIP).toBe(ip);
  });

  it('a changed Cluster object is a warning, not applied', () => {
    const { c, declared } = start(WALKTHROUGH);
    const r = applyTopology(c, declared, loadTopology(src(WALKTHROUGH.replace('{name: node2, ip: 192.168.1.12}', '{name: node2, ip: 192.168.1.12}\n    - {name: node3, ip: 192.168.1.13}'))));
    expect(r.lines).toEqual([]);
    expect(r.warnings).toEqual(['warning: topo.yaml:4: Cluster no-endpoints: the cluster settings (kdp.dev Cluster, KubeProxyConfiguration) changed: not applied; restart kdp up to apply them (the running cluster keeps the settings it started with)']);
    expect(c.store.get('Node', undefined, 'node3')).toBeUndefined();
  });
});

const haveDig = await hasDig();
if (!haveDig) console.warn('dig is not installed (bind9-dnsutils): skipping the watch test that digs');

/** The body a real curl gets, or '' when the connection is refused or reset. */
async function curl(url: string): Promise<string> {
  try {
    return (await run('curl', ['-s', '--max-time', '3', url])).stdout;
  } catch {
    return '';
  }
}

/** `kdp up` on `text` saved in a file of its own, once it says it is up; stopped and removed after the test. */
async function upWatching(text: string, args: string[]) {
  const file = topologyFile(text);
  const dir = dirname(file);
  cleanups.push(() => rmSync(dir, { recursive: true, force: true }));
  const up = kdpUp([file, ...args]);
  cleanups.push(async () => {
    up.interrupt();
    await up.code;
  });
  await until(() => up.stdout.includes('Press Ctrl-C'), 20_000);
  return { dir, file, up };
}

describe.skipIf(!haveDig)('kdp up watching its files', () => {
  it('a saved fix is applied live and dig answers; a bad edit changes nothing; a removed Service is deleted', async () => {
    // The walkthrough's Service is a NodePort, so a real curl from outside sees its endpoints.
    const { dir, file, up } = await upWatching(WALKTHROUGH, ['--loopback', '127.31', '--dns-port', '0']);
    const port = Number(/dig @127\.0\.0\.1 -p (\d+) /.exec(up.stdout)![1]);
    const name = 'logstor.default.svc.cluster.local';
    expect((await dig(port, [name, 'A'])).answer).toHaveLength(1);
    // Before: no endpoints, so kube-proxy refuses the connection.
    expect(await curl('http://127.31.1.1:30081/')).toBe('');

    // Saved the way many editors do: a new file renamed over the old one.
    writeFileSync(join(dir, '.topo.yaml.swp'), FIXED);
    renameSync(join(dir, '.topo.yaml.swp'), file);
    await until(() => up.stdout.includes('deployment.apps/logstor configured\n'), 10_000);
    // The startup's warning about the missing endpoints, said once and not again.
    expect(up.stderr.match(/matches no pod/g)).toHaveLength(1);
    const body = await curl('http://127.31.1.1:30081/');
    expect(body).toContain('Welcome to nginx!');

    // A bad edit: reported with file:line as validate does, and nothing changes.
    const printed = up.stdout;
    writeFileSync(file, FIXED.replace('replicas: 2', 'replicas: -1'));
    await until(() => up.stderr.includes('topology not applied'), 10_000);
    expect(up.stderr).toContain(`error: ${file}:17: Deployment default/logstor: spec.replicas: Invalid value: -1: must be greater than or equal to 0\n`);
    expect(up.stdout).toBe(printed);

    // The Service removed from the file: deleted, and its name no longer resolves.
    writeFileSync(file, FIXED.replace(SERVICE_DOC, ''));
    await until(() => up.stdout.includes('service/logstor deleted\n'), 10_000);
    expect((await dig(port, [name, 'A'])).status).toBe('NXDOMAIN');

    up.interrupt();
    expect(await up.code).toBe(0);
  }, 30_000);
});

describe('kdp up watching its files, the Ingress served by worker processes', () => {
  it('a saved change to an Ingress is what curl gets through it next', async () => {
    const topology = readFileSync(fileURLToPath(new URL('../../topologies/default.yaml', import.meta.url)), 'utf8');
    expect(topology).toContain('host: web.example.com');
    const { file, up } = await upWatching(topology, ['--loopback', '127.32', '--ingress-workers', '2']);
    const url = /^Ingress controller on (http:\/\/127\.0\.0\.1:\d+) /m.exec(up.stdout)![1];
    const status = async (host: string) => (await run('curl', ['-s', '-o', '/dev/null', '-w', '%{http_code}', '-H', `Host: ${host}`, `${url}/`])).stdout;
    expect([await status('web.example.com'), await status('shop.example.com')]).toEqual(['200', '404']);
    writeFileSync(file, topology.replace('host: web.example.com', 'host: shop.example.com'));
    await until(() => /ingress\.networking\.k8s\.io\/\S+ configured\n/.test(up.stdout), 10_000);
    // Both workers: two new connections each time, handed to one and the other.
    expect([await status('shop.example.com'), await status('shop.example.com')]).toEqual(['200', '200']);
    expect([await status('web.example.com'), await status('web.example.com')]).toEqual(['404', '404']);
  }, 40_000);
});

describe('watchTopology', () => {
  it('a directory: a new file in it is applied; a burst of writes is applied once; closed, it applies nothing', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'kdp-watchdir-'));
    cleanups.push(() => rmSync(dir, { recursive: true, force: true }));
    writeFileSync(join(dir, 'a.yaml'), WALKTHROUGH);
    const c = loadCluster([dir], { now: () => NOW });
    let stdout = '';
    let stderr = '';
    const io: IO = { stdout: (t) => { stdout += t; }, stderr: (t) => { stderr += t; }, stdin: () => '', now: () => NOW, interrupted: () => Promise.resolve() };
    const w = watchTopology(c, [dir], io, { debounceMs: 100 });
    cleanups.push(() => w.close());
    writeFileSync(join(dir, 'notes.txt'), 'not a manifest');
    writeFileSync(join(dir, 'b.yaml'), '');
    for (const replicas of [3, 4, 5]) writeFileSync(join(dir, 'b.yaml'), `apiVersion: apps/v1\nkind: Deployment\nmetadata: {name: web}\nspec:\n  replicas: ${replicas}\n  selector: {matchLabels: {app: web}}\n  template:\n    metadata: {labels: {app: web}}\n    spec: {containers: [{name: c, image: nginx}]}\n`);
    await until(() => stdout.includes('\n'), 10_000);
    await new Promise((r) => setTimeout(r, 300));
    expect(stdout).toBe('deployment.apps/web created\n');
    expect(stderr).toBe('');
    expect(c.store.list('Pod').filter((p) => p.metadata.name.startsWith('web-'))).toHaveLength(5);
    // A save's new warnings are printed (kdp up printed the ones it started with).
    writeFileSync(join(dir, 'c.yaml'), 'apiVersion: v1\nkind: Service\nmetadata: {name: lonely}\nspec: {selector: {app: nothing}, ports: [{port: 80}]}\n');
    await until(() => stdout.includes('service/lonely created\n'), 10_000);
    expect(stderr).toContain(`warning: ${join(dir, 'c.yaml')}:4: Service default/lonely: spec.selector: selector app=nothing matches no pod in namespace default; the Service has no endpoints\n`);
    expect(stderr).not.toContain('role=logstor');
    w.close();
    rmSync(join(dir, 'c.yaml'));
    rmSync(join(dir, 'b.yaml'));
    await new Promise((r) => setTimeout(r, 300));
    expect(stdout).toBe('deployment.apps/web created\nservice/lonely created\n');
    expect(c.store.get('Deployment', 'default', 'web')).toBeDefined();
  });
});
