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

interface PackedAddress {
  address: core.EndpointAddress;
  ready: boolean;
  /** addrKey(address), made once */
  key: string;
}

/** One port and the addresses it reaches, by addrKey. */
interface PortGroup {
  port?: core.EndpointPort;
  addrs: Map<string, PackedAddress>;
}

/** Per port (by portKey), the addresses it reaches: RepackSubsets' first step, which sync fills directly. */
type PortAddresses = Map<string, PortGroup>;

function portGroup(perPort: PortAddresses, port: core.EndpointPort | undefined): PortGroup {
  const k = portKey(port);
  let g = perPort.get(k);
  if (!g) perPort.set(k, (g = { port, addrs: new Map() }));
  return g;
}

function addAddress(g: PortGroup, address: core.EndpointAddress, key: string, ready: boolean): void {
  // The same address twice is an input error upstream keeps the first copy of; not-ready still wins.
  const prev = g.addrs.get(key);
  g.addrs.set(key, prev ? { address: prev.address, ready: prev.ready && ready, key } : { address, ready, key });
}

const lessPacked = (a: PackedAddress, b: PackedAddress): number => lessAddress(a.address, b.address);

/** RepackSubsets' second step: ports with the same address sets share a subset, addresses sorted. */
function packSubsets(perPort: PortAddresses): core.EndpointSubset[] {
  const out = new Map<string, core.EndpointSubset>();
  for (const g of perPort.values()) {
    const ready: PackedAddress[] = [];
    const notReady: PackedAddress[] = [];
    for (const a of g.addrs.values()) (a.ready ? ready : notReady).push(a);
    ready.sort(lessPacked);
    notReady.sort(lessPacked);
    let key = '';
    for (const a of ready) key += key ? `,${a.key}` : a.key;
    key += '|';
    for (let i = 0; i < notReady.length; i++) key += i ? `,${notReady[i].key}` : notReady[i].key;
    let s = out.get(key);
    if (!s) {
      s = {
        ...(ready.length ? { addresses: ready.map((a) => a.address) } : {}),
        ...(notReady.length ? { notReadyAddresses: notReady.map((a) => a.address) } : {}),
      };
      out.set(key, s);
    }
    if (g.port) s.ports = [...(s.ports ?? []), g.port];
  }
  return [...out.values()];
}

/**
 * endpoints.RepackSubsets: per port the set of addresses (an address not ready for a port wins over ready),
 * then ports with the same address sets share a subset; addresses sorted by IP as bytes, then target UID.
 */
export function repackSubsets(subsets: core.EndpointSubset[]): core.EndpointSubset[] {
  const perPort: PortAddresses = new Map();
  for (const s of subsets) {
    if (!s.addresses?.length && !s.notReadyAddresses?.length) continue; // a port no address reaches is dropped
    for (const port of s.ports?.length ? s.ports : [undefined]) {
      const g = portGroup(perPort, port);
      for (const a of s.addresses ?? []) addAddress(g, a, addrKey(a), true);
      for (const a of s.notReadyAddresses ?? []) addAddress(g, a, addrKey(a), false);
    }
  }
  return packSubsets(perPort);
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
    // addEndpointSubset's (address, port) pairs go straight into RepackSubsets' per-port groups; a port's
    // group (and its EndpointPort) is looked up once per resolved port number, not once per pod.
    const perPort: PortAddresses = new Map();
    const groups = new Map<core.ServicePort, Map<number, PortGroup>>();
    const ports = svc.spec?.ports ?? [];
    for (const pod of selectedPods(ctx, svc)) {
      if (!shouldPodBeInEndpoints(pod, publishNotReady)) continue;
      const ip = podIPsOfFamily(pod, family)[0];
      if (!ip) continue;
      const address: core.EndpointAddress = { ip };
      if (shouldSetHostname(pod, svc)) address.hostname = pod.spec!.hostname;
      if (pod.spec?.nodeName) address.nodeName = pod.spec.nodeName;
      address.targetRef = podTargetRef(pod);
      const key = addrKey(address);
      const ready = publishNotReady || isPodReady(pod);
      if (ports.length === 0) {
        if (svc.spec?.clusterIP === 'None') addAddress(portGroup(perPort, undefined), address, key, ready);
        continue;
      }
      for (const sp of ports) {
        const port = findPort(pod, sp);
        if (port === undefined) continue;
        let byNumber = groups.get(sp);
        if (!byNumber) groups.set(sp, (byNumber = new Map()));
        let g = byNumber.get(port);
        if (!g) byNumber.set(port, (g = portGroup(perPort, { name: sp.name, port, protocol: sp.protocol ?? 'TCP', ...(sp.appProtocol ? { appProtocol: sp.appProtocol } : {}) })));
        addAddress(g, address, key, ready);
      }
    }
    let subsets = packSubsets(perPort);
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
