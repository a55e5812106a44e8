import { describe, expect, it } from 'vitest';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { loadTopology } from '../../src/cluster/topology/load.ts';
import { readSources } from '../../src/cluster/topology/sources.ts';
import { formatProblem } from '../../src/cluster/problems.ts';
import { locateField } from '../../src/cluster/topology/parse.ts';
import { loadClusterFromText } from '../../src/cluster/cluster.ts';
import { cluster, errors, warnings, get } from '../helpers/cluster.ts';

const load = (text: string, file = 'topo.yaml') => loadTopology([{ file, text }]);
const msgs = (t: ReturnType<typeof load>) => t.problems.map(formatProblem);

describe('topology files', () => {
  it('reads multi-document YAML, JSON and kind: List, with each object\'s line', () => {
    const t = load(`# leading comment
apiVersion: v1
kind: Namespace
metadata: {name: shop}
---
apiVersion: v1
kind: List
items:
- apiVersion: v1
  kind: ConfigMap
  metadata: {name: a, namespace: shop}
- apiVersion: v1
  kind: ConfigMap
  metadata: {name: b, namespace: shop}
`);
    expect(t.problems).toEqual([]);
    expect(t.objects.map((o) => `${o.kind}/${o.metadata.name}`)).toEqual(['Namespace/shop', 'ConfigMap/a', 'ConfigMap/b']);
    expect(locateField(t.origins.get('Namespace', undefined, 'shop')!, [])).toBe(2);
    expect(locateField(t.origins.get('ConfigMap', 'shop', 'b')!, [])).toBe(12);
    expect(locateField(t.origins.get('ConfigMap', 'shop', 'b')!, ['metadata', 'namespace'])).toBe(14);
    const json = load(JSON.stringify({ apiVersion: 'v1', kind: 'List', items: [{ apiVersion: 'v1', kind: 'Pod', metadata: { name: 'p' }, spec: { containers: [{ name: 'c' }] } }] }), 'dump.json');
    expect(json.problems).toEqual([]);
    expect(json.objects[0].metadata).toEqual({ name: 'p', namespace: 'default' });
  });

  it('places every warning of many documents in two files on its own file and line', () => {
    // Each file is split into documents once and reused for each problem placed in it.
    const svc = (i: number) => `apiVersion: v1\nkind: Service\nmetadata: {name: s${i}}\nspec:\n  selector: {app: none${i}}\n  ports: [{port: 80}]\n`;
    const text = (n: number, from: number) => Array.from({ length: n }, (_, i) => svc(from + i)).join('---\n');
    const c = loadClusterFromText([{ file: 'a.yaml', text: text(30, 0) }, { file: 'b.yaml', text: text(30, 30) }]);
    const placed = c.problems.filter((p) => p.severity === 'warning' && p.field === 'spec.selector').map((p) => `${p.file}:${p.line} ${p.object}`);
    // Document k starts at line 7k+1 (6 lines and a marker each); its selector is on line 7k+5.
    expect(placed).toEqual(Array.from({ length: 60 }, (_, i) => `${i < 30 ? 'a' : 'b'}.yaml:${7 * (i % 30) + 5} Service default/s${i}`));
  });

  it('reads files, directories (their .yaml/.yml/.json, in name order) and stdin', () => {
    const dir = mkdtempSync(join(tmpdir(), 'kdp-'));
    writeFileSync(join(dir, 'b.yaml'), 'apiVersion: v1\nkind: Namespace\nmetadata: {name: b}\n');
    writeFileSync(join(dir, 'a.json'), '{"apiVersion":"v1","kind":"Namespace","metadata":{"name":"a"}}');
    writeFileSync(join(dir, 'notes.txt'), 'not a manifest');
    const sources = readSources([dir, '-'], () => 'apiVersion: v1\nkind: Namespace\nmetadata: {name: c}\n');
    expect(sources.map((s) => s.file)).toEqual([join(dir, 'a.json'), join(dir, 'b.yaml'), '<stdin>']);
    expect(loadTopology(sources).objects.map((o) => o.metadata.name)).toEqual(['a', 'b', 'c']);
    expect(() => readSources([join(dir, 'missing.yaml')])).toThrow(/no such file/);
  });

  it('names file and line for YAML syntax errors', () => {
    expect(msgs(load('apiVersion: v1\nkind: Pod\nmetadata:\n  name: [unclosed\n'))).toEqual([
      expect.stringMatching(/^error: topo\.yaml:[45]: YAML syntax: /),
    ]);
    expect(msgs(load('{"apiVersion": "v1",\n "kind": "Pod",,\n}', 'x.json'))).toEqual([expect.stringMatching(/^error: x\.json:2: YAML syntax: /)]);
  });

  it('names file, line, object and field for wrong or missing fields', () => {
    const t = load(`apiVersion: v1
kind: Service
metadata:
  name: web
spec:
  ports:
  - port: http
    targetPort: 8080
  selector:
    app: web
    version: 2
`);
    expect(msgs(t)).toEqual([
      'error: topo.yaml:7: Service default/web: spec.ports[0].port: must be an integer, got string "http"',
      'error: topo.yaml:11: Service default/web: spec.selector.version: must be a string, got number 2 (quote it in YAML)',
    ]);
    expect(t.objects).toEqual([]);
  });

  it('reports every problem, not only the first', () => {
    const t = load(`apiVersion: v1
kind: Pod
metadata: {name: Bad_Name}
spec:
  containers:
  - name: c
    ports:
    - containerPort: 70000
      protocol: tcp
---
apiVersion: v1
kind: Service
metadata: {name: s}
spec:
  clusterIP: 10.96.0.300
  externalIPs: [1.2.3]
  ports: [{port: 80}]
---
apiVersion: kdp.dev/v1alpha1
kind: Cluster
metadata: {name: c}
spec:
  podCIDR: 10.244.0.0/33
`);
    expect(msgs(t)).toEqual([
      expect.stringMatching(/^error: topo\.yaml:3: Pod default\/Bad_Name: metadata\.name: Invalid value: "Bad_Name": a lowercase RFC 1123 subdomain/),
      'error: topo.yaml:8: Pod default/Bad_Name: spec.containers[0].ports[0].containerPort: Invalid value: 70000: must be between 1 and 65535, inclusive',
      'error: topo.yaml:9: Pod default/Bad_Name: spec.containers[0].ports[0].protocol: Unsupported value: "tcp": supported values: "TCP", "UDP", "SCTP"',
      'error: topo.yaml:15: Service default/s: spec.clusterIP: Invalid value: "10.96.0.300": must be a valid IP address, (e.g. 10.9.8.7 or 2001:db8::ffff)',
      'error: topo.yaml:16: Service default/s: spec.externalIPs[0]: Invalid value: "1.2.3": must be a valid IP address, (e.g. 10.9.8.7 or 2001:db8::ffff)',
      'error: topo.yaml:23: Cluster c: spec.podCIDR: Invalid value: "10.244.0.0/33" is not a valid CIDR',
    ]);
  });

  it('errors on duplicates, naming where the first one is', () => {
    const t = load('apiVersion: v1\nkind: Namespace\nmetadata: {name: a}\n---\napiVersion: v1\nkind: Namespace\nmetadata: {name: a}\n');
    expect(msgs(t)).toEqual(['error: topo.yaml:7: Namespace a: metadata.name: Duplicate value: Namespace a is already defined at topo.yaml:1']);
  });

  it('loads unknown kinds with a warning, never an error', () => {
    const t = load('apiVersion: cert-manager.io/v1\nkind: Certificate\nmetadata: {name: c}\n---\napiVersion: v1\nkind: ServiceAccount\nmetadata: {name: sa}\n');
    expect(msgs(t)).toEqual([
      'warning: topo.yaml:1: Certificate default/c: kind Certificate (cert-manager.io/v1) is not modelled by kdp; ignored',
      'warning: topo.yaml:5: ServiceAccount default/sa: kind ServiceAccount (v1) is not modelled by kdp; ignored',
    ]);
    expect(t.objects).toEqual([]);
  });

  it('upgrades extensions/v1beta1 Ingress backends to networking.k8s.io/v1', () => {
    const t = load(`apiVersion: extensions/v1beta1
kind: Ingress
metadata: {name: old}
spec:
  backend: {serviceName: default-http, servicePort: 80}
  rules:
  - host: a.example.com
    http:
      paths:
      - path: /
        backend: {serviceName: web, servicePort: http}
`);
    expect(t.problems).toEqual([]);
    expect(t.objects[0]).toMatchObject({
      apiVersion: 'networking.k8s.io/v1',
      spec: {
        defaultBackend: { service: { name: 'default-http', port: { number: 80 } } },
        rules: [{ http: { paths: [{ path: '/', pathType: 'ImplementationSpecific', backend: { service: { name: 'web', port: { name: 'http' } } } }] } }],
      },
    });
  });
});

