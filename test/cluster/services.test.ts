import { describe, expect, it } from 'vitest';
import { cluster, errors, get, list, warnings, NODES3 } from '../helpers/cluster.ts';

const svc = (name: string, spec: string) => `---\napiVersion: v1\nkind: Service\nmetadata: {name: ${name}}\nspec: ${spec}\n`;

describe('Service registry: defaults and allocation', () => {
  it('fills the fields the apiserver fills', () => {
    const c = cluster(NODES3 + svc('web', '{selector: {app: web}, ports: [{port: 80}]}') + svc('np', '{type: NodePort, selector: {app: web}, ports: [{port: 80, nodePort: 30080}]}'));
    const web = get<any>(c, 'Service', 'default', 'web');
    expect(web.spec).toMatchObject({
      type: 'ClusterIP', sessionAffinity: 'None', internalTrafficPolicy: 'Cluster', ipFamilyPolicy: 'SingleStack', ipFamilies: ['IPv4'],
      ports: [{ port: 80, protocol: 'TCP', targetPort: 80 }],
    });
    expect(web.spec.clusterIPs).toEqual([web.spec.clusterIP]);
    // Automatic ClusterIPs come from the upper band: the first 256 addresses of a /12 are kept for written ones.
    const [a, b, c3] = web.spec.clusterIP.split('.').map(Number);
    expect(a).toBe(10);
    expect(b * 65536 + c3 * 256).toBeGreaterThanOrEqual(96 * 65536 + 256);
    expect(b).toBeLessThanOrEqual(111);
    const np = get<any>(c, 'Service', 'default', 'np');
    expect(np.spec).toMatchObject({ externalTrafficPolicy: 'Cluster', ports: [{ nodePort: 30080 }] });
  });

  it('allocates NodePorts from the dynamic band, one per port number across protocols', () => {
    const c = cluster(svc('dns', '{type: NodePort, selector: {app: dns}, ports: [{name: u, port: 53, protocol: UDP}, {name: t, port: 53, protocol: TCP}, {name: m, port: 9153}]}'));
    const ports = get<any>(c, 'Service', 'default', 'dns').spec.ports.map((p: any) => p.nodePort);
    expect(ports[0]).toBe(ports[1]);
    expect(ports[2]).not.toBe(ports[0]);
    for (const p of ports) expect(p).toBeGreaterThanOrEqual(30086);
  });

  it('gives LoadBalancer services with externalTrafficPolicy Local a healthCheckNodePort', () => {
    const c = cluster(svc('lb', '{type: LoadBalancer, externalTrafficPolicy: Local, selector: {app: x}, ports: [{port: 80}]}'));
    const spec = get<any>(c, 'Service', 'default', 'lb').spec;
    expect(spec.allocateLoadBalancerNodePorts).toBe(true);
    expect(spec.healthCheckNodePort).toBeGreaterThanOrEqual(30000);
    expect(spec.healthCheckNodePort).not.toBe(spec.ports[0].nodePort);
  });

  it('treats headless and ExternalName services as the apiserver does', () => {
    const c = cluster(svc('h', '{clusterIP: None, selector: {app: h}, ports: [{port: 80}]}') + svc('raw', '{clusterIP: None}') + svc('ext', '{type: ExternalName, externalName: example.com}'));
    expect(get<any>(c, 'Service', 'default', 'h').spec).toMatchObject({ clusterIP: 'None', clusterIPs: ['None'], ipFamilyPolicy: 'SingleStack', ipFamilies: ['IPv4'] });
    expect(get<any>(c, 'Service', 'default', 'raw').spec).toMatchObject({ ipFamilyPolicy: 'RequireDualStack', ipFamilies: ['IPv4', 'IPv6'] });
    const ext = get<any>(c, 'Service', 'default', 'ext').spec;
    expect(ext.clusterIP).toBeUndefined();
    expect(ext.ipFamilies).toBeUndefined();
    expect(list<any>(c, 'EndpointSlice', 'default').filter((s) => s.metadata.labels['kubernetes.io/service-name'] === 'ext')).toEqual([]);
  });

  it('honours written ClusterIPs and NodePorts whatever the file order, and reports the ones taken', () => {
    const c = cluster(
      svc('auto', '{type: NodePort, selector: {app: a}, ports: [{port: 80}]}') +
      svc('fixed', '{type: NodePort, clusterIP: 10.99.99.99, selector: {app: a}, ports: [{port: 80, nodePort: 30080}]}') +
      svc('same-ip', '{clusterIP: 10.99.99.99, selector: {app: a}, ports: [{port: 80}]}') +
      svc('same-port', '{type: NodePort, selector: {app: a}, ports: [{port: 80, nodePort: 30080}]}') +
      svc('dns-ip', '{clusterIP: 10.96.0.10, selector: {app: a}, ports: [{port: 80}]}'),
    );
    expect(get<any>(c, 'Service', 'default', 'fixed').spec).toMatchObject({ clusterIP: '10.99.99.99', ports: [{ nodePort: 30080 }] });
    expect(errors(c)).toEqual([
      'error: topo.yaml:15: Service default/same-ip: spec.clusterIP: Invalid value: "10.99.99.99": provided IP is already allocated (to Service default/fixed)',
      'error: topo.yaml:20: Service default/same-port: spec.ports[0].nodePort: Invalid value: 30080: provided port is already allocated (to Service default/fixed)',
      'error: topo.yaml:25: Service default/dns-ip: spec.clusterIP: Invalid value: "10.96.0.10": provided IP is already allocated (to Service kube-system/kube-dns)',
    ]);
    expect(c.store.get('Service', 'default', 'same-ip')).toBeUndefined();
  });

  it('warns, and keeps the value, when a written IP or NodePort is outside the configured range', () => {
    const c = cluster(svc('old', '{type: NodePort, clusterIP: 10.0.0.50, selector: {app: a}, ports: [{port: 80, nodePort: 8080}]}'));
    expect(errors(c)).toEqual([]);
    expect(warnings(c)).toEqual(expect.arrayContaining([
      'warning: topo.yaml:5: Service default/old: spec.clusterIP: "10.0.0.50" is outside the service CIDR 10.96.0.0/12; kept as written',
      'warning: topo.yaml:5: Service default/old: spec.ports[0].nodePort: 8080 is outside the node port range 30000-32767; kept as written',
    ]));
    expect(get<any>(c, 'Service', 'default', 'old').spec).toMatchObject({ clusterIP: '10.0.0.50', ports: [{ nodePort: 8080 }] });
  });

  it('refuses dual-stack on a single-stack cluster', () => {
    const c = cluster(svc('ds', '{ipFamilyPolicy: RequireDualStack, selector: {app: a}, ports: [{port: 80}]}'));
    expect(errors(c)).toEqual(['error: topo.yaml:5: Service default/ds: spec.ipFamilyPolicy: Invalid value: "RequireDualStack": this cluster is not configured for dual-stack services']);
  });
});

