// A Corefile's server blocks as plugin chains. A query goes to the block with the longest matching zone and
// runs the plugins in plugin.cfg's order — cache, rewrite, hosts, kubernetes, forward — whatever order the
// Corefile lists them in. Plugins kdp does not implement are reported by name and skipped.
import dnsPacket from 'dns-packet';
import type { Answer } from 'dns-packet';
import { parseCorefile, type Directive, type ServerBlock } from './corefile.ts';
import { DEFAULT_KUBERNETES_OPTIONS, KubernetesPlugin, type KubernetesOptions, type PodMode } from './kubernetes.ts';
import { RCODE, RCODE_NAMES, type DnsQuestion, type Reply } from './message.ts';
import { inZone, matchZone, normalizeName } from './names.ts';
import type { LiveView } from './view.ts';
import type { DnsMetrics } from './metrics.ts';
import type { Exchange } from './forward.ts';
import {
  PluginError, cacheTTL, forwardMatches, hostsLookup, parseCache, parseForward, parseHosts, parseRewrite, responseKind, revertNames, rewriteName, setTTL,
  type CacheConfig, type ForwardConfig, type HostsConfig, type NameRule,
} from './plugins.ts';

export interface ChainDeps {
  live: LiveView;
  /** Where the server listens: ns.dns.<zone> when no Service selects a CoreDNS pod. */
  localIPs: () => string[];
  /** The host's /etc/resolv.conf, for `forward . /etc/resolv.conf`. */
  resolvConf: () => string;
  readFile: (path: string) => string;
  exchange: Exchange;
  metrics?: DnsMetrics;
  now?: () => number;
}

export interface QueryMeta {
  proto: 'udp' | 'tcp';
  /** The client's DO bit, which the cache keys on. */
  dnssecOK: boolean;
}

export interface Resolution {
  reply: Reply;
  /** The server block zone that answered, as the metrics' zone label spells it ('.' or 'cluster.local.'). */
  zone: string;
  /** Whether the same question gets the same reply until the cluster view changes (the server's answer cache). */
  stable: boolean;
}

/** What `health`, `ready` and `prometheus` asked for, and whether `log` is on. */
export interface ServingSettings {
  health?: string;
  ready?: string;
  prometheus?: string;
  log: boolean;
}

/** Plugins that change nothing kdp models: accepted silently. */
const NO_OPS = new Set(['loop', 'reload', 'loadbalance', 'errors', 'debug', 'cancel', 'bufsize', 'any', 'minimal', 'nsid', 'timeouts']);

interface Block {
  zones: string[];
  label: string;
  cache?: CacheConfig;
  cacheStore: Map<string, { reply: Reply; expires: number; stored: number; kind: 'success' | 'denial' }>;
  rewrites: NameRule[];
  hosts?: HostsConfig;
  kubernetes?: KubernetesPlugin;
  forward?: ForwardConfig;
  inflight: number;
  plugins: string[];
}

export interface ChainProblem {
  line: number;
  message: string;
  severity: 'error' | 'warning';
}

const zoneLabel = (z: string) => (z === '' ? '.' : `${z}.`);

export class DnsChain {
  readonly blocks: Block[] = [];
  readonly problems: ChainProblem[] = [];
  readonly settings: ServingSettings = { log: false };
  private readonly now: () => number;

  constructor(corefile: string, private readonly deps: ChainDeps, readonly source = 'Corefile') {
    this.now = deps.now ?? Date.now;
    let blocks: ServerBlock[];
    try {
      blocks = parseCorefile(corefile, source);
    } catch (e) {
      const line = (e as { line?: number }).line ?? 1;
      this.problems.push({ line, message: (e as Error).message.replace(/^[^:]*:\d+: /, ''), severity: 'error' });
      return;
    }
    const port = blocks[0]?.port;
    for (const sb of blocks) {
      if (sb.port !== port) {
        this.problems.push({ line: sb.line, message: `server block ${sb.zones.map(zoneLabel).join(' ')} is on port ${sb.port}; kdp serves one DNS port and uses the blocks of port ${port}`, severity: 'warning' });
        continue;
      }
      this.blocks.push(this.block(sb));
    }
    for (const b of this.blocks) deps.metrics?.pluginsEnabled(b.label, b.plugins);
  }

