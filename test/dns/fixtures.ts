// CoreDNS's kubernetes plugin test fixtures (handler_test.go APIConnServeTest, reverse_test.go
// APIConnReverseTest) expressed as our objects: Services and EndpointSlices in a store.
import { Store } from '../../src/cluster/store.ts';
import type { KubeObject } from '../../src/cluster/objects.ts';
import { LiveView } from '../../src/dns/view.ts';
import { KubernetesPlugin, DEFAULT_KUBERNETES_OPTIONS, type KubernetesOptions, type LookupContext } from '../../src/dns/kubernetes.ts';
import type { DnsQuestion, Reply } from '../../src/dns/message.ts';
import { recordText } from '../../src/dns/present.ts';

const ns = (name: string): KubeObject => ({ apiVersion: 'v1', kind: 'Namespace', metadata: { name } });

type Port = { name?: string; protocol?: string; port: number };

export function service(namespace: string, name: string, spec: Record<string, unknown>): KubeObject {
  return { apiVersion: 'v1', kind: 'Service', metadata: { name, namespace }, spec };
}

export function slice(namespace: string, svc: string, name: string, endpoints: { ip: string; hostname?: string; ready?: boolean; pod?: string }[], ports: Port[], addressType = 'IPv4'): KubeObject {
  return {
    apiVersion: 'discovery.k8s.io/v1', kind: 'EndpointSlice',
    metadata: { name, namespace, labels: { 'kubernetes.io/service-name': svc } },
    addressType,
    endpoints: endpoints.map((e) => ({
      addresses: [e.ip],
      ...(e.hostname ? { hostname: e.hostname } : {}),
      ...(e.pod ? { targetRef: { kind: 'Pod', namespace, name: e.pod } } : {}),
      conditions: { ready: e.ready ?? true },
    })),
    ports: ports.map((p) => ({ name: p.name, protocol: p.protocol ?? 'TCP', port: p.port })),
  };
}

const http = [{ name: 'http', protocol: 'TCP', port: 80 }];

/** handler_test.go's svcIndex and epsIndex. */
export function serveTestObjects(): KubeObject[] {
  return [
    ns('testns'), ns('unexposedns'), ns('kube-system'), ns('podns'),
    service('kube-system', 'kubedns', { type: 'ClusterIP', clusterIPs: ['10.0.0.10'], ports: [{ name: 'dns', protocol: 'UDP', port: 53 }] }),
    service('testns', 'svc1', { type: 'ClusterIP', clusterIPs: ['10.0.0.1'], ports: http }),
    service('testns', 'svcempty', { type: 'ClusterIP', clusterIPs: ['10.0.0.1'], ports: http }),
    service('testns', 'svc6', { type: 'ClusterIP', clusterIPs: ['1234:abcd::1'], ports: http }),
    service('testns', 'hdls1', { type: 'ClusterIP', clusterIPs: ['None'] }),
    service('testns', 'external', { type: 'ExternalName', externalName: 'ext.interwebs.test', ports: http }),
    service('testns', 'external-to-service', { type: 'ExternalName', externalName: 'svc1.testns.svc.cluster.local.', ports: http }),
    service('testns', 'hdlsprtls', { type: 'ClusterIP', clusterIPs: ['None'] }),
    service('unexposedns', 'svc1', { type: 'ClusterIP', clusterIPs: ['10.0.0.2'], ports: http }),
    service('testns', 'svc-dual-stack', { type: 'ClusterIP', clusterIPs: ['10.0.0.3', '10::3'], ports: http }),
    slice('kube-system', 'kubedns', 'kubedns', [{ ip: '172.0.0.100' }], [{ name: 'dns', protocol: 'UDP', port: 53 }]),
    slice('testns', 'svc1', 'svc1-slice1', [{ ip: '172.0.0.1', hostname: 'ep1a' }], http),
    slice('testns', 'svcempty', 'svcempty-slice1', [], http),
    slice('testns', 'hdls1', 'hdls1-slice1', [
      { ip: '172.0.0.2' }, { ip: '172.0.0.3' }, { ip: '172.0.0.4', hostname: 'dup-name' }, { ip: '172.0.0.5', hostname: 'dup-name' },
    ], http),
    slice('testns', 'hdls1', 'hdls1-slice2', [{ ip: '5678:abcd::1' }, { ip: '5678:abcd::2' }], http, 'IPv6'),
    slice('testns', 'hdlsprtls', 'hdlsprtls-slice1', [{ ip: '172.0.0.20' }], []),
  ];
}

export function storeOf(objects: KubeObject[]): Store {
  const s = new Store(() => new Date('2026-11-23T12:00:00Z'));
  for (const o of objects) s.create(o);
  return s;
}

export interface Harness {
  store: Store;
  ask(name: string, type: string): Reply;
}

export function harness(objects: KubeObject[], opts: Partial<KubernetesOptions> = {}): Harness {
  const store = storeOf(objects);
  const live = new LiveView(store, () => 1_499_347_823_000);
  const plugin = new KubernetesPlugin({ ...DEFAULT_KUBERNETES_OPTIONS, zones: ['cluster.local'], ...opts });
  return {
    store,
    ask(name, type) {
      const ctx: LookupContext = { view: live.current(), serial: live.serial, localIPs: ['127.0.0.1'] };
      const q: DnsQuestion = { name: name.replace(/\.$/, ''), type, class: 'IN' };
      const r = plugin.serve(q, ctx);
      if (r.next) throw new Error(`${name} ${type}: passed to the next plugin`);
      return r.reply;
    },
  };
}

/** test.SortAndCheck's view of a reply: rcode and each section's records as sorted text, SOA serials blanked. */
export function sections(r: Reply): { rcode: number; answer: string[]; ns: string[]; extra: string[] } {
  const text = (l: Reply['answers']) => l.map(recordText).map((t) => t.replace(/^(\S+\t\d+\tIN\tSOA\t\S+ \S+) \d+/, '$1 SERIAL')).sort();
  return { rcode: r.rcode, answer: text(r.answers), ns: text(r.authorities), extra: text(r.additionals) };
}

/** Upstream's record notation ("name ttl IN type data", any whitespace) in our layout. */
export function rr(s: string): string {
  const [name, ttl, cls, type, ...data] = s.trim().split(/\s+/);
  const d = type === 'TXT' ? data.map((x) => (x.startsWith('"') ? x : `"${x}"`)).join(' ') : data.join(' ');
  const owner = name.endsWith('.') ? name : `${name}.`;
  return `${owner}\t${ttl}\t${cls}\t${type}\t${d}`.replace(/^(\S+\t\d+\tIN\tSOA\t\S+ \S+) \d+/, '$1 SERIAL');
}
