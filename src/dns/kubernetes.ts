// The kubernetes plugin of CoreDNS (plugin/kubernetes: handler.go, kubernetes.go, parse.go, reverse.go, ns.go,
// with plugin/backend_lookup.go's record building): question + cluster view + options -> reply. Pure: no I/O.
// An ExternalName pointing outside the cluster zone is returned as a CNAME plus a lookup for the caller to
// make through the rest of the chain (CoreDNS's plugin/pkg/upstream), which keeps this core synchronous.
import type { Answer } from 'dns-packet';
import { isIP } from 'node:net';
import type { ClusterView, EndpointAddress } from './view.ts';
import { canonicalIP } from '../cluster/net.ts';
import { RCODE, type DnsQuestion, type Reply } from './message.ts';
import { addressFromReverse, inZone, isReverse, labelsBelow, matchZone } from './names.ts';

export type PodMode = 'disabled' | 'insecure' | 'verified';

export interface KubernetesOptions {
  /** Lowercase, without trailing dot: e.g. cluster.local, in-addr.arpa, ip6.arpa. */
  zones: string[];
  ttl: number;
  pods: PodMode;
  /** undefined: no fallthrough; []: every zone; else the zones whose NXDOMAINs go to the next plugin. */
  fallthrough?: string[];
  /** Exposed namespaces; empty: all. */
  namespaces: string[];
  ignoreEmptyService: boolean;
  endpointPodNames: boolean;
  /** `noendpoints`: no records from endpoints (headless services and endpoint names, endpoint PTRs). */
  noEndpoints?: boolean;
}

export const DEFAULT_KUBERNETES_OPTIONS: Omit<KubernetesOptions, 'zones'> = {
  ttl: 5, pods: 'disabled', namespaces: [], ignoreEmptyService: false, endpointPodNames: false,
};

export interface LookupContext {
  view: ClusterView;
  /** SOA serial: unix time of the last change. */
  serial: number;
  /** Where this server listens: the ns.dns.<zone> address when no Service selects a CoreDNS pod. */
  localIPs: string[];
}

export type KubernetesResult =
  | { next: true }
  | { next: false; reply: Reply; upstream?: { name: string; type: string } };

/** CoreDNS's DNSSchemaVersion. */
export const SCHEMA_VERSION = '1.1.0';

type LookupError = 'noitems' | 'invalid' | 'notexposed';

/** msg.Service: one backend entry; `host` an IP or (ExternalName) a domain, `target` its key as a domain name. */
interface Entry {
  host: string;
  port: number;
  target: string;
}

interface Found {
  entries: Entry[];
  err?: LookupError;
}

interface Request {
  /** Lowercased qname. */
  name: string;
  /** The qname as the client sent it. */
  qname: string;
  type: string;
  /** The matched zone as spelled in the query (CoreDNS keeps its case). */
  zone: string;
}

interface ParsedName {
  podOrSvc: '' | 'svc' | 'pod';
  namespace: string;
  service: string;
  endpoint: string;
  port: string;
  protocol: string;
}

const stripUnderscore = (s: string) => (s.startsWith('_') ? s.slice(1) : s);

/** parse.go parseRequest: the labels left of the zone, read right to left. */
function parseRequest(name: string, zone: string): ParsedName | 'invalid' {
  const r: ParsedName = { podOrSvc: '', namespace: '', service: '', endpoint: '', port: '', protocol: '' };
  const segs = labelsBelow(name, zone.toLowerCase());
  if (segs.length === 0 || (segs.length === 1 && (segs[0] === 'svc' || segs[0] === 'pod'))) return r;
  let last = segs.length - 1;
  if (segs[last] !== 'svc' && segs[last] !== 'pod') return 'invalid';
  r.podOrSvc = segs[last] as 'svc' | 'pod';
  if (--last < 0) return r;
  r.namespace = segs[last];
  if (--last < 0) return r;
  r.service = segs[last];
  if (--last < 0) return r;
  if (last === 0) r.endpoint = segs[0];
  else if (last === 1) {
    r.protocol = stripUnderscore(segs[1]);
    r.port = stripUnderscore(segs[0]);
  } else return 'invalid';
  return r;
}

