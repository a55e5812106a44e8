// What the apiserver's validation would refuse, for the fields kdp reads. Each problem is reported at its
// field path; the caller turns paths into file lines. An object with errors is left out of the model.
import { Fields, isDNS1123Label, type Path, type Report } from './fields.ts';
import { isCidr, parseCIDR, parseIP } from '../net.ts';

const PROTOCOLS = ['TCP', 'UDP', 'SCTP'] as const;

type Validator = (o: Record<string, unknown>, f: Fields) => void;

export function validateObject(kind: string, o: Record<string, unknown>, report: Report): void {
  const f = new Fields(report);
  const meta = f.object(o.metadata, ['metadata'], true) ?? {};
  const nameRule = kind === 'Service' || kind === 'Namespace' ? 'label' : 'subdomain';
  f.name(meta.name, ['metadata', 'name'], nameRule);
  if (meta.namespace !== undefined) f.name(meta.namespace, ['metadata', 'namespace'], 'label');
  f.stringMap(meta.labels, ['metadata', 'labels'], 'labels');
  f.stringMap(meta.annotations, ['metadata', 'annotations']);
  VALIDATORS[kind]?.(o, f);
}

const VALIDATORS: Record<string, Validator> = {
  Node: (o, f) => {
    const spec = f.object(o.spec, ['spec']) ?? {};
    if (spec.podCIDR !== undefined) cidr(f, spec.podCIDR, ['spec', 'podCIDR']);
    (f.array(spec.podCIDRs, ['spec', 'podCIDRs']) ?? []).forEach((c, i) => cidr(f, c, ['spec', 'podCIDRs', i]));
    taints(f, spec.taints, ['spec', 'taints']);
    f.bool(spec.unschedulable, ['spec', 'unschedulable']);
    const status = f.object(o.status, ['status']) ?? {};
    (f.array(status.addresses, ['status', 'addresses']) ?? []).forEach((a, i) => {
      const p = ['status', 'addresses', i];
      const ao = f.object(a, p, true);
      if (!ao) return;
      const type = f.string(ao.type, [...p, 'type'], { required: true });
      const address = f.string(ao.address, [...p, 'address'], { required: true });
      if (address !== undefined && type && type.endsWith('IP')) ip(f, address, [...p, 'address']);
    });
  },
  Pod: (o, f) => {
    podSpec(f, o.spec, ['spec']);
    const status = f.object(o.status, ['status']) ?? {};
    if (status.podIP !== undefined) ip(f, status.podIP, ['status', 'podIP']);
    (f.array(status.podIPs, ['status', 'podIPs']) ?? []).forEach((p, i) => ip(f, f.object(p, ['status', 'podIPs', i])?.ip, ['status', 'podIPs', i, 'ip']));
    f.string(status.phase, ['status', 'phase'], { oneOf: ['Pending', 'Running', 'Succeeded', 'Failed', 'Unknown'] });
    (f.array(status.conditions, ['status', 'conditions']) ?? []).forEach((c, i) => {
      const co = f.object(c, ['status', 'conditions', i]);
      if (!co) return;
      f.string(co.type, ['status', 'conditions', i, 'type'], { required: true });
      f.string(co.status, ['status', 'conditions', i, 'status'], { required: true, oneOf: ['True', 'False', 'Unknown'] });
    });
  },
  Deployment: (o, f) => workload(f, o, true),
  ReplicaSet: (o, f) => workload(f, o, true),
  StatefulSet: (o, f) => {
    workload(f, o, true);
    f.string((o.spec as Record<string, unknown> | undefined)?.serviceName, ['spec', 'serviceName']);
  },
  DaemonSet: (o, f) => workload(f, o, false),
  Service: (o, f) => service(f, o),
  Endpoints: (o, f) => {
    (f.array(o.subsets, ['subsets']) ?? []).forEach((s, i) => {
      const p = ['subsets', i];
      const so = f.object(s, p);
      if (!so) return;
      for (const field of ['addresses', 'notReadyAddresses']) {
        (f.array(so[field], [...p, field]) ?? []).forEach((a, j) => {
          const ao = f.object(a, [...p, field, j], true);
          if (ao) ip(f, ao.ip, [...p, field, j, 'ip'], true);
        });
      }
      (f.array(so.ports, [...p, 'ports']) ?? []).forEach((port, j) => endpointPort(f, port, [...p, 'ports', j]));
    });
  },
  EndpointSlice: (o, f) => {
    const addressType = f.string(o.addressType, ['addressType'], { required: true, oneOf: ['IPv4', 'IPv6', 'FQDN'] });
    (f.array(o.endpoints, ['endpoints']) ?? []).forEach((e, i) => {
      const p = ['endpoints', i];
      const eo = f.object(e, p, true);
      if (!eo) return;
      const addrs = f.array(eo.addresses, [...p, 'addresses'], true) ?? [];
      if (addrs.length === 0 || addrs.length > 100) f.report([...p, 'addresses'], 'must contain between 1 and 100 addresses');
      addrs.forEach((a, j) => {
        const ap = [...p, 'addresses', j];
        if (addressType === 'FQDN') f.string(a, ap, { required: true });
        else {
          const parsed = ip(f, a, ap, true);
          if (parsed && addressType && parsed !== addressType) f.report(ap, `Invalid value: "${a}": must be an ${addressType} address`);
        }
      });
      const c = f.object(eo.conditions, [...p, 'conditions']) ?? {};
      for (const k of ['ready', 'serving', 'terminating']) f.bool(c[k], [...p, 'conditions', k]);
      f.string(eo.nodeName, [...p, 'nodeName']);
      f.string(eo.hostname, [...p, 'hostname']);
      f.string(eo.zone, [...p, 'zone']);
    });
    (f.array(o.ports, ['ports']) ?? []).forEach((port, j) => endpointPort(f, port, ['ports', j]));
  },
  Ingress: (o, f) => ingress(f, o),
  IngressClass: (o, f) => {
    const spec = f.object(o.spec, ['spec']) ?? {};
    f.string(spec.controller, ['spec', 'controller']);
  },
  ConfigMap: (o, f) => {
    const data = f.object(o.data, ['data']) ?? {};
    for (const [k, v] of Object.entries(data)) f.string(v, ['data', k]);
  },
  Secret: (o, f) => {
    for (const field of ['data', 'stringData']) {
      const data = f.object(o[field], [field]) ?? {};
      for (const [k, v] of Object.entries(data)) {
        const s = f.string(v, [field, k]);
        if (s !== undefined && field === 'data' && !/^[A-Za-z0-9+/\s]*={0,2}\s*$/.test(s)) f.report([field, k], 'Invalid value: must be base64-encoded');
      }
    }
  },
};

