// CoreDNS plugins other than kubernetes, configured from Corefile directives: rewrite (name), hosts, cache
// (its TTL rule and its store) and forward's upstream choice. Each reads its directive the way the plugin's
// setup.go does; the chain (chain.ts) runs them in plugin.cfg's order.
import { isIP } from 'node:net';
import type { Answer } from 'dns-packet';
import type { Directive } from './corefile.ts';
import { addressFromReverse, inZone, normalizeName } from './names.ts';
import { RCODE, type DnsQuestion, type Reply } from './message.ts';
import { parseUpstream, resolvConfNameservers, type Upstream } from './forward.ts';
import { canonicalIP } from '../cluster/net.ts';

export class PluginError extends Error {
  constructor(readonly line: number, message: string) {
    super(message);
  }
}

const zoneArg = (z: string) => normalizeName(z.toLowerCase());

// ---- rewrite -------------------------------------------------------------------------------------------

type MatchType = 'exact' | 'prefix' | 'suffix' | 'substring' | 'regex';

export interface NameRule {
  stop: boolean;
  match: MatchType;
  from: string;
  to: string;
  regex?: RegExp;
  /** `answer auto`, or implied by exact rules: owner names in the reply are mapped back. */
  answerAuto: boolean;
  answerName?: { regex: RegExp; to: string };
}

const goTemplate = (s: string) => s.replace(/\{(\d+)\}/g, '$$$1');

export function parseRewrite(d: Directive): NameRule {
  const a = [...d.args];
  let stop = true;
  if (a[0] === 'continue' || a[0] === 'stop') stop = a.shift() === 'stop';
  const field = a.shift();
  if (field !== 'name') throw new PluginError(d.line, `rewrite ${field ?? ''}: kdp implements only "rewrite name" rules`);
  let match: MatchType = 'exact';
  if (a.length > 2 && ['exact', 'prefix', 'suffix', 'substring', 'regex'].includes(a[0])) match = a.shift() as MatchType;
  const [rawFrom, rawTo, ...rest] = a;
  if (rawFrom === undefined || rawTo === undefined) throw new PluginError(d.line, 'rewrite name: want FROM TO');
  const norm = (s: string) => (match === 'regex' ? s : normalizeName(s.toLowerCase()));
  const rule: NameRule = { stop, match, from: norm(rawFrom), to: match === 'regex' ? goTemplate(rawTo) : norm(rawTo), answerAuto: match === 'exact' };
  if (match === 'regex') {
    try {
      rule.regex = new RegExp(rawFrom.replace(/\\\.\$$|\.\$$/, '$'), 'i');
    } catch {
      throw new PluginError(d.line, `rewrite name regex: invalid expression ${rawFrom}`);
    }
    rule.to = normalizeName(rule.to);
  }
  const answer = [...rest, ...d.block.flatMap((b) => [b.name, ...b.args])];
  for (let i = 0; i < answer.length; i++) {
    if (answer[i] !== 'answer') continue;
    if (answer[i + 1] === 'auto') rule.answerAuto = true;
    else if (answer[i + 1] === 'name' && answer[i + 2] && answer[i + 3]) {
      rule.answerName = { regex: new RegExp(answer[i + 2].replace(/\\\.\$$|\.\$$/, '$'), 'i'), to: normalizeName(goTemplate(answer[i + 3])) };
    }
  }
  return rule;
}

/** Applies the rules to a lowercase name; returns the new name and the rules that fired. */
export function rewriteName(name: string, rules: readonly NameRule[]): { name: string; fired: NameRule[] } {
  let n = name;
  const fired: NameRule[] = [];
  for (const r of rules) {
    let out: string | undefined;
    switch (r.match) {
      case 'exact': if (n === r.from) out = r.to; break;
      case 'prefix': if (n.startsWith(r.from)) out = r.to + n.slice(r.from.length); break;
      case 'suffix': if (n.endsWith(r.from)) out = n.slice(0, n.length - r.from.length) + r.to; break;
      case 'substring': if (n.includes(r.from)) out = n.replaceAll(r.from, r.to); break;
      case 'regex': if (r.regex!.test(n)) out = n.replace(r.regex!, r.to).toLowerCase(); break;
    }
    if (out === undefined) continue;
    n = out;
    fired.push(r);
    if (r.stop) break;
  }
  return { name: n, fired };
}

/** The response half: owner names mapped back to what the client asked. */
export function revertNames(reply: Reply, fired: readonly NameRule[]): void {
  const map = (owner: string): string => {
    let n = owner;
    for (const r of [...fired].reverse()) {
      const l = n.toLowerCase();
      if (r.answerName) n = l.replace(r.answerName.regex, r.answerName.to);
      else if (r.answerAuto) {
        if (r.match === 'exact' && l === r.to) n = r.from;
        else if (r.match === 'suffix' && l.endsWith(r.to)) n = l.slice(0, l.length - r.to.length) + r.from;
        else if (r.match === 'prefix' && l.startsWith(r.to)) n = r.from + l.slice(r.to.length);
        else if (r.match === 'substring' && l.includes(r.to)) n = l.replaceAll(r.to, r.from);
      }
    }
    return n;
  };
  for (const list of [reply.answers, reply.authorities, reply.additionals]) {
    for (let i = 0; i < list.length; i++) list[i] = { ...list[i], name: map(list[i].name) } as Answer;
  }
}

