// CoreDNS's Prometheus series (plugin/metrics/vars, plugin/cache/metrics.go, plugin/forward/metrics.go) with
// their names, labels and buckets, on a registry of this server's own. Label children are looked up once per
// label set and kept, so the per-query cost is a map lookup and an increment.
import { Counter, Gauge, Histogram, Registry } from 'prom-client';

const DURATION_BUCKETS = Array.from({ length: 16 }, (_, i) => 0.00025 * 2 ** i);
const SIZE_BUCKETS = [0, 100, 200, 300, 400, 511, 1023, 2047, 4095, 8291, 16e3, 32e3, 48e3, 64e3];

export const DNS_TYPES = new Set(['A', 'AAAA', 'MX', 'SOA', 'CNAME', 'PTR', 'TXT', 'NS', 'SRV', 'DS', 'DNSKEY', 'RRSIG', 'NSEC', 'NSEC3', 'HTTPS', 'IXFR', 'AXFR', 'ANY']);

export interface RequestLabels {
  zone: string;
  proto: 'udp' | 'tcp';
  family: '1' | '2';
  type: string;
}

/** One query's bookkeeping, resolved to label children once and reused (the answer cache keeps one). */
export interface Recorder {
  record(requestBytes: number, responseBytes: number, seconds: number): void;
}

export class DnsMetrics {
  readonly registry = new Registry();
  private readonly requests: Counter;
  private readonly responses: Counter;
  private readonly duration: Histogram;
  private readonly requestSize: Histogram;
  private readonly responseSize: Histogram;
  private readonly doRequests: Counter;
  readonly panics: Counter;
  private readonly cacheHits: Counter;
  private readonly cacheMisses: Counter;
  private readonly cacheRequests: Counter;
  private readonly cacheEntries: Gauge;
  private readonly proxyDuration: Histogram;
  private readonly pluginEnabled: Gauge;
  private readonly recorders = new Map<string, Recorder>();

  constructor(readonly server: string) {
    const registers = [this.registry];
    new Gauge({ name: 'coredns_build_info', help: 'A metric with a constant \'1\' value labeled by version, revision, and goversion from which CoreDNS was built.', labelNames: ['version', 'revision', 'goversion'], registers })
      .labels('1.11.3', 'kdp', 'node' + process.versions.node).set(1);
    this.panics = new Counter({ name: 'coredns_panics_total', help: 'A metrics that counts the number of panics.', registers });
    this.requests = new Counter({ name: 'coredns_dns_requests_total', help: 'Counter of DNS requests made per zone, protocol and family.', labelNames: ['server', 'zone', 'view', 'proto', 'family', 'type'], registers });
    this.responses = new Counter({ name: 'coredns_dns_responses_total', help: 'Counter of response status codes.', labelNames: ['server', 'zone', 'view', 'rcode', 'plugin'], registers });
    this.duration = new Histogram({ name: 'coredns_dns_request_duration_seconds', help: 'Histogram of the time (in seconds) each request took per zone.', labelNames: ['server', 'zone', 'view', 'type'], buckets: DURATION_BUCKETS, registers });
    this.requestSize = new Histogram({ name: 'coredns_dns_request_size_bytes', help: 'Size of the EDNS0 UDP buffer in bytes (64K for TCP) per zone and protocol.', labelNames: ['server', 'zone', 'view', 'proto'], buckets: SIZE_BUCKETS, registers });
    this.responseSize = new Histogram({ name: 'coredns_dns_response_size_bytes', help: 'Size of the returned response in bytes.', labelNames: ['server', 'zone', 'view', 'proto'], buckets: SIZE_BUCKETS, registers });
    this.doRequests = new Counter({ name: 'coredns_dns_do_requests_total', help: 'Counter of DNS requests with DO bit set per zone.', labelNames: ['server', 'view', 'zone'], registers });
    this.cacheHits = new Counter({ name: 'coredns_cache_hits_total', help: 'The count of cache hits.', labelNames: ['server', 'type', 'zones', 'view'], registers });
    this.cacheMisses = new Counter({ name: 'coredns_cache_misses_total', help: 'The count of cache misses. Deprecated, derive misses from cache hits/requests counters.', labelNames: ['server', 'zones', 'view'], registers });
    this.cacheRequests = new Counter({ name: 'coredns_cache_requests_total', help: 'The count of cache requests.', labelNames: ['server', 'zones', 'view'], registers });
    this.cacheEntries = new Gauge({ name: 'coredns_cache_entries', help: 'The number of elements in the cache.', labelNames: ['server', 'type', 'zones', 'view'], registers });
    this.proxyDuration = new Histogram({ name: 'coredns_proxy_request_duration_seconds', help: 'Histogram of the time each request took.', labelNames: ['proxy_name', 'to', 'rcode'], buckets: DURATION_BUCKETS, registers });
    this.pluginEnabled = new Gauge({ name: 'coredns_plugin_enabled', help: 'A metric that indicates whether a plugin is enabled on per server and zone basis.', labelNames: ['server', 'zone', 'view', 'name'], registers });
  }

  pluginsEnabled(zone: string, names: readonly string[]): void {
    for (const n of names) this.pluginEnabled.labels(this.server, zone, '', n).set(1);
  }

  /** The recorder for one label set: the requests, responses, duration and size series of a query. */
  recorder(l: RequestLabels, rcode: string, plugin: string, doBit: boolean): Recorder {
    const type = DNS_TYPES.has(l.type) ? l.type : 'other';
    const key = `${l.zone}|${l.proto}|${l.family}|${type}|${rcode}|${plugin}|${doBit ? 1 : 0}`;
    let r = this.recorders.get(key);
    if (r) return r;
    const req = this.requests.labels(this.server, l.zone, '', l.proto, l.family, type);
    const res = this.responses.labels(this.server, l.zone, '', rcode, plugin);
    const dur = this.duration.labels(this.server, l.zone, '', type);
    const reqSize = this.requestSize.labels(this.server, l.zone, '', l.proto);
    const resSize = this.responseSize.labels(this.server, l.zone, '', l.proto);
    const doReq = doBit ? this.doRequests.labels(this.server, '', l.zone) : undefined;
    r = {
      record(requestBytes, responseBytes, seconds) {
        req.inc();
        doReq?.inc();
        res.inc();
        dur.observe(seconds);
        reqSize.observe(requestBytes);
        resSize.observe(responseBytes);
      },
    };
    this.recorders.set(key, r);
    return r;
  }

  cacheLookup(zones: string, hit: 'success' | 'denial' | undefined): void {
    this.cacheRequests.labels(this.server, zones, '').inc();
    if (hit) this.cacheHits.labels(this.server, hit, zones, '').inc();
    else this.cacheMisses.labels(this.server, zones, '').inc();
  }

  cacheSize(zones: string, type: 'success' | 'denial', n: number): void {
    this.cacheEntries.labels(this.server, type, zones, '').set(n);
  }

  proxied(to: string, rcode: string, seconds: number): void {
    this.proxyDuration.labels('forward', to, rcode).observe(seconds);
  }

  text(): Promise<string> {
    return this.registry.metrics();
  }
}
