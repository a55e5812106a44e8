// The ingress-nginx annotations kdp honours (nginx.ingress.kubernetes.io/...), parsed once per Ingress into
// the settings of the locations it creates. Values are strings in the API; a value ingress-nginx would reject
// is reported and the annotation ignored, as ingress-nginx logs and ignores it.
import { BlockList, isIP } from 'node:net';
import type { Ingress } from '../cluster/objects.ts';

export const PREFIX = 'nginx.ingress.kubernetes.io/';

/** ingress-nginx's defaults (configmap proxy-connect-timeout 5, proxy-read-timeout 60). */
export const DEFAULT_CONNECT_TIMEOUT_S = 5;
export const DEFAULT_READ_TIMEOUT_S = 60;

export interface CanaryConfig {
  header?: string;
  headerValue?: string;
  cookie?: string;
  /** Requests out of weightTotal sent to the canary. */
  weight: number;
  weightTotal: number;
}

export interface LocationConfig {
  rewriteTarget?: string;
  /** temporal-redirect (302) or permanent-redirect (301), with their -code; no proxying. */
  redirect?: { url: string; code: number };
  /** app-root: "/" answers 302 to this path. */
  appRoot?: string;
  /** proxy-body-size in bytes (nginx client_max_body_size, default 1m); 0: no limit. */
  maxBodyBytes: number;
  /** upstream-vhost: the Host header sent upstream. */
  upstreamVhost?: string;
  useRegex: boolean;
  sslRedirect: boolean;
  forceSslRedirect: boolean;
  connectTimeoutMs: number;
  readTimeoutMs: number;
  /** Addresses allowed in; undefined allows everyone. */
  allow?: { list: BlockList; text: string };
  /** denylist-source-range: addresses refused before the allow list is looked at. */
  deny?: { list: BlockList; text: string };
  /** x-forwarded-prefix: sent upstream as X-Forwarded-Prefix. */
  forwardedPrefix?: string;
  canary?: CanaryConfig;
}

export interface AnnotationProblem {
  annotation: string;
  message: string;
}

function bool(v: string | undefined, dflt: boolean): boolean {
  if (v === undefined) return dflt;
  return v.trim().toLowerCase() === 'true';
}

export function parseAnnotations(ing: Ingress, problems: AnnotationProblem[] = []): LocationConfig {
  const a = ing.metadata?.annotations ?? {};
  const get = (k: string): string | undefined => a[PREFIX + k];
  const seconds = (k: string, dflt: number): number => {
    const v = get(k);
    if (v === undefined) return dflt * 1000;
    // ingress-nginx takes unitless seconds; "5s" is what people write and nginx accepts, so accept it too.
    const m = /^\s*(\d+)(s)?\s*$/.exec(v);
    if (!m || Number(m[1]) <= 0) {
      problems.push({ annotation: PREFIX + k, message: `invalid value "${v}": want a positive number of seconds` });
      return dflt * 1000;
    }
    return Number(m[1]) * 1000;
  };
  const redirectCode = (k: string, dflt: number): number => {
    const v = get(k);
    if (v === undefined) return dflt;
    const n = Number(v);
    if (Number.isInteger(n) && n >= 300 && n <= 308) return n;
    problems.push({ annotation: PREFIX + k, message: `invalid value "${v}": want a redirect status from 300 to 308` });
    return dflt;
  };
  const temporal = get('temporal-redirect');
  const permanent = get('permanent-redirect');
  const cfg: LocationConfig = {
    rewriteTarget: get('rewrite-target'),
    // ingress-nginx's redirect parser reads temporal-redirect first.
    redirect: temporal ? { url: temporal, code: redirectCode('temporal-redirect-code', 302) } : permanent ? { url: permanent, code: redirectCode('permanent-redirect-code', 301) } : undefined,
    appRoot: get('app-root') || undefined,
    maxBodyBytes: bodySize(get('proxy-body-size'), problems),
    upstreamVhost: get('upstream-vhost') || undefined,
    useRegex: bool(get('use-regex'), false),
    sslRedirect: bool(get('ssl-redirect'), true),
    forceSslRedirect: bool(get('force-ssl-redirect'), false),
    connectTimeoutMs: seconds('proxy-connect-timeout', DEFAULT_CONNECT_TIMEOUT_S),
    readTimeoutMs: seconds('proxy-read-timeout', DEFAULT_READ_TIMEOUT_S),
  };
  const allow = get('whitelist-source-range') ?? get('allowlist-source-range');
  if (allow !== undefined) cfg.allow = sourceRange(allow, 'whitelist-source-range', problems);
  const deny = get('denylist-source-range');
  if (deny !== undefined) cfg.deny = sourceRange(deny, 'denylist-source-range', problems);
  const prefix = get('x-forwarded-prefix');
  if (prefix) cfg.forwardedPrefix = prefix;
  if (bool(get('canary'), false)) {
    const weight = Number(get('canary-weight') ?? '0');
    const weightTotal = Number(get('canary-weight-total') ?? '100');
    cfg.canary = {
      header: get('canary-by-header') || undefined,
      headerValue: get('canary-by-header-value') || undefined,
      cookie: get('canary-by-cookie') || undefined,
      weight: Number.isFinite(weight) && weight > 0 ? weight : 0,
      // balancer.lua only honours a total above 100.
      weightTotal: Number.isFinite(weightTotal) && weightTotal > 100 ? weightTotal : 100,
    };
  }
  return cfg;
}

