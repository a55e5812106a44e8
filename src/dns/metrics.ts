// CoreDNS's Prometheus series (plugin/metrics/vars, plugin/cache/metrics.go, plugin/forward/metrics.go) with
// their names, labels and buckets, on a registry of this server's own. The per-query series are plain counts per
// label set, summed into prom-client's text at scrape time: prom-client's own children hash their labels on
// every increment, which cost more than answering the query.
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

/** One query's bookkeeping, for one label set; the answer cache keeps one with each encoded answer. */
export interface Recorder {
  record(requestBytes: number, responseBytes: number, seconds: number): void;
}

/** Plain counts per label set: the query path only adds numbers; labels are joined at scrape time. */
class QueryCounts implements Recorder {
  count = 0;
  readonly duration = new Histo(DURATION_BUCKETS);
  readonly requestSize = new Histo(SIZE_BUCKETS);
  readonly responseSize = new Histo(SIZE_BUCKETS);

  constructor(readonly labels: RequestLabels & { rcode: string; plugin: string; do: boolean }) {}

  record(requestBytes: number, responseBytes: number, seconds: number): void {
    this.count++;
    this.duration.observe(seconds);
    this.requestSize.observe(requestBytes);
    this.responseSize.observe(responseBytes);
  }
}

class Histo {
  readonly counts: Float64Array;
  sum = 0;
  n = 0;

  constructor(readonly bounds: readonly number[]) {
    this.counts = new Float64Array(bounds.length);
  }

  observe(v: number): void {
    this.sum += v;
    this.n++;
    const b = this.bounds;
    for (let i = 0; i < b.length; i++) {
      if (v <= b[i]) {
        this.counts[i]++;
        return;
      }
    }
  }

  add(o: Histo): void {
    this.sum += o.sum;
    this.n += o.n;
    for (let i = 0; i < this.counts.length; i++) this.counts[i] += o.counts[i];
  }
}

type Labels = Record<string, string>;
interface MetricValue { metricName?: string; labels: Labels; value: number }

/** A series computed at scrape time from the query counts, rendered by prom-client's registry. */
function derived(registry: Registry, name: string, help: string, type: 'counter' | 'histogram', values: () => MetricValue[]): void {
  registry.registerMetric({ name, help, type, aggregator: 'sum', get: async () => ({ name, help, type, aggregator: 'sum', values: values() }) } as never);
}

function histogramValues(name: string, groups: Map<string, { labels: Labels; h: Histo }>): MetricValue[] {
  const out: MetricValue[] = [];
  for (const { labels, h } of groups.values()) {
    let cum = 0;
    h.bounds.forEach((le, i) => {
      cum += h.counts[i];
      out.push({ metricName: `${name}_bucket`, labels: { ...labels, le: String(le) }, value: cum });
    });
    out.push({ metricName: `${name}_bucket`, labels: { ...labels, le: '+Inf' }, value: h.n });
    out.push({ metricName: `${name}_sum`, labels, value: h.sum });
    out.push({ metricName: `${name}_count`, labels, value: h.n });
  }
  return out;
}

export class DnsMetrics {
  readonly registry = new Registry();
  readonly panics: Counter;
  private readonly cacheHits: Counter;
  private readonly cacheMisses: Counter;
  private readonly cacheRequests: Counter;
  private readonly cacheEntries: Gauge;
  private readonly proxyDuration: Histogram;
  private readonly pluginEnabled: Gauge;
  private readonly recorders = new Map<string, QueryCounts>();

