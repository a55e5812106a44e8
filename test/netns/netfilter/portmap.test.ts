// The CNI portmap plugin's rules for a pod with a hostPort, as portmap_iptables.go writes them, deciding
// connections to the node's address.
import { describe, expect, it } from 'vitest';
import { ClusterNetwork } from '../../../src/kubelet/network.ts';
import { dnatChainName } from '../../../src/cni/portmap.ts';
import { traceFlow, traceFromOutside } from '../../../src/netns/forward.ts';
import { cluster, get, NODES3, podDoc } from '../../helpers/cluster.ts';

const HOSTPORT = `---
apiVersion: v1
kind: Pod
metadata: {name: web}
spec: {nodeName: node1, containers: [{name: c, ports: [{containerPort: 80, hostPort: 8080}, {containerPort: 53, hostPort: 5353, protocol: UDP}]}]}
`;

function setup() {
  const c = cluster(NODES3 + HOSTPORT + podDoc('a', 'node1'));
  const net = new ClusterNetwork(c);
  return { c, net, ip: (n: string) => get<any>(c, 'Pod', 'default', n).status.podIP as string };
}

describe('portmap (hostPort)', () => {
  it('writes CNI-HOSTPORT-DNAT and the container\'s CNI-DN chain in the node\'s nat table', () => {
    const { net, ip } = setup();
    const sandbox = net.pod('default', 'web')!;
    const chain = dnatChainName('cbr0', sandbox.containerId);
    expect(chain).toMatch(/^CNI-DN-[0-9a-f]{21}$/);
    const rules = net.host('node1')!.netfilter.iptables.save('nat').split('\n').filter((l) => l.startsWith('-A') && !l.includes('FLANNEL'));
    const comment = `"dnat name: \\"cbr0\\" id: \\"${sandbox.containerId}\\""`;
    expect(rules).toEqual([
      '-A PREROUTING -m addrtype --dst-type LOCAL -j CNI-HOSTPORT-DNAT',
      '-A OUTPUT -m addrtype --dst-type LOCAL -j CNI-HOSTPORT-DNAT',
      '-A POSTROUTING -m comment --comment "CNI portfwd requiring masquerade" -j CNI-HOSTPORT-MASQ',
      `-A CNI-DN-${chain.slice(7)} -s 10.244.0.0/24 -p tcp -m tcp --dport 8080 -j CNI-HOSTPORT-SETMARK`,
      `-A CNI-DN-${chain.slice(7)} -s 127.0.0.1/32 -p tcp -m tcp --dport 8080 -j CNI-HOSTPORT-SETMARK`,
      `-A CNI-DN-${chain.slice(7)} -p tcp -m tcp --dport 8080 -j DNAT --to-destination ${ip('web')}:80`,
      `-A CNI-DN-${chain.slice(7)} -s 10.244.0.0/24 -p udp -m udp --dport 5353 -j CNI-HOSTPORT-SETMARK`,
      `-A CNI-DN-${chain.slice(7)} -s 127.0.0.1/32 -p udp -m udp --dport 5353 -j CNI-HOSTPORT-SETMARK`,
      `-A CNI-DN-${chain.slice(7)} -p udp -m udp --dport 5353 -j DNAT --to-destination ${ip('web')}:53`,
      `-A CNI-HOSTPORT-DNAT -p udp -m comment --comment ${comment} -m multiport --dports 5353 -j ${chain}`,
      `-A CNI-HOSTPORT-DNAT -p tcp -m comment --comment ${comment} -m multiport --dports 8080 -j ${chain}`,
      '-A CNI-HOSTPORT-MASQ -m mark --mark 0x2000/0x2000 -j MASQUERADE',
      '-A CNI-HOSTPORT-SETMARK -m comment --comment "CNI portfwd masquerade mark" -j MARK --set-xmark 0x2000/0x2000',
    ]);
  });

  it('DNATs a connection to the node\'s hostPort to the pod, and hairpins a pod of the node through it', () => {
    const { net, ip } = setup();
    const t = traceFromOutside(net, '203.0.113.9', { protocol: 'tcp', dst: '192.168.1.11', dport: 8080 });
    expect(t.request.verdict.socket).toMatchObject({ netns: 'p/default/web', address: ip('web'), port: 80 });
    expect(t.reply!.verdict.kind).toBe('delivered');
    const hair = traceFlow(net, net.pod('default', 'a')!.netns, { protocol: 'tcp', dst: '192.168.1.11', dport: 8080 });
    expect(hair.request.verdict.socket?.netns).toBe('p/default/web');
    expect(hair.request.hops.some((h) => h.what.includes('-j CNI-HOSTPORT-SETMARK'))).toBe(true);
    expect(hair.request.hops.find((h) => h.what.includes('CNI-HOSTPORT-MASQ -m mark'))!.after).toMatch(/^TCP 10\.244\.0\.1:\d+ > /);
    expect(hair.reply!.verdict.kind).toBe('delivered');
  });

  it('DEL removes the container\'s chain and its jumps', () => {
    const { c, net } = setup();
    c.store.delete('Pod', 'default', 'web');
    const nat = net.host('node1')!.netfilter.iptables.save('nat');
    expect(nat).not.toMatch(/CNI-DN-/);
    expect(nat).toContain(':CNI-HOSTPORT-DNAT - [0:0]');
  });
});