const APP = `---
apiVersion: apps/v1
kind: Deployment
metadata: {name: web}
spec:
  replicas: 3
  selector: {matchLabels: {app: web}}
  template:
    metadata: {labels: {app: web}}
    spec:
      containers: [{name: c, ports: [{name: http, containerPort: 8080}, {name: metrics, containerPort: 9090}]}]
`;

const slicesOf = (c: ReturnType<typeof cluster>, name: string, ns = 'default') =>
  list<any>(c, 'EndpointSlice', ns).filter((s) => s.metadata.labels?.['kubernetes.io/service-name'] === name);

describe('EndpointSlice controller', () => {
  it('writes one slice per family and port mapping, with the fields upstream sets', () => {
    const c = cluster(NODES3 + APP + svc('web', '{selector: {app: web}, ports: [{name: http, port: 80, targetPort: http}, {name: m, port: 9090, targetPort: metrics, appProtocol: http}]}'));
    const [slice, ...more] = slicesOf(c, 'web');
    expect(more).toEqual([]);
    expect(slice.metadata.name).toMatch(/^web-[bcdfghjklmnpqrstvwxz2456789]{5}$/);
    expect(slice.metadata.labels).toEqual({ 'kubernetes.io/service-name': 'web', 'endpointslice.kubernetes.io/managed-by': 'endpointslice-controller.k8s.io' });
    expect(slice.metadata.ownerReferences).toEqual([expect.objectContaining({ apiVersion: 'v1', kind: 'Service', name: 'web', controller: true, blockOwnerDeletion: true })]);
    expect(slice.addressType).toBe('IPv4');
    expect(slice.ports).toEqual([{ name: 'http', port: 8080, protocol: 'TCP' }, { name: 'm', port: 9090, protocol: 'TCP', appProtocol: 'http' }]);
    expect(slice.endpoints).toHaveLength(3);
    const pod = list<any>(c, 'Pod', 'default').find((p) => p.status.podIP === slice.endpoints[0].addresses[0]);
    expect(slice.endpoints[0]).toEqual({
      addresses: [pod.status.podIP],
      conditions: { ready: true, serving: true, terminating: false },
      nodeName: pod.spec.nodeName,
      targetRef: { kind: 'Pod', namespace: 'default', name: pod.metadata.name, uid: pod.metadata.uid },
      zone: pod.spec.nodeName === 'node3' ? 'b' : 'a',
    });
  });

  it('splits pods whose named targetPort resolves differently into separate slices', () => {
    const c = cluster(NODES3 + `---
apiVersion: v1
kind: Pod
metadata: {name: a, labels: {app: x}}
spec: {containers: [{name: c, ports: [{name: http, containerPort: 8080}]}]}
---
apiVersion: v1
kind: Pod
metadata: {name: b, labels: {app: x}}
spec: {containers: [{name: c, ports: [{name: http, containerPort: 9090}]}]}
` + svc('x', '{selector: {app: x}, ports: [{port: 80, targetPort: http}]}'));
    const slices = slicesOf(c, 'x').map((s) => [s.ports[0].port, s.endpoints.map((e: any) => e.targetRef.name)]);
    expect(slices.sort()).toEqual([[8080, ['a']], [9090, ['b']]]);
  });

  it('publishes not-ready pods as not ready, and StatefulSet hostnames under their headless service', () => {
    const c = cluster(NODES3 + `---
apiVersion: v1
kind: Pod
metadata: {name: slow, labels: {app: x}}
spec: {containers: [{name: c}]}
status: {conditions: [{type: Ready, status: "False"}]}
---
apiVersion: apps/v1
kind: StatefulSet
metadata: {name: db}
spec:
  serviceName: db
  replicas: 1
  selector: {matchLabels: {app: db}}
  template: {metadata: {labels: {app: db}}, spec: {containers: [{name: c}]}}
` + svc('x', '{selector: {app: x}, ports: [{port: 80}]}') + svc('db', '{clusterIP: None, selector: {app: db}, ports: [{port: 5432}]}'));
    expect(slicesOf(c, 'x')[0].endpoints[0].conditions).toEqual({ ready: false, serving: false, terminating: false });
    const db = slicesOf(c, 'db')[0];
    expect(db.metadata.labels['service.kubernetes.io/headless']).toBe('');
    expect(db.endpoints[0]).toMatchObject({ hostname: 'db-0', targetRef: { name: 'db-0' } });
    const ep = get<any>(c, 'Endpoints', 'default', 'x');
    expect(ep.subsets).toEqual([{ notReadyAddresses: [expect.objectContaining({ ip: get<any>(c, 'Pod', 'default', 'slow').status.podIP })], ports: [{ name: undefined, port: 80, protocol: 'TCP' }] }]);
  });

  it('keeps a placeholder slice for a service that selects nothing, and the slices given for one without a selector', () => {
    const c = cluster(svc('none', '{selector: {app: nothing}, ports: [{port: 80}]}') + svc('manual', '{ports: [{port: 80}]}') + `---
apiVersion: discovery.k8s.io/v1
kind: EndpointSlice
metadata: {name: manual-1, labels: {kubernetes.io/service-name: manual}}
addressType: IPv4
ports: [{port: 80}]
endpoints: [{addresses: [192.168.5.5]}]
`);
    const [placeholder] = slicesOf(c, 'none');
    expect(placeholder.endpoints).toBeNull();
    expect(placeholder.ports).toBeNull();
    expect(slicesOf(c, 'manual').map((s) => s.metadata.name)).toEqual(['manual-1']);
    expect(c.store.get('Endpoints', 'default', 'manual')).toBeUndefined();
  });

  it('mirrors Endpoints written for a service without a selector', () => {
    const c = cluster(svc('legacy', '{ports: [{name: http, port: 80}]}') + `---
apiVersion: v1
kind: Endpoints
metadata: {name: legacy}
subsets:
- addresses: [{ip: 192.168.5.6}, {ip: 192.168.5.5}]
  notReadyAddresses: [{ip: 192.168.5.7}]
  ports: [{name: http, port: 8080}]
`);
    const [slice] = slicesOf(c, 'legacy');
    expect(slice.metadata.name).toMatch(/^legacy-[bcdfghjklmnpqrstvwxz2456789]{5}$/);
    expect(slice.metadata.labels).toEqual({ 'kubernetes.io/service-name': 'legacy', 'endpointslice.kubernetes.io/managed-by': 'endpointslicemirroring-controller.k8s.io' });
    expect(slice.metadata.ownerReferences[0]).toMatchObject({ kind: 'Endpoints', name: 'legacy' });
    expect(slice.ports).toEqual([{ name: 'http', port: 8080, protocol: 'TCP' }]);
    expect(slice.endpoints).toEqual([
      { addresses: ['192.168.5.5'], conditions: { ready: true } },
      { addresses: ['192.168.5.6'], conditions: { ready: true } },
      { addresses: ['192.168.5.7'], conditions: { ready: false } },
    ]);
  });

  it('sorts Endpoints addresses by IP as bytes, as RepackSubsets does', () => {
    const pods = Array.from({ length: 11 }, (_, i) => `---
apiVersion: v1
kind: Pod
metadata: {name: p${i}, labels: {app: x}}
spec: {nodeName: node1, containers: [{name: c}]}
`).join('');
    const c = cluster(NODES3 + pods + svc('x', '{selector: {app: x}, ports: [{port: 80}]}'));
    const ips = get<any>(c, 'Endpoints', 'default', 'x').subsets[0].addresses.map((a: any) => a.ip);
    expect(ips.slice(0, 3)).toEqual(['10.244.0.10', '10.244.0.11', '10.244.0.12']);
    expect(ips[ips.length - 1]).toBe('10.244.0.9');
  });
});

