// A golden check run by hand (not a test, not timed): everything `kdp ip`, `kdp bridge fdb` and `kdp trace`
// print for a mid-size cluster — every node's and a sample of pods' namespaces, traces in text and JSON, and
// the same again after traces (ARP and FDB learning) and after the store changes (pods and a node come and
// go). Run it on two commits and diff: a speed-up must leave every byte as it was.
//   npx tsx bench/network-golden.ts > /tmp/after.txt   (then the same on the old commit, and diff)
import { createHash } from 'node:crypto';
import { loadClusterFromText, type Cluster } from '../src/cluster/cluster.ts';
import type { KubeObject } from '../src/cluster/objects.ts';
import { ClusterNetwork } from '../src/kubelet/network.ts';
import { traceFlow, traceFromOutside, type Flow } from '../src/netns/forward.ts';
import { bridgeFdb, ipAddr, ipLink, ipNeigh, ipRoute, ipRouteGet } from '../src/netns/iproute2.ts';
import type { Netns } from '../src/netns/netns.ts';
import { renderTrace } from '../src/netns/trace.ts';
import { toJSON } from '../src/cli/printers/serialize.ts';

const NOW = new Date('2026-11-23T12:00:00Z');
const out: string[] = [];
const put = (title: string, text: string | undefined) => out.push(`### ${title}\n${text ?? '(none)\n'}`);

function topology(nodes: number, deployments: number, extra: string): string {
  const doc = [`apiVersion: kdp.dev/v1alpha1\nkind: Cluster\nmetadata: {name: golden}\nspec:\n${extra}  podCIDR: 10.128.0.0/14\n  nodes:`];
  // Two underlay /24s (the router joins them) and a node without an address.
  for (let n = 0; n < nodes; n++) doc.push(`    - {name: node-${n}, ip: 172.16.${Math.floor(n / 8)}.${10 + (n % 8)}}`);
  for (let s = 0; s < deployments; s++) {
    doc.push(`---\napiVersion: apps/v1\nkind: Deployment\nmetadata: {name: app-${s}, namespace: ns-${s % 3}}\nspec:\n  replicas: 5\n  selector: {matchLabels: {app: app-${s}}}\n  template:\n    metadata: {labels: {app: app-${s}}}\n    spec:\n      containers: [{name: app, ports: [{containerPort: 8080}, {containerPort: 53, protocol: UDP}]}]`);
  }
  return doc.join('\n');
}

const podIP = (net: ClusterNetwork, key: string) => net.sandboxes.get(key)!.result.ips![0].address.split('/')[0];

function dumpNetns(title: string, ns: Netns, named: Set<string>, probes: string[]): void {
  put(`${title} ip link`, ipLink(ns, named));
  put(`${title} ip addr`, ipAddr(ns, named));
  put(`${title} ip route`, ipRoute(ns));
  put(`${title} ip route show table local`, ipRoute(ns, 'local'));
  put(`${title} ip neigh`, ipNeigh(ns));
  put(`${title} bridge fdb`, bridgeFdb(ns));
  for (const p of probes) put(`${title} ip route get ${p}`, ipRouteGet(ns, p));
}

function dumpAll(stage: string, net: ClusterNetwork): void {
  const pods = [...net.sandboxes.keys()].sort();
  const probes = ['127.0.0.1', '8.8.8.8', '172.16.0.1', '172.16.0.11', '172.16.1.12', '10.128.0.0', '10.128.0.1', ...pods.filter((_, i) => i % 17 === 0).map((k) => podIP(net, k))];
  const named = net.namedNamespaces();
  for (const [name, host] of [...net.hosts].sort()) dumpNetns(`${stage} node/${name}`, host, named, probes);
  for (const key of pods.filter((_, i) => i % 7 === 0)) dumpNetns(`${stage} p/${key}`, net.sandboxes.get(key)!.netns, new Set(), probes.slice(0, 8));
}