const eq = (a: string, b: string) => a.toLowerCase() === b.toLowerCase();
const matchPortAndProtocol = (aPort: string, bPort: string, aProto: string, bProto: string) =>
  (aPort === '' || eq(aPort, bPort)) && (aProto === '' || eq(aProto, bProto));

/** kubernetes.go endpointHostname. */
export function endpointHostname(a: EndpointAddress, endpointPodNames: boolean): string {
  if (a.hostname) return a.hostname;
  if (endpointPodNames && a.targetRefName && a.targetRefName.length < 64) return a.targetRefName;
  if (a.ip.includes('.')) return a.ip.replaceAll('.', '-');
  // Since v1.12.3 a trailing "::" no longer leaves a name ending in "-".
  const dashed = a.ip.replaceAll(':', '-');
  return dashed.endsWith('-') ? `${dashed}0` : dashed;
}

const hostType = (host: string): 'A' | 'AAAA' | 'CNAME' => (isIP(host) === 4 ? 'A' : isIP(host) === 6 ? 'AAAA' : 'CNAME');

const fqdnLower = (n: string) => n.replace(/\.$/, '');

export class KubernetesPlugin {
  /** The first non-reverse zone: PTR targets live there. */
  private readonly primaryZone: string;

  constructor(readonly opts: KubernetesOptions) {
    this.primaryZone = opts.zones.find((z) => !isReverse(z)) ?? opts.zones[0] ?? '';
  }

  private exposed(view: ClusterView, ns: string): boolean {
    if (this.opts.namespaces.length && !this.opts.namespaces.includes(ns)) return false;
    return view.namespaces.has(ns);
  }

  private fallsThrough(name: string): boolean {
    const f = this.opts.fallthrough;
    if (!f) return false;
    return f.length === 0 || f.some((z) => inZone(name, z));
  }

  /** handler.go ServeDNS. */
  serve(q: DnsQuestion, ctx: LookupContext): KubernetesResult {
    const name = q.name.toLowerCase();
    const z = matchZone(name, this.opts.zones);
    if (z === undefined) return { next: true };
    const req: Request = { name, qname: q.name, type: q.type, zone: z === '' ? '' : q.name.slice(q.name.length - z.length) };
    let answers: Answer[] = [];
    let additionals: Answer[] = [];
    let err: LookupError | undefined;
    let upstream: { name: string; type: string } | undefined;
    switch (q.type) {
      case 'A':
      case 'AAAA': {
        const r = this.address(req, ctx, q.type, []);
        answers = r.records;
        err = r.err;
        upstream = r.upstream;
        break;
      }
      case 'TXT':
        if (labelsBelow(name, z).join('.') === 'dns-version') {
          answers = [{ name: q.name, type: 'TXT', class: 'IN', ttl: 28800, data: SCHEMA_VERSION }];
        } else err = this.address({ ...req, type: 'A' }, ctx, 'A', []).err;
        break;
      case 'CNAME': {
        const f = this.services(req, ctx);
        err = f.err;
        const first = f.entries[0];
        if (!err && first && hostType(first.host) === 'CNAME') {
          answers = [{ name: q.name, type: 'CNAME', class: 'IN', ttl: this.opts.ttl, data: fqdnLower(first.host) }];
        }
        break;
      }
      case 'PTR': {
        const r = this.ptr(req, ctx);
        answers = r.records;
        err = r.err;
        break;
      }
      case 'SRV': {
        const r = this.srv(req, ctx);
        answers = r.records;
        additionals = r.extra;
        err = r.err;
        break;
      }
      case 'SOA':
        if (name === z) answers = [this.soa(req.zone, ctx)];
        break;
      case 'AXFR':
      case 'IXFR':
        return { next: false, reply: { rcode: RCODE.REFUSED, aa: false, answers: [], authorities: [], additionals: [], plugin: 'kubernetes' } };
      default:
        if (q.type === 'NS' && name === z) {
          const r = this.ns(req, ctx);
          answers = r.records;
          additionals = r.extra;
          break;
        }
        // Types the plugin has no records of (and a non-apex NS): a fake A lookup tells NODATA from NXDOMAIN.
        err = this.address({ ...req, type: 'A' }, ctx, 'A', []).err;
    }
    if (err) {
      if (this.fallsThrough(name)) return { next: true };
      return { next: false, reply: this.negative(RCODE.NXDOMAIN, req, ctx) };
    }
    if (answers.length === 0 && !upstream) return { next: false, reply: this.negative(RCODE.NOERROR, req, ctx) };
    return { next: false, reply: { rcode: RCODE.NOERROR, aa: true, answers, authorities: [], additionals, plugin: 'kubernetes' }, upstream };
  }

