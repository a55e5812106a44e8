// A running model of a cluster: topology objects stored through the apiserver's write path, the system
// objects kubeadm creates, and the controllers that fill in everything else — live, so later changes
// (a pod deleted, a label added) flow through the same controllers within the same call.
import { loadTopology, problemAt, type Origins, type Topology } from './topology/load.ts';
import { readSources, type Source } from './topology/sources.ts';
import { Store } from './store.ts';
import { ApiServer, type ReportFn } from './apiserver.ts';
import { describeObject, objectKey, isNamespaced, type KubeObject, type Service } from './objects.ts';
import type { ClusterConfig } from './config.ts';
import type { Problem } from './problems.ts';
import { systemObjects } from './bootstrap.ts';
import { diagnose } from './diagnostics.ts';
import type { Controller, ControllerContext } from './controllers/controller.ts';
import { NodeController, nodeFromShorthand } from './controllers/nodes.ts';
import { KubernetesServiceController } from './controllers/kubernetesservice.ts';
import { DeploymentController } from './controllers/deployment.ts';
import { ReplicaSetController } from './controllers/replicaset.ts';
import { StatefulSetController } from './controllers/statefulset.ts';
import { DaemonSetController } from './controllers/daemonset.ts';
import { Scheduler } from './controllers/scheduler.ts';
import { Kubelet } from './controllers/kubelet.ts';
import { EndpointSliceController } from './controllers/endpointslice.ts';
import { EndpointsController } from './controllers/endpoints.ts';
import { EndpointSliceMirroringController } from './controllers/endpointslicemirroring.ts';
import { WorkloadStatusController } from './controllers/workloadstatus.ts';
import { GarbageCollector } from './controllers/garbagecollector.ts';
import { LoadBalancerController } from './controllers/loadbalancer.ts';
import { NamespaceController } from './controllers/namespace.ts';

export interface Cluster {
  config: ClusterConfig;
  store: Store;
  api: ApiServer;
  origins: Origins;
  /** Everything found while loading and reconciling, errors and warnings, in the order found. */
  problems: Problem[];
  /** Each node's host-local IPAM, as the kubelet's CNI holds it: the addresses a new sandbox there would get. */
  hostLocal: Pick<Kubelet, 'nextAddresses'>;
}

export interface BuildOptions {
  /** The clock creationTimestamps come from (tests pin it). */
  now?: () => Date;
}

/** The node a topology gets when it names none: a one-node cluster, as `kind create cluster` makes. */
const DEFAULT_NODE = { name: 'node1', index: 0 };

export function hasErrors(problems: readonly Problem[]): boolean {
  return problems.some((p) => p.severity === 'error');
}

export function loadCluster(paths: readonly string[], opts: BuildOptions & { stdin?: () => string } = {}): Cluster {
  return buildCluster(loadTopology(readSources(paths, opts.stdin)), opts);
}

export function loadClusterFromText(sources: Source[], opts: BuildOptions = {}): Cluster {
  return buildCluster(loadTopology(sources), opts);
}

export function buildCluster(topology: Topology, opts: BuildOptions = {}): Cluster {
  const { config, origins } = topology;
  const problems = [...topology.problems];
  const report: ReportFn = (obj, path, message, severity = 'error') => {
    const ns = obj.metadata?.namespace;
    problems.push(problemAt(origins.get(obj.kind, ns, obj.metadata?.name), describeObject(obj.kind, ns, obj.metadata?.name), path, message, severity));
  };
  const store = new Store(opts.now);
  const api = new ApiServer(store, config, report);
  const key = (o: KubeObject) => `${o.kind}\0${objectKey(isNamespaced(o.kind) ? o.metadata.namespace : undefined, o.metadata.name)}`;
  const fileKeys = new Set(topology.objects.map(key));

  const fileNodes = new Set(topology.objects.filter((o) => o.kind === 'Node').map((o) => o.metadata.name));
  const shorthand = config.nodes.length || fileNodes.size ? config.nodes : [DEFAULT_NODE];
  const nodes: KubeObject[] = [];
  for (const n of shorthand) {
    const node = nodeFromShorthand(n) as KubeObject;
    if (fileNodes.has(n.name)) report(node, ['name'], `Duplicate value: node ${n.name} is also defined as a Node object`);
    else nodes.push(node);
  }

  const system = systemObjects(config).filter((o) => !fileKeys.has(key(o)));
  const namespaces = new Set(system.filter((o) => o.kind === 'Namespace').map((o) => o.metadata.name));
  for (const o of topology.objects) if (o.kind === 'Namespace') namespaces.add(o.metadata.name);
  // The files may use a namespace without defining it, as a person applying them would have created it.
  const implicitNamespaces: KubeObject[] = [];
  for (const o of topology.objects) {
    const ns = o.metadata.namespace;
    if (ns && !namespaces.has(ns)) {
      namespaces.add(ns);
      implicitNamespaces.push({ apiVersion: 'v1', kind: 'Namespace', metadata: { name: ns } });
    }
  }

  const services = [...system, ...topology.objects].filter((o) => o.kind === 'Service') as (Service & KubeObject)[];
  for (const s of services) api.claimWritten(s);
  for (const o of [...system, ...implicitNamespaces, ...nodes, ...topology.objects]) api.create(o);

  const kubelet = new Kubelet();
  const controllers: Controller[] = [
    new GarbageCollector(),
    new NamespaceController(),
    new NodeController(),
    new KubernetesServiceController({
      endpoints: !fileKeys.has(`Endpoints\0default/kubernetes`),
      slice: !fileKeys.has(`EndpointSlice\0default/kubernetes`),
    }),
    // The scheduler and the kubelet watch before the workload controllers make pods, so each pod is bound and
    // started as it is created, as in a running cluster, while it is still in the CPU's caches; its first two
    // versions then die young instead of 100,000 of them outliving a whole pass (15 % less promoted to the old
    // generation). Pods written in the files are still placed, then scheduled, in file order by the first pass.
    new Scheduler(),
    kubelet,
    new DeploymentController(),
    new ReplicaSetController(),
    new StatefulSetController(),
    new DaemonSetController(),
    new EndpointSliceController(),
    new EndpointsController(),
    new EndpointSliceMirroringController(),
    new WorkloadStatusController(),
    // The cluster's load-balancer implementation (MetalLB's role), so every verb sees the same EXTERNAL-IPs.
    new LoadBalancerController(),
  ];
  const ctx: ControllerContext = { store, api, config, report };
  for (const c of controllers) c.start(ctx);
  // A fault names nodes; each must be one of the cluster's.
  const clusterObject: KubeObject = { apiVersion: 'kdp.dev/v1alpha1', kind: 'Cluster', metadata: { name: config.name } };
  config.faults.forEach((f, i) => {
    const named = 'between' in f ? f.between.map((node, j) => ({ node, path: ['spec', 'faults', i, 'between', j] })) : [{ node: f.node, path: ['spec', 'faults', i, 'node'] }];
    for (const { node, path } of named) {
      if (!store.get('Node', undefined, node)) report(clusterObject, path, `Invalid value: "${node}": no such node`);
    }
  });
  diagnose(store, report);
  return { config, store, api, origins, problems, hostLocal: kubelet };
}
