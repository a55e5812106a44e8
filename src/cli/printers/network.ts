// Tables for Services and what routes to them: printService, printEndpoints, printEndpointSlice,
// printIngress and printIngressClass in pkg/printers/internalversion/printers.go.
import type { Endpoints, EndpointSlice, Ingress, IngressClass, Service } from '../../cluster/objects.ts';
import { AGE, NAME, type KindTable } from './columns.ts';
import { age } from './duration.ts';
import { formatLabels } from './labels.ts';
import { byteOrder } from './order.ts';

/** net.JoinHostPort: IPv6 addresses get brackets. */
export const joinHostPort = (host: string, port: number | string): string =>
  host.includes(':') ? `[${host}]:${port}` : `${host}:${port}`;

/** The "a,b,c + N more..." that kubectl shows instead of long lists. */
function listWithMore(list: string[], more: boolean, count: number, max: number): string {
  const joined = list.join(',');
  return more ? `${joined} + ${count - max} more...` : joined;
}

/**
 * loadBalancerStatusStringer / ingressLoadBalancerStatusStringer: IPs (else hostnames), sorted and de-duplicated.
 * Their 16-character clipping only applies without Wide, and the apiserver always builds tables with Wide.
 */
function loadBalancerAddresses(ingress: { ip?: string; hostname?: string }[] | undefined): string {
  const set = new Set<string>();
  for (const i of ingress ?? []) {
    if (i.ip) set.add(i.ip);
    else if (i.hostname) set.add(i.hostname);
  }
  return [...set].sort(byteOrder).join(',');
}

function externalIP(svc: Service): string {
  const externalIPs = svc.spec?.externalIPs ?? [];
  switch (svc.spec?.type) {
    case 'ClusterIP':
    case 'NodePort':
      return externalIPs.length > 0 ? externalIPs.join(',') : '<none>';
    case 'LoadBalancer': {
      const lb = loadBalancerAddresses(svc.status?.loadBalancer?.ingress);
      if (externalIPs.length > 0) return [...(lb ? lb.split(',') : []), ...externalIPs].join(',');
      return lb || '<pending>';
    }
    case 'ExternalName':
      return svc.spec.externalName ?? '';
    default:
      return '<unknown>';
  }
}

/** makePortString: "80/TCP", "80:30080/TCP" with a node port, joined by ','. */
function portString(svc: Service): string {
  return (svc.spec?.ports ?? [])
    .map((p) => (p.nodePort ? `${p.port}:${p.nodePort}/${p.protocol ?? ''}` : `${p.port}/${p.protocol ?? ''}`))
    .join(',');
}

export const serviceTable: KindTable<Service> = {
  columns: [
    NAME, { name: 'Type' }, { name: 'Cluster-IP' }, { name: 'External-IP' }, { name: 'Port(s)' }, AGE,
    { name: 'Selector', wide: true },
  ],
  cells(svc, now) {
    // The apiserver's v1 conversion fills clusterIPs from a lone clusterIP before the printer sees it.
    const clusterIP = svc.spec?.clusterIP || svc.spec?.clusterIPs?.[0] || '<none>';
    return [
      svc.metadata?.name ?? '', svc.spec?.type ?? '', clusterIP, externalIP(svc), portString(svc) || '<none>',
      age(svc.metadata?.creationTimestamp, now), formatLabels(svc.spec?.selector),
    ];
  },
};

/** formatEndpoints(ep, nil): ready addresses only, per port; a subset without ports lists bare IPs. */
function formatEndpoints(ep: Endpoints): string {
  const subsets = ep.subsets ?? [];
  if (subsets.length === 0) return '<none>';
  const max = 3;
  const list: string[] = [];
  let more = false;
  let count = 0;
  for (const ss of subsets) {
    const addresses = ss.addresses ?? [];
    const ports = ss.ports ?? [];
    if (ports.length === 0) {
      count += addresses.length;
      for (const a of addresses) {
        if (list.length === max) {
          more = true;
          break;
        }
        list.push(a.ip);
      }
      continue;
    }
    for (const port of ports) {
      count += addresses.length;
      for (const a of addresses) {
        if (list.length === max) {
          more = true;
          break;
        }
        list.push(joinHostPort(a.ip, port.port));
      }
    }
  }
  return listWithMore(list, more, count, max);
}

export const endpointsTable: KindTable<Endpoints> = {
  columns: [NAME, { name: 'Endpoints' }, AGE],
  cells: (ep, now) => [ep.metadata?.name ?? '', formatEndpoints(ep), age(ep.metadata?.creationTimestamp, now)],
};

/** formatDiscoveryPorts / formatDiscoveryEndpoints: the first three, then a count; '<unset>' when empty. */
function firstThree(items: string[]): string {
  const max = 3;
  return listWithMore(items.slice(0, max), items.length > max, items.length, max) || '<unset>';
}

export const endpointSliceTable: KindTable<EndpointSlice> = {
  columns: [NAME, { name: 'AddressType' }, { name: 'Ports' }, { name: 'Endpoints' }, AGE],
  cells(slice, now) {
    const ports = (slice.ports ?? []).map((p) => (p.port !== undefined ? `${p.port}` : p.name ?? '*'));
    // Every address of every endpoint, ready or not.
    const addresses = (slice.endpoints ?? []).flatMap((e) => e.addresses);
    return [
      slice.metadata?.name ?? '', slice.addressType, firstThree(ports), firstThree(addresses),
      age(slice.metadata?.creationTimestamp, now),
    ];
  },
};

/** formatHosts: the first three rule hosts; '*' when no rule names a host. */
function hosts(ing: Ingress): string {
  const rules = ing.spec?.rules ?? [];
  const max = 3;
  const list: string[] = [];
  let more = false;
  for (const rule of rules) {
    if (list.length === max) more = true;
    if (!more && rule.host) list.push(rule.host);
  }
  if (list.length === 0) return '*';
  return listWithMore(list, more, rules.length, max);
}

export const ingressTable: KindTable<Ingress> = {
  columns: [NAME, { name: 'Class' }, { name: 'Hosts' }, { name: 'Address' }, { name: 'Ports' }, AGE],
  cells(ing, now) {
    return [
      ing.metadata?.name ?? '', ing.spec?.ingressClassName ?? '<none>', hosts(ing),
      loadBalancerAddresses(ing.status?.loadBalancer?.ingress), (ing.spec?.tls ?? []).length > 0 ? '80, 443' : '80',
      age(ing.metadata?.creationTimestamp, now),
    ];
  },
};

export const ingressClassTable: KindTable<IngressClass> = {
  columns: [NAME, { name: 'Controller' }, { name: 'Parameters' }, AGE],
  cells(ic, now) {
    const p = ic.spec?.parameters;
    const parameters = p ? `${p.kind}${p.apiGroup !== undefined ? `.${p.apiGroup}` : ''}/${p.name}` : '<none>';
    return [ic.metadata?.name ?? '', ic.spec?.controller ?? '', parameters, age(ic.metadata?.creationTimestamp, now)];
  },
};