function ip(f: Fields, v: unknown, path: Path, required = false): 'IPv4' | 'IPv6' | undefined {
  const s = f.string(v, path, { required });
  if (s === undefined) return undefined;
  const p = parseIP(s);
  if (!p) {
    f.report(path, `Invalid value: "${s}": must be a valid IP address, (e.g. 10.9.8.7 or 2001:db8::ffff)`);
    return undefined;
  }
  return p.family;
}

function cidr(f: Fields, v: unknown, path: Path): void {
  const s = f.string(v, path);
  if (s === undefined) return;
  const c = parseCIDR(s, false);
  if (!isCidr(c)) f.report(path, `Invalid value: ${c.error}`);
}

function taints(f: Fields, v: unknown, path: Path): void {
  (f.array(v, path) ?? []).forEach((t, i) => {
    const to = f.object(t, [...path, i], true);
    if (!to) return;
    f.string(to.key, [...path, i, 'key'], { required: true });
    f.string(to.value, [...path, i, 'value']);
    f.string(to.effect, [...path, i, 'effect'], { required: true, oneOf: ['NoSchedule', 'PreferNoSchedule', 'NoExecute'] });
  });
}

function podSpec(f: Fields, v: unknown, path: Path): void {
  const spec = f.object(v, path, true);
  if (!spec) return;
  const containers = f.array(spec.containers, [...path, 'containers'], true) ?? [];
  if (spec.containers !== undefined && containers.length === 0) f.report([...path, 'containers'], 'Required value');
  const portNames = new Set<string>();
  containers.forEach((c, i) => {
    const cp = [...path, 'containers', i];
    const co = f.object(c, cp, true);
    if (!co) return;
    f.string(co.name, [...cp, 'name'], { required: true });
    f.string(co.image, [...cp, 'image']);
    (f.array(co.ports, [...cp, 'ports']) ?? []).forEach((p, j) => {
      const pp = [...cp, 'ports', j];
      const po = f.object(p, pp, true);
      if (!po) return;
      f.int(po.containerPort, [...pp, 'containerPort'], { required: true, min: 1, max: 65535 });
      f.int(po.hostPort, [...pp, 'hostPort'], { min: 1, max: 65535 });
      f.string(po.protocol, [...pp, 'protocol'], { oneOf: PROTOCOLS });
      if (po.hostIP !== undefined) ip(f, po.hostIP, [...pp, 'hostIP']);
      const name = f.string(po.name, [...pp, 'name']);
      if (name !== undefined) {
        if (typeof f.intOrString(name, [...pp, 'name'], { allowName: true }) !== 'string') {
          f.report([...pp, 'name'], `Invalid value: "${name}": a port name must contain at least one letter`);
        }
        if (portNames.has(name)) f.report([...pp, 'name'], `Duplicate value: "${name}"`);
        portNames.add(name);
      }
    });
  });
  f.string(spec.nodeName, [...path, 'nodeName']);
  f.stringMap(spec.nodeSelector, [...path, 'nodeSelector'], 'labels');
  f.bool(spec.hostNetwork, [...path, 'hostNetwork']);
  for (const field of ['hostname', 'subdomain']) {
    const s = f.string(spec[field], [...path, field]);
    if (s !== undefined && !isDNS1123Label(s)) f.report([...path, field], `Invalid value: "${s}": must be a lowercase RFC 1123 label`);
  }
  f.string(spec.dnsPolicy, [...path, 'dnsPolicy'], { oneOf: ['ClusterFirst', 'ClusterFirstWithHostNet', 'Default', 'None'] });
  const dnsConfig = f.object(spec.dnsConfig, [...path, 'dnsConfig']);
  if (dnsConfig) {
    (f.array(dnsConfig.nameservers, [...path, 'dnsConfig', 'nameservers']) ?? []).forEach((n, i) => ip(f, n, [...path, 'dnsConfig', 'nameservers', i]));
    (f.array(dnsConfig.searches, [...path, 'dnsConfig', 'searches']) ?? []).forEach((n, i) => f.string(n, [...path, 'dnsConfig', 'searches', i]));
    (f.array(dnsConfig.options, [...path, 'dnsConfig', 'options']) ?? []).forEach((n, i) => {
      const oo = f.object(n, [...path, 'dnsConfig', 'options', i]);
      if (oo) f.string(oo.name, [...path, 'dnsConfig', 'options', i, 'name'], { required: true });
    });
  }
  if (spec.dnsPolicy === 'None' && !dnsConfig) f.report([...path, 'dnsConfig'], 'Required value: must provide `dnsConfig` when `dnsPolicy` is None');
  (f.array(spec.tolerations, [...path, 'tolerations']) ?? []).forEach((t, i) => {
    const to = f.object(t, [...path, 'tolerations', i]);
    if (!to) return;
    f.string(to.operator, [...path, 'tolerations', i, 'operator'], { oneOf: ['Exists', 'Equal'] });
    f.string(to.effect, [...path, 'tolerations', i, 'effect'], { oneOf: ['', 'NoSchedule', 'PreferNoSchedule', 'NoExecute'] });
  });
}

