// The /etc/resolv.conf kubelet gives a pod (pkg/kubelet/network/dns/dns.go GetPodDNS): by dnsPolicy, the
// cluster DNS with `<ns>.svc.<zone> svc.<zone> <zone>` ahead of the node's search domains and ndots:5, or the
// node's own file; then spec.dnsConfig appended, and the limits applied. Written as containerd writes it.
import type { Cluster } from '../cluster/cluster.ts';
import type { Pod } from '../cluster/objects.ts';

export interface ResolvConf {
  nameservers: string[];
  searches: string[];
  options: string[];
}

/** kubelet's validation limits (MaxDNSNameservers; MaxDNSSearchPaths and MaxDNSSearchListChars since ExpandedDNSConfig). */
const MAX_NAMESERVERS = 3;
const MAX_SEARCH_PATHS = 32;
const MAX_SEARCH_CHARS = 2048;

export function parseResolvConf(text: string): ResolvConf {
  const c: ResolvConf = { nameservers: [], searches: [], options: [] };
  for (const raw of text.split('\n')) {
    const f = raw.replace(/[#;].*/, '').trim().split(/\s+/).filter(Boolean);
    if (f[0] === 'nameserver' && f[1]) c.nameservers.push(f[1]);
    // The last search/domain line wins, as in glibc.
    else if (f[0] === 'search' || f[0] === 'domain') c.searches = f.slice(1);
    else if (f[0] === 'options') c.options.push(...f.slice(1));
  }
  return c;
}

const omitDuplicates = (l: string[]) => [...new Set(l)];

/** mergeDNSOptions: the pod's options replace the base's of the same name. */
function mergeOptions(base: string[], extra: { name?: string; value?: string }[]): string[] {
  const m = new Map<string, string>();
  for (const o of base) {
    const i = o.indexOf(':');
    m.set(i < 0 ? o : o.slice(0, i), i < 0 ? '' : o.slice(i + 1));
  }
  for (const o of extra) if (o.name) m.set(o.name, o.value ?? '');
  return [...m].map(([k, v]) => (v ? `${k}:${v}` : k));
}

export type PodDNSType = 'cluster' | 'host' | 'none';

/** getPodDNSType: ClusterFirst on the host network falls back to Default. */
export function podDNSType(pod: Pod): PodDNSType {
  const policy = pod.spec?.dnsPolicy ?? 'ClusterFirst';
  if (policy === 'None') return 'none';
  if (policy === 'ClusterFirstWithHostNet') return 'cluster';
  if (policy === 'ClusterFirst' && !pod.spec?.hostNetwork) return 'cluster';
  return 'host';
}

/** What kubelet hands the runtime for the pod. `nodeResolvConf` is the node's /etc/resolv.conf (--resolv-conf). */
export function podResolvConf(cluster: Cluster, pod: Pod, nodeResolvConf: string): ResolvConf {
  const host = parseResolvConf(nodeResolvConf);
  let c: ResolvConf;
  switch (podDNSType(pod)) {
    case 'none':
      c = { nameservers: [], searches: [], options: [] };
      break;
    case 'cluster': {
      const zone = cluster.config.clusterDomain;
      const ns = pod.metadata?.namespace ?? 'default';
      c = { nameservers: [cluster.config.dnsClusterIP], searches: omitDuplicates([`${ns}.svc.${zone}`, `svc.${zone}`, zone, ...host.searches]), options: ['ndots:5'] };
      break;
    }
    default:
      c = host;
  }
  const dc = pod.spec?.dnsConfig;
  if (dc) {
    c = {
      nameservers: omitDuplicates([...c.nameservers, ...(dc.nameservers ?? [])]),
      searches: omitDuplicates([...c.searches, ...(dc.searches ?? [])]),
      options: mergeOptions(c.options, dc.options ?? []),
    };
  }
  // formDNSConfigFitsLimits: kubelet drops what is over the limits (and records an event).
  let searches = c.searches.slice(0, MAX_SEARCH_PATHS);
  while (searches.join(' ').length > MAX_SEARCH_CHARS) searches = searches.slice(0, -1);
  return { nameservers: c.nameservers.slice(0, MAX_NAMESERVERS), searches, options: c.options };
}

/** The file containerd writes from kubelet's DNSConfig (parseDNSOptions). */
export function formatResolvConf(c: ResolvConf): string {
  let out = '';
  if (c.searches.length) out += `search ${c.searches.join(' ')}\n`;
  if (c.nameservers.length) out += c.nameservers.map((n) => `nameserver ${n}\n`).join('');
  if (c.options.length) out += `options ${c.options.join(' ')}\n`;
  return out;
}
