// Ingress objects for the routing tests, written as the manifests upstream's tests use.
import type { Ingress, IngressClass, KubeObject } from '../../src/cluster/objects.ts';
import { compile, route, type RoutingTable } from '../../src/ingress/routes.ts';
import { normalizeRequestPath } from '../../src/ingress/paths.ts';

type Spec = NonNullable<Ingress['spec']>;

let clock = 0;
/** An Ingress; each call is one second younger than the last unless `created` says otherwise. */
export function ingress(name: string, spec: Spec, opts: { namespace?: string; created?: string; annotations?: Record<string, string> } = {}): Ingress & KubeObject {
  clock++;
  return {
    apiVersion: 'networking.k8s.io/v1',
    kind: 'Ingress',
    metadata: {
      name,
      namespace: opts.namespace ?? 'default',
      creationTimestamp: opts.created ?? new Date(Date.UTC(2026, 0, 1, 0, 0, clock)).toISOString().replace(/\.\d+Z$/, 'Z'),
      annotations: opts.annotations,
    },
    spec,
  };
}

export function ingressClass(name: string, controller: string, isDefault = false): IngressClass & KubeObject {
  return {
    apiVersion: 'networking.k8s.io/v1',
    kind: 'IngressClass',
    metadata: { name, annotations: isDefault ? { 'ingressclass.kubernetes.io/is-default-class': 'true' } : undefined },
    spec: { controller },
  };
}

export const svc = (name: string, port: number | string = 8080) => ({
  service: { name, port: typeof port === 'number' ? { number: port } : { name: port } },
});

export const path = (p: string, pathType: 'Exact' | 'Prefix' | 'ImplementationSpecific', backend: string) => ({ path: p, pathType, backend: svc(backend) });

export function table(ingresses: (Ingress & KubeObject)[], classes: (IngressClass & KubeObject)[] = []): RoutingTable {
  return compile({ ingresses, classes });
}

/** The Service a request goes to, or the controller's status when it answers itself. */
export function served(t: RoutingTable, host: string, url: string): string | 404 {
  const p = normalizeRequestPath(url.split('?')[0]);
  if (p === undefined) return 404;
  const r = route(t, host, p);
  if (!r.location) return 404;
  return r.location.backend.name;
}