function labelSelector(f: Fields, v: unknown, path: Path, required: boolean): void {
  const sel = f.object(v, path, required);
  if (!sel) return;
  f.stringMap(sel.matchLabels, [...path, 'matchLabels'], 'labels');
  (f.array(sel.matchExpressions, [...path, 'matchExpressions']) ?? []).forEach((e, i) => {
    const ep = [...path, 'matchExpressions', i];
    const eo = f.object(e, ep, true);
    if (!eo) return;
    f.string(eo.key, [...ep, 'key'], { required: true });
    const op = f.string(eo.operator, [...ep, 'operator'], { required: true, oneOf: ['In', 'NotIn', 'Exists', 'DoesNotExist'] });
    const values = f.array(eo.values, [...ep, 'values']) ?? [];
    values.forEach((val, j) => f.string(val, [...ep, 'values', j]));
    if ((op === 'In' || op === 'NotIn') && values.length === 0) f.report([...ep, 'values'], `Required value: must be specified when \`operator\` is '${op}'`);
    if ((op === 'Exists' || op === 'DoesNotExist') && values.length > 0) f.report([...ep, 'values'], `Forbidden: may not be specified when \`operator\` is '${op}'`);
  });
  if (!sel.matchLabels && !sel.matchExpressions && required) f.report(path, 'Invalid value: empty selector is invalid for deployment');
}