describe('Cluster settings', () => {
  it('defaults to kubeadm\'s values', () => {
    const c = cluster('apiVersion: v1\nkind: Namespace\nmetadata: {name: x}\n');
    expect(c.config).toMatchObject({
      clusterDomain: 'cluster.local', dnsClusterIP: '10.96.0.10', nodePortRange: { min: 30000, max: 32767 }, overlay: 'vxlan',
      proxy: { mode: 'iptables', masqueradeBit: 14, localhostNodePorts: true, masqueradeAll: false, ipvsScheduler: 'rr', detectLocalMode: 'ClusterCIDR' },
    });
    expect(c.config.podCIDRs.map((x) => x.text)).toEqual(['10.244.0.0/16']);
    expect(c.config.serviceCIDRs.map((x) => x.text)).toEqual(['10.96.0.0/12']);
    expect(c.config.proxy.clusterCIDRs.map((x) => x.text)).toEqual(['10.244.0.0/16']);
  });

  it('lets a KubeProxyConfiguration win over the shorthand', () => {
    const c = cluster(`apiVersion: kdp.dev/v1alpha1
kind: Cluster
metadata: {name: t}
spec: {proxy: {mode: iptables}}
---
apiVersion: kubeproxy.config.k8s.io/v1alpha1
kind: KubeProxyConfiguration
mode: ipvs
clusterCIDR: 10.244.0.0/16
iptables: {masqueradeAll: true, masqueradeBit: 15, localhostNodePorts: false}
ipvs: {scheduler: wlc}
nodePortAddresses: [192.168.1.0/24]
`);
    expect(errors(c)).toEqual([]);
    expect(c.config.proxy).toMatchObject({ mode: 'ipvs', masqueradeAll: true, masqueradeBit: 15, localhostNodePorts: false, ipvsScheduler: 'wlc', nodePortAddresses: ['192.168.1.0/24'] });
  });

  it('accepts dual-stack CIDRs and gives nodes one pod CIDR per family', () => {
    const c = cluster(`apiVersion: kdp.dev/v1alpha1
kind: Cluster
metadata: {name: t}
spec:
  podCIDR: 10.244.0.0/16,fd00:10:244::/56
  serviceCIDR: 10.96.0.0/12,fd00:10:96::/112
  nodes: [{name: n1}, {name: n2}]
---
apiVersion: v1
kind: Service
metadata: {name: ds}
spec:
  ipFamilyPolicy: PreferDualStack
  selector: {app: x}
  ports: [{port: 80}]
---
apiVersion: v1
kind: Pod
metadata: {name: p, labels: {app: x}}
spec: {containers: [{name: c}]}
`);
    expect(errors(c)).toEqual([]);
    expect(get<any>(c, 'Node', undefined, 'n2').spec.podCIDRs).toEqual(['10.244.1.0/24', 'fd00:10:244:1::/64']);
    const svc = get<any>(c, 'Service', 'default', 'ds');
    expect(svc.spec.ipFamilies).toEqual(['IPv4', 'IPv6']);
    expect(svc.spec.clusterIPs[1]).toMatch(/^fd00:10:96::[0-9a-f]+$/);
    const pod = get<any>(c, 'Pod', 'default', 'p');
    expect(pod.status.podIPs.map((x: { ip: string }) => x.ip)).toEqual(['10.244.0.2', 'fd00:10:244::2']);
    expect(c.store.list<any>('EndpointSlice', { namespace: 'default' }).filter((s) => s.metadata.labels['kubernetes.io/service-name'] === 'ds').map((s) => [s.addressType, s.endpoints[0].addresses])).toEqual([
      ['IPv4', ['10.244.0.2']], ['IPv6', ['fd00:10:244::2']],
    ]);
  });

  it('errors on overlapping pod and service CIDRs', () => {
    const c = cluster('apiVersion: kdp.dev/v1alpha1\nkind: Cluster\nmetadata: {name: t}\nspec:\n  podCIDR: 10.0.0.0/8\n  serviceCIDR: 10.96.0.0/12\n');
    expect(errors(c)).toEqual(['error: topo.yaml:6: Cluster t: spec.serviceCIDR: Invalid value: "10.96.0.0/12": overlaps the pod CIDR 10.0.0.0/8']);
  });

  it('keeps warnings and errors apart', () => {
    const c = cluster('apiVersion: v1\nkind: Service\nmetadata: {name: s}\nspec: {selector: {app: nothing}, ports: [{port: 80}]}\n');
    expect(errors(c)).toEqual([]);
    expect(warnings(c)).toEqual(['warning: topo.yaml:4: Service default/s: spec.selector: selector app=nothing matches no pod in namespace default; the Service has no endpoints']);
  });
});

describe('int-or-string ports', () => {
  it('refuses a quoted number where a port name is expected, as the apiserver does', () => {
    const t = load('apiVersion: v1\nkind: Service\nmetadata: {name: s}\nspec:\n  ports:\n  - port: 80\n    targetPort: "8080"\n');
    expect(msgs(t)).toEqual(['error: topo.yaml:7: Service default/s: spec.ports[0].targetPort: Invalid value: "8080": must contain at least one letter (a-z); write the number unquoted for a port number']);
  });
});

describe('YAML values', () => {
  it('keeps timestamps as strings, as Kubernetes decodes them', () => {
    const t = load('apiVersion: v1\nkind: ConfigMap\nmetadata: {name: c, creationTimestamp: 2024-01-01T00:00:00Z}\ndata: {when: 2024-01-01}\n');
    expect(t.objects[0].metadata.creationTimestamp).toBe('2024-01-01T00:00:00Z');
    expect((t.objects[0] as any).data.when).toBe('2024-01-01');
  });
});
