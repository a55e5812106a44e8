import { describe, expect, it } from 'vitest';
import { topologyFile } from '../helpers/files.ts';
import { kdp } from '../helpers/cli.ts';

const DEFAULT = 'topologies/default.yaml';

const tmpFile = (name: string, text: string) => topologyFile(text, name);

describe('kdp validate', () => {
  it('says a good topology is valid', async () => {
    const r = await kdp(['validate', '-f', DEFAULT]);
    expect(r).toMatchObject({ code: 0, stderr: '' });
    expect(r.stdout).toBe('topology is valid: 3 nodes, 8 pods, 6 services, 5 endpointslices\n');
  });

  it('lists every problem with file, line, object and field, and exits 1 without a stack trace', async () => {
    const f = tmpFile('bad.yaml', `apiVersion: v1
kind: Service
metadata: {name: a}
spec:
  type: NodePort
  selector: {app: a}
  ports: [{port: 80, nodePort: 30080}]
---
apiVersion: v1
kind: Service
metadata: {name: b}
spec:
  type: NodePort
  selector: {app: b}
  ports: [{port: 80, nodePort: 30080}]
---
apiVersion: v1
kind: Pod
metadata: {name: p}
spec:
  containers: [{name: c, ports: [{containerPort: "eighty"}]}]
`);
    const r = await kdp(['validate', f]);
    expect(r.code).toBe(1);
    expect(r.stdout).toBe('');
    expect(r.stderr).toBe([
      `error: ${f}:21: Pod default/p: spec.containers[0].ports[0].containerPort: must be an integer, got string "eighty"`,
      `error: ${f}:15: Service default/b: spec.ports[0].nodePort: Invalid value: 30080: provided port is already allocated (to Service default/a)`,
      `warning: ${f}:6: Service default/a: spec.selector: selector app=a matches no pod in namespace default; the Service has no endpoints`,
      '2 errors, 1 warning',
      '',
    ].join('\n'));
    expect(r.stderr).not.toMatch(/at .*\.ts:\d+/);
  });

  it('reads the topology from stdin with -f -', async () => {
    const r = await kdp(['validate', '-f', '-'], { stdin: 'apiVersion: v1\nkind: Pod\nmetadata: {name: p}\nspec: {containers: [{name: c}]}\n' });
    expect(r.stdout).toBe('topology is valid: 1 nodes, 3 pods, 2 services, 2 endpointslices\n');
  });

  it('names a missing file', async () => {
    expect(await kdp(['validate', '-f', 'no/such.yaml'])).toMatchObject({ code: 1, stderr: 'error: no/such.yaml: no such file or directory\n' });
  });
});

