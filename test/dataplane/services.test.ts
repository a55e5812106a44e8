// Services through the whole data plane: kube-proxy's rules loaded into every node's kernel decide where a
// connection to a ClusterIP or a NodePort goes, and conntrack brings the answer back un-NATed.
import { describe, expect, it } from 'vitest';
import { traceBranches, traceFlow, traceFromOutside } from '../../src/netns/forward.ts';
import { get, NODES3, NO_COREDNS, podDoc } from '../helpers/cluster.ts';
import { appPod, dataPlaneOf, serviceDoc } from '../helpers/dataplane.ts';


const TOPO = NODES3 + NO_COREDNS + podDoc('client', 'node1') + appPod('w1', 'node2', 'web') + appPod('w2', 'node3', 'web')
  + serviceDoc('web', 'web') + serviceDoc('nothing', 'none') + serviceDoc('np', 'web', ', type: NodePort');

const setup = () => dataPlaneOf(TOPO);

describe('Services through the data plane', () => {
  it('a ClusterIP connection is DNATed by KUBE-SEP to an endpoint, and the answer is un-DNATed by conntrack', () => {
    const { dp, ip, client } = setup();
    const t = traceFlow(dp.network, client, { protocol: 'tcp', dst: ip('Service', 'web'), dport: 80 }, { seed: 1 });
    expect(t.request.verdict.kind).toBe('delivered');
    const endpoint = t.request.verdict.socket!.address;
    expect([ip('Pod', 'w1'), ip('Pod', 'w2')]).toContain(endpoint);
    const dnat = t.request.hops.find((h) => h.what.includes('-j DNAT'))!;
    expect(dnat.what).toMatch(/^nat KUBE-SEP-[A-Z2-7]{16} #\d+: -A KUBE-SEP-/);
    expect(dnat.after).toContain(`> ${endpoint}:8080`);
    // The client sees its answer come from the ClusterIP it dialled, not from the pod.
    expect(t.reply!.verdict.kind).toBe('delivered');
    expect(JSON.stringify(t.reply!.hops)).toContain(`${ip('Service', 'web')}:80`);
  });

  it('every branch of the random rules: each endpoint with probability 1/2', () => {
    const { dp, ip, client } = setup();
    const branches = traceBranches((o) => traceFlow(dp.network, client, { protocol: 'tcp', dst: ip('Service', 'web'), dport: 80 }, o));
    const by = new Map(branches.map((b) => [b.trace.request.verdict.socket?.address, b.p]));
    expect(by).toEqual(new Map([[ip('Pod', 'w1'), 0.5], [ip('Pod', 'w2'), 0.5]]));
  });

  it('a Service without endpoints is REJECTed by the filter table', () => {
    const { dp, ip, client } = setup();
    const t = traceFlow(dp.network, client, { protocol: 'tcp', dst: ip('Service', 'nothing'), dport: 80 });
    expect(t.request.verdict.kind).toBe('rejected');
    expect(t.request.verdict.by).toContain('default/nothing has no endpoints');
  });

  it('live: a pod deleted leaves its Service with one endpoint, at once', () => {
    const { c, dp, ip, client } = setup();
    c.store.delete('Pod', 'default', 'w2');
    const branches = traceBranches((o) => traceFlow(dp.network, client, { protocol: 'tcp', dst: ip('Service', 'web'), dport: 80 }, o));
    expect(branches.map((b) => [b.trace.request.verdict.socket?.address, b.p])).toEqual([[ip('Pod', 'w1'), 1]]);
  });

  it('a NodePort from outside the cluster reaches an endpoint, masqueraded (externalTrafficPolicy Cluster)', () => {
    const { c, dp } = setup();
    const nodePort = get<any>(c, 'Service', 'default', 'np').spec.ports[0].nodePort as number;
    const t = traceFromOutside(dp.network, '203.0.113.7', { protocol: 'tcp', dst: '192.168.1.11', dport: nodePort }, { seed: 3 });
    expect(t.request.verdict.kind).toBe('delivered');
    expect(t.request.hops.some((h) => h.what.includes('-j KUBE-MARK-MASQ'))).toBe(true);
    expect(t.request.hops.some((h) => h.what.includes('MASQUERADE'))).toBe(true);
    expect(t.reply!.verdict.kind).toBe('delivered');
  });
});
