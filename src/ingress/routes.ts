// Route compilation: the claimed Ingresses of the store -> one routing table, the way ingress-nginx builds its
// nginx servers and locations (internal/ingress/controller/controller.go createServers / createUpstreams /
// mergeAlternativeBackends), and route(): a request's Host and path -> the location that serves it.
// Pure: no I/O, no clock; a table is rebuilt from scratch whenever an Ingress, IngressClass or Secret changes.
import type { IngressBackend } from 'kubernetes-types/networking/v1.js';
import type { Ingress, IngressClass, KubeObject } from '../cluster/objects.ts';
import { parseAnnotations, type CanaryConfig, type LocationConfig } from './annotations.ts';
import { claims } from './class.ts';
import { exactMatch, implementationSpecificMatch, prefixMatch, type PathType } from './paths.ts';

export interface IngressRef {
  namespace: string;
  name: string;
}

/** A Service port in the Ingress's namespace, by number or name. */
export interface Backend {
  namespace: string;
  name: string;
  port: number | string;
}

export interface Canary {
  ingress: IngressRef;
  backend: Backend;
  policy: CanaryConfig;
}

export interface Location {
  ingress: IngressRef;
  /** The path as written; "/" for an empty ImplementationSpecific path (ingress-nginx's default). */
  path: string;
  pathType: PathType;
  backend: Backend;
  config: LocationConfig;
  /** Set on every location of a server in regex mode: `~* "^path"`. */
  regex?: RegExp;
  canary?: Canary;
  /** The root location made from an Ingress defaultBackend (ingress-nginx's IsDefBackend). */
  isDefaultBackend?: boolean;
}

export interface TLSRef {
  namespace: string;
  /** Absent: the controller's default certificate. */
  secretName?: string;
  /** The hosts the tls entry lists (may include wildcards). */
  hosts: string[];
}

export interface Server {
  /** '' is nginx's catch-all server "_" (host-less rules and the catch-all default backend). */
  host: string;
  /** In matching order. */
  locations: Location[];
  /** What unmatched paths get; undefined: the controller's own 404. */
  fallback?: Location;
  /** Any location on the host uses use-regex or rewrite-target: every path becomes a case-insensitive regex. */
  regex: boolean;
  tls?: TLSRef;
}

export interface RoutingTable {
  servers: Map<string, Server>;
  /** "*.foo.com" servers by their suffix "foo.com". */
  wildcards: Map<string, Server>;
  catchAll: Server;
  /** Every tls entry of every claimed Ingress (for certificate selection by SNI). */
  tls: TLSRef[];
  /** Claimed Ingresses, oldest first. */
  ingresses: IngressRef[];
  /** What a controller would log: conflicts resolved, annotations ignored, canaries without a primary. */
  notes: string[];
}

export interface RouteResult {
  server: Server;
  /** undefined: nothing matched and no defaultBackend applies: the controller answers 404. */
  location?: Location;
}

type IngressObj = Ingress & KubeObject;

const refOf = (ing: IngressObj): IngressRef => ({ namespace: ing.metadata.namespace ?? 'default', name: ing.metadata.name });
const keyOf = (r: IngressRef) => `${r.namespace}/${r.name}`;

/** ingress-nginx's sortIngressSlice: oldest first, ties by namespace/name. */
function byAge(a: IngressObj, b: IngressObj): number {
  const ta = a.metadata.creationTimestamp ?? '';
  const tb = b.metadata.creationTimestamp ?? '';
  if (ta !== tb) return ta < tb ? -1 : 1;
  const ka = keyOf(refOf(a));
  const kb = keyOf(refOf(b));
  return ka < kb ? -1 : ka > kb ? 1 : 0;
}

/**
 * The Service behind an Ingress backend. Resource backends (e.g. a StorageBucket) are skipped, as ingress-nginx
 * skips "non-service backends": their paths do not exist, so requests get the host's default backend.
 */
function backendOf(namespace: string, b: IngressBackend, owner: string, notes: string[]): Backend | undefined {
  if (b.resource) {
    notes.push(`Ingress ${owner}: resource backend ${b.resource.kind} ${b.resource.name} is not supported; its path is skipped`);
    return undefined;
  }
  const port = b.service?.port?.number ?? b.service?.port?.name;
  if (!b.service || port === undefined) return undefined;
  return { namespace, name: b.service.name, port };
}

export function describeBackend(b: Backend): string {
  return `${b.namespace}/${b.name}:${b.port}`;
}

/** ingress-nginx's upstream name: namespace-service-port ("default-web-80"). */
export function upstreamName(b: Backend): string {
  return `${b.namespace}-${b.name}-${b.port}`;
}

const sameBackend = (a: Backend, b: Backend) => upstreamName(a) === upstreamName(b);

export interface CompileInput {
  ingresses: readonly IngressObj[];
  classes: readonly (IngressClass & KubeObject)[];
}