describe('kdp get', () => {
  it('prints kubectl\'s columns', async () => {
    const r = await kdp(['get', 'svc', '-f', DEFAULT]);
    expect(r.code).toBe(0);
    expect(r.stdout.split('\n')[0]).toBe('NAME           TYPE           CLUSTER-IP       EXTERNAL-IP       PORT(S)        AGE');
    expect(r.stdout).toMatch(/^web-nodeport   NodePort       10\.\d+\.\d+\.\d+ +<none>            80:30080\/TCP   0s$/m);
    expect(r.stdout).toMatch(/^search         ExternalName   <none>           www\.example\.com   <none>         0s$/m);
    const pods = await kdp(['get', 'pods', '-o', 'wide', '-f', DEFAULT]);
    expect(pods.stdout.split('\n')[0]).toBe('NAME                   READY   STATUS    RESTARTS   AGE   IP           NODE    NOMINATED NODE   READINESS GATES');
    expect(pods.stdout).toMatch(/^db-0 +1\/1 +Running +0 +0s +10\.244\.\d+\.\d+ +node\d +<none> +<none>$/m);
  });

  it('filters by namespace, label selector and name, as kubectl does', async () => {
    const all = await kdp(['get', 'pods', '-A', '-l', 'k8s-app=kube-dns', '-f', DEFAULT]);
    expect(all.stdout.split('\n').filter(Boolean).map((l) => l.split(/ +/)[0])).toEqual(['NAMESPACE', 'kube-system', 'kube-system']);
    const ep = await kdp(['get', 'ep', 'web', '-f', DEFAULT]);
    expect(ep.stdout).toMatch(/^web +10\.244\.\d+\.\d+:8080,10\.244\.\d+\.\d+:8080,10\.244\.\d+\.\d+:8080 +0s$/m);
    const none = await kdp(['get', 'pods', '-n', 'kube-public', '-f', DEFAULT]);
    expect(none).toMatchObject({ code: 0, stdout: '', stderr: 'No resources found in kube-public namespace.\n' });
    const missing = await kdp(['get', 'svc', 'nope', '-f', DEFAULT]);
    expect(missing).toMatchObject({ code: 1, stderr: 'Error from server (NotFound): services "nope" not found\n' });
    const bad = await kdp(['get', 'pods', '-l', 'app in (', '-f', DEFAULT]);
    expect(bad.code).toBe(1);
    expect(bad.stderr).toMatch(/^error: unable to parse requirement/);
  });

  it('prints API objects as -o json and -o yaml, one for a name and a List otherwise', async () => {
    const one = JSON.parse((await kdp(['get', 'svc', 'web-nodeport', '-o', 'json', '-f', DEFAULT])).stdout);
    expect(one).toMatchObject({ apiVersion: 'v1', kind: 'Service', metadata: { name: 'web-nodeport', namespace: 'default' }, spec: { type: 'NodePort', ports: [{ nodePort: 30080, port: 80, targetPort: 8080, protocol: 'TCP' }] } });
    expect(Object.keys(one)).toEqual(['apiVersion', 'kind', 'metadata', 'spec', 'status']);
    const list = (await kdp(['get', 'pods', '-o', 'yaml', '-f', DEFAULT])).stdout;
    expect(list).toMatch(/^apiVersion: v1\nitems:\n- apiVersion: v1\n  kind: Pod\n/);
    expect(list).toMatch(/\nkind: List\nmetadata:\n  resourceVersion: ""\n$/);
    expect(list).toMatch(/    podIP: 10\.244\.\d+\.\d+\n/);
    const names = (await kdp(['get', 'deploy,svc', '-o', 'name', '-f', DEFAULT])).stdout;
    expect(names).toBe('deployment.apps/web\nservice/db\nservice/kubernetes\nservice/search\nservice/web\nservice/web-nodeport\n');
  });

  it('refuses unknown types and output formats with kubectl\'s words', async () => {
    expect(await kdp(['get', 'widgets', '-f', DEFAULT])).toMatchObject({ code: 1, stderr: 'error: the server doesn\'t have a resource type "widgets"\n' });
    expect((await kdp(['get', 'pods', '-o', 'xml', '-f', DEFAULT])).stderr).toMatch(/^error: unable to match a printer suitable for the output format "xml"/);
  });
});

describe('kdp describe', () => {
  it('shows a service in kubectl describe\'s layout', async () => {
    const r = await kdp(['describe', 'svc', 'web-nodeport', '-f', DEFAULT]);
    expect(r.code).toBe(0);
    const lines = r.stdout.split('\n');
    expect(lines.slice(0, 6)).toEqual([
      'Name:                     web-nodeport',
      'Namespace:                default',
      'Labels:                   <none>',
      'Annotations:              <none>',
      'Selector:                 app=web',
      'Type:                     NodePort',
    ]);
    expect(lines).toContain('NodePort:                 http  30080/TCP');
    expect(lines).toContain('External Traffic Policy:  Cluster');
    expect(r.stdout).toMatch(/^Endpoints: +10\.244\.\d+\.\d+:8080,10\.244\.\d+\.\d+:8080,10\.244\.\d+\.\d+:8080$/m);
  });

  it('shows a service with no endpoints as such', async () => {
    const f = tmpFile('t.yaml', 'apiVersion: v1\nkind: Service\nmetadata: {name: logs}\nspec: {selector: {app: nginx, role: logstor}, ports: [{port: 80}]}\n');
    const r = await kdp(['describe', 'svc', 'logs', '-f', f]);
    expect(r.stdout).toMatch(/^Endpoints: +$/m);
  });
});

