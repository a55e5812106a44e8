// The live kube-proxy: a store change re-syncs only the service it touched, as kube-proxy's partial syncs do.
import { describe, expect, it } from 'vitest';
import { cluster, NODES3 } from '../helpers/cluster.ts';
import { KubeProxy, type ProxySync } from '../../src/proxy/kubeproxy.ts';
import type { KubeObject, Pod } from '../../src/cluster/objects.ts';
import { parse } from 'yaml';

const APP = `
---
apiVersion: apps/v1
kind: Deployment
metadata: {name: web}
spec:
  replicas: 3
  selector: {matchLabels: {app: web}}
  template:
    metadata: {labels: {app: web}}
    spec: {containers: [{name: web, image: nginx, ports: [{containerPort: 8080}]}]}
---
apiVersion: v1
kind: Service
metadata: {name: web}
spec: {selector: {app: web}, ports: [{name: http, port: 80, targetPort: 8080}]}
`;

const DB = `
apiVersion: v1
kind: Service
metadata: {name: db, namespace: default}
spec: {ports: [{port: 5432}]}
`;

function start() {
  const c = cluster(NODES3 + APP);
  const syncs: ProxySync[] = [];
  const kp = new KubeProxy(c.store, c.config, 'node1', (node, r) => {
    expect(node).toBe('node1');
    syncs.push(r);
  });
  kp.start();
  return { c, kp, syncs };
}

const chainsWritten = (text: string) => [...text.matchAll(/^:(KUBE-(?:SVC|SEP|EXT|SVL|FW)-\S+)/gm)].map((m) => m[1]);
const rulesOf = (text: string, chain: string) => text.split('\n').filter((l) => l.startsWith(`-A ${chain} `));