function workload(f: Fields, o: Record<string, unknown>, hasReplicas: boolean): void {
  const spec = f.object(o.spec, ['spec'], true);
  if (!spec) return;
  if (hasReplicas) f.int(spec.replicas, ['spec', 'replicas'], { min: 0 });
  labelSelector(f, spec.selector, ['spec', 'selector'], true);
  const template = f.object(spec.template, ['spec', 'template'], true);
  if (!template) return;
  const tmeta = f.object(template.metadata, ['spec', 'template', 'metadata']) ?? {};
  const labels = f.stringMap(tmeta.labels, ['spec', 'template', 'metadata', 'labels'], 'labels') ?? {};
  podSpec(f, template.spec, ['spec', 'template', 'spec']);
  // The apiserver refuses a template its own selector does not select.
  const sel = spec.selector as { matchLabels?: Record<string, string>; matchExpressions?: { key: string; operator: string; values?: string[] }[] } | undefined;
  if (sel && typeof sel === 'object') {
    const ok = Object.entries(sel.matchLabels ?? {}).every(([k, v]) => labels[k] === v) &&
      (Array.isArray(sel.matchExpressions) ? sel.matchExpressions : []).every((e) => {
        const has = e && typeof e.key === 'string' && e.key in labels;
        if (e?.operator === 'In') return has && (e.values ?? []).includes(labels[e.key]);
        if (e?.operator === 'NotIn') return !has || !(e.values ?? []).includes(labels[e.key]);
        if (e?.operator === 'Exists') return has;
        if (e?.operator === 'DoesNotExist') return !has;
        return true;
      });
    if (!ok) f.report(['spec', 'template', 'metadata', 'labels'], '`selector` does not match template `labels`');
  }
}