describe('kdp up', () => {
  it('loads the topology, says what it serves, and stops when interrupted', async () => {
    const r = await kdp(['up', DEFAULT, '--loopback', '127.23']);
    expect(r.code).toBe(0);
    expect(r.stdout).toMatch(/^kdp: cluster "demo" is up: 3 nodes, 8 pods, 6 services\n/);
    expect(r.stdout).toContain('kdp get pods -A -o wide -f topologies/default.yaml');
    expect(r.stdout).toMatch(/^  kdp trace --from default\/client --to 10\.244\.\d+\.\d+:8080 -f topologies\/default\.yaml$/m);
    expect(r.stdout).toMatch(/^Cluster DNS \(CoreDNS\) on 127\.0\.0\.1:\d+ \(UDP and TCP\)$/m);
    expect(r.stdout).toMatch(/^  dig @127\.0\.0\.1 -p \d+ web\.default\.svc\.cluster\.local$/m);
    expect(r.stdout).toMatch(/kdp: stopped\n$/);
  });

  it('refuses to start on a Corefile CoreDNS would not load, naming its line; warns about plugins kdp skips', async () => {
    const cm = (corefile: string) => `apiVersion: v1\nkind: ConfigMap\nmetadata: {name: coredns, namespace: kube-system}\ndata:\n  Corefile: |\n${corefile.split('\n').map((l) => `    ${l}`).join('\n')}\n`;
    const bad = tmpFile('badcore.yaml', cm('.:53 {\n  kubernetes cluster.local {\n    pods sometimes\n  }\n}'));
    const r = await kdp(['up', '-f', bad]);
    expect(r.code).toBe(1);
    expect(r.stderr).toBe(`error: ${bad}:8: ConfigMap kube-system/coredns: data.Corefile: Corefile line 3: kubernetes pods: want disabled, insecure or verified, got "sometimes"\n`);
    const v = await kdp(['validate', '-f', bad]);
    expect(v.code).toBe(1);
    expect(v.stderr).toBe(`error: ${bad}:8: ConfigMap kube-system/coredns: data.Corefile: Corefile line 3: kubernetes pods: want disabled, insecure or verified, got "sometimes"\n1 error, 0 warnings\n`);
    const odd = tmpFile('oddcore.yaml', cm('.:53 {\n  kubernetes cluster.local\n  whoami\n}'));
    const w = await kdp(['up', '-f', odd]);
    expect(w.code).toBe(0);
    expect(w.stderr).toContain(`warning: ${odd}:8: ConfigMap kube-system/coredns: data.Corefile: Corefile line 3: plugin "whoami" is not implemented by kdp; ignored\n`);
  });

  it('refuses to start on a broken topology', async () => {
    const f = tmpFile('broken.yaml', 'apiVersion: v1\nkind: Service\nmetadata: {name: s}\nspec: {ports: [{port: 0}]}\n');
    const r = await kdp(['up', '-f', f]);
    expect(r.code).toBe(1);
    expect(r.stdout).toBe('');
    expect(r.stderr).toBe(`error: ${f}:4: Service default/s: spec.ports[0].port: Invalid value: 0: must be between 1 and 65535, inclusive\n`);
  });
});