export function compile(input: CompileInput): RoutingTable {
  const notes: string[] = [];
  const claimed = input.ingresses.filter((i) => claims(i, input.classes)).sort(byAge);
  const catchAll: Server = { host: '', locations: [], regex: false };
  const servers = new Map<string, Server>();
  const tls: TLSRef[] = [];
  const configs = new Map<IngressObj, LocationConfig>();
  for (const ing of claimed) {
    const problems: { annotation: string; message: string }[] = [];
    configs.set(ing, parseAnnotations(ing, problems));
    for (const p of problems) notes.push(`Ingress ${keyOf(refOf(ing))}: annotation ${p.annotation}: ${p.message}`);
  }
  const primaries = claimed.filter((i) => !configs.get(i)!.canary);
  const canaries = claimed.filter((i) => configs.get(i)!.canary);

  const defaultLocation = (ing: IngressObj): Location | undefined => {
    const b = ing.spec?.defaultBackend && backendOf(refOf(ing).namespace, ing.spec.defaultBackend, keyOf(refOf(ing)), notes);
    if (!b) return undefined;
    return { ingress: refOf(ing), path: '/', pathType: 'Prefix', backend: b, config: configs.get(ing)!, isDefaultBackend: true };
  };

  // The catch-all server's root: the oldest Ingress that has a defaultBackend and no rules.
  for (const ing of primaries) {
    if ((ing.spec?.rules ?? []).length > 0) continue;
    const loc = defaultLocation(ing);
    if (!loc) continue;
    if (catchAll.fallback) notes.push(`Ingress ${keyOf(refOf(ing))}: defaultBackend ignored, the catch-all server already uses the one of Ingress ${keyOf(catchAll.fallback.ingress)}`);
    else catchAll.fallback = loc;
  }

  const serverFor = (host: string, ing: IngressObj): Server => {
    if (host === '') return catchAll;
    let s = servers.get(host);
    if (!s) {
      // The Ingress that creates a host gives the host's root location: its defaultBackend, else the controller's.
      s = { host, locations: [], regex: false, fallback: defaultLocation(ing) };
      servers.set(host, s);
    }
    return s;
  };

  for (const ing of primaries) {
    const ref = refOf(ing);
    const cfg = configs.get(ing)!;
    for (const t of ing.spec?.tls ?? []) {
      tls.push({ namespace: ref.namespace, secretName: t.secretName || undefined, hosts: (t.hosts ?? []).map((h) => h.toLowerCase()) });
    }
    for (const rule of ing.spec?.rules ?? []) {
      const server = serverFor((rule.host ?? '').toLowerCase(), ing);
      for (const p of rule.http?.paths ?? []) {
        const backend = backendOf(ref.namespace, p.backend, keyOf(ref), notes);
        if (!backend) continue;
        const pathType = (p.pathType ?? 'ImplementationSpecific') as PathType;
        const path = p.path || '/';
        const dup = server.locations.find((l) => l.path === path && l.pathType === pathType);
        if (dup) {
          // "If the same path for the same host is defined in more than one Ingress, the oldest rule wins."
          if (keyOf(dup.ingress) !== keyOf(ref)) notes.push(`Ingress ${keyOf(ref)}: ${pathType} path ${path} on host "${server.host || '*'}" is already served by Ingress ${keyOf(dup.ingress)}; the oldest wins`);
          continue;
        }
        server.locations.push({ ingress: ref, path, pathType, backend, config: cfg });
      }
    }
  }

  for (const ing of canaries) mergeCanary(ing, configs.get(ing)!, servers, catchAll, notes);

  const all = [catchAll, ...servers.values()];
  for (const s of all) finishServer(s, notes);
  for (const s of servers.values()) s.tls = tlsFor(s.host, tls);

  const wildcards = new Map<string, Server>();
  for (const [host, s] of servers) if (host.startsWith('*.')) wildcards.set(host.slice(2), s);
  return { servers, wildcards, catchAll, tls, ingresses: claimed.map(refOf), notes };
}

/** A canary Ingress adds no routes of its own: it joins the primary location with the same host, path and pathType. */
function mergeCanary(ing: IngressObj, cfg: LocationConfig, servers: Map<string, Server>, catchAll: Server, notes: string[]): void {
  const ref = refOf(ing);
  for (const rule of ing.spec?.rules ?? []) {
    const host = (rule.host ?? '').toLowerCase();
    const server = host === '' ? catchAll : servers.get(host);
    for (const p of rule.http?.paths ?? []) {
      const backend = backendOf(ref.namespace, p.backend, keyOf(ref), notes);
      if (!backend) continue;
      const path = p.path || '/';
      const pathType = (p.pathType ?? 'ImplementationSpecific') as PathType;
      const loc = server?.locations.find((l) => l.path === path && l.pathType === pathType);
      if (!loc) {
        notes.push(`Ingress ${keyOf(ref)}: canary for host "${host || '*'}" path ${path} has no primary Ingress to join; ignored`);
      } else if (sameBackend(loc.backend, backend)) {
        notes.push(`Ingress ${keyOf(ref)}: canary backend ${describeBackend(backend)} is the primary backend of Ingress ${keyOf(loc.ingress)}; ignored`);
      } else if (loc.canary) {
        notes.push(`Ingress ${keyOf(ref)}: host "${host || '*'}" path ${path} already has the canary of Ingress ${keyOf(loc.canary.ingress)}; ignored`);
      } else {
        loc.canary = { ingress: ref, backend, policy: cfg.canary! };
      }
    }
  }
}