  /** plugin.BackendError: the rcode with one SOA in authority. */
  private negative(rcode: number, req: Request, ctx: LookupContext): Reply {
    return { rcode, aa: true, answers: [], authorities: [this.soa(req.zone, ctx)], additionals: [], plugin: 'kubernetes' };
  }

  /** backend_lookup.go SOA. */
  private soa(zone: string, ctx: LookupContext): Answer {
    const ttl = this.opts.ttl;
    const join = (l: string) => (zone ? `${l}.${zone}` : l);
    return {
      name: zone, type: 'SOA', class: 'IN', ttl: Math.min(ttl, 300),
      data: { mname: join('ns.dns'), rname: join('hostmaster'), serial: ctx.serial, refresh: 7200, retry: 1800, expire: 86400, minimum: ttl },
    };
  }

  /** kubernetes.go Services: the entries a name stands for, with the error that makes it NXDOMAIN. */
  private services(req: Request, ctx: LookupContext): Found {
    const zoneLower = req.zone.toLowerCase();
    if (req.type === 'NS') return { entries: this.nsAddrs(req.zone, ctx).map((a) => ({ host: a.ip, port: 0, target: a.name })) };
    if (req.name === (zoneLower ? `ns.dns.${zoneLower}` : 'ns.dns')) {
      const want = req.type === 'AAAA' ? 6 : 4;
      return { entries: this.nsAddrs(req.zone, ctx).filter((a) => isIP(a.ip) === want).map((a) => ({ host: a.ip, port: 0, target: req.qname })) };
    }
    const found = this.records(req, ctx);
    if (req.type !== 'SRV') return found;
    // SRV for ExternalName services is not implemented upstream either.
    return { entries: found.entries.filter((e) => hostType(e.host) !== 'CNAME'), err: found.err };
  }

  /** kubernetes.go Records. */
  private records(req: Request, ctx: LookupContext): Found {
    const r = parseRequest(req.name, req.zone);
    if (r === 'invalid') return { entries: [], err: 'invalid' };
    if (r.podOrSvc === '') return { entries: [] };
    if (isReverse(req.name)) return { entries: [], err: 'noitems' };
    if (!this.exposed(ctx.view, r.namespace)) return { entries: [], err: 'notexposed' };
    return r.podOrSvc === 'pod' ? this.findPods(r, req.zone, ctx) : this.findServices(r, req.zone, ctx);
  }

  private findPods(r: ParsedName, zone: string, ctx: LookupContext): Found {
    if (this.opts.pods === 'disabled') return { entries: [], err: 'noitems' };
    if (r.service === '') return { entries: [] };
    const podname = r.service;
    const dashes = podname.split('-').length - 1;
    const ip = dashes === 3 && !podname.includes('--') ? podname.replaceAll('-', '.') : podname.replaceAll('-', ':');
    const target = `${podname}.${r.namespace}.pod${zone ? `.${zone}` : ''}`;
    if (!isIP(ip)) return { entries: [], err: 'noitems' };
    if (this.opts.pods === 'insecure') return { entries: [{ host: ip, port: 0, target }] };
    const namespaces = ctx.view.podsByIP.get(canonicalIP(ip) ?? ip) ?? [];
    const entries = namespaces.filter((ns) => eq(ns, r.namespace)).map(() => ({ host: ip, port: 0, target }));
    return entries.length ? { entries } : { entries: [], err: 'noitems' };
  }