describe('KubeProxy controller', () => {
  it('starts with a full sync carrying the jump rules', () => {
    const { syncs, kp } = start();
    expect(syncs).toHaveLength(1);
    expect(syncs[0]).toMatchObject({ family: 'IPv4', fullSync: true });
    expect(syncs[0].jumps).toContainEqual({ table: 'nat', chain: 'PREROUTING', position: 'prepend', target: 'KUBE-SERVICES', args: ['-m', 'comment', '--comment', 'kubernetes service portals', '-j', 'KUBE-SERVICES'] });
    expect(syncs[0].jumps).toContainEqual({ table: 'filter', chain: 'INPUT', position: 'prepend', target: 'KUBE-FIREWALL', args: ['-j', 'KUBE-FIREWALL'] });
    expect(syncs[0].jumps).toHaveLength(14);
    expect(rulesOf(syncs[0].restoreText, 'KUBE-SERVICES').some((l) => l.includes('"default/web:http cluster IP"'))).toBe(true);
    kp.stop();
  });

  it('a deleted pod re-syncs only its service, removing the endpoint chain', () => {
    const { c, syncs, kp } = start();
    const pod = c.store.list<Pod & KubeObject>('Pod', { namespace: 'default' }).find((p) => p.metadata.labels?.app === 'web')!;
    const before = syncs.length;
    c.store.delete('Pod', 'default', pod.metadata.name);
    const partial = syncs.slice(before);
    expect(partial.length).toBeGreaterThan(0);
    const last = partial[partial.length - 1];
    expect(last.fullSync).toBe(false);
    expect(last.jumps).toEqual([]);
    // Only web's chains are rewritten; the kubernetes Service's are not.
    const written = partial.flatMap((s) => chainsWritten(s.restoreText));
    expect(written.length).toBeGreaterThan(0);
    expect(last.restoreText).not.toMatch(/-A KUBE-SVC-NPX46M4PTMTKRN6Y /);
    expect(partial.some((x) => /^-X KUBE-SEP-/m.test(x.restoreText))).toBe(true);
    expect(last.restoreText).not.toContain(`--to-destination ${pod.status!.podIP}:8080`);
    kp.stop();
  });

  it('an endpoint that stops being ready leaves the rules, and returns when ready again', () => {
    const { c, syncs, kp } = start();
    const pod = c.store.list<Pod & KubeObject>('Pod', { namespace: 'default' }).find((p) => p.metadata.labels?.app === 'web')!;
    const ip = pod.status!.podIP!;
    expect(syncs[0].restoreText).toContain(`--to-destination ${ip}:8080`);
    const notReady = { ...pod, status: { ...pod.status, conditions: (pod.status!.conditions ?? []).map((x) => (x.type === 'Ready' ? { ...x, status: 'False' } : x)) } };
    const n = syncs.length;
    c.store.update(notReady);
    expect(syncs.length).toBe(n + 1);
    expect(syncs[n].fullSync).toBe(false);
    expect(syncs[n].restoreText).not.toContain(`--to-destination ${ip}:8080`);
    expect(syncs[n].restoreText).toMatch(/probability 0\.5000000000/);
    c.store.update(pod);
    expect(syncs[syncs.length - 1].restoreText).toContain(`--to-destination ${ip}:8080`);
    expect(syncs[syncs.length - 1].restoreText).toMatch(/probability 0\.3333333333/);
    kp.stop();
  });

  it('a new service without endpoints gets its REJECT rule and nothing else is rewritten', () => {
    const { c, syncs, kp } = start();
    const n = syncs.length;
    c.api.create(parse(DB) as KubeObject);
    const s = syncs[syncs.length - 1];
    expect(syncs.length).toBeGreaterThan(n);
    expect(s.restoreText).toMatch(/-A KUBE-SERVICES -m comment --comment "default\/db has no endpoints" -m tcp -p tcp -d \S+ --dport 5432 -j REJECT/);
    expect(chainsWritten(s.restoreText)).toEqual([]);
    kp.stop();
  });

  it('changes that do not alter what this node writes cause no sync', () => {
    const { c, syncs, kp } = start();
    const n = syncs.length;
    const svc = c.store.get<KubeObject>('Service', 'default', 'web')!;
    c.store.update({ ...svc, metadata: { ...svc.metadata, annotations: { note: 'x' } } });
    expect(syncs.length).toBe(n);
    kp.stop();
  });

  it('a flushed ruleset (the canary chain gone) is rewritten by a full sync with the jumps', () => {
    const { syncs, kp } = start();
    kp.forceFullSync();
    const last = syncs[syncs.length - 1];
    expect(last.fullSync).toBe(true);
    expect(last.jumps).toHaveLength(14);
    expect(last.restoreText).toBe(syncs[0].restoreText);
    kp.stop();
  });

  it('a failed restore makes the next sync a full one', () => {
    const { c, syncs, kp } = start();
    c.api.create(parse(DB) as KubeObject);
    kp.restoreFailed('IPv4');
    const svc = c.store.get<KubeObject>('Service', 'default', 'db')!;
    c.store.update({ ...svc, spec: { ...(svc.spec as object), ports: [{ port: 5433, protocol: 'TCP', targetPort: 5433 }] } });
    expect(syncs[syncs.length - 1].fullSync).toBe(true);
    kp.stop();
  });

  it('a Node update with a bad capability annotation keeps the rules and is reported', () => {
    const c = cluster(NODES3 + APP);
    const errors: string[] = [];
    const syncs: ProxySync[] = [];
    const kp = new KubeProxy(c.store, c.config, 'node1', (_n, r) => syncs.push(r), (e) => errors.push(e.message));
    kp.start();
    const node = c.store.get<KubeObject>('Node', undefined, 'node1')!;
    c.store.update({ ...node, metadata: { ...node.metadata, annotations: { 'kdp.dev/iptables-random-fully': 'maybe' } } });
    expect(errors).toEqual(['Node node1: metadata.annotations["kdp.dev/iptables-random-fully"]: Invalid value: "maybe": must be "true" or "false"']);
    expect(syncs).toHaveLength(1);
    kp.stop();
  });

  it('a node label change that moves the node to another zone forces a full sync', () => {
    const { c, syncs, kp } = start();
    const node = c.store.get<KubeObject>('Node', undefined, 'node1')!;
    c.store.update({ ...node, metadata: { ...node.metadata, labels: { ...node.metadata.labels, 'topology.kubernetes.io/zone': 'b' } } });
    expect(syncs[syncs.length - 1].fullSync).toBe(true);
    kp.stop();
  });
});
