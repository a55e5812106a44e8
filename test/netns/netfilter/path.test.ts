// Netfilter in the packet path: kube-proxy-shaped rules loaded into the nodes decide a connection to a
// ClusterIP — DNAT on the first packet by the nat table, the binding kept by conntrack, the reply un-DNATed,
// hairpin masquerade, REJECT, seeded and enumerated load balancing, `conntrack -L`.
import { describe, expect, it } from 'vitest';
import { ClusterNetwork } from '../../../src/kubelet/network.ts';
import { traceBranches, traceFlow } from '../../../src/netns/forward.ts';
import { cluster, get, NODES3, podDoc } from '../../helpers/cluster.ts';

const PODS = NODES3 + podDoc('a', 'node1') + podDoc('b', 'node1', [8080]) + podDoc('c', 'node2', [8080]);

function rules(b: string, c: string): string {
  return `*nat
:KUBE-SERVICES - [0:0]
:KUBE-MARK-MASQ - [0:0]
:KUBE-POSTROUTING - [0:0]
:KUBE-SVC-WEB - [0:0]
:KUBE-SEP-B - [0:0]
:KUBE-SEP-C - [0:0]
-A PREROUTING -m comment --comment "kubernetes service portals" -j KUBE-SERVICES
-A OUTPUT -m comment --comment "kubernetes service portals" -j KUBE-SERVICES
-A POSTROUTING -m comment --comment "kubernetes postrouting rules" -j KUBE-POSTROUTING
-A KUBE-POSTROUTING -m mark ! --mark 0x4000/0x4000 -j RETURN
-A KUBE-POSTROUTING -j MARK --xor-mark 0x4000
-A KUBE-POSTROUTING -m comment --comment "kubernetes service traffic requiring SNAT" -j MASQUERADE --random-fully
-A KUBE-MARK-MASQ -j MARK --or-mark 0x4000
-A KUBE-SERVICES -m comment --comment "default/web cluster IP" -m tcp -p tcp -d 10.96.0.50 --dport 80 -j KUBE-SVC-WEB
-A KUBE-SVC-WEB -m comment --comment "default/web cluster IP" -m tcp -p tcp -d 10.96.0.50 --dport 80 ! -s 10.244.0.0/16 -j KUBE-MARK-MASQ
-A KUBE-SVC-WEB -m comment --comment "default/web -> ${b}:8080" -m statistic --mode random --probability 0.5000000000 -j KUBE-SEP-B
-A KUBE-SVC-WEB -m comment --comment "default/web -> ${c}:8080" -j KUBE-SEP-C
-A KUBE-SEP-B -m comment --comment default/web -s ${b} -j KUBE-MARK-MASQ
-A KUBE-SEP-B -m comment --comment default/web -m tcp -p tcp -j DNAT --to-destination ${b}:8080
-A KUBE-SEP-C -m comment --comment default/web -s ${c} -j KUBE-MARK-MASQ
-A KUBE-SEP-C -m comment --comment default/web -m tcp -p tcp -j DNAT --to-destination ${c}:8080
COMMIT
*filter
:KUBE-SERVICES - [0:0]
-A FORWARD -m conntrack --ctstate NEW -m comment --comment "kubernetes service portals" -j KUBE-SERVICES
-A OUTPUT -m conntrack --ctstate NEW -m comment --comment "kubernetes service portals" -j KUBE-SERVICES
-A KUBE-SERVICES -m comment --comment "default/none has no endpoints" -m tcp -p tcp -d 10.96.0.60 --dport 80 -j REJECT
COMMIT
`;
}

function setup() {
  const c = cluster(PODS);
  const net = new ClusterNetwork(c);
  const ip = (name: string) => get<any>(c, 'Pod', 'default', name).status.podIP as string;
  for (const node of ['node1', 'node2', 'node3']) net.host(node)!.netfilter.iptables.restore(rules(ip('b'), ip('c')));
  return { net, ip, pod: (name: string) => net.pod('default', name)!.netns, node: (n: string) => net.host(n)! };
}

/** The seed whose trace ends in this pod's socket. */
function seedFor(run: (seed: number) => ReturnType<typeof traceFlow>, netns: string): number {
  for (let seed = 1; seed < 100; seed++) if (run(seed).request.verdict.socket?.netns === netns) return seed;
  throw new Error(`no seed reaches ${netns}`);
}