  private findServices(r: ParsedName, zone: string, ctx: LookupContext): Found {
    if (r.service === '') return { entries: [] };
    const svc = ctx.view.services.get(`${r.namespace}/${r.service}`);
    let err: LookupError | undefined = 'noitems';
    const entries: Entry[] = [];
    if (!svc) return { entries, err };
    const suffix = `${svc.name}.${svc.namespace}.svc${zone ? `.${zone}` : ''}`;
    if (this.opts.ignoreEmptyService && svc.type !== 'ExternalName' && !svc.headless && svc.endpoints.length === 0) return { entries, err };
    if (svc.type === 'ExternalName') {
      if (r.endpoint === '' && hostType(svc.externalName) === 'CNAME' && svc.externalName !== '') {
        entries.push({ host: svc.externalName, port: 0, target: suffix });
        err = undefined;
      }
      return { entries, err };
    }
    if (svc.headless || r.endpoint !== '') {
      for (const a of this.opts.noEndpoints ? [] : svc.endpoints) {
        const epName = endpointHostname(a, this.opts.endpointPodNames);
        if (r.endpoint !== '' && !eq(r.endpoint, epName)) continue;
        for (const p of a.ports) {
          if (!matchPortAndProtocol(r.port, p.name, r.protocol, p.protocol)) continue;
          entries.push({ host: a.ip, port: p.port, target: `${epName}.${suffix}` });
          err = undefined;
        }
      }
      return { entries, err };
    }
    for (const p of svc.ports) {
      if (!matchPortAndProtocol(r.port, p.name, r.protocol, p.protocol)) continue;
      err = undefined;
      for (const ip of svc.clusterIPs) entries.push({ host: ip, port: p.port, target: suffix });
    }
    return { entries, err };
  }

  /** backend_lookup.go A / AAAA, with CNAME chasing inside the zone. */
  private address(req: Request, ctx: LookupContext, type: 'A' | 'AAAA', previous: Answer[]):
    { records: Answer[]; err?: LookupError; upstream?: { name: string; type: string } } {
    const found = this.services({ ...req, type }, ctx);
    if (found.err) return { records: [], err: found.err };
    const records: Answer[] = [];
    let upstream: { name: string; type: string } | undefined;
    const seen = new Set<string>();
    for (const e of found.entries) {
      const what = hostType(e.host);
      if (what === 'CNAME') {
        const target = fqdnLower(e.host);
        const targetLower = target.toLowerCase();
        if (inZone(targetLower, req.name)) continue; // a CNAME to itself or below: a loop
        if (previous.length > 10) continue;
        const cname: Answer = { name: req.qname, type: 'CNAME', class: 'IN', ttl: this.opts.ttl, data: target };
        if (previous.some((p) => p.type === 'CNAME' && p.name.toLowerCase() === req.name && String(p.data).toLowerCase() === targetLower)) continue;
        const zoneLower = req.zone.toLowerCase();
        if (inZone(targetLower, zoneLower)) {
          const next = this.address({ name: targetLower, qname: target, type, zone: req.zone }, ctx, type, [...previous, cname]);
          if (!next.err && next.records.length) records.push(cname, ...next.records);
          if (next.upstream) upstream = next.upstream;
          continue;
        }
        records.push(cname);
        upstream = { name: target, type };
        continue;
      }
      if (what !== type || seen.has(e.host)) continue;
      seen.add(e.host);
      records.push({ name: req.qname, type, class: 'IN', ttl: this.opts.ttl, data: e.host });
    }
    return { records, upstream };
  }

