// The apiserver's defaulting (pkg/apis/*/v1/defaults.go and the admission plugins every cluster runs), so
// `kdp get -o yaml` shows what `kubectl get -o yaml` shows and controllers read the same values.
// Pure: each function returns a new object.
import type {
  DaemonSet, Deployment, EndpointSlice, Endpoints, KubeObject, Namespace, Pod, PodTemplateSpec, ReplicaSet, Secret, Service, StatefulSet,
} from './objects.ts';
import type * as core from 'kubernetes-types/core/v1.js';
import { patch } from './objects.ts';

type PodSpec = core.PodSpec;

function defaultContainer(c: core.Container, hostNetwork: boolean): core.Container {
  const tag = /:([^/:@]+)$/.exec(c.image ?? '')?.[1] ?? (c.image?.includes('@') ? 'digest' : 'latest');
  const out = patch(c, {
    imagePullPolicy: c.imagePullPolicy ?? (tag === 'latest' ? 'Always' : 'IfNotPresent'),
    terminationMessagePath: c.terminationMessagePath ?? '/dev/termination-log',
    terminationMessagePolicy: c.terminationMessagePolicy ?? 'File',
  });
  if (c.ports) {
    out.ports = c.ports.map((p) => patch(p, {
      protocol: p.protocol ?? 'TCP',
      ...(hostNetwork && p.hostPort === undefined ? { hostPort: p.containerPort } : {}),
    }));
  }
  return out;
}

/** SetDefaults_PodSpec: applies to Pods and to every workload's template. */
export function defaultPodSpec(spec: PodSpec | undefined, isPod: boolean): PodSpec {
  const s = spec ?? { containers: [] };
  const hostNetwork = !!s.hostNetwork && isPod;
  const out = patch(s, {
    containers: (s.containers ?? []).map((c) => defaultContainer(c, hostNetwork)),
    dnsPolicy: s.dnsPolicy ?? 'ClusterFirst',
    restartPolicy: s.restartPolicy ?? 'Always',
    schedulerName: s.schedulerName ?? 'default-scheduler',
    securityContext: s.securityContext ?? {},
    terminationGracePeriodSeconds: s.terminationGracePeriodSeconds ?? 30,
  });
  if (s.initContainers) out.initContainers = s.initContainers.map((c) => defaultContainer(c, hostNetwork));
  if (isPod) {
    Object.assign(out, {
      // Present (if undefined) from the start, so binding changes a key rather than adding one (see patch).
      nodeName: s.nodeName,
      enableServiceLinks: s.enableServiceLinks ?? true,
      serviceAccountName: s.serviceAccountName ?? s.serviceAccount ?? 'default',
      serviceAccount: s.serviceAccount ?? s.serviceAccountName ?? 'default',
      tolerations: defaultTolerationSeconds(s.tolerations),
    });
  }
  return out;
}

/** The DefaultTolerationSeconds admission plugin: 300s for not-ready and unreachable nodes. */
function defaultTolerationSeconds(tolerations: core.Toleration[] | undefined): core.Toleration[] {
  const out = [...(tolerations ?? [])];
  for (const key of ['node.kubernetes.io/not-ready', 'node.kubernetes.io/unreachable']) {
    const tolerated = out.some((t) => (t.key === key || (!t.key && t.operator === 'Exists')) && (!t.effect || t.effect === 'NoExecute'));
    if (!tolerated) out.push({ key, operator: 'Exists', effect: 'NoExecute', tolerationSeconds: 300 });
  }
  return out;
}

export function defaultTemplate(t: PodTemplateSpec | undefined): PodTemplateSpec {
  return { ...t, metadata: { ...t?.metadata }, spec: defaultPodSpec(t?.spec, false) };
}

/** SetDefaults_Service (allocation-time fields — clusterIPs, ipFamilies, nodePorts — come from the allocators). */
export function defaultService(svc: Service): Service {
  const spec = { ...svc.spec };
  const type = spec.type ?? 'ClusterIP';
  spec.type = type;
  if (type !== 'ExternalName') {
    spec.sessionAffinity = spec.sessionAffinity ?? 'None';
    if (spec.sessionAffinity === 'None') delete spec.sessionAffinityConfig;
    else if (!spec.sessionAffinityConfig?.clientIP?.timeoutSeconds) spec.sessionAffinityConfig = { clientIP: { timeoutSeconds: 10800 } };
  } else if (spec.sessionAffinity === undefined) {
    spec.sessionAffinity = 'None';
  }
  spec.ports = spec.ports?.map((p) => patch(p, {
    protocol: p.protocol ?? 'TCP',
    targetPort: p.targetPort === undefined || p.targetPort === 0 || p.targetPort === '' ? p.port : p.targetPort,
  }));
  const externallyAccessible = type === 'LoadBalancer' || type === 'NodePort' || (type === 'ClusterIP' && (spec.externalIPs?.length ?? 0) > 0);
  if (externallyAccessible && !spec.externalTrafficPolicy) spec.externalTrafficPolicy = 'Cluster';
  if (type !== 'ExternalName' && !spec.internalTrafficPolicy) spec.internalTrafficPolicy = 'Cluster';
  if (type === 'LoadBalancer' && spec.allocateLoadBalancerNodePorts === undefined) spec.allocateLoadBalancerNodePorts = true;
  return { ...svc, spec, status: svc.status ?? { loadBalancer: {} } };
}

