import { describe, expect, it } from 'vitest';
import { cluster, errors, get, list, warnings, NODES3 } from '../helpers/cluster.ts';

const deployment = (name: string, replicas: number, extra = '') => `
---
apiVersion: apps/v1
kind: Deployment
metadata: {name: ${name}}
spec:
  replicas: ${replicas}
  selector: {matchLabels: {app: ${name}}}
  template:
    metadata: {labels: {app: ${name}}}
    spec:
      containers: [{name: c, image: nginx:1.27, ports: [{name: http, containerPort: 8080}]}]
${extra}`;

describe('workload controllers', () => {
  it('expands a Deployment into a ReplicaSet <deploy>-<pod-template-hash> and pods <rs>-<5 chars>', () => {
    const c = cluster(NODES3 + deployment('web', 3));
    expect(errors(c)).toEqual([]);
    const [rs] = list<any>(c, 'ReplicaSet', 'default');
    expect(rs.metadata.name).toMatch(/^web-[4-9bcdf]{1,10}$/);
    const hash = rs.metadata.labels['pod-template-hash'];
    expect(rs.metadata.name).toBe(`web-${hash}`);
    expect(rs.spec.selector.matchLabels).toEqual({ app: 'web', 'pod-template-hash': hash });
    expect(rs.metadata.annotations).toEqual({ 'deployment.kubernetes.io/desired-replicas': '3', 'deployment.kubernetes.io/max-replicas': '4', 'deployment.kubernetes.io/revision': '1' });
    expect(rs.metadata.ownerReferences).toEqual([expect.objectContaining({ kind: 'Deployment', name: 'web', controller: true })]);
    const pods = list<any>(c, 'Pod', 'default');
    expect(pods).toHaveLength(3);
    for (const p of pods) {
      expect(p.metadata.name).toMatch(new RegExp(`^web-${hash}-[bcdfghjklmnpqrstvwxz2456789]{5}$`));
      expect(p.metadata.labels).toEqual({ app: 'web', 'pod-template-hash': hash });
    }
    expect(new Set(pods.map((p) => p.spec.nodeName))).toEqual(new Set(['node1', 'node2', 'node3']));
    expect(get<any>(c, 'Deployment', 'default', 'web').status).toMatchObject({ replicas: 3, readyReplicas: 3, availableReplicas: 3, updatedReplicas: 3 });
  });

  it('gives the same names, IPs and ports on every run', () => {
    const text = NODES3 + deployment('web', 5) + '---\napiVersion: v1\nkind: Service\nmetadata: {name: web}\nspec: {type: NodePort, selector: {app: web}, ports: [{port: 80, targetPort: http}]}\n';
    const snapshot = () => {
      const c = cluster(text);
      return ['Pod', 'Service', 'EndpointSlice'].flatMap((k) => list<any>(c, k).map((o) => JSON.stringify([o.metadata.name, o.metadata.uid, o.status?.podIP, o.spec?.nodeName, o.spec?.clusterIP, o.spec?.ports, o.endpoints])));
    };
    expect(snapshot()).toEqual(snapshot());
  });

  it('names StatefulSet pods <set>-<ordinal> with hostname, subdomain and identity labels', () => {
    const c = cluster(NODES3 + `---
apiVersion: apps/v1
kind: StatefulSet
metadata: {name: db}
spec:
  serviceName: db
  replicas: 3
  selector: {matchLabels: {app: db}}
  template:
    metadata: {labels: {app: db}}
    spec: {containers: [{name: pg, image: postgres}]}
`);
    const pods = list<any>(c, 'Pod', 'default');
    expect(pods.map((p) => p.metadata.name)).toEqual(['db-0', 'db-1', 'db-2']);
    expect(pods[1].spec).toMatchObject({ hostname: 'db-1', subdomain: 'db' });
    expect(pods[1].metadata.labels).toMatchObject({ app: 'db', 'statefulset.kubernetes.io/pod-name': 'db-1', 'apps.kubernetes.io/pod-index': '1' });
    expect(pods[1].metadata.labels['controller-revision-hash']).toMatch(/^db-[4-9bcdf]+$/);
    // A deleted StatefulSet pod comes back under the same name.
    c.api.delete('Pod', 'default', 'db-1');
    expect(get<any>(c, 'Pod', 'default', 'db-1').status.phase).toBe('Running');
  });

  it('runs one DaemonSet pod per node that fits, pinned by node affinity', () => {
    const c = cluster(NODES3 + `---
apiVersion: apps/v1
kind: DaemonSet
metadata: {name: agent}
spec:
  selector: {matchLabels: {app: agent}}
  template:
    metadata: {labels: {app: agent}}
    spec:
      nodeSelector: {topology.kubernetes.io/zone: a}
      containers: [{name: a, image: busybox}]
`);
    const pods = list<any>(c, 'Pod', 'default');
    expect(pods.map((p) => p.spec.nodeName).sort()).toEqual(['node1', 'node2']);
    expect(pods[0].metadata.name).toMatch(/^agent-[bcdfghjklmnpqrstvwxz2456789]{5}$/);
    expect(pods[0].metadata.labels).toMatchObject({ 'pod-template-generation': '1' });
    expect(pods[0].spec.affinity.nodeAffinity.requiredDuringSchedulingIgnoredDuringExecution.nodeSelectorTerms).toEqual([
      { matchFields: [{ key: 'metadata.name', operator: 'In', values: [pods[0].spec.nodeName] }] },
    ]);
    // A node gaining the label gains a daemon pod.
    const n3 = get<any>(c, 'Node', undefined, 'node3');
    c.api.update({ ...n3, metadata: { ...n3.metadata, labels: { ...n3.metadata.labels, 'topology.kubernetes.io/zone': 'a' } } });
    expect(list<any>(c, 'Pod', 'default').map((p) => p.spec.nodeName).sort()).toEqual(['node1', 'node2', 'node3']);
  });

  it('scales a Deployment up and down live', () => {
    const c = cluster(NODES3 + deployment('web', 2));
    const d = get<any>(c, 'Deployment', 'default', 'web');
    c.api.update({ ...d, spec: { ...d.spec, replicas: 5 } });
    expect(list(c, 'Pod', 'default')).toHaveLength(5);
    c.api.update({ ...get<any>(c, 'Deployment', 'default', 'web'), spec: { ...d.spec, replicas: 1 } });
    expect(list(c, 'Pod', 'default')).toHaveLength(1);
    expect(get<any>(c, 'Deployment', 'default', 'web').status.replicas).toBe(1);
  });

  it('replaces a deleted ReplicaSet pod under a new name', () => {
    const c = cluster(NODES3 + deployment('web', 2));
    const [first] = list<any>(c, 'Pod', 'default');
    c.api.delete('Pod', 'default', first.metadata.name);
    const names = list<any>(c, 'Pod', 'default').map((p) => p.metadata.name);
    expect(names).toHaveLength(2);
    expect(names).not.toContain(first.metadata.name);
  });
});