  constructor(readonly server: string) {
    const registers = [this.registry];
    new Gauge({ name: 'coredns_build_info', help: 'A metric with a constant \'1\' value labeled by version, revision, and goversion from which CoreDNS was built.', labelNames: ['version', 'revision', 'goversion'], registers })
      .labels('1.11.3', 'kdp', 'node' + process.versions.node).set(1);
    this.panics = new Counter({ name: 'coredns_panics_total', help: 'A metrics that counts the number of panics.', registers });
    const sum = (key: (c: QueryCounts) => Labels) => {
      const m = new Map<string, { labels: Labels; value: number }>();
      for (const c of this.recorders.values()) {
        const labels = key(c);
        const k = Object.values(labels).join('\0');
        const e = m.get(k);
        if (e) e.value += c.count;
        else m.set(k, { labels, value: c.count });
      }
      return [...m.values()];
    };
    const histo = (name: string, pick: (c: QueryCounts) => Histo, key: (c: QueryCounts) => Labels) => {
      const m = new Map<string, { labels: Labels; h: Histo }>();
      for (const c of this.recorders.values()) {
        const labels = key(c);
        const k = Object.values(labels).join('\0');
        let e = m.get(k);
        if (!e) m.set(k, (e = { labels, h: new Histo(pick(c).bounds) }));
        e.h.add(pick(c));
      }
      return histogramValues(name, m);
    };
    const srv = this.server;
    derived(this.registry, 'coredns_dns_requests_total', 'Counter of DNS requests made per zone, protocol and family.', 'counter',
      () => sum((c) => ({ server: srv, zone: c.labels.zone, view: '', proto: c.labels.proto, family: c.labels.family, type: c.labels.type })));
    derived(this.registry, 'coredns_dns_responses_total', 'Counter of response status codes.', 'counter',
      () => sum((c) => ({ server: srv, zone: c.labels.zone, view: '', rcode: c.labels.rcode, plugin: c.labels.plugin })));
    derived(this.registry, 'coredns_dns_do_requests_total', 'Counter of DNS requests with DO bit set per zone.', 'counter',
      () => sum((c) => ({ server: srv, view: '', zone: c.labels.zone, do: String(c.labels.do) })).filter((v) => v.labels.do === 'true').map((v) => ({ labels: { server: v.labels.server, view: '', zone: v.labels.zone }, value: v.value })));
    derived(this.registry, 'coredns_dns_request_duration_seconds', 'Histogram of the time (in seconds) each request took per zone.', 'histogram',
      () => histo('coredns_dns_request_duration_seconds', (c) => c.duration, (c) => ({ server: srv, zone: c.labels.zone, view: '', type: c.labels.type })));
    derived(this.registry, 'coredns_dns_request_size_bytes', 'Size of the EDNS0 UDP buffer in bytes (64K for TCP) per zone and protocol.', 'histogram',
      () => histo('coredns_dns_request_size_bytes', (c) => c.requestSize, (c) => ({ server: srv, zone: c.labels.zone, view: '', proto: c.labels.proto })));
    derived(this.registry, 'coredns_dns_response_size_bytes', 'Size of the returned response in bytes.', 'histogram',
      () => histo('coredns_dns_response_size_bytes', (c) => c.responseSize, (c) => ({ server: srv, zone: c.labels.zone, view: '', proto: c.labels.proto })));
    this.cacheHits = new Counter({ name: 'coredns_cache_hits_total', help: 'The count of cache hits.', labelNames: ['server', 'type', 'zones', 'view'], registers });
    this.cacheMisses = new Counter({ name: 'coredns_cache_misses_total', help: 'The count of cache misses. Deprecated, derive misses from cache hits/requests counters.', labelNames: ['server', 'zones', 'view'], registers });
    this.cacheRequests = new Counter({ name: 'coredns_cache_requests_total', help: 'The count of cache requests.', labelNames: ['server', 'zones', 'view'], registers });
    this.cacheEntries = new Gauge({ name: 'coredns_cache_entries', help: 'The number of elements in the cache.', labelNames: ['server', 'type', 'zones', 'view'], registers });
    this.proxyDuration = new Histogram({ name: 'coredns_proxy_request_duration_seconds', help: 'Histogram of the time each request took.', labelNames: ['proxy_name', 'to', 'rcode'], buckets: DURATION_BUCKETS, registers });
    this.pluginEnabled = new Gauge({ name: 'coredns_plugin_enabled', help: 'A metric that indicates whether a plugin is enabled on per server and zone basis.', labelNames: ['server', 'zone', 'view', 'name'], registers });
  }

  /** The recorder for one label set: the requests, responses, duration and size series of a query. */
  recorder(l: RequestLabels, rcode: string, plugin: string, doBit: boolean): Recorder {
    const type = DNS_TYPES.has(l.type) ? l.type : 'other';
    const key = `${l.zone}|${l.proto}|${l.family}|${type}|${rcode}|${plugin}|${doBit ? 1 : 0}`;
    let r = this.recorders.get(key);
    if (!r) this.recorders.set(key, (r = new QueryCounts({ ...l, type, rcode, plugin, do: doBit })));
    return r;
  }

  pluginsEnabled(zone: string, names: readonly string[]): void {
    for (const n of names) this.pluginEnabled.labels(this.server, zone, '', n).set(1);
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
