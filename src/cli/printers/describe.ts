// `kubectl describe service`: describeService in staging/src/k8s.io/kubectl/pkg/describe/describe.go, written
// as tab-separated text and laid out by a standard text/tabwriter (minwidth 0, padding 2).
import type { EndpointSlice, Service } from '../../cluster/objects.ts';
import { formatLabels } from './labels.ts';
import { joinHostPort } from './network.ts';
import { byteOrder } from './order.ts';
import { DESCRIBE_TABWRITER, formatTabbed } from './tabwriter.ts';

const SERVICE_NAME_LABEL = 'kubernetes.io/service-name';
const SKIPPED_ANNOTATIONS = new Set(['kubectl.kubernetes.io/last-applied-configuration']);
const MAX_ANNOTATION_LEN = 140;

const byteLength = (s: string): number => Buffer.byteLength(s, 'utf8');

/** shorten(): Go slices bytes, not characters. */
function shorten(s: string, max: number): string {
  const bytes = Buffer.from(s, 'utf8');
  return bytes.length > max ? `${bytes.subarray(0, max).toString('utf8')}...` : s;
}

/** printLabelsMultiline: one key=value per line, continuation lines start in the value column. */
function labelLines(title: string, labels: Record<string, string> | undefined): string {
  const keys = Object.keys(labels ?? {}).sort(byteOrder);
  if (keys.length === 0) return `${title}:\t<none>\n`;
  return `${title}:\t` + keys.map((k) => `${k}=${labels![k]}\n`).join('\t');
}

/** printAnnotationsMultiline: "key: value"; long or multi-line values go below the key, each line cut at 138 bytes. */
function annotationLines(annotations: Record<string, string> | undefined): string {
  const keys = Object.keys(annotations ?? {}).filter((k) => !SKIPPED_ANNOTATIONS.has(k)).sort(byteOrder);
  if (keys.length === 0) return 'Annotations:\t<none>\n';
  return 'Annotations:\t' + keys.map((key) => {
    const value = annotations![key].replace(/\n$/, '');
    if (byteLength(value) + byteLength(key) + 2 > MAX_ANNOTATION_LEN || value.includes('\n')) {
      return `${key}:\n` + value.split('\n').map((line) => `\t  ${shorten(line, MAX_ANNOTATION_LEN - 2)}\n`).join('');
    }
    return `${key}: ${value}\n`;
  }).join('\t');
}

/** buildIngressString: in status order, ", "-separated, with the IP mode when set. */
function ingressString(ingress: { ip?: string; ipMode?: string; hostname?: string }[]): string {
  return ingress.map((i) => (i.ip ? `${i.ip}${i.ipMode ? ` (${i.ipMode})` : ''}` : i.hostname ?? '')).join(', ');
}

/**
 * formatEndpointSlices(slices, sets.New(portName)): ready (or readiness-unknown) endpoints on the slice port named
 * like the service port, three at most. Quirk kept from upstream: "more" is decided before the readiness check,
 * while the count only includes ready endpoints.
 */
function endpointsFor(slices: EndpointSlice[], portName: string): string {
  if (slices.length === 0) return '<none>';
  const max = 3;
  const list: string[] = [];
  let more = false;
  let count = 0;
  const visit = (endpoint: EndpointSlice['endpoints'][number], port: number | undefined): void => {
    if (list.length === max) more = true;
    if (endpoint.conditions?.ready === false) return;
    const address = endpoint.addresses[0];
    if (!more) list.push(port === undefined ? address : joinHostPort(address, port));
    count++;
  };
  for (const slice of slices) {
    const ports = slice.ports ?? [];
    // Headless services may have slices without ports: bare addresses.
    if (ports.length === 0) for (const e of slice.endpoints ?? []) visit(e, undefined);
    for (const port of ports) {
      if ((port.name ?? '') !== portName) continue;
      for (const e of slice.endpoints ?? []) visit(e, port.port ?? 0);
    }
  }
  const joined = list.join(',');
  return more ? `${joined} + ${count - max} more...` : joined;
}