function traces(stage: string, net: ClusterNetwork): void {
  const pods = [...net.sandboxes.keys()].sort();
  const flows: [string, Netns | string, Flow][] = [];
  for (let i = 0; i < pods.length; i += 11) {
    const a = pods[i];
    const b = pods[(i * 13 + 29) % pods.length];
    const from = net.sandboxes.get(a)!.netns;
    flows.push([`${a} -> ${b} tcp`, from, { protocol: 'tcp', dst: podIP(net, b), dport: 8080 }]);
    flows.push([`${a} -> ${b} udp`, from, { protocol: 'udp', dst: podIP(net, b), dport: 53 }]);
    flows.push([`${a} -> ${b} icmp`, from, { protocol: 'icmp', dst: podIP(net, b) }]);
    flows.push([`${a} -> ${b} refused`, from, { protocol: 'tcp', dst: podIP(net, b), dport: 9 }]);
    flows.push([`${a} -> ${a} hairpin`, from, { protocol: 'tcp', dst: podIP(net, a), dport: 8080, size: 1400 }]);
  }
  const hosts = [...net.hosts.keys()].sort();
  for (const h of hosts.slice(0, 4)) {
    const host = net.hosts.get(h)!;
    flows.push([`node/${h} -> ${pods[3]}`, host, { protocol: 'tcp', dst: podIP(net, pods[3]), dport: 8080 }]);
    flows.push([`node/${h} -> node-9 kubelet`, host, { protocol: 'tcp', dst: '172.16.1.11', dport: 10250 }]);
    flows.push([`node/${h} -> outside`, host, { protocol: 'icmp', dst: '8.8.8.8' }]);
    flows.push([`node/${h} -> unleased`, host, { protocol: 'icmp', dst: '10.131.255.9' }]);
  }
  flows.push([`${pods[2]} -> node kubelet`, net.sandboxes.get(pods[2])!.netns, { protocol: 'tcp', dst: '172.16.0.12', dport: 10250 }]);
  flows.push(['outside -> node kubelet', '203.0.113.9', { protocol: 'tcp', dst: '172.16.0.12', dport: 10250 }]);
  flows.push(['outside -> pod', '203.0.113.9', { protocol: 'tcp', dst: podIP(net, pods[0]), dport: 8080 }]);
  for (const [title, from, flow] of flows) {
    const t = typeof from === 'string' ? traceFromOutside(net, from, flow) : traceFlow(net, from, flow);
    put(`${stage} trace ${title} text`, renderTrace(t));
    put(`${stage} trace ${title} json`, toJSON(t));
  }
}

function scenario(name: string, extra: string, change: boolean): void {
  const cluster: Cluster = loadClusterFromText([{ file: `${name}.yaml`, text: topology(16, 12, extra) }], { now: () => NOW });
  const net = new ClusterNetwork(cluster);
  dumpAll(`${name} built`, net);
  traces(`${name} first`, net);
  dumpAll(`${name} after traces`, net);
  if (!change) return;
  // The store moves: pods deleted (their replacements come up), a node deleted, a node added.
  const pods = [...net.sandboxes.keys()].sort();
  for (const key of pods.filter((_, i) => i % 9 === 0)) {
    const [ns, pod] = key.split('/');
    cluster.api.delete('Pod', ns, pod);
  }
  cluster.api.delete('Node', undefined, 'node-15');
  cluster.api.create({ apiVersion: 'v1', kind: 'Node', metadata: { name: 'node-new' }, status: { addresses: [{ type: 'InternalIP', address: '172.16.1.99' }] } } as unknown as KubeObject);
  cluster.api.create({ apiVersion: 'v1', kind: 'Pod', metadata: { name: 'late', namespace: 'default' }, spec: { nodeName: 'node-new', containers: [{ name: 'c', ports: [{ containerPort: 8080 }] }] } } as unknown as KubeObject);
  dumpAll(`${name} changed`, net);
  traces(`${name} changed`, net);
}

scenario('vxlan', '', true);
scenario('host-gw', '  network: {overlay: host-gw}\n', true);
scenario('faults', '  faults:\n    - {type: forward-policy-drop, node: node-1}\n    - {type: bridge-nf-call-iptables-off, node: node-2}\n    - {type: vxlan-blocked, between: [node-3, node-4]}\n    - {type: mtu-mismatch, node: node-5, mtu: 1400}\n    - {type: node-down, node: node-6}\n    - {type: hairpin-off, node: node-7}\n', false);

const text = out.join('');
process.stdout.write(text);
process.stderr.write(`${out.length} sections, ${text.length} bytes, sha256 ${createHash('sha256').update(text).digest('hex')}\n`);