describe('scheduler', () => {
  it('honours nodeName, nodeSelector and taints, and spreads the rest evenly', () => {
    const c = cluster(`
apiVersion: kdp.dev/v1alpha1
kind: Cluster
metadata: {name: t}
spec:
  nodes:
    - {name: cp, labels: {node-role.kubernetes.io/control-plane: ""}, taints: [{key: node-role.kubernetes.io/control-plane, effect: NoSchedule}]}
    - {name: w1, labels: {disk: ssd}}
    - {name: w2}
---
apiVersion: v1
kind: Pod
metadata: {name: pinned}
spec: {nodeName: cp, containers: [{name: c}]}
---
apiVersion: v1
kind: Pod
metadata: {name: ssd}
spec: {nodeSelector: {disk: ssd}, containers: [{name: c}]}
---
apiVersion: v1
kind: Pod
metadata: {name: nowhere}
spec: {nodeSelector: {disk: nvme}, containers: [{name: c}]}
` + deployment('web', 4));
    expect(errors(c)).toEqual([]);
    expect(get<any>(c, 'Pod', 'default', 'pinned').spec.nodeName).toBe('cp');
    expect(get<any>(c, 'Pod', 'default', 'ssd').spec.nodeName).toBe('w1');
    const nowhere = get<any>(c, 'Pod', 'default', 'nowhere');
    expect(nowhere.spec.nodeName).toBeUndefined();
    expect(nowhere.status).toMatchObject({ phase: 'Pending', conditions: [{ type: 'PodScheduled', status: 'False', reason: 'Unschedulable' }] });
    expect(nowhere.status.conditions[0].message).toBe("0/3 nodes are available: 1 node(s) had untolerated taint {node-role.kubernetes.io/control-plane}, 2 node(s) didn't match Pod's node affinity/selector.");
    const web = list<any>(c, 'Pod', 'default').filter((p) => p.metadata.labels?.app === 'web').map((p) => p.spec.nodeName).sort();
    expect(web).toEqual(['w1', 'w1', 'w2', 'w2']);
    // The coredns pods tolerate the control-plane taint, as kubeadm's manifest says.
    expect(list<any>(c, 'Pod', 'kube-system')).toHaveLength(2);
  });

  it('schedules a waiting pod when a node that fits appears', () => {
    const c = cluster('apiVersion: v1\nkind: Pod\nmetadata: {name: p}\nspec: {nodeSelector: {gpu: "yes"}, containers: [{name: c}]}\n');
    expect(get<any>(c, 'Pod', 'default', 'p').status.phase).toBe('Pending');
    c.api.create({ apiVersion: 'v1', kind: 'Node', metadata: { name: 'gpu1', labels: { gpu: 'yes' } } });
    expect(get<any>(c, 'Pod', 'default', 'p')).toMatchObject({ spec: { nodeName: 'gpu1' }, status: { phase: 'Running', podIP: '10.244.1.2' } });
  });
});

