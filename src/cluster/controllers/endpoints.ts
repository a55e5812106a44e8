// The Endpoints controller (pkg/controller/endpoint): the legacy v1 Endpoints object per selector Service —
// still what `kubectl get ep` lists. Ready addresses and notReadyAddresses, grouped into subsets by port set
// (endpoints.RepackSubsets), addresses sorted by IP as bytes.
import { isDeepStrictEqual } from 'node:util';
import type { Controller, ControllerContext } from './controller.ts';
import type { Endpoints, KubeObject } from '../objects.ts';
import type * as core from 'kubernetes-types/core/v1.js';
import { findPort, isPodReady, isServiceIPSet, podIPsOfFamily, shouldPodBeInEndpoints, shouldSetHostname, podTargetRef } from '../podutil.ts';
import { hasSelector, selectedPods, watchPodsForServices, type Svc } from './servicepods.ts';
import type { Family } from '../net.ts';

type EP = Endpoints & KubeObject;

const MAX_CAPACITY = 1000;
const OVER_CAPACITY = 'endpoints.kubernetes.io/over-capacity';
const HEADLESS = 'service.kubernetes.io/headless';

const byteCompare = (a: string, b: string): number => (a < b ? -1 : a > b ? 1 : 0);

function lessAddress(a: core.EndpointAddress, b: core.EndpointAddress): number {
  return byteCompare(a.ip, b.ip) || byteCompare(a.targetRef?.uid ?? '', b.targetRef?.uid ?? '');
}

// Module-level rather than closures inside repackSubsets: tsx compiles with esbuild's keepNames, which makes
// every named closure cost a defineProperty call each time it is created.
const portKey = (p?: core.EndpointPort) => (p ? `${p.name ?? ''}/${p.port}/${p.protocol ?? ''}/${p.appProtocol ?? ''}` : '');
const addrKey = (a: core.EndpointAddress) => `${a.ip}/${a.targetRef?.uid ?? ''}`;

type PortAddresses = Map<string, { port?: core.EndpointPort; addrs: Map<string, { address: core.EndpointAddress; ready: boolean }> }>;

function addAddress(perPort: PortAddresses, port: core.EndpointPort | undefined, address: core.EndpointAddress, ready: boolean): void {
  const k = portKey(port);
  let g = perPort.get(k);
  if (!g) perPort.set(k, (g = { port, addrs: new Map() }));
  // The same address twice is an input error upstream keeps the first copy of; not-ready still wins.
  const prev = g.addrs.get(addrKey(address));
  g.addrs.set(addrKey(address), prev ? { address: prev.address, ready: prev.ready && ready } : { address, ready });
}

/**
 * endpoints.RepackSubsets: per port the set of addresses (an address not ready for a port wins over ready),
 * then ports with the same address sets share a subset; addresses sorted by IP as bytes, then target UID.
 */
export function repackSubsets(subsets: core.EndpointSubset[]): core.EndpointSubset[] {
  const perPort: PortAddresses = new Map();
  for (const s of subsets) {
    for (const port of s.ports?.length ? s.ports : [undefined]) {
      for (const a of s.addresses ?? []) addAddress(perPort, port, a, true);
      for (const a of s.notReadyAddresses ?? []) addAddress(perPort, port, a, false);
    }
  }
  const out = new Map<string, core.EndpointSubset>();
  for (const g of perPort.values()) {
    const all = [...g.addrs.values()];
    const ready = all.filter((a) => a.ready).map((a) => a.address).sort(lessAddress);
    const notReady = all.filter((a) => !a.ready).map((a) => a.address).sort(lessAddress);
    const key = `${ready.map(addrKey).join(',')}|${notReady.map(addrKey).join(',')}`;
    let s = out.get(key);
    if (!s) {
      s = { ...(ready.length ? { addresses: ready } : {}), ...(notReady.length ? { notReadyAddresses: notReady } : {}) };
      out.set(key, s);
    }
    if (g.port) s.ports = [...(s.ports ?? []), g.port];
  }
  return [...out.values()];
}