  /** `source:line: message` for every problem found in the Corefile. */
  formatProblems(): string[] {
    return this.problems.map((p) => `${this.source}:${p.line}: ${p.severity}: ${p.message}`);
  }

  private block(sb: ServerBlock): Block {
    const b: Block = { zones: sb.zones, label: zoneLabel(sb.zones[0] ?? ''), cacheStore: new Map(), rewrites: [], inflight: 0, plugins: [] };
    const warn = (line: number) => (m: string) => this.problems.push({ line, message: m, severity: 'warning' });
    for (const d of sb.directives) {
      try {
        this.directive(b, d, sb.zones, warn(d.line));
        b.plugins.push(d.name);
      } catch (e) {
        if (!(e instanceof PluginError)) throw e;
        this.problems.push({ line: e.line, message: e.message, severity: 'error' });
      }
    }
    return b;
  }

  private directive(b: Block, d: Directive, zones: string[], warn: (m: string) => void): void {
    switch (d.name) {
      case 'kubernetes':
        b.kubernetes = new KubernetesPlugin(kubernetesOptions(d, zones, (line, message, severity) => this.problems.push({ line, message, severity })));
        return;
      case 'forward':
        if (b.forward) throw new PluginError(d.line, 'forward: only one forward per server block');
        b.forward = parseForward(d, this.deps.resolvConf);
        return;
      case 'cache':
        b.cache = parseCache(d, zones);
        return;
      case 'hosts':
        b.hosts = parseHosts(d, zones, this.deps.readFile, warn);
        return;
      case 'rewrite':
        b.rewrites.push(parseRewrite(d));
        return;
      case 'health':
        this.settings.health = d.args[0] ?? ':8080';
        return;
      case 'ready':
        this.settings.ready = d.args[0] ?? ':8181';
        return;
      case 'prometheus':
        this.settings.prometheus = d.args[0] ?? 'localhost:9153';
        return;
      case 'log':
        this.settings.log = true;
        return;
      default:
        if (!NO_OPS.has(d.name)) warn(`plugin "${d.name}" is not implemented by kdp; ignored`);
    }
  }

  /** Bumps on every change of the cluster view: stable answers are valid for one generation. */
  generation(): number {
    return this.deps.live.generation;
  }

  async resolve(q: DnsQuestion, meta: QueryMeta, depth = 0): Promise<Resolution> {
    const name = q.name.toLowerCase();
    let best: Block | undefined;
    let bestLen = -1;
    for (const b of this.blocks) {
      const z = matchZone(name, b.zones);
      if (z !== undefined && z.length > bestLen) {
        best = b;
        bestLen = z.length;
      }
    }
    // No server block for the zone: the server itself refuses (core/dnsserver/server.go).
    if (!best) return { reply: { rcode: RCODE.REFUSED, aa: false, answers: [], authorities: [], additionals: [], plugin: '' }, zone: 'dropped', stable: true };
    const r = await this.runCache(best, q, meta, depth);
    return { ...r, zone: best.label };
  }