describe('netfilter in the packet path', () => {
  it('DNATs a ClusterIP connection on its first packet and un-DNATs the reply by conntrack', () => {
    const { net, ip, pod } = setup();
    const seed = seedFor((s) => {
      const fresh = setup();
      return traceFlow(fresh.net, fresh.pod('a'), { protocol: 'tcp', dst: '10.96.0.50', dport: 80, sport: 40000 }, { seed: s });
    }, 'p/default/c');
    const t = traceFlow(net, pod('a'), { protocol: 'tcp', dst: '10.96.0.50', dport: 80, sport: 40000 }, { seed });
    expect(t.request.verdict.kind).toBe('delivered');
    expect(t.request.verdict.socket).toMatchObject({ netns: 'p/default/c', address: ip('c'), port: 8080 });
    const node1 = t.request.hops.filter((h) => h.netns === 'node/node1' && h.kind === 'hook').map((h) => h.what);
    expect(node1.slice(0, 6)).toEqual([
      'PREROUTING: raw, mangle, nat',
      'nat PREROUTING #1: -A PREROUTING -m comment --comment "kubernetes service portals" -j KUBE-SERVICES',
      'nat KUBE-SERVICES #1: -A KUBE-SERVICES -d 10.96.0.50/32 -p tcp -m comment --comment "default/web cluster IP" -m tcp --dport 80 -j KUBE-SVC-WEB',
      `nat KUBE-SVC-WEB #3: -A KUBE-SVC-WEB -m comment --comment "default/web -> ${ip('c')}:8080" -j KUBE-SEP-C`,
      `nat KUBE-SEP-C #2: -A KUBE-SEP-C -p tcp -m comment --comment "default/web" -m tcp -j DNAT --to-destination ${ip('c')}:8080`,
      'FORWARD: mangle, filter',
    ]);
    const dnat = t.request.hops.find((h) => h.what.includes('-j DNAT'))!;
    expect(dnat.before).toBe(`TCP ${ip('a')}:40000 > 10.96.0.50:80`);
    expect(dnat.after).toBe(`TCP ${ip('a')}:40000 > ${ip('c')}:8080`);
    // Re-routed after DNAT: towards node2's pod subnet over flannel.1.
    expect(t.request.hops.some((h) => h.netns === 'node/node1' && h.kind === 'route' && h.what.includes(`${ip('c')} from ${ip('a')} iif cni0: 10.244.1.0/24 via 10.244.1.0 dev flannel.1`))).toBe(true);
    // The reply: from the endpoint; node1's conntrack gives it the ClusterIP's address back.
    expect(t.reply!.verdict).toMatchObject({ kind: 'delivered', socket: { netns: 'p/default/a', address: ip('a'), port: 40000 } });
    const undnat = t.reply!.hops.find((h) => h.what.startsWith('conntrack: un-DNAT'))!;
    expect(undnat).toMatchObject({ netns: 'node/node1', what: 'conntrack: un-DNAT of a known flow (reply direction)', before: `TCP ${ip('c')}:8080 > ${ip('a')}:40000`, after: `TCP 10.96.0.50:80 > ${ip('a')}:40000` });
    expect(t.reply!.hops.find((h) => h.netns === 'node/node1' && h.kind === 'conntrack' && h.what.startsWith('tcp'))!.what).toBe(`tcp reply direction of a known flow [ESTABLISHED] (DNAT 10.96.0.50:80 -> ${ip('c')}:8080)`);
    // No service rule runs for the reply (the outer VXLAN packets are flows of their own and do see the nat table).
    expect(t.reply!.hops.some((h) => h.what.startsWith('nat KUBE-SERVICES') || h.what.startsWith('nat KUBE-SVC'))).toBe(false);
  });

  it('lists the connection as conntrack -L does', () => {
    const { net, ip, pod, node } = setup();
    traceFlow(net, pod('a'), { protocol: 'tcp', dst: '10.96.0.50', dport: 80, sport: 40000 }, { seed: 1 });
    const [line] = node('node1').netfilter.conntrack.list();
    expect(line).toMatch(new RegExp(`^tcp      6 86399 ESTABLISHED src=${ip('a')} dst=10\\.96\\.0\\.50 sport=40000 dport=80 src=(${ip('b')}|${ip('c')}) dst=${ip('a')} sport=8080 dport=40000 \\[ASSURED\\] mark=0 use=1$`));
  });

  it('a later packet of the flow is translated by conntrack, not the nat table', () => {
    const { net, pod } = setup();
    const flow = { protocol: 'tcp' as const, dst: '10.96.0.50', dport: 80, sport: 40001 };
    const first = traceFlow(net, pod('a'), flow, { seed: 1 });
    const again = traceFlow(net, pod('a'), flow, { seed: 2 });
    expect(again.request.verdict.socket).toEqual(first.request.verdict.socket);
    expect(again.request.hops.some((h) => h.what.startsWith('nat KUBE-'))).toBe(false);
    expect(again.request.hops.find((h) => h.what.startsWith('conntrack: DNAT'))!.what).toBe('conntrack: DNAT of a known flow');
  });

  it('the same seed takes the same path; the branches are every endpoint with its probability', () => {
    const run = (seed: number) => {
      const { net, pod } = setup();
      return traceFlow(net, pod('a'), { protocol: 'tcp', dst: '10.96.0.50', dport: 80 }, { seed }).request.verdict.socket?.netns;
    };
    expect(run(7)).toBe(run(7));
    expect(new Set(Array.from({ length: 20 }, (_, i) => run(i)))).toEqual(new Set(['p/default/b', 'p/default/c']));
    const { net, pod, node } = setup();
    const branches = traceBranches((o) => traceFlow(net, pod('a'), { protocol: 'tcp', dst: '10.96.0.50', dport: 80 }, o));
    expect(branches.map((b) => [b.p, b.trace.request.verdict.socket?.netns])).toEqual([[0.5, 'p/default/b'], [0.5, 'p/default/c']]);
    expect(branches.every((b) => b.trace.reply?.verdict.kind === 'delivered')).toBe(true);
    // Enumerating leaves no flows behind.
    expect(node('node1').netfilter.conntrack.entries).toEqual([]);
  });

  it('hairpin: a pod reaching its own Service is masqueraded, so the reply comes back through the node', () => {
    const { net, ip, pod } = setup();
    const seed = seedFor((s) => {
      const fresh = setup();
      return traceFlow(fresh.net, fresh.pod('b'), { protocol: 'tcp', dst: '10.96.0.50', dport: 80 }, { seed: s });
    }, 'p/default/b');
    const t = traceFlow(net, pod('b'), { protocol: 'tcp', dst: '10.96.0.50', dport: 80, sport: 41000 }, { seed });
    expect(t.request.verdict.socket?.netns).toBe('p/default/b');
    const masq = t.request.hops.find((h) => h.what.includes('-j MASQUERADE'))!;
    expect(masq.before).toMatch(new RegExp(`^TCP ${ip('b')}:41000 > ${ip('b')}:8080$`));
    expect(masq.after).toMatch(/^TCP 10\.244\.0\.1:\d+ > 10\.244\.0\.\d+:8080$/);
    expect(t.reply!.verdict).toMatchObject({ kind: 'delivered', socket: { netns: 'p/default/b', port: 41000 } });
    expect(t.reply!.hops.find((h) => h.what.startsWith('conntrack: un-SNAT'))).toBeDefined();
  });

  it('REJECT in filter gives the verdict rejected, naming the rule', () => {
    const { net, pod } = setup();
    const t = traceFlow(net, pod('a'), { protocol: 'tcp', dst: '10.96.0.60', dport: 80 });
    expect(t.request.verdict).toEqual({
      kind: 'rejected',
      by: 'node/node1: filter KUBE-SERVICES rule 1: -A KUBE-SERVICES -d 10.96.0.60/32 -p tcp -m comment --comment "default/none has no endpoints" -m tcp --dport 80 -j REJECT --reject-with icmp-port-unreachable (ICMP port unreachable)',
    });
  });

  it('the node itself reaches a ClusterIP: DNAT in OUTPUT and the packet is routed again', () => {
    const { net, ip, node } = setup();
    const seed = seedFor((s) => {
      const fresh = setup();
      return traceFlow(fresh.net, fresh.node('node1'), { protocol: 'tcp', dst: '10.96.0.50', dport: 80 }, { seed: s });
    }, 'p/default/b');
    const t = traceFlow(net, node('node1'), { protocol: 'tcp', dst: '10.96.0.50', dport: 80 }, { seed });
    expect(t.request.verdict.socket?.netns).toBe('p/default/b');
    expect(t.request.hops.some((h) => h.kind === 'route' && h.what === `ip route get ${ip('b')}: 10.244.0.0/24 dev cni0 (re-routed after DNAT)`)).toBe(true);
    expect(t.reply!.verdict.kind).toBe('delivered');
  });
});