/** addEndpointSubset: one subset per (address, port), ready or not, for RepackSubsets to merge. */
function addEndpointSubset(address: core.EndpointAddress, ready: boolean, port: core.EndpointPort | undefined): core.EndpointSubset {
  const ports = port ? { ports: [port] } : {};
  return ready ? { addresses: [address], ...ports } : { notReadyAddresses: [address], ...ports };
}

export class EndpointsController implements Controller {
  readonly name = 'endpoints';

  start(ctx: ControllerContext): void {
    for (const s of ctx.store.list<Svc>('Service')) this.sync(ctx, s);
    ctx.store.watch({ kind: 'Service' }, (e) => {
      const svc = e.object as Svc;
      if (e.type === 'DELETED') {
        if (hasSelector(svc)) ctx.api.delete('Endpoints', svc.metadata.namespace, svc.metadata.name);
      } else {
        this.sync(ctx, svc);
      }
    });
    watchPodsForServices(ctx, (s) => this.sync(ctx, s));
  }

  sync(ctx: ControllerContext, svc: Svc): void {
    if (!hasSelector(svc)) return;
    const publishNotReady = !!svc.spec?.publishNotReadyAddresses;
    const family = (svc.spec?.ipFamilies?.[0] ?? 'IPv4') as Family;
    const entries: core.EndpointSubset[] = [];
    for (const pod of selectedPods(ctx, svc)) {
      if (!shouldPodBeInEndpoints(pod, publishNotReady)) continue;
      const ip = podIPsOfFamily(pod, family)[0];
      if (!ip) continue;
      const address: core.EndpointAddress = { ip };
      if (shouldSetHostname(pod, svc)) address.hostname = pod.spec!.hostname;
      if (pod.spec?.nodeName) address.nodeName = pod.spec.nodeName;
      address.targetRef = podTargetRef(pod);
      const ready = publishNotReady || isPodReady(pod);
      const ports = svc.spec?.ports ?? [];
      if (ports.length === 0) {
        if (svc.spec?.clusterIP === 'None') entries.push(addEndpointSubset(address, ready, undefined));
        continue;
      }
      for (const sp of ports) {
        const port = findPort(pod, sp);
        if (port === undefined) continue;
        entries.push(addEndpointSubset(address, ready, { name: sp.name, port, protocol: sp.protocol ?? 'TCP', ...(sp.appProtocol ? { appProtocol: sp.appProtocol } : {}) }));
      }
    }
    let subsets = repackSubsets(entries);
    let truncated = false;
    const total = subsets.reduce((n, s) => n + (s.addresses?.length ?? 0) + (s.notReadyAddresses?.length ?? 0), 0);
    if (total > MAX_CAPACITY) {
      truncated = true;
      let budget = MAX_CAPACITY;
      subsets = subsets.map((s) => {
        const addresses = (s.addresses ?? []).slice(0, budget);
        budget -= addresses.length;
        const notReadyAddresses = (s.notReadyAddresses ?? []).slice(0, budget);
        budget -= notReadyAddresses.length;
        return { ...s, addresses, notReadyAddresses };
      });
    }
    const labels: Record<string, string> = { ...svc.metadata.labels };
    if (!isServiceIPSet(svc)) labels[HEADLESS] = '';
    else delete labels[HEADLESS];
    const current = ctx.store.get<EP>('Endpoints', svc.metadata.namespace, svc.metadata.name);
    const annotations = { ...current?.metadata.annotations };
    if (truncated) annotations[OVER_CAPACITY] = 'truncated';
    else delete annotations[OVER_CAPACITY];
    const want: EP = {
      apiVersion: 'v1',
      kind: 'Endpoints',
      metadata: {
        ...current?.metadata,
        name: svc.metadata.name,
        namespace: svc.metadata.namespace,
        labels,
        ...(Object.keys(annotations).length ? { annotations } : {}),
      },
      ...(subsets.length ? { subsets } : {}),
    };
    if (current && isDeepStrictEqual(current.subsets, want.subsets) && isDeepStrictEqual(current.metadata.labels, labels) &&
      isDeepStrictEqual(current.metadata.annotations ?? {}, annotations)) return;
    if (!want.metadata.annotations) delete want.metadata.annotations;
    ctx.api.apply(want);
  }
}