  private async runCache(b: Block, q: DnsQuestion, meta: QueryMeta, depth: number): Promise<Omit<Resolution, 'zone'>> {
    const c = b.cache;
    const name = q.name.toLowerCase();
    if (!c || !c.zones.some((z) => inZone(name, z))) return this.runRest(b, q, meta, depth);
    const zones = c.zones.map(zoneLabel).join(' ');
    const key = `${name}\0${q.type}\0${q.class}\0${meta.dnssecOK ? 1 : 0}`;
    const hit = b.cacheStore.get(key);
    const now = this.now();
    if (hit && hit.expires > now) {
      this.deps.metrics?.cacheLookup(zones, hit.kind);
      const left = Math.max(0, Math.floor((hit.expires - now) / 1000));
      // Served from cache: AA set (item.go: old glibc clients want it), TTLs counted down, the client's spelling.
      const reply = setTTL({ ...hit.reply, aa: true }, left);
      const respell = (l: Answer[]) => l.map((a) => (a.name.toLowerCase() === name ? ({ ...a, name: q.name } as Answer) : a));
      return { reply: { ...reply, answers: respell(reply.answers), plugin: 'cache' }, stable: false };
    }
    if (hit) b.cacheStore.delete(key);
    this.deps.metrics?.cacheLookup(zones, undefined);
    const res = await this.runRest(b, q, meta, depth);
    if (c.keepTTL) return res;
    const ttl = cacheTTL(c, res.reply);
    if (ttl === undefined) return res;
    const reply = setTTL(res.reply, ttl);
    const kind = responseKind(res.reply) as 'success' | 'denial';
    const disabled = (kind === 'success' ? c.disabledSuccess : c.disabledDenial).some((z) => inZone(name, z));
    // Answers about the cluster are not stored (as with kubeadm's `disable success|denial <zone>`), so a
    // change in the cluster shows in the very next answer; everything else is cached for its TTL.
    if (!disabled && !res.stable && ttl > 0) {
      if (b.cacheStore.size >= c.capacity) b.cacheStore.delete(b.cacheStore.keys().next().value!);
      b.cacheStore.set(key, { reply, expires: now + ttl * 1000, stored: now, kind });
      let n = 0;
      for (const e of b.cacheStore.values()) if (e.kind === kind) n++;
      this.deps.metrics?.cacheSize(zones, kind, n);
    }
    return { reply, stable: res.stable };
  }

  private async runRest(b: Block, q: DnsQuestion, meta: QueryMeta, depth: number): Promise<Omit<Resolution, 'zone'>> {
    const { name, fired } = rewriteName(q.name.toLowerCase(), b.rewrites);
    const asked = fired.length ? { ...q, name } : q;
    const res = await this.serve(b, asked, meta, depth);
    if (fired.length) {
      const reply = structuredClone(res.reply);
      revertNames(reply, fired);
      return { ...res, reply };
    }
    return res;
  }

  private async serve(b: Block, q: DnsQuestion, meta: QueryMeta, depth: number): Promise<Omit<Resolution, 'zone'>> {
    if (b.hosts) {
      const r = hostsLookup(b.hosts, q);
      if (r !== 'next') return { reply: r, stable: true };
    }
    if (b.kubernetes) {
      const v = this.deps.live;
      const r = b.kubernetes.serve(q, { view: v.current(), serial: v.serial, localIPs: this.deps.localIPs() });
      if (!r.next) {
        if (!r.upstream) return { reply: r.reply, stable: true };
        // An ExternalName outside the zone: resolved through this server again (plugin/pkg/upstream).
        const reply = { ...r.reply, answers: [...r.reply.answers] };
        if (depth < 8) {
          const up = await this.resolve({ name: r.upstream.name, type: r.upstream.type, class: 'IN' }, meta, depth + 1);
          reply.answers.push(...up.reply.answers);
          if (up.reply.tc) reply.tc = true;
        }
        return { reply, stable: false };
      }
    }
    if (b.forward && forwardMatches(b.forward, q.name.toLowerCase())) return { reply: await this.forward(b, b.forward, q, meta), stable: false };
    // Nothing in the chain answers the name: kdp refuses, as when no server block matches.
    return { reply: { rcode: RCODE.REFUSED, aa: false, answers: [], authorities: [], additionals: [], plugin: '' }, stable: true };
  }

