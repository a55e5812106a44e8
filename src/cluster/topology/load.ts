// Topology files -> validated API objects and cluster settings. Everything wrong is collected (not only the
// first problem) so `kdp validate` can list it all; objects with errors are left out.
import { describeObject, kindInfo, objectKey, type KubeObject } from '../objects.ts';
import { fieldPath, type Origin, type Problem, type Severity } from '../problems.ts';
import { CLUSTER_API_VERSION, KUBE_PROXY_API_VERSION, resolveClusterConfig, type ClusterConfig } from '../config.ts';
import { validateObject } from '../validation/validate.ts';
import type { Path, Report } from '../validation/fields.ts';
import { locateField, parseSource } from './parse.ts';
import { upgradeLegacyIngress } from './legacy.ts';
import type { Source } from './sources.ts';

export interface Topology {
  config: ClusterConfig;
  /** Objects in the order the files list them. */
  objects: KubeObject[];
  origins: Origins;
  problems: Problem[];
}

/** Where each object came from, by kind and key, so later problems (conflicts, warnings) can name the line. */
export class Origins {
  private readonly map = new Map<string, Origin>();
  set(kind: string, namespace: string | undefined, name: string, o: Origin): void {
    this.map.set(`${kind}\0${objectKey(namespace, name)}`, o);
  }
  get(kind: string, namespace: string | undefined, name: string): Origin | undefined {
    return this.map.get(`${kind}\0${objectKey(namespace, name)}`);
  }
}

/** A problem about a field of an object, placed on the field's line when the object came from a file. */
/**
 * A problem on line `lineInValue` of a field holding a block scalar (a ConfigMap's Corefile, its cni-conf.json):
 * that line is as many lines below the field's key.
 */
export function problemInBlock(
  origin: Origin | undefined, object: string | undefined, path: Path, lineInValue: number | undefined, message: string, severity: Severity = 'error',
): Problem {
  const p = problemAt(origin, object, path, message, severity);
  return lineInValue !== undefined && p.line !== undefined ? { ...p, line: p.line + lineInValue } : p;
}

export function problemAt(
  origin: Origin | undefined, object: string | undefined, path: Path, message: string, severity: Severity = 'error',
): Problem {
  return {
    severity,
    message,
    file: origin?.file,
    line: origin ? locateField(origin, path) : undefined,
    object,
    field: path.length ? fieldPath(path) : undefined,
  };
}

/** A Report that files problems about one object (an anonymous closure: see the keepNames note in endpoints.ts). */
function reporter(problems: Problem[], origin: Origin, label: string): Report {
  return (path, message, severity = 'error') => {
    problems.push(problemAt(origin, label, path, message, severity));
  };
}

export function loadTopology(sources: readonly Source[]): Topology {
  const problems: Problem[] = [];
  const objects: KubeObject[] = [];
  const origins = new Origins();
  const seen = new Map<string, Origin>();
  let clusterDoc: { object: Record<string, unknown>; origin: Origin } | undefined;
  let proxyDoc: { object: Record<string, unknown>; origin: Origin } | undefined;

  for (const src of sources) {
    for (const { object: raw, origin } of parseSource(src, problems)) {
      const meta = (typeof raw.metadata === 'object' && raw.metadata !== null ? raw.metadata : {}) as Record<string, unknown>;
      const kind = typeof raw.kind === 'string' ? raw.kind : undefined;
      const apiVersion = typeof raw.apiVersion === 'string' ? raw.apiVersion : undefined;
      const namespace = typeof meta.namespace === 'string' ? meta.namespace : kind && kindInfo(kind)?.namespaced === false ? undefined : 'default';
      const label = describeObject(kind ?? 'object', namespace, typeof meta.name === 'string' ? meta.name : undefined);
      const errorsBefore = problems.length;
      const report = reporter(problems, origin, label);
      if (!kind) report(['kind'], 'Required value: every document needs apiVersion and kind');
      if (!apiVersion) report(['apiVersion'], 'Required value: every document needs apiVersion and kind');
      if (!kind || !apiVersion) continue;

      if (kind === 'Cluster' && apiVersion === CLUSTER_API_VERSION) {
        if (clusterDoc) report([], `a topology holds one Cluster object; another is at ${clusterDoc.origin.file}:${locateField(clusterDoc.origin, [])}`);
        else clusterDoc = { object: raw, origin };
        continue;
      }
      if (kind === 'KubeProxyConfiguration') {
        if (apiVersion !== KUBE_PROXY_API_VERSION) report(['apiVersion'], `Unsupported value: "${apiVersion}": want ${KUBE_PROXY_API_VERSION}`);
        else if (proxyDoc) report([], `a topology holds one KubeProxyConfiguration; another is at ${proxyDoc.origin.file}:${locateField(proxyDoc.origin, [])}`);
        else proxyDoc = { object: raw, origin };
        continue;
      }
      const info = kindInfo(kind);
      if (!info) {
        report([], `kind ${kind} (${apiVersion}) is not modelled by kdp; ignored`, 'warning');
        continue;
      }
      if (apiVersion !== info.apiVersion && !info.alsoServedAs?.includes(apiVersion)) {
        report(['apiVersion'], `Unsupported value: "${apiVersion}": kind ${kind} is served as ${info.apiVersion}`);
        continue;
      }
      const obj = kind === 'Ingress' && apiVersion !== info.apiVersion ? upgradeLegacyIngress(raw) : { ...raw, apiVersion: info.apiVersion };
      validateObject(kind, obj, report);
      if (problems.slice(errorsBefore).some((p) => p.severity === 'error')) continue;
      const metadata = { ...(obj.metadata as KubeObject['metadata']) };
      if (info.namespaced) metadata.namespace ??= 'default';
      else delete metadata.namespace;
      const key = `${kind}\0${objectKey(metadata.namespace, metadata.name)}`;
      const before = seen.get(key);
      if (before) {
        report(['metadata', 'name'], `Duplicate value: ${describeObject(kind, metadata.namespace, metadata.name)} is already defined at ${before.file}:${locateField(before, [])}`);
        continue;
      }
      seen.set(key, origin);
      origins.set(kind, metadata.namespace, metadata.name, origin);
      objects.push({ ...obj, metadata } as KubeObject);
    }
  }

  const clusterReport = (doc: typeof clusterDoc, kind: string): Report => (path, message, severity = 'error') => {
    const name = (doc?.object.metadata as { name?: string } | undefined)?.name;
    problems.push(problemAt(doc?.origin, doc ? describeObject(kind, undefined, name) : kind, path, message, severity));
  };
  const config = resolveClusterConfig(clusterDoc?.object, proxyDoc?.object, clusterReport(clusterDoc, 'Cluster'), clusterReport(proxyDoc, 'KubeProxyConfiguration'));
  if (clusterDoc) {
    origins.set('Cluster', undefined, config.name, clusterDoc.origin);
    for (const n of config.nodes) origins.set('Node', undefined, n.name, { ...clusterDoc.origin, pathInDocument: [...clusterDoc.origin.pathInDocument, 'spec', 'nodes', n.index] });
  }
  return { config, objects, origins, problems };
}

