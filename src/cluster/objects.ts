// The API kinds kdp understands, with the facts kubectl and the apiserver keep about each.
import type { ObjectMeta } from 'kubernetes-types/meta/v1.js';
import type * as core from 'kubernetes-types/core/v1.js';
import type * as apps from 'kubernetes-types/apps/v1.js';
import type * as discovery from 'kubernetes-types/discovery/v1.js';
import type * as networking from 'kubernetes-types/networking/v1.js';

export type { ObjectMeta };
export type Pod = core.Pod;
export type Service = core.Service;
export type ServicePort = core.ServicePort;
export type Node = core.Node;
export type Namespace = core.Namespace;
export type Endpoints = core.Endpoints;
export type ConfigMap = core.ConfigMap;
export type Secret = core.Secret;
export type PodTemplateSpec = core.PodTemplateSpec;
export type Container = core.Container;
export type Deployment = apps.Deployment;
export type ReplicaSet = apps.ReplicaSet;
export type StatefulSet = apps.StatefulSet;
export type DaemonSet = apps.DaemonSet;
export type EndpointSlice = discovery.EndpointSlice;
export type Endpoint = discovery.Endpoint;
export type Ingress = networking.Ingress;
export type IngressClass = networking.IngressClass;

/** Any API object: what every kind shares. */
export interface KubeObject {
  apiVersion: string;
  kind: string;
  metadata: ObjectMeta & { name: string };
  [field: string]: unknown;
}

export interface KindInfo {
  kind: string;
  apiVersion: string;
  /** Other apiVersions that older manifests still carry (accepted on load). */
  alsoServedAs?: string[];
  namespaced: boolean;
  /** Plural resource name, as kubectl's `get` takes it. */
  resource: string;
  shortNames: string[];
}

export const KINDS: readonly KindInfo[] = [
  { kind: 'Namespace', apiVersion: 'v1', namespaced: false, resource: 'namespaces', shortNames: ['ns'] },
  { kind: 'Node', apiVersion: 'v1', namespaced: false, resource: 'nodes', shortNames: ['no'] },
  { kind: 'Pod', apiVersion: 'v1', namespaced: true, resource: 'pods', shortNames: ['po'] },
  { kind: 'Service', apiVersion: 'v1', namespaced: true, resource: 'services', shortNames: ['svc'] },
  { kind: 'Endpoints', apiVersion: 'v1', namespaced: true, resource: 'endpoints', shortNames: ['ep'] },
  { kind: 'ConfigMap', apiVersion: 'v1', namespaced: true, resource: 'configmaps', shortNames: ['cm'] },
  { kind: 'Secret', apiVersion: 'v1', namespaced: true, resource: 'secrets', shortNames: [] },
  { kind: 'Deployment', apiVersion: 'apps/v1', namespaced: true, resource: 'deployments', shortNames: ['deploy'] },
  { kind: 'ReplicaSet', apiVersion: 'apps/v1', namespaced: true, resource: 'replicasets', shortNames: ['rs'] },
  { kind: 'StatefulSet', apiVersion: 'apps/v1', namespaced: true, resource: 'statefulsets', shortNames: ['sts'] },
  { kind: 'DaemonSet', apiVersion: 'apps/v1', namespaced: true, resource: 'daemonsets', shortNames: ['ds'] },
  {
    kind: 'EndpointSlice', apiVersion: 'discovery.k8s.io/v1', alsoServedAs: ['discovery.k8s.io/v1beta1'],
    namespaced: true, resource: 'endpointslices', shortNames: [],
  },
  {
    kind: 'Ingress', apiVersion: 'networking.k8s.io/v1', alsoServedAs: ['networking.k8s.io/v1beta1', 'extensions/v1beta1'],
    namespaced: true, resource: 'ingresses', shortNames: ['ing'],
  },
  {
    kind: 'IngressClass', apiVersion: 'networking.k8s.io/v1', alsoServedAs: ['networking.k8s.io/v1beta1'],
    namespaced: false, resource: 'ingressclasses', shortNames: [],
  },
];

const byKind = new Map(KINDS.map((k) => [k.kind, k]));

export function kindInfo(kind: string): KindInfo | undefined {
  return byKind.get(kind);
}

/** Resolves what a person types after `kdp get` (pods, pod, po, svc, endpointslices.discovery.k8s.io ...). */
export function resolveResource(name: string): KindInfo | undefined {
  const n = name.toLowerCase().split('.')[0];
  return KINDS.find((k) => k.resource === n || k.kind.toLowerCase() === n || k.shortNames.includes(n));
}

export function isNamespaced(kind: string): boolean {
  return byKind.get(kind)?.namespaced ?? true;
}

/** "ns/name" for namespaced kinds, "name" otherwise: the key objects are stored under. */
export function objectKey(namespace: string | undefined, name: string): string {
  return namespace ? `${namespace}/${name}` : name;
}

/** "Service default/web" — how problems and logs name an object. */
export function describeObject(kind: string, namespace: string | undefined, name: string | undefined): string {
  const n = name ?? '<unnamed>';
  return namespace && isNamespaced(kind) ? `${kind} ${namespace}/${n}` : `${kind} ${n}`;
}




/**
 * `{ ...o, ...changes }` for the per-object hot paths, which run for every pod several times over. Node 20's
 * V8 clones an object's shape cheaply (~0.1 µs) when the changed keys already exist in it, but a spread that
 * adds keys takes a slow runtime path (~2 µs); Object.assign (~0.5 µs) is the better way to add them. So hot
 * objects are given their final shape early (see defaults.ts) and this picks the fast form.
 */
export function patch<T extends object>(o: T | undefined, changes: Partial<T>): T {
  if (o === undefined) return Object.assign({}, changes) as T;
  for (const k in changes) if (!(k in o)) return Object.assign({}, o, changes);
  return { ...o, ...changes };
}
