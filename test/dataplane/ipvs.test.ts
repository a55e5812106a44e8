// IPVS mode in the packet path: kube-proxy programs every node's own IPVS table, ipsets and iptables rules,
// and IPVS's hooks (LOCAL_IN for the VIPs on kube-ipvs0 and NodePorts, LOCAL_OUT for the node's own
// connections) schedule each new connection to a real server and rewrite it there (Masq).
import { describe, expect, it } from 'vitest';
import { DataPlane } from '../../src/dataplane/dataplane.ts';
import { traceFlow, traceFromOutside } from '../../src/netns/forward.ts';
import { cluster, get, NODES3, NO_COREDNS, podDoc } from '../helpers/cluster.ts';

const IPVS = NODES3.replace('spec:\n', 'spec:\n  proxy: {mode: ipvs}\n');
const svc = (name: string, selector: string, extra = '') => `---
apiVersion: v1
kind: Service
metadata: {name: ${name}}
spec: {selector: {app: ${selector}}, ports: [{port: 80, targetPort: 8080}]${extra}}
`;
const labelled = (name: string, node: string, app: string) => podDoc(name, node, [8080]).replace(`metadata: {name: ${name}}`, `metadata: {name: ${name}, labels: {app: ${app}}}`);

const TOPO = IPVS + NO_COREDNS + podDoc('client', 'node1') + labelled('w1', 'node2', 'web') + labelled('w2', 'node3', 'web')
  + svc('web', 'web') + svc('nothing', 'none') + svc('np', 'web', ', type: NodePort')
  + svc('sticky', 'web', ', sessionAffinity: ClientIP');

function setup() {
  const c = cluster(TOPO);
  const dp = new DataPlane(c);
  const ip = (kind: string, name: string) => (kind === 'Pod' ? get<any>(c, 'Pod', 'default', name).status.podIP : get<any>(c, 'Service', 'default', name).spec.clusterIP) as string;
  return { c, dp, ip, client: dp.network.pod('default', 'client')!.netns };
}

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
    const unnat = t.reply!.hops.find((h) => h.node === 'node1' && h.after?.startsWith(`TCP ${vip}:80 >`));
    expect(unnat).toBeDefined();
    // The node's IPVS table holds the connection, as ipvsadm -Lnc shows it.
    const conns = dp.network.host('node1')!.ipvs.connections().filter((c) => !c.template);
    expect(conns.map((c) => [c.virtual.address, c.dest.address])).toEqual([[vip, endpoint]]);
  });
});