describe('the model is live', () => {
  it('updates slices and Endpoints in the same call as the change, and watchers see it', () => {
    const c = cluster(NODES3 + APP + svc('web', '{selector: {app: web, role: front}, ports: [{port: 80, targetPort: http}]}'));
    expect(slicesOf(c, 'web')[0].endpoints).toBeNull();
    const seen: string[] = [];
    c.store.watch({ kind: 'EndpointSlice', namespace: 'default' }, (e) => seen.push(`${e.type} ${(e.object as any).endpoints?.length ?? 0}`));
    // The classic fix: add the missing label to the pods.
    for (const p of list<any>(c, 'Pod', 'default')) c.api.update({ ...p, metadata: { ...p.metadata, labels: { ...p.metadata.labels, role: 'front' } } });
    expect(slicesOf(c, 'web')[0].endpoints).toHaveLength(3);
    expect(seen).toEqual(['MODIFIED 1', 'MODIFIED 2', 'MODIFIED 3']);
    expect(get<any>(c, 'Endpoints', 'default', 'web').subsets[0].addresses).toHaveLength(3);

    // A deleted pod leaves the slice at once; its replacement joins.
    const victim = list<any>(c, 'Pod', 'default')[0];
    const rv = Number(c.store.currentResourceVersion);
    c.api.delete('Pod', 'default', victim.metadata.name);
    expect(Number(c.store.currentResourceVersion)).toBeGreaterThan(rv);
    const names = slicesOf(c, 'web')[0].endpoints.map((e: any) => e.targetRef.name);
    expect(names).not.toContain(victim.metadata.name);

    // A pod turning unready stays in the slice as not ready, and moves to notReadyAddresses.
    const p = list<any>(c, 'Pod', 'default').find((x) => x.metadata.labels.role === 'front');
    c.api.update({ ...p, status: { ...p.status, conditions: p.status.conditions.map((k: any) => (k.type === 'Ready' ? { ...k, status: 'False' } : k)) } });
    const ep = slicesOf(c, 'web')[0].endpoints.find((e: any) => e.targetRef.name === p.metadata.name);
    expect(ep.conditions).toEqual({ ready: false, serving: false, terminating: false });

    // Deleting the service removes what it owned.
    c.api.delete('Service', 'default', 'web');
    expect(slicesOf(c, 'web')).toEqual([]);
    expect(c.store.get('Endpoints', 'default', 'web')).toBeUndefined();
  });

  it('lists and watches by kind, namespace and label selector with resourceVersions', () => {
    const c = cluster(NODES3 + APP);
    const rv0 = Number(c.store.currentResourceVersion);
    const events: string[] = [];
    const stop = c.store.watch({ kind: 'Pod', namespace: 'default', selector: { requirements: [{ key: 'app', operator: 'Equals', values: ['web'] }] } }, (e) => events.push(e.type));
    c.api.create({ apiVersion: 'v1', kind: 'Pod', metadata: { name: 'other', namespace: 'default', labels: { app: 'other' } }, spec: { containers: [{ name: 'c' }] } });
    expect(events).toEqual([]);
    const d = get<any>(c, 'Deployment', 'default', 'web');
    c.api.update({ ...d, spec: { ...d.spec, replicas: 4 } });
    expect(events).toEqual(['ADDED', 'MODIFIED', 'MODIFIED']); // created, bound by the scheduler, started by the kubelet
    stop();
    c.api.update({ ...get<any>(c, 'Deployment', 'default', 'web'), spec: { ...d.spec, replicas: 1 } });
    expect(events).toHaveLength(3);
    const pod = list<any>(c, 'Pod', 'default').find((p) => p.metadata.name === 'other');
    expect(Number(pod.metadata.resourceVersion)).toBeGreaterThan(rv0);
    expect(c.store.list('Pod', { selector: { requirements: [{ key: 'app', operator: 'In', values: ['web', 'other'] }] } })).toHaveLength(2);
  });
});