/** Pods made from one template share its defaulted spec (objects are immutable; see runningStatus). */
const defaultedFromTemplate = new WeakMap<PodSpec, PodSpec>();

export function defaultPod(pod: Pod): Pod {
  const spec = pod.spec;
  let out = spec && defaultedFromTemplate.get(spec);
  if (!out) {
    out = defaultPodSpec(spec, true);
    if (spec) defaultedFromTemplate.set(spec, out);
  }
  // The apiserver's initial status for a new pod, until the scheduler and kubelet say more.
  return patch(pod, { spec: out, status: pod.status ?? { phase: 'Pending', qosClass: 'BestEffort' } });
}

export function defaultNamespace(ns: Namespace): Namespace {
  return {
    ...ns,
    metadata: { ...ns.metadata, labels: { ...ns.metadata?.labels, 'kubernetes.io/metadata.name': ns.metadata!.name! } },
    spec: { finalizers: ['kubernetes'], ...ns.spec },
    status: { phase: 'Active', ...ns.status },
  };
}

export function defaultDeployment(d: Deployment): Deployment {
  const s = d.spec!;
  return {
    ...d,
    spec: {
      ...s,
      replicas: s.replicas ?? 1,
      strategy: s.strategy ?? { type: 'RollingUpdate', rollingUpdate: { maxSurge: '25%', maxUnavailable: '25%' } },
      revisionHistoryLimit: s.revisionHistoryLimit ?? 10,
      progressDeadlineSeconds: s.progressDeadlineSeconds ?? 600,
      template: defaultTemplate(s.template),
    },
  };
}

export function defaultReplicaSet(rs: ReplicaSet): ReplicaSet {
  const s = rs.spec!;
  return { ...rs, spec: { ...s, replicas: s.replicas ?? 1, template: defaultTemplate(s.template) } };
}

export function defaultStatefulSet(ss: StatefulSet): StatefulSet {
  const s = ss.spec!;
  return {
    ...ss,
    spec: {
      ...s,
      replicas: s.replicas ?? 1,
      podManagementPolicy: s.podManagementPolicy ?? 'OrderedReady',
      updateStrategy: s.updateStrategy ?? { type: 'RollingUpdate', rollingUpdate: { partition: 0 } },
      revisionHistoryLimit: s.revisionHistoryLimit ?? 10,
      persistentVolumeClaimRetentionPolicy: s.persistentVolumeClaimRetentionPolicy ?? { whenDeleted: 'Retain', whenScaled: 'Retain' },
      template: defaultTemplate(s.template),
    },
  };
}

export function defaultDaemonSet(ds: DaemonSet): DaemonSet {
  const s = ds.spec!;
  return {
    ...ds,
    spec: {
      ...s,
      updateStrategy: s.updateStrategy ?? { type: 'RollingUpdate', rollingUpdate: { maxSurge: 0, maxUnavailable: 1 } },
      revisionHistoryLimit: s.revisionHistoryLimit ?? 10,
      template: defaultTemplate(s.template),
    },
  };
}

export function defaultEndpoints(ep: Endpoints): Endpoints {
  if (!ep.subsets) return ep;
  return { ...ep, subsets: ep.subsets.map((s) => ({ ...s, ...(s.ports ? { ports: s.ports.map((p) => ({ ...p, protocol: p.protocol ?? 'TCP' })) } : {}) })) };
}

export function defaultEndpointSlice(s: EndpointSlice): EndpointSlice {
  return s.ports ? { ...s, ports: s.ports.map((p) => ({ ...p, protocol: p.protocol ?? 'TCP' })) } : s;
}

export function defaultSecret(s: Secret): Secret {
  return { ...s, type: s.type ?? 'Opaque' };
}

const BY_KIND: Record<string, (o: never) => unknown> = {
  Pod: defaultPod,
  Service: defaultService,
  Namespace: defaultNamespace,
  Deployment: defaultDeployment,
  ReplicaSet: defaultReplicaSet,
  StatefulSet: defaultStatefulSet,
  DaemonSet: defaultDaemonSet,
  Endpoints: defaultEndpoints,
  EndpointSlice: defaultEndpointSlice,
  Secret: defaultSecret,
};

export function applyDefaults<T extends KubeObject>(o: T): T {
  const f = BY_KIND[o.kind];
  return f ? (f(o as never) as T) : o;
}