const DEFAULT_BODY_SIZE = 1 << 20;

/** An nginx size: "8m", "512k", "1g", "1024" (bytes); "0" lifts the limit. */
function bodySize(v: string | undefined, problems: AnnotationProblem[]): number {
  if (v === undefined) return DEFAULT_BODY_SIZE;
  const m = /^\s*(\d+)([kKmMgG]?)\s*$/.exec(v);
  if (!m) {
    problems.push({ annotation: PREFIX + 'proxy-body-size', message: `invalid value "${v}": want a size such as 8m, 512k or 0` });
    return DEFAULT_BODY_SIZE;
  }
  const unit = { '': 1, k: 1 << 10, m: 1 << 20, g: 1 << 30 }[m[2].toLowerCase() as '' | 'k' | 'm' | 'g'];
  return Number(m[1]) * unit;
}

/** "10.0.0.0/24, 172.10.0.1": CIDRs or single addresses, IPv4 or IPv6. */
function sourceRange(text: string, annotation: string, problems: AnnotationProblem[]): { list: BlockList; text: string } {
  const list = new BlockList();
  for (const raw of text.split(',')) {
    const item = raw.trim();
    if (!item) continue;
    const [addr, bits] = item.split('/');
    const family = isIP(addr);
    const prefix = bits === undefined ? (family === 6 ? 128 : 32) : Number(bits);
    if (!family || !Number.isInteger(prefix) || prefix < 0 || prefix > (family === 6 ? 128 : 32)) {
      problems.push({ annotation: PREFIX + annotation, message: `invalid CIDR "${item}"` });
      continue;
    }
    list.addSubnet(addr, prefix, family === 6 ? 'ipv6' : 'ipv4');
  }
  return { list, text };
}

/**
 * Whether the client may use a location, in nginx.tmpl's order: the deny list's `deny` lines, then the allow
 * list's `allow` lines and `deny all`. IPv4-mapped IPv6 clients (::ffff:a.b.c.d) are checked as IPv4.
 */
export function allowed(cfg: LocationConfig, clientIP: string): boolean {
  if (!cfg.allow && !cfg.deny) return true;
  const v4 = clientIP.startsWith('::ffff:') && isIP(clientIP.slice(7)) === 4 ? clientIP.slice(7) : clientIP;
  const family = isIP(v4);
  if (!family) return false;
  const type = family === 6 ? 'ipv6' : 'ipv4';
  if (cfg.deny?.list.check(v4, type)) return false;
  return !cfg.allow || cfg.allow.list.check(v4, type);
}