function service(f: Fields, o: Record<string, unknown>): void {
  const spec = f.object(o.spec, ['spec']) ?? {};
  const type = f.string(spec.type, ['spec', 'type'], { oneOf: ['ClusterIP', 'NodePort', 'LoadBalancer', 'ExternalName'] }) ?? 'ClusterIP';
  const clusterIP = f.string(spec.clusterIP, ['spec', 'clusterIP']);
  if (clusterIP !== undefined && clusterIP !== '' && clusterIP !== 'None') ip(f, clusterIP, ['spec', 'clusterIP']);
  (f.array(spec.clusterIPs, ['spec', 'clusterIPs']) ?? []).forEach((c, i) => {
    if (c !== 'None' && c !== '') ip(f, c, ['spec', 'clusterIPs', i]);
  });
  if (type === 'ExternalName') {
    const en = f.string(spec.externalName, ['spec', 'externalName'], { required: true });
    if (en !== undefined && !/^[A-Za-z0-9]([-A-Za-z0-9_]*[A-Za-z0-9])?(\.[A-Za-z0-9]([-A-Za-z0-9_]*[A-Za-z0-9])?)*\.?$/.test(en)) {
      f.report(['spec', 'externalName'], `Invalid value: "${en}": must be a DNS name`);
    }
  }
  const ports = f.array(spec.ports, ['spec', 'ports']) ?? [];
  if (ports.length === 0 && type !== 'ExternalName' && clusterIP !== 'None') f.report(['spec', 'ports'], 'Required value');
  const seenNames = new Set<string>();
  const seenPorts = new Set<string>();
  ports.forEach((p, i) => {
    const pp = ['spec', 'ports', i];
    const po = f.object(p, pp, true);
    if (!po) return;
    const name = f.string(po.name, [...pp, 'name']);
    if (ports.length > 1 && !name) f.report([...pp, 'name'], 'Required value');
    if (name) {
      if (!isDNS1123Label(name)) f.report([...pp, 'name'], `Invalid value: "${name}": must be a lowercase RFC 1123 label`);
      if (seenNames.has(name)) f.report([...pp, 'name'], `Duplicate value: "${name}"`);
      seenNames.add(name);
    }
    const port = f.int(po.port, [...pp, 'port'], { required: true, min: 1, max: 65535 });
    const protocol = f.string(po.protocol, [...pp, 'protocol'], { oneOf: PROTOCOLS }) ?? 'TCP';
    if (port !== undefined) {
      const key = `${port}/${protocol}`;
      if (seenPorts.has(key)) f.report(pp, `Duplicate value: {"port":${port},"protocol":"${protocol}"}`);
      seenPorts.add(key);
    }
    f.intOrString(po.targetPort, [...pp, 'targetPort'], { allowName: true });
    const nodePort = f.int(po.nodePort, [...pp, 'nodePort'], { min: 1, max: 65535 });
    if (nodePort !== undefined && type === 'ClusterIP') f.report([...pp, 'nodePort'], `Forbidden: may not be used when \`type\` is 'ClusterIP'`);
    f.string(po.appProtocol, [...pp, 'appProtocol']);
  });
  f.stringMap(spec.selector, ['spec', 'selector'], 'labels');
  (f.array(spec.externalIPs, ['spec', 'externalIPs']) ?? []).forEach((e, i) => ip(f, e, ['spec', 'externalIPs', i]));
  if (spec.loadBalancerIP !== undefined && spec.loadBalancerIP !== '') ip(f, spec.loadBalancerIP, ['spec', 'loadBalancerIP']);
  // Space-padded values are allowed, a historical accident of the annotation this field replaced (ValidateService).
  (f.array(spec.loadBalancerSourceRanges, ['spec', 'loadBalancerSourceRanges']) ?? []).forEach((c, i) => cidr(f, typeof c === 'string' ? c.trim() : c, ['spec', 'loadBalancerSourceRanges', i]));
  f.string(spec.sessionAffinity, ['spec', 'sessionAffinity'], { oneOf: ['None', 'ClientIP'] });
  const sac = f.object(spec.sessionAffinityConfig, ['spec', 'sessionAffinityConfig']);
  const cip = sac && f.object(sac.clientIP, ['spec', 'sessionAffinityConfig', 'clientIP']);
  if (cip) f.int(cip.timeoutSeconds, ['spec', 'sessionAffinityConfig', 'clientIP', 'timeoutSeconds'], { min: 1, max: 86400 });
  const etp = f.string(spec.externalTrafficPolicy, ['spec', 'externalTrafficPolicy'], { oneOf: ['Cluster', 'Local'] });
  if (etp && (type === 'ClusterIP' || type === 'ExternalName') && !(Array.isArray(spec.externalIPs) && spec.externalIPs.length)) {
    f.report(['spec', 'externalTrafficPolicy'], `Invalid value: "${etp}": may only be set for externally-accessible services`);
  }
  f.string(spec.internalTrafficPolicy, ['spec', 'internalTrafficPolicy'], { oneOf: ['Cluster', 'Local'] });
  f.string(spec.ipFamilyPolicy, ['spec', 'ipFamilyPolicy'], { oneOf: ['SingleStack', 'PreferDualStack', 'RequireDualStack'] });
  (f.array(spec.ipFamilies, ['spec', 'ipFamilies']) ?? []).forEach((v, i) => f.string(v, ['spec', 'ipFamilies', i], { oneOf: ['IPv4', 'IPv6'] }));
  f.bool(spec.publishNotReadyAddresses, ['spec', 'publishNotReadyAddresses']);
  f.int(spec.healthCheckNodePort, ['spec', 'healthCheckNodePort'], { min: 1, max: 65535 });
  const status = f.object(o.status, ['status']) ?? {};
  const lb = f.object(status.loadBalancer, ['status', 'loadBalancer']) ?? {};
  (f.array(lb.ingress, ['status', 'loadBalancer', 'ingress']) ?? []).forEach((g, i) => {
    const go = f.object(g, ['status', 'loadBalancer', 'ingress', i]);
    if (go?.ip !== undefined) ip(f, go.ip, ['status', 'loadBalancer', 'ingress', i, 'ip']);
    if (go) f.string(go.hostname, ['status', 'loadBalancer', 'ingress', i, 'hostname']);
  });
}

