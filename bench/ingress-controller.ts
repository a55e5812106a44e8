// The process the ingress benchmark measures: kdp's Ingress controller over a one-pod Service whose endpoint
// is the benchmark's backend listener. Prints "READY <port>" once it listens.
import { loadClusterFromText } from '../src/cluster/cluster.ts';
import type { KubeObject, Pod } from '../src/cluster/objects.ts';
import { IngressController } from '../src/ingress/controller.ts';
import { endpointKey, StoreDialer, TargetRegistry } from '../src/ingress/dialer.ts';

const backendPort = Number(process.argv[2]);
const cluster = loadClusterFromText([{ file: 'bench.yaml', text: `
apiVersion: kdp.dev/v1alpha1
kind: Cluster
metadata: {name: bench}
spec: {nodes: [{name: node1, ip: 192.168.1.11}]}
---
apiVersion: v1
kind: Pod
metadata: {name: hello, labels: {app: hello}}
spec: {nodeName: node1, containers: [{name: c, ports: [{containerPort: 8080}]}]}
---
apiVersion: v1
kind: Service
metadata: {name: hello}
spec: {selector: {app: hello}, ports: [{port: 80, targetPort: 8080}]}
---
apiVersion: networking.k8s.io/v1
kind: Ingress
metadata: {name: hello}
spec:
  rules:
    - host: bench.example
      http: {paths: [{path: /, pathType: Prefix, backend: {service: {name: hello, port: {number: 80}}}}]}
` }]);
const pod = cluster.store.get<Pod & KubeObject>('Pod', 'default', 'hello')!;
const targets = new TargetRegistry();
targets.set(endpointKey(pod.status!.podIP!, 8080), { host: '127.0.0.1', port: backendPort });
const ctl = new IngressController({ store: cluster.store, dialer: new StoreDialer(cluster.store, targets), httpPort: 0 });
await ctl.start();
process.stdout.write(`READY ${ctl.httpPort}\n`);
process.on('SIGTERM', () => void ctl.stop().then(() => process.exit(0)));