  /** backend_lookup.go SRV: priority 0, weight floor(100/N) over every entry, glue in additional. */
  private srv(req: Request, ctx: LookupContext): { records: Answer[]; extra: Answer[]; err?: LookupError } {
    const found = this.services(req, ctx);
    if (found.err) return { records: [], extra: [], err: found.err };
    const n = found.entries.length;
    const weight = Math.max(1, Math.floor(100 / n));
    const records: Answer[] = [];
    const extra: Answer[] = [];
    const dup = new Set<string>();
    for (const e of found.entries) {
      if (e.port === -1) continue;
      const what = hostType(e.host);
      if (what === 'CNAME') continue;
      const srvKey = `${e.target}\0\0${e.port}`;
      if (!dup.has(srvKey)) {
        dup.add(srvKey);
        records.push({ name: req.qname, type: 'SRV', class: 'IN', ttl: this.opts.ttl, data: { priority: 0, weight, port: e.port, target: e.target } });
      }
      const glueKey = `${e.target}\0${e.host}\0`;
      if (!dup.has(glueKey)) {
        dup.add(glueKey);
        extra.push({ name: e.target, type: what, class: 'IN', ttl: this.opts.ttl, data: e.host });
      }
    }
    return { records, extra };
  }

  /** reverse.go Reverse + serviceRecordForIP. */
  private ptr(req: Request, ctx: LookupContext): { records: Answer[]; err?: LookupError } {
    const ip = addressFromReverse(req.name);
    if (!ip) return { records: [], err: this.records(req, ctx).err };
    const v = ctx.view;
    const shown = (ns: string) => this.opts.namespaces.length === 0 || this.exposed(v, ns);
    const zone = this.primaryZone;
    const rec = (target: string): Answer => ({ name: req.qname, type: 'PTR', class: 'IN', ttl: this.opts.ttl, data: target });
    for (const s of v.servicesByIP.get(ip) ?? []) {
      if (!shown(s.namespace)) continue;
      return { records: [rec(`${s.name}.${s.namespace}.svc.${zone}`)] };
    }
    const records: Answer[] = [];
    const seen = new Set<string>();
    for (const { service, address } of this.opts.noEndpoints ? [] : v.endpointsByIP.get(ip) ?? []) {
      if (!shown(service.namespace)) continue;
      const target = `${endpointHostname(address, this.opts.endpointPodNames)}.${service.name}.${service.namespace}.svc.${zone}`;
      if (seen.has(target)) continue;
      seen.add(target);
      records.push(rec(target));
    }
    return records.length ? { records } : { records: [], err: 'noitems' };
  }

  /** ns.go nsAddrs: the Services selecting a CoreDNS pod, else ns.dns.<zone> at the server's own address. */
  private nsAddrs(zone: string, ctx: LookupContext): { name: string; ip: string }[] {
    const out: { name: string; ip: string }[] = [];
    const seen = new Set<string>();
    const add = (name: string, ip: string) => {
      const k = `${name}\0${ip}`;
      if (!seen.has(k)) {
        seen.add(k);
        out.push({ name, ip });
      }
    };
    const z = zone ? `.${zone}` : '';
    for (const ip of ctx.view.dnsPodIPs) {
      for (const { service } of ctx.view.endpointsByIP.get(ip) ?? []) {
        const svcName = `${service.name}.${service.namespace}.svc${z}`;
        if (service.headless) {
          for (const a of service.endpoints) add(`${endpointHostname(a, this.opts.endpointPodNames)}.${svcName}`, a.ip);
        } else for (const c of service.clusterIPs) add(svcName, c);
      }
    }
    if (out.length === 0) for (const ip of ctx.localIPs) add(`ns.dns${z}`, ip);
    return out;
  }

  /** backend_lookup.go NS: the apex NS records, their addresses as glue. */
  private ns(req: Request, ctx: LookupContext): { records: Answer[]; extra: Answer[] } {
    const records: Answer[] = [];
    const extra: Answer[] = [];
    const seen = new Set<string>();
    for (const a of this.nsAddrs(req.zone, ctx)) {
      extra.push({ name: a.name, type: isIP(a.ip) === 6 ? 'AAAA' : 'A', class: 'IN', ttl: this.opts.ttl, data: a.ip });
      if (seen.has(a.name)) continue;
      seen.add(a.name);
      records.push({ name: req.qname, type: 'NS', class: 'IN', ttl: this.opts.ttl, data: a.name });
    }
    return { records, extra };
  }
}
