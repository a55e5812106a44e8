// What CoreDNS's kubernetes plugin keeps from its informers (plugin/kubernetes/object/*.go): Services,
// EndpointSlices reduced to their ready addresses, Pods by IP, Namespaces — indexed the way its lookups read
// them. Built from the store and rebuilt lazily after any change, so the next answer sees the change.
import type { Store } from '../cluster/store.ts';
import type { EndpointSlice, KubeObject, Namespace, Pod, Service } from '../cluster/objects.ts';
import { canonicalIP } from '../cluster/net.ts';

export interface PortInfo {
  name: string;
  protocol: string;
  /** -1 when the slice lists no ports: CoreDNS's sentinel, skipped for SRV. */
  port: number;
}

export interface EndpointAddress {
  ip: string;
  /** EndpointSlice endpoints[].hostname, '' when unset. */
  hostname: string;
  /** The targetRef's name, for endpoint_pod_names. */
  targetRefName: string;
  ports: PortInfo[];
}

export interface ServiceInfo {
  name: string;
  namespace: string;
  type: string;
  /** spec.clusterIPs (or clusterIP), canonical; empty for ExternalName. */
  clusterIPs: string[];
  headless: boolean;
  externalName: string;
  ports: PortInfo[];
  /** Ready addresses of every EndpointSlice of the service, in slice order. */
  endpoints: EndpointAddress[];
}

export interface ClusterView {
  namespaces: Set<string>;
  /** "ns/name" -> service */
  services: Map<string, ServiceInfo>;
  /** ClusterIP -> services having it */
  servicesByIP: Map<string, ServiceInfo[]>;
  /** endpoint IP -> (service, address) pairs */
  endpointsByIP: Map<string, { service: ServiceInfo; address: EndpointAddress }[]>;
  /** pod IP -> namespaces of the non-terminating pods having it */
  podsByIP: Map<string, string[]>;
  /** CoreDNS's own pod IPs (k8s-app=kube-dns in kube-system): what NS records are built from. */
  dnsPodIPs: string[];
}

const SERVICE_NAME_LABEL = 'kubernetes.io/service-name';

function portsOf(ports: { name?: string; protocol?: string; port?: number }[] | undefined): PortInfo[] {
  return (ports ?? []).map((p) => ({ name: p.name ?? '', protocol: p.protocol ?? 'TCP', port: p.port ?? -1 }));
}

export function buildView(store: Store): ClusterView {
  const namespaces = new Set(store.list<Namespace & KubeObject>('Namespace').filter((n) => !n.metadata.deletionTimestamp).map((n) => n.metadata.name));
  const services = new Map<string, ServiceInfo>();
  const servicesByIP = new Map<string, ServiceInfo[]>();
  for (const s of store.list<Service & KubeObject>('Service')) {
    const spec = s.spec ?? {};
    const ips = spec.clusterIPs?.length ? spec.clusterIPs : spec.clusterIP ? [spec.clusterIP] : [];
    const headless = ips[0] === 'None';
    const clusterIPs = headless ? [] : [...new Set(ips.map((ip) => canonicalIP(ip)).filter((ip): ip is string => !!ip))];
    const info: ServiceInfo = {
      name: s.metadata.name,
      namespace: s.metadata.namespace ?? 'default',
      type: spec.type ?? 'ClusterIP',
      clusterIPs: spec.type === 'ExternalName' ? [] : clusterIPs,
      headless: headless && spec.type !== 'ExternalName',
      externalName: spec.externalName ?? '',
      ports: portsOf(spec.ports),
      endpoints: [],
    };
    services.set(`${info.namespace}/${info.name}`, info);
    for (const ip of info.clusterIPs) {
      let l = servicesByIP.get(ip);
      if (!l) servicesByIP.set(ip, (l = []));
      l.push(info);
    }
  }
  const endpointsByIP = new Map<string, { service: ServiceInfo; address: EndpointAddress }[]>();
  for (const slice of store.list<EndpointSlice & KubeObject>('EndpointSlice')) {
    if (slice.addressType === 'FQDN') continue;
    const svc = services.get(`${slice.metadata.namespace}/${slice.metadata.labels?.[SERVICE_NAME_LABEL]}`);
    if (!svc) continue;
    const ports = slice.ports?.length ? portsOf(slice.ports) : [{ name: '', protocol: '', port: -1 }];
    for (const ep of slice.endpoints ?? []) {
      // object/endpoint.go: a nil ready condition counts as ready; serving/terminating are not looked at.
      if (ep.conditions?.ready === false) continue;
      for (const raw of ep.addresses ?? []) {
        const ip = canonicalIP(raw);
        if (!ip) continue;
        const address: EndpointAddress = { ip, hostname: ep.hostname ?? '', targetRefName: ep.targetRef?.name ?? '', ports };
        svc.endpoints.push(address);
        let l = endpointsByIP.get(ip);
        if (!l) endpointsByIP.set(ip, (l = []));
        l.push({ service: svc, address });
      }
    }
  }
  const podsByIP = new Map<string, string[]>();
  const dnsPodIPs: string[] = [];
  for (const p of store.list<Pod & KubeObject>('Pod')) {
    if (p.metadata.deletionTimestamp) continue;
    const ips = p.status?.podIPs?.map((x) => x.ip) ?? (p.status?.podIP ? [p.status.podIP] : []);
    for (const raw of ips) {
      const ip = raw && canonicalIP(raw);
      if (!ip) continue;
      let l = podsByIP.get(ip);
      if (!l) podsByIP.set(ip, (l = []));
      l.push(p.metadata.namespace ?? 'default');
      if (p.metadata.namespace === 'kube-system' && p.metadata.labels?.['k8s-app'] === 'kube-dns' && !p.spec?.hostNetwork) dnsPodIPs.push(ip);
    }
  }
  return { namespaces, services, servicesByIP, endpointsByIP, podsByIP, dnsPodIPs };
}

const WATCHED = ['Namespace', 'Service', 'EndpointSlice', 'Pod'];

/**
 * The live view: watches the store and rebuilds on the first read after a change. `generation` counts
 * changes (answer caches key on it); `serial` is the SOA serial, the unix time of the last change.
 */
export class LiveView {
  private view: ClusterView | undefined;
  generation = 0;
  serial: number;
  private readonly stops: (() => void)[];

  constructor(private readonly store: Store, private readonly now: () => number = Date.now) {
    this.serial = Math.floor(now() / 1000) >>> 0;
    this.stops = WATCHED.map((kind) => store.watch({ kind }, () => this.invalidate()));
  }

  private invalidate(): void {
    this.view = undefined;
    this.generation++;
    this.serial = Math.floor(this.now() / 1000) >>> 0;
  }

  current(): ClusterView {
    return (this.view ??= buildView(this.store));
  }

  close(): void {
    for (const s of this.stops) s();
  }
}
