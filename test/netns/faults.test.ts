// The faults a walkthrough switches on in the topology, each named at the hop where it bites.
import { describe, expect, it } from 'vitest';
import { ClusterNetwork } from '../../src/kubelet/network.ts';
import { traceFlow } from '../../src/netns/forward.ts';
import { cluster, errors, get, podDoc } from '../helpers/cluster.ts';

function withFaults(faults: string) {
  const c = cluster(`apiVersion: kdp.dev/v1alpha1
kind: Cluster
metadata: {name: t}
spec:
  nodes: [{name: node1, ip: 192.168.1.11}, {name: node2, ip: 192.168.1.12}, {name: node3, ip: 192.168.1.13}]
  faults:
${faults}
` + podDoc('a', 'node1', [80]) + podDoc('b', 'node1', [80]) + podDoc('c', 'node2', [80]) + podDoc('d', 'node3', [80]));
  expect(errors(c)).toEqual([]);
  const net = new ClusterNetwork(c);
  const ip = (name: string) => get<any>(c, 'Pod', 'default', name).status.podIP as string;
  const from = (name: string) => net.pod('default', name)!.netns;
  return { c, net, ip, from };
}

describe('faults', () => {
  it('forward-policy-drop: node2 drops what it would forward, bridged or routed', () => {
    const { net, ip, from } = withFaults('    - {type: forward-policy-drop, node: node2}');
    const t = traceFlow(net, from('a'), { protocol: 'tcp', dst: ip('c'), dport: 80 });
    expect(t.request.verdict).toEqual({ kind: 'dropped', by: 'node/node2: iptables -P FORWARD DROP (fault: forward-policy-drop)' });
    expect(t.request.hops.at(-1)).toMatchObject({ netns: 'node/node2', kind: 'hook', what: 'FORWARD: mangle, filter: no rules, filter FORWARD policy DROP (fault: forward-policy-drop)' });
    expect(traceFlow(net, from('a'), { protocol: 'tcp', dst: ip('b'), dport: 80 }).request.verdict.kind).toBe('delivered');
  });

  it('bridge-nf-call-iptables-off: bridged frames on node1 skip iptables, and the trace says why', () => {
    const { net, ip, from } = withFaults('    - {type: bridge-nf-call-iptables-off, node: node1}');
    const t = traceFlow(net, from('a'), { protocol: 'tcp', dst: ip('b'), dport: 80 });
    expect(t.request.verdict.kind).toBe('delivered');
    expect(t.request.hops.map((h) => h.what)).toContain('bridge-nf-call-iptables=0: the bridged frame skips iptables (fault: bridge-nf-call-iptables-off)');
  });

  it('vxlan-blocked: UDP 8472 dropped between node1 and node2, not towards node3', () => {
    const { net, ip, from } = withFaults('    - {type: vxlan-blocked, between: [node1, node2]}');
    const t = traceFlow(net, from('a'), { protocol: 'tcp', dst: ip('c'), dport: 80 });
    expect(t.request.verdict).toEqual({ kind: 'dropped', by: 'the underlay: UDP 8472 is blocked between node1 and node2 (fault: vxlan-blocked)' });
    expect(traceFlow(net, from('a'), { protocol: 'tcp', dst: ip('d'), dport: 80 }).request.verdict.kind).toBe('delivered');
  });

  it('mtu-mismatch: node2\'s NIC takes 1400 bytes, so full-size VXLAN frames from node1 are dropped there', () => {
    const { net, ip, from } = withFaults('    - {type: mtu-mismatch, node: node2, mtu: 1400}');
    expect(net.host('node2')!.device('flannel.1')!.mtu).toBe(1350);
    expect(traceFlow(net, from('a'), { protocol: 'tcp', dst: ip('c'), dport: 80 }).request.verdict.kind).toBe('delivered');
    // 1410 bytes of payload: a 1450-byte packet fits flannel.1 on node1, its 1500-byte VXLAN packet does not fit node2's eth0.
    const big = traceFlow(net, from('a'), { protocol: 'tcp', dst: ip('c'), dport: 80, size: 1410 });
    expect(big.request.verdict).toEqual({ kind: 'mtu-exceeded', by: 'node/node2 eth0 mtu 1400 < 1500 (fault: mtu-mismatch)' });
  });

  it('node-down: node3 answers nothing', () => {
    const { net, ip, from } = withFaults('    - {type: node-down, node: node3}');
    const t = traceFlow(net, from('a'), { protocol: 'tcp', dst: ip('d'), dport: 80 });
    expect(t.request.verdict).toEqual({ kind: 'unreachable', by: 'node/node3 is down (fault: node-down)' });
    expect(traceFlow(net, from('a'), { protocol: 'icmp', dst: '192.168.1.13' }).request.verdict.kind).toBe('unreachable');
  });

  it('hairpin-off: node1\'s bridge ports come up without hairpin', () => {
    const { net, from } = withFaults('    - {type: hairpin-off, node: node1}');
    const veth = net.host('node1')!.device(from('a').device('eth0')!.peer!.name)!;
    expect(veth.hairpin).toBe(false);
    expect(net.host('node2')!.device(net.pod('default', 'c')!.netns.device('eth0')!.peer!.name)!.hairpin).toBe(true);
  });

  it('names the field when a fault is malformed or names no node', () => {
    const c = cluster(`apiVersion: kdp.dev/v1alpha1
kind: Cluster
metadata: {name: t}
spec:
  nodes: [{name: node1}]
  faults:
    - {type: node-down, node: nodeX}
    - {type: mtu-mismatch, node: node1, mtu: 100}
    - {type: flaky}
`);
    expect(errors(c)).toEqual([
      'error: topo.yaml:8: Cluster t: spec.faults[1].mtu: Invalid value: 100: must be between 576 and 9000, inclusive',
      expect.stringMatching(/^error: topo\.yaml:9: Cluster t: spec\.faults\[2\]\.type: Unsupported value: "flaky": supported values: "bridge-nf-call-iptables-off", /),
      'error: topo.yaml:7: Cluster t: spec.faults[0].node: Invalid value: "nodeX": no such node',
    ]);
  });
});

describe('fault validation', () => {
  it('names the right element of a vxlan-blocked pair', () => {
    const c = cluster('apiVersion: kdp.dev/v1alpha1\nkind: Cluster\nmetadata: {name: t}\nspec:\n  nodes: [{name: node1}]\n  faults:\n    - {type: vxlan-blocked, between: [node1, nodeZ]}\n');
    expect(errors(c)).toEqual(['error: topo.yaml:7: Cluster t: spec.faults[0].between[1]: Invalid value: "nodeZ": no such node']);
  });
});
