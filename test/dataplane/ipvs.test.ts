// IPVS mode in the packet path: kube-proxy programs every node's own IPVS table, ipsets and iptables rules,
// and IPVS's hooks (LOCAL_IN for the VIPs on kube-ipvs0 and NodePorts, LOCAL_OUT for the node's own
// connections) schedule each new connection to a real server and rewrite it there (Masq).
import { describe, expect, it } from 'vitest';
import { DataPlane } from '../../src/dataplane/dataplane.ts';
import { traceFlow, traceFromOutside } from '../../src/netns/forward.ts';
import { readFileSync } from 'node:fs';
import { topologyFile } from '../helpers/files.ts';
import { cluster, get, NODES3, NO_COREDNS, podDoc } from '../helpers/cluster.ts';
import { appPod, dataPlaneOf, serviceDoc } from '../helpers/dataplane.ts';
import { kdp } from '../helpers/cli.ts';
import { ipvsadmList } from '../../src/netns/ipvs/ipvsadm.ts';

const IPVS = NODES3.replace('spec:\n', 'spec:\n  proxy: {mode: ipvs}\n');

const TOPO = IPVS + NO_COREDNS + podDoc('client', 'node1') + appPod('w1', 'node2', 'web') + appPod('w2', 'node3', 'web')
  + serviceDoc('web', 'web') + serviceDoc('nothing', 'none') + serviceDoc('np', 'web', ', type: NodePort')
  + serviceDoc('sticky', 'web', ', sessionAffinity: ClientIP');

const setup = () => dataPlaneOf(TOPO);