describe('which services a pod event concerns', () => {
  it('follows selector and label changes in both directions', () => {
    const c = cluster(NODES3 + `---
apiVersion: v1
kind: Pod
metadata: {name: p, labels: {app: web}}
spec: {containers: [{name: c}]}
` + svc('front', '{selector: {app: web, role: front}, ports: [{port: 80}]}') + svc('all', '{selector: {}, ports: [{port: 80}]}'));
    const names = (s: string) => (slicesOf(c, s)[0].endpoints ?? []).map((e: any) => e.targetRef.name);
    expect(names('front')).toEqual([]);
    expect(names('all')).toContain('p');
    const p = get<any>(c, 'Pod', 'default', 'p');
    c.api.update({ ...p, metadata: { ...p.metadata, labels: { app: 'web', role: 'front' } } });
    expect(names('front')).toEqual(['p']);
    const s = get<any>(c, 'Service', 'default', 'front');
    c.api.update({ ...s, spec: { ...s.spec, selector: { role: 'back' } } });
    expect(names('front')).toEqual([]);
    const p2 = get<any>(c, 'Pod', 'default', 'p');
    c.api.update({ ...p2, metadata: { ...p2.metadata, labels: { role: 'back' } } });
    expect(names('front')).toEqual(['p']);
    c.api.delete('Pod', 'default', 'p');
    expect(names('front')).toEqual([]);
    expect(names('all')).not.toContain('p');
  });
});