/**
 * Orders a server's locations for matching. In regex mode, as ingress-nginx writes them: each path becomes
 * `~* "^path"` (Exact included), a Prefix path not ending in "/" also gets its "path/" twin, and locations are
 * sorted by descending path length (ties: descending path) with the first match winning.
 */
function finishServer(s: Server, notes: string[]): void {
  s.regex = s.locations.some((l) => l.config.useRegex || l.config.rewriteTarget !== undefined);
  if (!s.regex) return;
  const out: Location[] = [];
  for (const l of s.locations) {
    const forms = l.pathType === 'Prefix' && !l.path.endsWith('/') ? [l.path + '/', l.path] : [l.path];
    for (const form of forms) {
      try {
        out.push({ ...l, regex: new RegExp('^' + form, 'i'), path: form });
      } catch (e) {
        notes.push(`Ingress ${keyOf(l.ingress)}: path ${l.path} is not a valid regular expression (${(e as Error).message}); ignored`);
      }
    }
  }
  out.sort((a, b) => (a.path < b.path ? 1 : a.path > b.path ? -1 : 0));
  out.sort((a, b) => b.path.length - a.path.length);
  s.locations = out;
}

/** The tls entry covering a host: listed exactly, or by a wildcard of one label. */
function tlsFor(host: string, entries: TLSRef[]): TLSRef | undefined {
  return entries.find((t) => t.hosts.includes(host)) ?? entries.find((t) => t.hosts.some((h) => hostMatchesPattern(h, host)));
}

/** "*.foo.com" covers exactly one label before "foo.com". */
export function hostMatchesPattern(pattern: string, host: string): boolean {
  if (pattern === host) return true;
  if (!pattern.startsWith('*.')) return false;
  const dot = host.indexOf('.');
  return dot > 0 && host.slice(dot + 1) === pattern.slice(2) && /^[\w-]+$/.test(host.slice(0, dot));
}

/** The Host header's name: port stripped ("[::1]:80" too), lowercased, a trailing dot dropped. */
export function hostName(hostHeader: string | undefined): string {
  let h = (hostHeader ?? '').trim().toLowerCase();
  if (h.startsWith('[')) {
    const end = h.indexOf(']');
    h = end > 0 ? h.slice(1, end) : h;
  } else {
    const colon = h.indexOf(':');
    if (colon >= 0 && h.indexOf(':', colon + 1) < 0) h = h.slice(0, colon);
  }
  return h.endsWith('.') ? h.slice(0, -1) : h;
}

/** The server for a Host: exact name, then a single-label wildcard, then the catch-all. */
export function serverFor(table: RoutingTable, host: string): Server {
  const exact = table.servers.get(host);
  if (exact) return exact;
  const dot = host.indexOf('.');
  if (dot > 0 && /^[\w-]+$/.test(host.slice(0, dot))) {
    const w = table.wildcards.get(host.slice(dot + 1));
    if (w) return w;
  }
  return table.catchAll;
}

/** The location for a normalized request path on a server; nginx picks one location and never falls through. */
export function matchLocation(server: Server, path: string): Location | undefined {
  if (server.regex) {
    for (const l of server.locations) if (l.regex!.test(path)) return l;
    return server.fallback;
  }
  let best: Location | undefined;
  let bestRank = -1;
  for (const l of server.locations) {
    let ok: boolean;
    let rank: number;
    // Rank: an Exact match beats every prefix; then the longer path; at equal length Prefix before
    // ImplementationSpecific; at equal rank the older location (earlier in the list) stays.
    switch (l.pathType) {
      case 'Exact':
        ok = exactMatch(l.path, path);
        rank = 4_000_000;
        break;
      case 'Prefix':
        ok = prefixMatch(l.path, path);
        rank = l.path.length * 2 + 1;
        break;
      default:
        ok = implementationSpecificMatch(l.path, path);
        rank = l.path.length * 2;
    }
    if (ok && rank > bestRank) {
      best = l;
      bestRank = rank;
    }
  }
  return best ?? server.fallback;
}

export function route(table: RoutingTable, hostHeader: string | undefined, path: string): RouteResult {
  const server = serverFor(table, hostName(hostHeader));
  return { server, location: matchLocation(server, path) };
}