describe('IPVS mode in the data plane', () => {
  it('a pod to a ClusterIP: IPVS at LOCAL_IN schedules it to an endpoint, and the answer comes back from the ClusterIP', () => {
    const { dp, ip, client } = setup();
    const vip = ip('Service', 'web');
    const t = traceFlow(dp.network, client, { protocol: 'tcp', dst: vip, dport: 80 });
    expect(t.request.verdict.kind).toBe('delivered');
    const endpoint = t.request.verdict.socket!.address;
    expect([ip('Pod', 'w1'), ip('Pod', 'w2')]).toContain(endpoint);
    expect(t.request.verdict.socket!.port).toBe(8080);
    // On node1, after the INPUT filter rules: the VIP is on kube-ipvs0, and IPVS's LOCAL_IN hook takes it.
    const hops = t.request.hops.filter((h) => h.node === 'node1' && h.netns === 'node/node1').map((h) => h.what);
    const at = hops.findIndex((h) => h.startsWith('IPVS: '));
    expect(hops[at]).toBe(`IPVS: TCP ${vip}:80 rr -> ${endpoint}:8080 Masq (new connection)`);
    expect(hops.findIndex((h) => h.includes(`local ${vip}/32 dev kube-ipvs0`))).toBeLessThan(at);
    expect(hops.findIndex((h) => h.includes('-j KUBE-IPVS-FILTER'))).toBeLessThan(at);
    const ipvsHop = t.request.hops.find((h) => h.what.startsWith('IPVS: '))!;
    expect(ipvsHop.after).toContain(`> ${endpoint}:8080`);
    // No KUBE-SEP DNAT in IPVS mode: only IPVS rewrote the destination.
    expect(t.request.hops.some((h) => h.what.includes('-j DNAT'))).toBe(false);
    // The answer is un-NATed on node1: the client hears from the ClusterIP it dialled.
    expect(t.reply!.verdict.kind).toBe('delivered');
    const unnat = t.reply!.hops.find((h) => h.node === 'node1' && h.after?.startsWith(`TCP ${vip}:80 >`))!;
    expect(unnat.what).toBe(`IPVS: TCP ${vip}:80 rr: answer of real server ${endpoint}:8080 Masq (ESTABLISHED)`);
    expect(unnat.before).toBe(`TCP ${endpoint}:8080 > ${ip('Pod', 'client')}:${t.request.verdict.socket!.peer!.port}`);
    // Once answered the connection counts as active, as ipvsadm -Ln shows it.
    expect(ipvsadmList(dp.network.host('node1')!.ipvs)).toMatch(new RegExp(`-> ${endpoint.replace(/\./g, '\\.')}:8080 +Masq +1 +1 +0 *\n`));
    // The node's IPVS table holds the connection, as ipvsadm -Lnc shows it.
    const conns = dp.network.host('node1')!.ipvs.connections().filter((c) => !c.template);
    expect(conns.map((c) => [c.virtual.address, c.dest.address])).toEqual([[vip, endpoint]]);
  });

  it('rr: successive connections alternate between the real servers (IPVS keeps its state between traces)', () => {
    const { dp, ip, client } = setup();
    const to = (sport: number) => traceFlow(dp.network, client, { protocol: 'tcp', dst: ip('Service', 'web'), dport: 80, sport }).request.verdict.socket!.address;
    const [a, b, c] = [40001, 40002, 40003].map(to);
    expect(new Set([a, b])).toEqual(new Set([ip('Pod', 'w1'), ip('Pod', 'w2')]));
    expect(c).toBe(a);
  });

  it('the same connection again finds its IPVS connection: the same real server', () => {
    const { dp, ip, client } = setup();
    const to = () => traceFlow(dp.network, client, { protocol: 'tcp', dst: ip('Service', 'web'), dport: 80, sport: 5353 }).request;
    const first = to();
    expect(first.hops.some((h) => h.what.endsWith('Masq (new connection)'))).toBe(true);
    expect(to().verdict.socket!.address).toBe(first.verdict.socket!.address);
  });

  it('sessionAffinity ClientIP: a persistent virtual service keeps the client on one real server', () => {
    const { dp, ip, client } = setup();
    const vip = ip('Service', 'sticky');
    const run = (sport: number) => traceFlow(dp.network, client, { protocol: 'tcp', dst: vip, dport: 80, sport }).request;
    const first = run(41001);
    const server = first.verdict.socket!.address;
    const hop = first.hops.find((h) => h.what.startsWith('IPVS: '))!.what;
    expect(hop).toBe(`IPVS: TCP ${vip}:80 rr persistent 10800 -> ${server}:8080 Masq (new connection, persistence template ${ip('Pod', 'client')} -> ${server}:8080)`);
    for (const sport of [41002, 41003]) expect(run(sport).verdict.socket!.address).toBe(server);
    // Without affinity the same two connections would have gone to both servers.
    const templates = dp.network.host('node1')!.ipvs.connections().filter((c) => c.template);
    expect(templates.map((t) => [t.client.address, t.virtual.address, t.dest.address])).toEqual([[ip('Pod', 'client'), vip, server]]);
  });

  it('a Service without endpoints: IPVS has no destination and answers ICMP port unreachable', () => {
    const { dp, ip, client } = setup();
    const vip = ip('Service', 'nothing');
    const t = traceFlow(dp.network, client, { protocol: 'tcp', dst: vip, dport: 80 });
    expect(t.request.verdict).toEqual({ kind: 'rejected', by: `node/node1: IPVS: rr: TCP ${vip}:80 - no destination available (ICMP port unreachable)` });
    expect(t.request.hops.at(-1)!.what).toBe(`IPVS: TCP ${vip}:80 rr: no destination available`);
  });

  it('a NodePort from outside: IPVS schedules it on the node\'s address, KUBE-NODE-PORT masquerades it', () => {
    const { c, dp, ip } = setup();
    const nodePort = get<any>(c, 'Service', 'default', 'np').spec.ports[0].nodePort as number;
    const t = traceFromOutside(dp.network, '203.0.113.7', { protocol: 'tcp', dst: '192.168.1.11', dport: nodePort });
    expect(t.request.verdict.kind).toBe('delivered');
    const endpoint = t.request.verdict.socket!.address;
    expect([ip('Pod', 'w1'), ip('Pod', 'w2')]).toContain(endpoint);
    const hops = t.request.hops;
    expect(hops.find((h) => h.what.startsWith('IPVS: '))!.what).toBe(`IPVS: TCP 192.168.1.11:${nodePort} rr -> ${endpoint}:8080 Masq (new connection)`);
    // The NodePort set marked it for masquerade; POSTROUTING on node1 rewrote the outside client's address.
    expect(hops.some((h) => h.what.includes('--match-set KUBE-NODE-PORT-TCP dst -j KUBE-MARK-MASQ'))).toBe(true);
    const masq = hops.find((h) => h.node === 'node1' && h.what.includes('-j MASQUERADE'))!;
    expect(masq.before).toContain('TCP 203.0.113.7:');
    expect(masq.after).not.toContain('203.0.113.7');
    // The answer is un-SNATed and un-NATed back to the node's address and NodePort.
    expect(t.reply!.verdict).toMatchObject({ kind: 'delivered', by: expect.stringContaining('203.0.113.7') });
    expect(t.reply!.hops.some((h) => h.after?.startsWith(`TCP 192.168.1.11:${nodePort} > 203.0.113.7:`))).toBe(true);
  });

  it('the node\'s own connection to a ClusterIP: IPVS at LOCAL_OUT, after nat OUTPUT', () => {
    const { dp, ip } = setup();
    const vip = ip('Service', 'web');
    const t = traceFlow(dp.network, dp.network.host('node1')!, { protocol: 'tcp', dst: vip, dport: 80 });
    expect(t.request.verdict.kind).toBe('delivered');
    const hops = t.request.hops.filter((h) => h.netns === 'node/node1').map((h) => h.what);
    const at = hops.findIndex((h) => h.startsWith('IPVS: '));
    expect(hops[at]).toMatch(new RegExp(`^IPVS: TCP ${vip.replace(/\./g, '\\.')}:80 rr -> 10\\.244\\.\\d+\\.\\d+:8080 Masq \\(new connection\\)$`));
    expect(hops.findIndex((h) => h.includes('nat OUTPUT #1'))).toBeLessThan(at);
    expect(hops.findIndex((h) => h.startsWith('INPUT'))).toBe(-1);
    // The answer comes back to the node: un-SNATed by conntrack, then IPVS at LOCAL_IN gives it the VIP back.
    expect(t.reply!.verdict.kind).toBe('delivered');
    const answer = t.reply!.hops.filter((h) => h.netns === 'node/node1').map((h) => h.what);
    const a = answer.findIndex((h) => h.startsWith(`IPVS: TCP ${vip}:80 rr: answer of real server 10.244.`));
    expect(a).toBeGreaterThan(answer.findIndex((h) => h.startsWith('INPUT: ')));
    expect(t.reply!.verdict.by).toContain(`in node/node1`);
  });

  it('live: an endpoint gone is taken out of the virtual service; a node that joins gets IPVS too', () => {
    const { c, dp, ip, client } = setup();
    c.store.delete('Pod', 'default', 'w2');
    for (const sport of [42001, 42002]) {
      expect(traceFlow(dp.network, client, { protocol: 'tcp', dst: ip('Service', 'web'), dport: 80, sport }).request.verdict.socket!.address).toBe(ip('Pod', 'w1'));
    }
    expect(dp.network.host('node3')!.ipvs.getService({ address: ip('Service', 'web'), protocol: 'tcp', port: 80 })).toBeDefined();
  });

  it('iptables mode is untouched: no IPVS table, KUBE-SEP DNAT decides', () => {
    const c = cluster(TOPO.replace('  proxy: {mode: ipvs}\n', ''));
    const dp = new DataPlane(c);
    const client = dp.network.pod('default', 'client')!.netns;
    const vip = get<any>(c, 'Service', 'default', 'web').spec.clusterIP as string;
    const t = traceFlow(dp.network, client, { protocol: 'tcp', dst: vip, dport: 80 });
    expect(t.request.hops.some((h) => h.what.startsWith('IPVS'))).toBe(false);
    expect(t.request.hops.some((h) => h.what.includes('-j DNAT'))).toBe(true);
    expect(dp.network.host('node1')!.ipvsActive).toBe(false);
  });

  it('kdp trace in IPVS mode shows the virtual service, the scheduler and the chosen real server', async () => {
    const topo = TOPO.replace(/(kind: Service\nmetadata: \{name: web\}\nspec: \{)/, '$1clusterIP: 10.96.0.80, ');
    const f = topologyFile(topo);
    const c = cluster(topo);
    const eps = ['w1', 'w2'].map((n) => get<any>(c, 'Pod', 'default', n).status.podIP as string);
    const r = await kdp(['trace', '--from', 'default/client', '--to', '10.96.0.80:80', '-f', f]);
    expect(r.stderr).toBe('');
    expect(r.code).toBe(0);
    const line = /\[node\/node1\] hook +IPVS: TCP 10\.96\.0\.80:80 rr -> (\S+):8080 Masq \(new connection\)$/m.exec(r.stdout);
    expect(line).not.toBeNull();
    expect(eps).toContain(line![1]);
    expect(r.stdout).toContain(`=> DELIVERED: socket ${line![1]}:8080/tcp`);
    const none = await kdp(['trace', '--from', 'default/client', '--to', `${get<any>(c, 'Service', 'default', 'nothing').spec.clusterIP}:80`, '-f', f]);
    expect(none.code).toBe(2);
    expect(none.stdout).toMatch(/=> REJECTED: node\/node1: IPVS: rr: TCP [\d.]+:80 - no destination available \(ICMP port unreachable\)/);
  });

  it('hairpin: a pod scheduled to itself is masqueraded by KUBE-LOOP-BACK (dst,dst,src) and hears back from the VIP', () => {
    const c = cluster(IPVS + NO_COREDNS + appPod('w1', 'node1', 'web') + serviceDoc('web', 'web'));
    const dp = new DataPlane(c);
    const vip = get<any>(c, 'Service', 'default', 'web').spec.clusterIP as string;
    const self = get<any>(c, 'Pod', 'default', 'w1').status.podIP as string;
    const t = traceFlow(dp.network, dp.network.pod('default', 'w1')!.netns, { protocol: 'tcp', dst: vip, dport: 80 });
    expect(t.request.verdict.socket).toMatchObject({ netns: 'p/default/w1', address: self, port: 8080 });
    const masq = t.request.hops.find((h) => h.what.includes('--match-set KUBE-LOOP-BACK dst,dst,src -j MASQUERADE'))!;
    expect(masq.after).toMatch(new RegExp(`^TCP 10\\.244\\.0\\.1:\\d+ > ${self.replace(/\./g, '\\.')}:8080$`));
    expect(t.reply!.verdict.kind).toBe('delivered');
    expect(t.reply!.hops.some((h) => h.after?.startsWith(`TCP ${vip}:80 > ${self}:`))).toBe(true);
    // ipvsadm -Ln --stats counts the connection, its first packet and the answer on the service and server.
    const stats = ipvsadmList(dp.network.host('node1')!.ipvs, { stats: true });
    expect(stats).toMatch(new RegExp(`TCP  ${vip.replace(/\./g, '\\.')}:80 +1 +1 +1 +60 +60\n  -> ${self.replace(/\./g, '\\.')}:8080 +1 +1 +1 +60 +60\n`));
  });

  it('a real server on the node itself (the kubernetes Service): IPVS lets the packet go on up the stack', () => {
    const { dp, client } = setup();
    const fromPod = traceFlow(dp.network, client, { protocol: 'tcp', dst: '10.96.0.1', dport: 443 }).request;
    const what = fromPod.hops.map((h) => h.what);
    const at = what.indexOf('IPVS: TCP 10.96.0.1:443 rr -> 192.168.1.11:6443 Masq (new connection)');
    expect(at).toBeGreaterThan(0);
    // Not through INPUT's filter a second time: straight on to the socket lookup (no apiserver listens here).
    expect(what.slice(at + 1)).toEqual(['ip route get 192.168.1.11: local 192.168.1.11/32 dev eth0 (IPVS real server)', 'no tcp socket on 192.168.1.11:6443: TCP RST (Connection refused)']);
    // From the node itself: LOCAL_OUT's rest, then out through lo and up to the same address.
    const fromNode = traceFlow(dp.network, dp.network.host('node1')!, { protocol: 'tcp', dst: '10.96.0.1', dport: 443 }).request.hops.map((h) => h.what);
    const i = fromNode.findIndex((h) => h.startsWith('IPVS: TCP 10.96.0.1:443 rr -> 192.168.1.11:6443'));
    expect(fromNode.slice(i + 1).filter((h) => /^(OUTPUT|POSTROUTING|PREROUTING|INPUT)|^loopback/.test(h))).toEqual([
      'OUTPUT (IPVS): raw, mangle, nat, filter', 'POSTROUTING: mangle, nat', 'loopback: lo', 'PREROUTING: raw, mangle, nat: no rule matched, policy ACCEPT', 'INPUT: mangle, filter, nat',
    ]);
  });

  it('externalTrafficPolicy Local: a NodePort on a node with an endpoint keeps the client address (no masquerade)', () => {
    const c = cluster(TOPO + serviceDoc('local', 'web', ', type: NodePort, externalTrafficPolicy: Local'));
    const dp = new DataPlane(c);
    const nodePort = get<any>(c, 'Service', 'default', 'local').spec.ports[0].nodePort as number;
    const w1 = get<any>(c, 'Pod', 'default', 'w1').status.podIP as string;
    const onNode2 = traceFromOutside(dp.network, '203.0.113.7', { protocol: 'tcp', dst: '192.168.1.12', dport: nodePort });
    expect(onNode2.request.verdict.socket?.address).toBe(w1);
    expect(onNode2.request.hops.some((h) => h.what.includes('--match-set KUBE-NODE-PORT-LOCAL-TCP dst -j RETURN'))).toBe(true);
    expect(onNode2.request.hops.some((h) => h.what.includes('-j MASQUERADE'))).toBe(false);
    expect(onNode2.request.hops.find((h) => h.what.startsWith('IPVS: '))!.after).toMatch(/^TCP 203\.0\.113\.7:/);
  });

  it('cluster DNS over UDP from a node (the default topology): IPVS: UDP 10.96.0.10:53 rr -> a CoreDNS pod', async () => {
    const f = topologyFile(readFileSync('topologies/default.yaml', 'utf8').replace('proxy: {mode: iptables}', 'proxy: {mode: ipvs}'));
    const r = await kdp(['trace', '--from', 'node/node2', '--to', '10.96.0.10:53', '--proto', 'udp', '-f', f]);
    expect(r.code).toBe(0);
    expect(r.stdout).toMatch(/\[node\/node2\] hook +IPVS: UDP 10\.96\.0\.10:53 rr -> 10\.244\.\d+\.\d+:53 Masq \(new connection\)\n/);
    expect(r.stdout).toMatch(/=> DELIVERED: socket 10\.244\.\d+\.\d+:53\/udp in p\/kube-system\/coredns-/);
  });

  it('a VIP answers only on its Service ports: KUBE-IPVS-FILTER rejects the rest before IPVS sees them', () => {
    const { dp, ip, client } = setup();
    const t = traceFlow(dp.network, client, { protocol: 'tcp', dst: ip('Service', 'web'), dport: 81 });
    expect(t.request.verdict.kind).toBe('rejected');
    expect(t.request.verdict.by).toMatch(/^node\/node1: filter KUBE-IPVS-FILTER rule \d+: .*--match-set KUBE-IPVS-IPS dst -j REJECT/);
    expect(t.request.hops.some((h) => h.what.startsWith('IPVS'))).toBe(false);
  });

  it('client and real server on one node: the answer is bridged on cni0, and IPVS un-NATs it at br_netfilter\'s FORWARD', () => {
    const c = cluster(IPVS + NO_COREDNS + podDoc('client', 'node1') + appPod('near', 'node1', 'near') + serviceDoc('near', 'near'));
    const dp = new DataPlane(c);
    const vip = get<any>(c, 'Service', 'default', 'near').spec.clusterIP as string;
    const near = get<any>(c, 'Pod', 'default', 'near').status.podIP as string;
    const t = traceFlow(dp.network, dp.network.pod('default', 'client')!.netns, { protocol: 'tcp', dst: vip, dport: 80 });
    expect(t.request.verdict.socket?.address).toBe(near);
    const hops = t.reply!.hops.filter((h) => h.netns === 'node/node1');
    const fwd = hops.findIndex((h) => h.what === 'FORWARD (bridged, br_netfilter): mangle, filter');
    const answer = hops.findIndex((h) => h.what === `IPVS: TCP ${vip}:80 rr: answer of real server ${near}:8080 Masq (ESTABLISHED)`);
    expect(fwd).toBeGreaterThanOrEqual(0);
    expect(answer).toBeGreaterThan(fwd);
    expect(t.reply!.verdict.kind).toBe('delivered');
  });
});