describe('a refused Service holds nothing', () => {
  it('gives back what it reserved before it was refused, and never what another Service holds', () => {
    const c = cluster(svc('owner', '{type: NodePort, clusterIP: 10.96.5.5, selector: {app: a}, ports: [{port: 80, nodePort: 30100}]}') +
      svc('refused', '{type: NodePort, clusterIP: 10.96.6.6, selector: {app: a}, ports: [{name: a, port: 80, nodePort: 30200}, {name: b, port: 81, nodePort: 30100}]}'));
    expect(errors(c)).toEqual(['error: topo.yaml:10: Service default/refused: spec.ports[1].nodePort: Invalid value: 30100: provided port is already allocated (to Service default/owner)']);
    // The refused Service's ClusterIP and first NodePort are free again; the owner keeps 30100.
    c.api.create({ apiVersion: 'v1', kind: 'Service', metadata: { name: 'later', namespace: 'default' }, spec: { type: 'NodePort', clusterIP: '10.96.6.6', selector: { app: 'a' }, ports: [{ port: 80, nodePort: 30200 }] } });
    expect(get<any>(c, 'Service', 'default', 'later').spec).toMatchObject({ clusterIP: '10.96.6.6', ports: [{ nodePort: 30200 }] });
    c.api.create({ apiVersion: 'v1', kind: 'Service', metadata: { name: 'thief', namespace: 'default' }, spec: { type: 'NodePort', selector: { app: 'a' }, ports: [{ port: 80, nodePort: 30100 }] } });
    expect(errors(c)).toHaveLength(2);
    expect(c.store.get('Service', 'default', 'thief')).toBeUndefined();
  });
});