// ---- hosts ---------------------------------------------------------------------------------------------

export interface HostsConfig {
  zones: string[];
  ttl: number;
  reverse: boolean;
  fallthrough?: string[];
  /** lowercase name -> addresses, in file order */
  byName: Map<string, string[]>;
  /** canonical address -> names */
  byAddr: Map<string, string[]>;
}

function addHostsLine(h: HostsConfig, fields: string[]): void {
  const [addr, ...names] = fields;
  const ip = addr && canonicalIP(addr.split('%')[0]);
  if (!ip) return;
  for (const raw of names) {
    const n = normalizeName(raw.toLowerCase());
    const l = h.byName.get(n) ?? [];
    if (!l.includes(ip)) l.push(ip);
    h.byName.set(n, l);
    const r = h.byAddr.get(ip) ?? [];
    if (!r.includes(n)) r.push(n);
    h.byAddr.set(ip, r);
  }
}

export function parseHosts(d: Directive, blockZones: string[], readFile: (path: string) => string, warn: (m: string) => void): HostsConfig {
  const [file = '/etc/hosts', ...zones] = d.args;
  const h: HostsConfig = { zones: zones.length ? zones.map(zoneArg) : blockZones, ttl: 3600, reverse: true, byName: new Map(), byAddr: new Map() };
  for (const b of d.block) {
    if (b.name === 'ttl') h.ttl = Number(b.args[0] ?? 3600);
    else if (b.name === 'no_reverse') h.reverse = false;
    else if (b.name === 'fallthrough') h.fallthrough = b.args.map(zoneArg);
    else if (b.name === 'reload') continue;
    else if (isIP(b.name.split('%')[0])) addHostsLine(h, [b.name, ...b.args]);
    else throw new PluginError(b.line, `hosts: unknown property "${b.name}"`);
  }
  let text = '';
  try {
    text = readFile(file);
  } catch {
    warn(`hosts: ${file} cannot be read; only the inline entries are served`);
  }
  for (const line of text.split('\n')) addHostsLine(h, line.replace(/#.*/, '').trim().split(/\s+/).filter(Boolean));
  return h;
}

/** hosts.go ServeDNS: 'next' when the name is not ours. */
export function hostsLookup(h: HostsConfig, q: DnsQuestion): Reply | 'next' {
  const name = q.name.toLowerCase();
  const inZones = h.zones.some((z) => inZone(name, z));
  if (!inZones && q.type !== 'PTR') return 'next';
  const answers: Answer[] = [];
  if (q.type === 'PTR') {
    const ip = addressFromReverse(name);
    const names = h.reverse && ip ? h.byAddr.get(ip) ?? [] : [];
    if (names.length === 0) return 'next';
    for (const n of names) answers.push({ name: q.name, type: 'PTR', class: 'IN', ttl: h.ttl, data: n });
  } else if (q.type === 'A' || q.type === 'AAAA') {
    const want = q.type === 'A' ? 4 : 6;
    for (const ip of h.byName.get(name) ?? []) if (isIP(ip) === want) answers.push({ name: q.name, type: q.type, class: 'IN', ttl: h.ttl, data: ip });
  }
  if (answers.length === 0 && !h.byName.has(name)) {
    if (h.fallthrough && (h.fallthrough.length === 0 || h.fallthrough.some((z) => inZone(name, z)))) return 'next';
    // No SOA to make an NXDOMAIN with: upstream answers SERVFAIL.
    return { rcode: RCODE.SERVFAIL, aa: false, answers: [], authorities: [], additionals: [], plugin: 'hosts' };
  }
  return { rcode: RCODE.NOERROR, aa: true, answers, authorities: [], additionals: [], plugin: 'hosts' };
}

// ---- cache ---------------------------------------------------------------------------------------------

export interface CacheConfig {
  zones: string[];
  successTTL: number;
  successMin: number;
  denialTTL: number;
  denialMin: number;
  capacity: number;
  keepTTL: boolean;
  disabledSuccess: string[];
  disabledDenial: string[];
}

export function parseCache(d: Directive, blockZones: string[]): CacheConfig {
  const c: CacheConfig = { zones: blockZones, successTTL: 3600, successMin: 5, denialTTL: 1800, denialMin: 5, capacity: 9984, keepTTL: false, disabledSuccess: [], disabledDenial: [] };
  const args = [...d.args];
  if (args.length && /^\d+$/.test(args[0])) {
    const ttl = Number(args.shift());
    c.successTTL = ttl;
    c.denialTTL = ttl;
  }
  if (args.length) c.zones = args.map(zoneArg);
  for (const b of d.block) {
    const n = (i: number, dflt: number) => (b.args[i] !== undefined ? Number(b.args[i]) : dflt);
    switch (b.name) {
      case 'success':
        c.capacity = n(0, c.capacity);
        c.successTTL = n(1, c.successTTL);
        c.successMin = n(2, c.successMin);
        break;
      case 'denial':
        c.denialTTL = n(1, c.denialTTL);
        c.denialMin = n(2, c.denialMin);
        break;
      case 'disable': {
        const zones = b.args.slice(1).map(zoneArg);
        const list = zones.length ? zones : c.zones;
        if (b.args[0] === 'success') c.disabledSuccess.push(...list);
        else if (b.args[0] === 'denial') c.disabledDenial.push(...list);
        else throw new PluginError(b.line, `cache disable: want success or denial, got "${b.args[0] ?? ''}"`);
        break;
      }
      case 'keepttl':
        c.keepTTL = true;
        break;
      case 'prefetch':
      case 'serve_stale':
      case 'servfail':
        break;
      default:
        throw new PluginError(b.line, `cache: unknown property "${b.name}"`);
    }
  }
  return c;
}

export type ResponseKind = 'success' | 'denial' | 'error' | 'other';

export function responseKind(r: Reply): ResponseKind {
  if (r.rcode === RCODE.NXDOMAIN) return 'denial';
  if (r.rcode === RCODE.NOERROR) return r.answers.length ? 'success' : 'denial';
  if (r.rcode === RCODE.SERVFAIL) return 'error';
  return 'other';
}

/**
 * cache.go WriteMsg: every record of the reply gets one TTL, the smallest in it (and the SOA minimum for
 * negative answers) clamped to the cache's [min, max] for that kind. Done even when storing is disabled.
 */
export function cacheTTL(c: CacheConfig, r: Reply): number | undefined {
  const kind = responseKind(r);
  if (kind !== 'success' && kind !== 'denial') return undefined;
  const all = [...r.answers, ...r.authorities, ...r.additionals].filter((a) => a.type !== 'OPT') as { ttl?: number; type: string; data?: unknown }[];
  let min = all.length ? 3600 : 5;
  for (const a of all) {
    min = Math.min(min, a.ttl ?? 0);
    if (kind === 'denial' && a.type === 'SOA') min = Math.min(min, (a.data as { minimum?: number }).minimum ?? min);
  }
  const [lo, hi] = kind === 'success' ? [c.successMin, c.successTTL] : [c.denialMin, c.denialTTL];
  return Math.min(hi, Math.max(lo, min));
}

export function setTTL(r: Reply, ttl: number): Reply {
  const set = (l: Answer[]) => l.map((a) => (a.type === 'OPT' ? a : ({ ...a, ttl } as Answer)));
  return { ...r, answers: set(r.answers), authorities: set(r.authorities), additionals: set(r.additionals) };
}

// ---- forward -------------------------------------------------------------------------------------------

export interface ForwardConfig {
  from: string;
  to: Upstream[];
  except: string[];
  forceTCP: boolean;
  preferUDP: boolean;
  maxConcurrent: number;
  /** Named in the Corefile as written (for metrics' `to` label). */
  names: string[];
}

export function parseForward(d: Directive, resolvConf: () => string): ForwardConfig {
  const [from, ...targets] = d.args;
  if (!from || targets.length === 0) throw new PluginError(d.line, 'forward: want FROM TO...');
  const to: Upstream[] = [];
  for (const t of targets) {
    if (t.startsWith('/')) {
      let text = '';
      try {
        text = resolvConf();
      } catch {
        throw new PluginError(d.line, `forward: ${t} cannot be read`);
      }
      const servers = resolvConfNameservers(text);
      if (servers.length === 0) throw new PluginError(d.line, `forward: no nameservers in ${t}`);
      to.push(...servers);
      continue;
    }
    if (/^tls:\/\//.test(t)) throw new PluginError(d.line, `forward: ${t}: DNS over TLS is not implemented by kdp`);
    const u = parseUpstream(t);
    if (!u) throw new PluginError(d.line, `forward: "${t}" is not an address`);
    to.push(u);
  }
  const f: ForwardConfig = { from: zoneArg(from), to, except: [], forceTCP: false, preferUDP: false, maxConcurrent: 0, names: to.map((u) => `${u.host}:${u.port}`) };
  for (const b of d.block) {
    switch (b.name) {
      case 'except': f.except.push(...b.args.map(zoneArg)); break;
      case 'force_tcp': f.forceTCP = true; break;
      case 'prefer_udp': f.preferUDP = true; break;
      case 'max_concurrent': f.maxConcurrent = Number(b.args[0] ?? 0); break;
      case 'policy': case 'health_check': case 'max_fails': case 'expire': case 'tls': case 'tls_servername': case 'next': case 'failfast_all_unhealthy_upstreams':
        break;
      default:
        throw new PluginError(b.line, `forward: unknown property "${b.name}"`);
    }
  }
  return f;
}

export function forwardMatches(f: ForwardConfig, name: string): boolean {
  return inZone(name, f.from) && !f.except.some((z) => inZone(name, z));
}