describe('node IPAM and pod addresses (host-local)', () => {
  it('gives nodes consecutive /24s and pods .2 upward, .1 kept for the cni0 gateway', () => {
    const c = cluster(NODES3 + `---
apiVersion: v1
kind: Pod
metadata: {name: a}
spec: {nodeName: node2, containers: [{name: c}]}
---
apiVersion: v1
kind: Pod
metadata: {name: b}
spec: {nodeName: node2, containers: [{name: c}]}
---
apiVersion: v1
kind: Pod
metadata: {name: host}
spec: {nodeName: node3, hostNetwork: true, containers: [{name: c, ports: [{containerPort: 9100}]}]}
`);
    expect(list<any>(c, 'Node').map((n) => n.spec.podCIDR)).toEqual(['10.244.0.0/24', '10.244.1.0/24', '10.244.2.0/24']);
    expect(get<any>(c, 'Pod', 'default', 'a').status).toMatchObject({ podIP: '10.244.1.2', podIPs: [{ ip: '10.244.1.2' }], hostIP: '192.168.1.12', phase: 'Running' });
    expect(get<any>(c, 'Pod', 'default', 'b').status.podIP).toBe('10.244.1.3');
    const host = get<any>(c, 'Pod', 'default', 'host');
    expect(host.status.podIP).toBe('192.168.1.13');
    expect(host.spec.containers[0].ports[0].hostPort).toBe(9100);
    // What the next sandbox on a node would get: round-robin after the last reserved, a freed address not at once.
    expect(c.hostLocal.nextAddresses('node2')).toEqual(['10.244.1.4']);
    c.store.delete('Pod', 'default', 'a');
    expect(c.hostLocal.nextAddresses('node2')).toEqual(['10.244.1.4']);
    expect(c.hostLocal.nextAddresses('node9')).toEqual([]);
  });

  it('does not reuse a released address until the range wraps', () => {
    const c = cluster(NODES3 + `---
apiVersion: v1
kind: Pod
metadata: {name: a}
spec: {nodeName: node1, containers: [{name: c}]}
`);
    expect(get<any>(c, 'Pod', 'default', 'a').status.podIP).toBe('10.244.0.2');
    c.api.delete('Pod', 'default', 'a');
    c.api.create({ apiVersion: 'v1', kind: 'Pod', metadata: { name: 'b', namespace: 'default' }, spec: { nodeName: 'node1', containers: [{ name: 'c' }] } });
    expect(get<any>(c, 'Pod', 'default', 'b').status.podIP).toBe('10.244.0.3');
  });

  it('honours written addresses and CIDRs, and reports conflicts', () => {
    const c = cluster(`
apiVersion: v1
kind: Node
metadata: {name: n1}
spec: {podCIDR: 10.244.7.0/24}
status: {addresses: [{type: InternalIP, address: 10.0.0.5}]}
---
apiVersion: v1
kind: Pod
metadata: {name: auto}
spec: {nodeName: n1, containers: [{name: c}]}
---
apiVersion: v1
kind: Pod
metadata: {name: fixed}
spec: {nodeName: n1, containers: [{name: c}]}
status: {podIP: 10.244.7.2}
---
apiVersion: v1
kind: Pod
metadata: {name: clash}
spec: {nodeName: n1, containers: [{name: c}]}
status: {podIP: 10.244.7.2}
`);
    expect(get<any>(c, 'Node', undefined, 'n1').spec.podCIDR).toBe('10.244.7.0/24');
    expect(get<any>(c, 'Pod', 'default', 'fixed').status.podIP).toBe('10.244.7.2');
    // The written .2 was claimed before any allocation, so the pod listed first gets .3.
    expect(get<any>(c, 'Pod', 'default', 'auto').status.podIP).toBe('10.244.7.3');
    expect(errors(c)).toEqual(['error: topo.yaml:23: Pod default/clash: status.podIP: Invalid value: "10.244.7.2": pod default/fixed has this IP already']);
  });

  it('errors when the pod CIDR has no /24 left for a node', () => {
    const c = cluster(`apiVersion: kdp.dev/v1alpha1
kind: Cluster
metadata: {name: t}
spec:
  podCIDR: 10.244.0.0/23
  nodes: [{name: a}, {name: b}, {name: c}]
`);
    expect(errors(c)).toEqual(['error: topo.yaml:6: Node c: spec.podCIDR: CIDRNotAvailable: pod CIDR 10.244.0.0/23 is exhausted: it holds 2 node CIDRs of /24']);
  });

  it('errors when a node runs out of pod addresses', () => {
    const c = cluster(`apiVersion: kdp.dev/v1alpha1
kind: Cluster
metadata: {name: t}
spec:
  nodeCIDRMaskSize: 30
  nodes: [{name: a}]
` + deployment('web', 3).replace('replicas: 3', 'replicas: 3'));
    // A /30 holds .2 only: .0 network, .1 gateway, .3 broadcast. coredns takes it first.
    expect(errors(c)).toEqual(expect.arrayContaining([expect.stringMatching(/no IP addresses available in range set \(node a\)/)]));
  });
});

