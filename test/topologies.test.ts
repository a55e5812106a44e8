// The topologies kdp ships load cleanly and show what their walkthroughs rely on.
import { describe, expect, it } from 'vitest';
import { readdirSync } from 'node:fs';
import { loadCluster } from '../src/cluster/cluster.ts';
import { formatProblem } from '../src/cluster/problems.ts';
import { NOW } from './helpers/cluster.ts';

const load = (f: string) => loadCluster([f], { now: () => NOW });
const errors = (c: ReturnType<typeof load>) => c.problems.filter((p) => p.severity === 'error').map(formatProblem);

describe('shipped topologies', () => {
  const files = ['topologies/default.yaml', ...readdirSync('topologies/walkthroughs').map((f) => `topologies/walkthroughs/${f}`)];

  it.each(files)('%s loads without errors', (f) => {
    expect(errors(load(f))).toEqual([]);
  });

  it('default: 3 nodes, web x3 behind a ClusterIP, Ingress, NodePort, headless StatefulSet, ExternalName, a client', () => {
    const c = load('topologies/default.yaml');
    expect(c.store.list('Node').map((n) => n.metadata.name)).toEqual(['node1', 'node2', 'node3']);
    const kinds = (k: string) => c.store.list<any>(k, { namespace: 'default' });
    expect(kinds('Pod').filter((p) => p.metadata.labels.app === 'web').map((p) => p.spec.nodeName).sort()).toEqual(['node1', 'node2', 'node3']);
    expect(kinds('Service').map((s) => `${s.metadata.name}:${s.spec.type}:${s.spec.clusterIP ?? ''}`)).toEqual(expect.arrayContaining([
      expect.stringMatching(/^web:ClusterIP:10\./), expect.stringMatching(/^web-nodeport:NodePort:10\./), 'db:ClusterIP:None', 'search:ExternalName:',
    ]));
    expect(kinds('Ingress').map((i) => i.metadata.name)).toEqual(['web']);
    expect(kinds('Pod').map((p) => p.metadata.name)).toContain('client');
  });

  it('no-endpoints: the selector misses until the label is added', () => {
    const c = load('topologies/walkthroughs/no-endpoints.yaml');
    expect(c.problems.map(formatProblem)).toEqual([
      'warning: topologies/walkthroughs/no-endpoints.yaml:35: Service default/logstor: spec.selector: selector app=nginx,role=logstor matches no pod in namespace default; the Service has no endpoints',
    ]);
    const d = c.store.get<any>('Deployment', 'default', 'logstor');
    c.api.update({ ...d, spec: { ...d.spec, template: { ...d.spec.template, metadata: { labels: { app: 'nginx', role: 'logstor' } } } } });
    const ep = c.store.get<any>('Endpoints', 'default', 'logstor');
    expect(ep.subsets[0].addresses).toHaveLength(2);
    expect(ep.subsets[0].ports).toEqual([{ name: 'http', port: 80, protocol: 'TCP' }]);
  });

  it('nodeport: ClusterIP 10.99.99.99 and NodePort 30080 as written', () => {
    const c = load('topologies/walkthroughs/nodeport.yaml');
    expect(c.store.get<any>('Service', 'default', 'echo').spec).toMatchObject({ clusterIP: '10.99.99.99', ports: [{ port: 80, nodePort: 30080, targetPort: 'http' }] });
  });

  it('headless: endpoints are the pod IPs, with StatefulSet hostnames', () => {
    const c = load('topologies/walkthroughs/headless.yaml');
    const [slice] = c.store.list<any>('EndpointSlice', { namespace: 'default', selector: { requirements: [{ key: 'kubernetes.io/service-name', operator: 'Equals', values: ['kafka'] }] } });
    const pods = c.store.list<any>('Pod', { namespace: 'default' });
    expect(slice.endpoints.map((e: any) => [e.hostname, e.addresses[0]]).sort()).toEqual(pods.map((p) => [p.metadata.name, p.status.podIP]).sort());
    expect(c.store.get<any>('Service', 'default', 'kafka').spec.clusterIP).toBe('None');
  });
});
