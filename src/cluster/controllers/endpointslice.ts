// The EndpointSlice controller (pkg/controller/endpointslice, k8s.io/endpointslice's reconciler): for each
// Service with a selector, slices of at most 100 endpoints per address family and port mapping, named
// <service>-<5 chars>, with ready/serving/terminating, nodeName, zone, hostname and a targetRef per pod.
// Endpoints keep their place in a slice across updates; new ones fill the fullest slice first.
import { isDeepStrictEqual } from 'node:util';
import type { Controller, ControllerContext } from './controller.ts';
import { ownerReferences } from './controller.ts';
import type { Endpoint, EndpointSlice, KubeObject, Node } from '../objects.ts';
import type * as discovery from 'kubernetes-types/discovery/v1.js';
import { findPort, isPodReady, isServiceIPSet, podIPsOfFamily, shouldPodBeInEndpoints, shouldSetHostname, podTargetRef } from '../podutil.ts';
import { hasSelector, selectedPods, watchPodsForServices, type P, type Svc } from './servicepods.ts';
import type { Family } from '../net.ts';

type Slice = EndpointSlice & KubeObject;

export const MANAGED_BY = 'endpointslice.kubernetes.io/managed-by';
export const SERVICE_NAME = 'kubernetes.io/service-name';
export const CONTROLLER_NAME = 'endpointslice-controller.k8s.io';
const HEADLESS = 'service.kubernetes.io/headless';
const MAX_ENDPOINTS_PER_SLICE = 100;
const RESERVED = new Set([SERVICE_NAME, MANAGED_BY, HEADLESS]);

function endpointPorts(svc: Svc, pod: P): discovery.EndpointPort[] {
  const out: discovery.EndpointPort[] = [];
  for (const sp of svc.spec?.ports ?? []) {
    const port = findPort(pod, sp);
    if (port === undefined) continue; // this pod lacks the named port: it lands in another port mapping
    out.push({ name: sp.name ?? '', port, protocol: sp.protocol ?? 'TCP', ...(sp.appProtocol ? { appProtocol: sp.appProtocol } : {}) });
  }
  return out;
}

const portKey = (ports: discovery.EndpointPort[] | null | undefined): string =>
  (ports ?? []).map((p) => `${p.name}/${p.port}/${p.protocol}/${p.appProtocol ?? ''}`).join(',');

/** The eight possible condition sets, shared: a large cluster has a million endpoints and few distinct ones. */
const CONDITIONS = Array.from({ length: 8 }, (_, i) => ({ ready: !!(i & 4), serving: !!(i & 2), terminating: !!(i & 1) }));

function podToEndpoint(pod: P, node: Node | undefined, svc: Svc, family: Family): Endpoint {
  const serving = isPodReady(pod);
  const terminating = !!pod.metadata.deletionTimestamp;
  const ready = !!svc.spec?.publishNotReadyAddresses || (serving && !terminating);
  const ep: Endpoint = { addresses: podIPsOfFamily(pod, family), conditions: CONDITIONS[(ready ? 4 : 0) | (serving ? 2 : 0) | (terminating ? 1 : 0)] };
  if (shouldSetHostname(pod, svc)) ep.hostname = pod.spec!.hostname;
  if (pod.spec?.nodeName) ep.nodeName = pod.spec.nodeName;
  ep.targetRef = podTargetRef(pod);
  const zone = node?.metadata?.labels?.['topology.kubernetes.io/zone'];
  if (zone) ep.zone = zone;
  return ep;
}

export function sliceLabels(svc: Svc): Record<string, string> {
  const labels: Record<string, string> = {};
  for (const [k, v] of Object.entries(svc.metadata.labels ?? {})) if (!RESERVED.has(k)) labels[k] = v;
  if (!isServiceIPSet(svc)) labels[HEADLESS] = '';
  labels[SERVICE_NAME] = svc.metadata.name;
  labels[MANAGED_BY] = CONTROLLER_NAME;
  return labels;
}