describe('system objects', () => {
  it('creates what kubeadm and the apiserver create, unless the files have their own', () => {
    const c = cluster(NODES3);
    expect(list<any>(c, 'Namespace').map((n) => n.metadata.name)).toEqual(['default', 'kube-node-lease', 'kube-public', 'kube-system']);
    expect(get<any>(c, 'Namespace', undefined, 'kube-system')).toMatchObject({ metadata: { labels: { 'kubernetes.io/metadata.name': 'kube-system' } }, status: { phase: 'Active' } });
    const k = get<any>(c, 'Service', 'default', 'kubernetes');
    expect(k.spec).toMatchObject({ clusterIP: '10.96.0.1', ports: [{ name: 'https', port: 443, protocol: 'TCP', targetPort: 6443 }] });
    expect(get<any>(c, 'EndpointSlice', 'default', 'kubernetes')).toMatchObject({ addressType: 'IPv4', endpoints: [{ addresses: ['192.168.1.11'] }], ports: [{ name: 'https', port: 6443 }] });
    const dns = get<any>(c, 'Service', 'kube-system', 'kube-dns');
    expect(dns.spec.clusterIP).toBe('10.96.0.10');
    expect(dns.spec.ports.map((p: any) => `${p.name} ${p.port}/${p.protocol}`)).toEqual(['dns 53/UDP', 'dns-tcp 53/TCP', 'metrics 9153/TCP']);
    expect(get<any>(c, 'ConfigMap', 'kube-system', 'coredns').data.Corefile).toContain('kubernetes cluster.local in-addr.arpa ip6.arpa {');
    expect(list<any>(c, 'Pod', 'kube-system').map((p) => p.metadata.labels['k8s-app'])).toEqual(['kube-dns', 'kube-dns']);

    const own = cluster(NODES3 + `---
apiVersion: v1
kind: ConfigMap
metadata: {name: coredns, namespace: kube-system}
data: {Corefile: ".:53 {\\n    kubernetes example.local\\n}\\n"}
`);
    expect(get<any>(own, 'ConfigMap', 'kube-system', 'coredns').data.Corefile).toContain('example.local');
  });

  it('creates the namespaces the files use without defining', () => {
    const c = cluster('apiVersion: v1\nkind: ConfigMap\nmetadata: {name: x, namespace: shop}\n');
    expect(get<any>(c, 'Namespace', undefined, 'shop').status.phase).toBe('Active');
  });
});

describe('warnings', () => {
  it('names a targetPort no selected pod declares', () => {
    const c = cluster(NODES3 + deployment('web', 1) + `---
apiVersion: v1
kind: Service
metadata: {name: web}
spec:
  selector: {app: web}
  ports: [{port: 80, targetPort: htpp}]
`);
    expect(warnings(c)).toEqual(['warning: topo.yaml:28: Service default/web: spec.ports[0].targetPort: targetPort "htpp" is not a TCP port name any selected pod declares; port 80 has no endpoints']);
  });
});

describe('garbage collector', () => {
  it('deletes what a deleted owner controlled, through every level', () => {
    const c = cluster(NODES3 + deployment('web', 2) + `---
apiVersion: apps/v1
kind: DaemonSet
metadata: {name: agent}
spec:
  selector: {matchLabels: {app: agent}}
  template: {metadata: {labels: {app: agent}}, spec: {containers: [{name: a}]}}
---
apiVersion: apps/v1
kind: StatefulSet
metadata: {name: db}
spec:
  serviceName: db
  replicas: 2
  selector: {matchLabels: {app: db}}
  template: {metadata: {labels: {app: db}}, spec: {containers: [{name: c}]}}
`);
    const app = (name: string) => list<any>(c, 'Pod', 'default').filter((p) => p.metadata.labels.app === name);
    expect([app('web').length, app('agent').length, app('db').length]).toEqual([2, 3, 2]);
    c.api.delete('Deployment', 'default', 'web');
    expect(list(c, 'ReplicaSet', 'default')).toEqual([]);
    expect(app('web')).toEqual([]);
    c.api.delete('DaemonSet', 'default', 'agent');
    expect(app('agent')).toEqual([]);
    c.api.delete('StatefulSet', 'default', 'db');
    expect(app('db')).toEqual([]);
  });
});
