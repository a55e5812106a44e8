// Pod facts the endpoint controllers and kube-proxy agree on (k8s.io/endpointslice/util, pkg/api/v1/pod).
import type { Pod, Service, ServicePort } from './objects.ts';
import type { Family } from './net.ts';
import { familyOf } from './net.ts';

export function isPodReady(pod: Pod): boolean {
  // A loop, not some(): every endpoint controller asks this of every pod, and the callback would be a closure a call.
  for (const c of pod.status?.conditions ?? []) if (c.type === 'Ready' && c.status === 'True') return true;
  return false;
}

export function isPodTerminal(pod: Pod): boolean {
  return pod.status?.phase === 'Failed' || pod.status?.phase === 'Succeeded';
}

/** ShouldPodBeInEndpoints: not terminal, has an IP, and (unless asked) not terminating. */
export function shouldPodBeInEndpoints(pod: Pod, includeTerminating: boolean): boolean {
  if (isPodTerminal(pod)) return false;
  if (!pod.status?.podIP && !(pod.status?.podIPs?.length)) return false;
  if (!includeTerminating && pod.metadata?.deletionTimestamp) return false;
  return true;
}

export function podIPs(pod: Pod): string[] {
  const list = (pod.status?.podIPs ?? []).flatMap((p) => (p.ip ? [p.ip] : []));
  if (list.length === 0 && pod.status?.podIP) list.push(pod.status.podIP);
  return list;
}

/**
 * The pod's IPs of one family (podIPs(pod) filtered), asked for by both endpoint controllers for every pod.
 * Computed in one pass rather than remembered: a cache keyed by status would hold a WeakMap entry per pod,
 * which costs the garbage collector more than the pass does.
 */
export function podIPsOfFamily(pod: Pod, family: Family): string[] {
  const status = pod.status;
  const out: string[] = [];
  if (!status) return out;
  let any = false;
  for (const p of status.podIPs ?? []) {
    if (!p.ip) continue;
    any = true;
    if (familyOf(p.ip) === family) out.push(p.ip);
  }
  if (!any && status.podIP && familyOf(status.podIP) === family) out.push(status.podIP);
  return out;
}

/**
 * podutil.FindPort: a numeric targetPort is used as it is; a named one is the first container port (containers,
 * then restartable init containers) with that name and the service port's protocol.
 */
export function findPort(pod: Pod, sp: ServicePort): number | undefined {
  // An int-or-string: a number is the port; any string is a port name (even "8080", as intstr keeps it).
  const target = sp.targetPort ?? sp.port;
  if (typeof target === 'number') return target;
  const protocol = sp.protocol ?? 'TCP';
  const containers = [
    ...(pod.spec?.containers ?? []),
    ...(pod.spec?.initContainers ?? []).filter((c) => c.restartPolicy === 'Always'),
  ];
  for (const c of containers) {
    for (const p of c.ports ?? []) {
      if (p.name === target && (p.protocol ?? 'TCP') === protocol) return p.containerPort;
    }
  }
  return undefined;
}

/** ShouldSetHostname: the pod names this service as its subdomain (StatefulSet pods behind their headless service). */
export function shouldSetHostname(pod: Pod, svc: Service): boolean {
  return !!pod.spec?.hostname && pod.spec.subdomain === svc.metadata?.name && pod.metadata?.namespace === svc.metadata?.namespace;
}

/** The endpoint's reference to its pod. */
export function podTargetRef(pod: Pod): { kind: string; namespace?: string; name?: string; uid?: string } {
  return { kind: 'Pod', namespace: pod.metadata?.namespace, name: pod.metadata?.name, uid: pod.metadata?.uid };
}

export function isServiceIPSet(svc: Service): boolean {
  const ip = svc.spec?.clusterIP;
  return !!ip && ip !== 'None';
}