function endpointPort(f: Fields, v: unknown, path: Path): void {
  const po = f.object(v, path, true);
  if (!po) return;
  f.string(po.name, [...path, 'name']);
  f.int(po.port, [...path, 'port'], { min: 1, max: 65535 });
  f.string(po.protocol, [...path, 'protocol'], { oneOf: PROTOCOLS });
  f.string(po.appProtocol, [...path, 'appProtocol']);
}

function ingressBackend(f: Fields, v: unknown, path: Path): void {
  const b = f.object(v, path, true);
  if (!b) return;
  const svc = f.object(b.service, [...path, 'service']);
  const res = f.object(b.resource, [...path, 'resource']);
  if (!svc && !res) {
    f.report(path, 'Required value: one of `service` or `resource` must be specified');
    return;
  }
  if (svc) {
    f.name(svc.name, [...path, 'service', 'name'], 'label');
    const port = f.object(svc.port, [...path, 'service', 'port'], true);
    if (port) {
      const hasNumber = port.number !== undefined;
      const hasName = port.name !== undefined;
      if (hasNumber === hasName) f.report([...path, 'service', 'port'], 'Invalid value: exactly one of `name` or `number` must be specified');
      if (hasNumber) f.int(port.number, [...path, 'service', 'port', 'number'], { min: 1, max: 65535 });
      if (hasName) f.intOrString(port.name, [...path, 'service', 'port', 'name'], { allowName: true });
    }
  }
}

function ingress(f: Fields, o: Record<string, unknown>): void {
  const spec = f.object(o.spec, ['spec']) ?? {};
  f.string(spec.ingressClassName, ['spec', 'ingressClassName']);
  if (spec.defaultBackend !== undefined) ingressBackend(f, spec.defaultBackend, ['spec', 'defaultBackend']);
  (f.array(spec.rules, ['spec', 'rules']) ?? []).forEach((r, i) => {
    const rp = ['spec', 'rules', i];
    const ro = f.object(r, rp, true);
    if (!ro) return;
    const host = f.string(ro.host, [...rp, 'host']);
    if (host !== undefined && host !== '') {
      if (parseIP(host)) f.report([...rp, 'host'], `Invalid value: "${host}": must be a DNS name, not an IP address`);
      else if (!/^(\*\.)?[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$/.test(host)) {
        f.report([...rp, 'host'], `Invalid value: "${host}": a lowercase RFC 1123 subdomain, optionally prefixed by "*."`);
      }
    }
    const http = f.object(ro.http, [...rp, 'http']);
    if (!http) return;
    (f.array(http.paths, [...rp, 'http', 'paths'], true) ?? []).forEach((p, j) => {
      const pp = [...rp, 'http', 'paths', j];
      const po = f.object(p, pp, true);
      if (!po) return;
      const pathType = f.string(po.pathType, [...pp, 'pathType'], { required: true, oneOf: ['Exact', 'Prefix', 'ImplementationSpecific'] });
      const path = f.string(po.path, [...pp, 'path']);
      if ((pathType === 'Exact' || pathType === 'Prefix') && (path === undefined || !path.startsWith('/'))) {
        f.report([...pp, 'path'], `Invalid value: "${path ?? ''}": must be an absolute path`);
      }
      ingressBackend(f, po.backend, [...pp, 'backend']);
    });
  });
  (f.array(spec.tls, ['spec', 'tls']) ?? []).forEach((t, i) => {
    const to = f.object(t, ['spec', 'tls', i]);
    if (!to) return;
    (f.array(to.hosts, ['spec', 'tls', i, 'hosts']) ?? []).forEach((h, j) => f.string(h, ['spec', 'tls', i, 'hosts', j]));
    f.string(to.secretName, ['spec', 'tls', i, 'secretName']);
  });
}