const endpointId = (e: Endpoint): string => e.targetRef?.name ?? e.addresses.join(',');

// Per-sync caches, as module functions: tsx compiles with esbuild's keepNames, which makes each named closure
// cost a defineProperty call every time it is created.
function nodeOf(ctx: ControllerContext, nodes: Map<string, Node | undefined>, name: string | undefined): Node | undefined {
  if (!name) return undefined;
  if (!nodes.has(name)) nodes.set(name, ctx.store.get<Node & KubeObject>('Node', undefined, name));
  return nodes.get(name);
}

type PortsCache = Map<unknown, { ports: discovery.EndpointPort[]; key: string }>;

/** Pods of one template share their containers array, so their ports resolve alike: once per template. */
function portsOf(cache: PortsCache, svc: Svc, pod: P): { ports: discovery.EndpointPort[]; key: string } {
  const containers = pod.spec?.initContainers ? undefined : pod.spec?.containers;
  let pk = containers && cache.get(containers);
  if (!pk) {
    const ports = endpointPorts(svc, pod);
    pk = { ports, key: portKey(ports) };
    if (containers) cache.set(containers, pk);
  }
  return pk;
}

export class EndpointSliceController implements Controller {
  readonly name = 'endpointslice';

  start(ctx: ControllerContext): void {
    for (const s of ctx.store.list<Svc>('Service')) this.sync(ctx, s);
    // A deleted Service's slices are the garbage collector's (they name it as their controller).
    ctx.store.watch({ kind: 'Service' }, (e) => {
      if (e.type !== 'DELETED') this.sync(ctx, e.object as Svc);
    });
    watchPodsForServices(ctx, (s) => this.sync(ctx, s));
    ctx.store.watch({ kind: 'Node' }, (e) => {
      const zone = (n?: KubeObject) => n?.metadata.labels?.['topology.kubernetes.io/zone'];
      if (e.type !== 'MODIFIED' || zone(e.old) === zone(e.object)) return;
      const node = e.object.metadata.name;
      const affected = new Set<string>();
      for (const sl of ctx.store.list<Slice>('EndpointSlice')) {
        if (sl.endpoints?.some((ep) => ep.nodeName === node)) affected.add(`${sl.metadata.namespace}/${sl.metadata.labels?.[SERVICE_NAME]}`);
      }
      for (const key of affected) {
        const [ns, name] = key.split('/');
        const svc = ctx.store.get<Svc>('Service', ns, name);
        if (svc) this.sync(ctx, svc);
      }
    });
  }

  private managed(ctx: ControllerContext, svc: Svc): Slice[] {
    return ctx.store.list<Slice>('EndpointSlice', {
      namespace: svc.metadata.namespace,
      selector: { requirements: [
        { key: SERVICE_NAME, operator: 'Equals', values: [svc.metadata.name] },
        { key: MANAGED_BY, operator: 'Equals', values: [CONTROLLER_NAME] },
      ] },
    });
  }

  private deleteAll(ctx: ControllerContext, svc: Svc): void {
    for (const sl of this.managed(ctx, svc)) ctx.api.delete('EndpointSlice', sl.metadata.namespace, sl.metadata.name);
  }

  sync(ctx: ControllerContext, svc: Svc): void {
    if (!hasSelector(svc)) {
      this.deleteAll(ctx, svc);
      return;
    }
    const pods = selectedPods(ctx, svc).filter((p) => shouldPodBeInEndpoints(p, true));
    const families = (svc.spec?.ipFamilies ?? ['IPv4']) as Family[];
    const existing = this.managed(ctx, svc);
    const labels = sliceLabels(svc);
    const nodes = new Map<string, Node | undefined>();
    for (const sl of existing) {
      if (!families.includes(sl.addressType as Family)) ctx.api.delete('EndpointSlice', sl.metadata.namespace, sl.metadata.name);
    }
    const portsByContainers: PortsCache = new Map();
    for (const family of families) {
      const groups = new Map<string, { ports: discovery.EndpointPort[]; endpoints: Map<string, Endpoint> }>();
      for (const pod of pods) {
        const node = nodeOf(ctx, nodes, pod.spec?.nodeName);
        if (pod.spec?.nodeName && !node && !svc.spec?.publishNotReadyAddresses) continue;
        const ep = podToEndpoint(pod, node, svc, family);
        if (ep.addresses.length === 0) continue;
        const { ports, key } = portsOf(portsByContainers, svc, pod);
        let g = groups.get(key);
        if (!g) groups.set(key, (g = { ports, endpoints: new Map() }));
        g.endpoints.set(endpointId(ep), ep);
      }
      this.reconcile(ctx, svc, family, labels, groups, existing.filter((sl) => sl.addressType === family));
    }
  }