  private async forward(b: Block, f: ForwardConfig, q: DnsQuestion, meta: QueryMeta): Promise<Reply> {
    if (f.maxConcurrent && b.inflight >= f.maxConcurrent) return { rcode: RCODE.REFUSED, aa: false, answers: [], authorities: [], additionals: [], plugin: 'forward' };
    const proto = f.forceTCP ? 'tcp' : f.preferUDP ? 'udp' : meta.proto;
    const query = dnsPacket.encode({
      type: 'query', id: Math.floor(Math.random() * 65536), flags: dnsPacket.RECURSION_DESIRED,
      questions: [{ name: q.name, type: q.type as never, class: q.class as never }],
      additionals: [{ name: '.', type: 'OPT', udpPayloadSize: 1232, flags: meta.dnssecOK ? dnsPacket.DNSSEC_OK : 0 } as never],
    });
    // Upstreams in random order (policy random), the next one tried on error.
    const order = [...f.to].sort(() => Math.random() - 0.5);
    b.inflight++;
    try {
      for (const to of order) {
        const started = this.now();
        try {
          let buf = await this.deps.exchange(to, query, proto, 2000);
          let m = dnsPacket.decode(buf);
          if (m.flag_tc && proto === 'udp' && meta.proto === 'tcp') {
            buf = await this.deps.exchange(to, query, 'tcp', 2000);
            m = dnsPacket.decode(buf);
          }
          const rcode = (m.flags ?? 0) & 0xf;
          this.deps.metrics?.proxied(`${to.host}:${to.port}`, RCODE_NAMES[rcode] ?? String(rcode), (this.now() - started) / 1000);
          return {
            rcode, aa: !!m.flag_aa, ra: !!m.flag_ra, tc: !!m.flag_tc,
            answers: m.answers ?? [], authorities: m.authorities ?? [], additionals: (m.additionals ?? []).filter((a) => a.type !== 'OPT'),
            plugin: 'forward',
          };
        } catch {
          continue;
        }
      }
    } finally {
      b.inflight--;
    }
    return { rcode: RCODE.SERVFAIL, aa: false, answers: [], authorities: [], additionals: [], plugin: 'forward' };
  }
}

/** Every problem of the kubernetes block is reported, not only the first. */
function kubernetesOptions(d: Directive, blockZones: string[], report: (line: number, m: string, severity: 'error' | 'warning') => void): KubernetesOptions {
  const zones = d.args.length ? d.args.map((z) => normalizeName(z.toLowerCase())) : blockZones;
  const o: KubernetesOptions = { ...DEFAULT_KUBERNETES_OPTIONS, zones };
  for (const b of d.block) {
    try {
      kubernetesOption(o, b, (m) => report(b.line, m, 'warning'));
    } catch (e) {
      if (!(e instanceof PluginError)) throw e;
      report(e.line, e.message, 'error');
    }
  }
  return o;
}

function kubernetesOption(o: KubernetesOptions, b: Directive, warn: (m: string) => void): void {
  switch (b.name) {
    case 'pods':
      if (!['disabled', 'insecure', 'verified'].includes(b.args[0] ?? '')) throw new PluginError(b.line, `kubernetes pods: want disabled, insecure or verified, got "${b.args[0] ?? ''}"`);
      o.pods = b.args[0] as PodMode;
      break;
    case 'ttl': {
      const t = Number(b.args[0]);
      if (!Number.isInteger(t) || t < 0 || t > 3600) throw new PluginError(b.line, `kubernetes ttl: want 0..3600, got "${b.args[0] ?? ''}"`);
      o.ttl = t;
      break;
    }
    case 'fallthrough':
      o.fallthrough = b.args.map((z) => normalizeName(z.toLowerCase()));
      break;
    case 'namespaces':
      o.namespaces = b.args;
      break;
    case 'ignore':
      if (b.args[0] !== 'empty_service') throw new PluginError(b.line, `kubernetes ignore: want empty_service, got "${b.args[0] ?? ''}"`);
      o.ignoreEmptyService = true;
      break;
    case 'endpoint_pod_names':
      o.endpointPodNames = true;
      break;
    case 'noendpoints':
      o.noEndpoints = true;
      break;
    case 'endpoint': case 'tls': case 'kubeconfig': case 'startup_timeout': case 'apiserver_qps': case 'apiserver_burst': case 'apiserver_max_inflight':
      // Connection settings: kdp's kubernetes plugin reads the model, not an apiserver.
      break;
    default:
      warn(`kubernetes: option "${b.name}" is not implemented by kdp; ignored`);
  }
}
