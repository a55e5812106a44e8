// flanneld --ip-masq's rules in every node (FLANNEL-POSTRTG): pod-to-pod traffic is left alone, traffic
// leaving the pod network is masqueraded to the node's address.
import { describe, expect, it } from 'vitest';
import { ClusterNetwork } from '../../../src/kubelet/network.ts';
import { traceFlow } from '../../../src/netns/forward.ts';
import { cluster, get, NODES3, podDoc } from '../../helpers/cluster.ts';

function setup() {
  const c = cluster(NODES3 + podDoc('a', 'node1') + podDoc('c', 'node2', [8080]));
  const net = new ClusterNetwork(c);
  return { net, ip: (n: string) => get<any>(c, 'Pod', 'default', n).status.podIP as string, pod: (n: string) => net.pod('default', n)!.netns };
}

describe('flannel masquerade rules', () => {
  it('are in every node\'s nat table as flanneld writes them', () => {
    const { net } = setup();
    const rules = net.host('node1')!.netfilter.iptables.save('nat').split('\n').filter((l) => l.startsWith('-A'));
    expect(rules).toEqual([
      '-A POSTROUTING -m comment --comment "flanneld masq" -j FLANNEL-POSTRTG',
      '-A FLANNEL-POSTRTG -m mark --mark 0x4000/0x4000 -m comment --comment "flanneld masq" -j RETURN',
      '-A FLANNEL-POSTRTG -s 10.244.0.0/24 -d 10.244.0.0/16 -m comment --comment "flanneld masq" -j RETURN',
      '-A FLANNEL-POSTRTG -s 10.244.0.0/16 -d 10.244.0.0/24 -m comment --comment "flanneld masq" -j RETURN',
      '-A FLANNEL-POSTRTG ! -s 10.244.0.0/16 -d 10.244.0.0/24 -m comment --comment "flanneld masq" -j RETURN',
      '-A FLANNEL-POSTRTG -s 10.244.0.0/16 ! -d 224.0.0.0/4 -m comment --comment "flanneld masq" -j MASQUERADE --random-fully',
      '-A FLANNEL-POSTRTG ! -s 10.244.0.0/16 -d 10.244.0.0/16 -m comment --comment "flanneld masq" -j MASQUERADE --random-fully',
    ]);
    // The network follows the store; programming again adds nothing.
    expect(net.host('node2')!.netfilter.iptables.save('nat')).toContain('-A FLANNEL-POSTRTG -s 10.244.1.0/24 -d 10.244.0.0/16');
  });

  it('leave pod-to-pod traffic alone and masquerade what leaves the pod network', () => {
    const { net, ip, pod } = setup();
    const toPod = traceFlow(net, pod('a'), { protocol: 'tcp', dst: ip('c'), dport: 8080 });
    expect(toPod.request.verdict.kind).toBe('delivered');
    expect(toPod.request.hops.map((h) => h.what)).toContain('nat FLANNEL-POSTRTG #2: -A FLANNEL-POSTRTG -s 10.244.0.0/24 -d 10.244.0.0/16 -m comment --comment "flanneld masq" -j RETURN');
    const out = traceFlow(net, pod('a'), { protocol: 'udp', dst: '8.8.8.8', dport: 53, sport: 5353 });
    const masq = out.request.hops.find((h) => h.what.includes('-j MASQUERADE'))!;
    expect(masq).toMatchObject({ netns: 'node/node1', before: `UDP ${ip('a')}:5353 > 8.8.8.8:53` });
    expect(masq.after).toMatch(/^UDP 192\.168\.1\.11:\d+ > 8\.8\.8\.8:53$/);
  });
});