  private reconcile(
    ctx: ControllerContext, svc: Svc, family: Family, labels: Record<string, string>,
    groups: Map<string, { ports: discovery.EndpointPort[]; endpoints: Map<string, Endpoint> }>, existing: Slice[],
  ): void {
    const byKey = new Map<string, Slice[]>();
    for (const sl of existing) {
      const k = portKey(sl.ports);
      byKey.set(k, [...(byKey.get(k) ?? []), sl]);
    }
    const desired: { slice?: Slice; ports: discovery.EndpointPort[]; endpoints: Endpoint[] }[] = [];
    for (const [key, g] of groups) {
      const slices = byKey.get(key) ?? [];
      byKey.delete(key);
      const remaining = new Map(g.endpoints);
      const kept = slices.map((sl) => {
        const endpoints: Endpoint[] = [];
        for (const ep of sl.endpoints ?? []) {
          const fresh = remaining.get(endpointId(ep));
          if (fresh) {
            endpoints.push(fresh);
            remaining.delete(endpointId(ep));
          }
        }
        return { slice: sl as Slice | undefined, ports: g.ports, endpoints };
      });
      // New endpoints go to the fullest slice with room, then to new slices.
      const byFullness = [...kept].sort((a, b) => b.endpoints.length - a.endpoints.length);
      for (const ep of remaining.values()) {
        let target = byFullness.find((d) => d.endpoints.length < MAX_ENDPOINTS_PER_SLICE);
        if (!target) {
          target = { slice: undefined, ports: g.ports, endpoints: [] };
          kept.push(target);
          byFullness.push(target);
        }
        target.endpoints.push(ep);
      }
      desired.push(...kept.filter((d) => d.endpoints.length > 0));
      for (const d of kept) if (d.endpoints.length === 0 && d.slice) byKey.set(`stale:${d.slice.metadata.name}`, [d.slice]);
    }
    // Slices no longer wanted are reused for new ones before any is created, as the reconciler's finalize does.
    const spare = [...byKey.values()].flat();
    for (const d of desired) if (!d.slice) d.slice = spare.shift();
    if (desired.length === 0) {
      // A Service that selects nothing keeps one empty placeholder slice per family.
      desired.push({ slice: spare.shift(), ports: null as unknown as discovery.EndpointPort[], endpoints: null as unknown as Endpoint[] });
    }
    for (const sl of spare) ctx.api.delete('EndpointSlice', sl.metadata.namespace, sl.metadata.name);
    for (const d of desired) {
      const body = { addressType: family, endpoints: d.endpoints, ports: d.ports };
      if (d.slice) {
        const same = d.slice.addressType === family && isDeepStrictEqual(d.slice.endpoints, d.endpoints) &&
          isDeepStrictEqual(d.slice.ports, d.ports) && isDeepStrictEqual(d.slice.metadata.labels, labels);
        if (!same) ctx.api.update({ ...d.slice, ...body, metadata: { ...d.slice.metadata, labels } });
      } else {
        ctx.api.create<Slice>({
          apiVersion: 'discovery.k8s.io/v1',
          kind: 'EndpointSlice',
          metadata: { name: '', generateName: `${svc.metadata.name}-`, namespace: svc.metadata.namespace, labels, ownerReferences: ownerReferences(svc) },
          ...body,
        });
      }
    }
  }
}