/**
 * The service's EndpointSlices as the ServiceDescriber lists them: labelled kubernetes.io/service-name=<name> in
 * the service's namespace, in the apiserver's list order (by name).
 */
function slicesOf(svc: Service, slices: EndpointSlice[]): EndpointSlice[] {
  return slices
    .filter((s) => s.metadata?.namespace === svc.metadata?.namespace && s.metadata?.labels?.[SERVICE_NAME_LABEL] === svc.metadata?.name)
    .sort((a, b) => byteOrder(a.metadata?.name ?? '', b.metadata?.name ?? ''));
}

/** describe.go's prefixWriter escapes terminal control characters on the way out (printers.WriteEscaped). */
const escapeTerminal = (s: string): string => s.replaceAll('\x1b', '^[').replaceAll('\r', '\\r');

/** `kubectl describe service` with no events recorded. `slices` may include other services' slices. */
export function describeService(svc: Service, slices: EndpointSlice[]): string {
  const spec = svc.spec ?? {};
  const own = slicesOf(svc, slices);
  let w = '';
  w += `Name:\t${svc.metadata?.name ?? ''}\n`;
  w += `Namespace:\t${svc.metadata?.namespace ?? ''}\n`;
  w += labelLines('Labels', svc.metadata?.labels);
  w += annotationLines(svc.metadata?.annotations);
  w += `Selector:\t${formatLabels(spec.selector)}\n`;
  w += `Type:\t${spec.type ?? ''}\n`;
  if (spec.ipFamilyPolicy !== undefined) w += `IP Family Policy:\t${spec.ipFamilyPolicy}\n`;
  w += `IP Families:\t${spec.ipFamilies?.length ? spec.ipFamilies.join(',') : '<none>'}\n`;
  w += `IP:\t${spec.clusterIP ?? ''}\n`;
  w += `IPs:\t${spec.clusterIPs?.length ? spec.clusterIPs.join(',') : '<none>'}\n`;
  if (spec.externalIPs?.length) w += `External IPs:\t${spec.externalIPs.join(',')}\n`;
  if (spec.loadBalancerIP) w += `Desired LoadBalancer IP:\t${spec.loadBalancerIP}\n`;
  if (spec.externalName) w += `External Name:\t${spec.externalName}\n`;
  const lbIngress = svc.status?.loadBalancer?.ingress ?? [];
  if (lbIngress.length > 0) w += `LoadBalancer Ingress:\t${ingressString(lbIngress)}\n`;
  for (const port of spec.ports ?? []) {
    const name = port.name || '<unset>';
    const protocol = port.protocol ?? '';
    w += `Port:\t${name}\t${port.port}/${protocol}\n`;
    w += `TargetPort:\t${port.targetPort ?? 0}/${protocol}\n`;
    if (port.appProtocol !== undefined) w += `AppProtocol:\t${port.appProtocol}\n`;
    if (port.nodePort) w += `NodePort:\t${name}\t${port.nodePort}/${protocol}\n`;
    w += `Endpoints:\t${endpointsFor(own, port.name ?? '')}\n`;
  }
  w += `Session Affinity:\t${spec.sessionAffinity ?? ''}\n`;
  if (spec.externalTrafficPolicy) w += `External Traffic Policy:\t${spec.externalTrafficPolicy}\n`;
  if (spec.internalTrafficPolicy !== undefined) w += `Internal Traffic Policy:\t${spec.internalTrafficPolicy}\n`;
  if (spec.healthCheckNodePort) w += `HealthCheck NodePort:\t${spec.healthCheckNodePort}\n`;
  if (spec.loadBalancerSourceRanges?.length) w += `LoadBalancer Source Ranges:\t${spec.loadBalancerSourceRanges.join(',')}\n`;
  if (spec.trafficDistribution !== undefined) w += `Traffic Distribution:\t${spec.trafficDistribution}\n`;
  w += 'Events:\t<none>\n';
  return formatTabbed(escapeTerminal(w), DESCRIBE_TABWRITER);
}