describe('kdp ip and kdp bridge', () => {
  it('show a node\'s and a pod\'s namespace in iproute2\'s layout', async () => {
    const route = await kdp(['ip', '--node', 'node1', 'route', '-f', DEFAULT]);
    expect(route.code).toBe(0);
    expect(route.stdout.split('\n')[0]).toBe('default via 192.168.1.1 dev eth0 ');
    expect(route.stdout).toContain('10.244.1.0/24 via 10.244.1.0 dev flannel.1 onlink \n');
    const get = await kdp(['ip', '--pod', 'default/client', 'route', 'get', '10.244.2.3', '-f', DEFAULT]);
    expect(get.stdout).toMatch(/^10\.244\.2\.3 via 10\.244\.\d+\.1 dev eth0 src 10\.244\.\d+\.\d+ uid 0 \n    cache \n$/);
    const addr = await kdp(['ip', '--pod', 'client', 'a', '-f', DEFAULT]);
    expect(addr.stdout).toMatch(/^2: eth0@if\d+: <BROADCAST,MULTICAST,UP,LOWER_UP> mtu 1450 qdisc noqueue state UP group default qlen 1000$/m);
    const local = await kdp(['ip', '--node', 'node2', 'route', 'show', 'table', 'local', '-f', DEFAULT]);
    expect(local.stdout).toContain('local 10.244.1.1 dev cni0 proto kernel scope host src 10.244.1.1 \n');
    const fdb = await kdp(['bridge', '--node', 'node3', 'fdb', '-f', DEFAULT]);
    expect(fdb.stdout).toMatch(/^[0-9a-f:]{17} dev flannel\.1 dst 192\.168\.1\.11 self permanent$/m);
  });

  it('say what is wrong with the request', async () => {
    expect(await kdp(['ip', 'route', '-f', DEFAULT])).toMatchObject({ code: 1, stderr: 'error: say which network namespace: --node NAME or --pod NAMESPACE/NAME\n' });
    expect((await kdp(['ip', '--node', 'nope', 'route', '-f', DEFAULT])).stderr).toBe('error: node "nope" not found\n');
    expect((await kdp(['ip', '--node', 'node1', 'xfrm', '-f', DEFAULT])).stderr).toMatch(/^error: Object "xfrm" is unknown/);
    expect((await kdp(['ip', '--pod', 'kube-system/nope', 'route', '-f', DEFAULT])).stderr).toBe('error: pod "kube-system/nope" not found\n');
  });
});

describe('kdp trace', () => {
  it('prints the path and exits 0 when the flow is answered', async () => {
    const r = await kdp(['trace', '--from', 'client', '--to', 'http://10.244.1.3:8080/', '-f', DEFAULT]);
    expect(r.code).toBe(0);
    expect(r.stdout).toMatch(/^request:\n/);
    expect(r.stdout).toContain('encapsulate in VXLAN VNI 1');
    expect(r.stdout).toMatch(/  => DELIVERED: socket 10\.244\.1\.3:8080\/tcp in p\/default\/web-[a-z0-9]+-[a-z0-9]{5}\n\nreply:\n/);
  });

  it('gives JSON with the same hops, and exits 2 when the flow is not answered', async () => {
    const r = await kdp(['trace', '--from', 'node/node1', '--to', '10.244.2.3:9', '-o', 'json', '-f', DEFAULT]);
    expect(r.code).toBe(2);
    const t = JSON.parse(r.stdout);
    expect(t.request.verdict).toEqual({ kind: 'refused', by: expect.stringMatching(/nothing listens on 10\.244\.2\.3:9\/tcp$/), target: { netns: expect.any(String), address: '10.244.2.3', port: 9 } });
    expect(t.request.hops[0]).toEqual({ node: 'node1', netns: 'node/node1', kind: 'route', what: 'ip route get 10.244.2.3: 10.244.2.0/24 via 10.244.2.0 dev flannel.1 onlink' });
  });

  it('says what it cannot take', async () => {
    expect((await kdp(['trace', '--from', 'client', '--to', 'web_x:80', '-f', DEFAULT])).stderr).toBe('error: --to web_x:80: "web_x" is neither an IP address nor a DNS name\n');
    expect((await kdp(['trace', '--from', 'node/node1', '--to', 'web:80', '-f', DEFAULT])).stderr).toBe('error: --to web: names are resolved by a pod\'s resolver; trace from a pod, or give an address\n');
    expect((await kdp(['trace', '--from', 'nope', '--to', '10.244.1.3:80', '-f', DEFAULT])).stderr).toBe('error: --from nope: pod "default/nope" not found\n');
    expect((await kdp(['trace', '--from', 'client', '--to', '10.244.1.3', '--proto', 'tcp', '-f', DEFAULT])).stderr).toBe('error: --to 10.244.1.3: tcp needs a port (ADDRESS:PORT)\n');
  });
});
