// The nodes' conflist: kube-flannel.yml's default, or the kube-flannel-cfg ConfigMap's cni-conf.json, checked
// as libcni parses a list, problems on the topology file's line.
import { describe, expect, it } from 'vitest';
import { cluster, kubeFlannelCfg, NODES3 } from '../helpers/cluster.ts';
import { clusterConflist, parseConflist } from '../../src/cni/conflist.ts';
import { FLANNEL_CONFLIST } from '../../src/cni/flannel.ts';
import { formatProblem, TopologyError } from '../../src/cluster/problems.ts';
import { ClusterNetwork } from '../../src/kubelet/network.ts';
import { Netns } from '../../src/netns/netns.ts';
import { addNetworkList } from '../../src/cni/libcni.ts';

const flannelCfg = (json: string, namespace?: string) => `${NODES3}${kubeFlannelCfg(json, namespace)}`;

describe('the nodes\' CNI network configuration list', () => {
  it('is kube-flannel.yml\'s 10-flannel.conflist when the topology has no kube-flannel-cfg', () => {
    expect(clusterConflist(cluster(NODES3))).toEqual({ list: FLANNEL_CONFLIST, source: "kube-flannel.yml's 10-flannel.conflist", problems: [] });
  });

  it('is the ConfigMap\'s cni-conf.json when there is one (kube-flannel, or kube-system as older manifests have it)', () => {
    const json = JSON.stringify({ name: 'cbr0', cniVersion: '1.0.0', plugins: [{ type: 'flannel', delegate: { hairpinMode: false, isDefaultGateway: true } }, { type: 'portmap', capabilities: { portMappings: true } }] }, null, 2);
    for (const ns of ['kube-flannel', 'kube-system']) {
      const c = clusterConflist(cluster(flannelCfg(json, ns)));
      expect(c.problems).toEqual([]);
      expect(c.source).toBe(`ConfigMap ${ns}/kube-flannel-cfg data.cni-conf.json`);
      expect(c.list).toEqual(JSON.parse(json));
    }
  });

  it('places a JSON syntax error on its line of the topology file', () => {
    const c = clusterConflist(cluster(flannelCfg('{\n  "name": "cbr0",\n  "cniVersion": "0.3.1"\n  "plugins": []\n}')));
    expect(c.problems.map(formatProblem)).toEqual([
      'error: topo.yaml:24: ConfigMap kube-flannel/kube-flannel-cfg: data.cni-conf.json: error parsing configuration list: invalid JSON: comma expected at line 4 column 3',
    ]);
    expect(c.list).toBe(FLANNEL_CONFLIST);
  });

  it('refuses what libcni refuses, and plugins kdp\'s nodes do not have', () => {
    const err = (o: unknown) => parseConflist(JSON.stringify(o)).errors.map((e) => e.message);
    expect(err({ cniVersion: '0.3.1', plugins: [{ type: 'bridge' }] })).toEqual(['error parsing configuration list: no name']);
    expect(err({ name: 'cbr0', cniVersion: '0.3.1' })).toEqual(["error parsing configuration list: no 'plugins' key"]);
    expect(err({ name: 'cbr0', cniVersion: '0.3.1', plugins: [] })).toEqual(['error parsing configuration list: no plugins in list']);
    expect(err({ name: 'cbr 0', cniVersion: '0.3.1', plugins: [{ type: 'bridge' }] })).toEqual(['error parsing configuration list: invalid characters found in network name "cbr 0"']);
    expect(err({ name: 'cbr0', cniVersion: '0.5.0', plugins: [{ type: 'bridge' }] })[0]).toMatch(/^error parsing configuration list: cniVersion "0.5.0" is not a CNI specification version/);
    expect(err({ name: 'cbr0', cniVersion: '0.3.1', plugins: [{ type: 'flannel' }, { bridge: 'cni0' }, { type: 'bandwidth' }] })).toEqual([
      "failed to parse plugin config 1: error parsing configuration: missing 'type'",
      'plugins[2]: failed to find plugin "bandwidth" in path [/opt/cni/bin] (kdp\'s nodes have bridge, flannel, loopback, portmap)',
    ]);
    expect(parseConflist(JSON.stringify({ name: 'cbr0', plugins: [{ type: 'bridge' }] })).list?.cniVersion).toBe('0.1.0');
  });
});

describe('what kdp\'s nodes can wire', () => {
  const problems = (plugins: unknown[]) => clusterConflist(cluster(flannelCfg(JSON.stringify({ name: 'cbr0', cniVersion: '0.3.1', plugins })))).problems.map((p) => p.message);

  it('flannel first, delegating to bridge, then portmap or loopback', () => {
    expect(problems([{ type: 'flannel' }, { type: 'portmap', capabilities: { portMappings: true } }, { type: 'loopback' }])).toEqual([]);
    expect(problems([{ type: 'bridge', ipam: { type: 'host-local' } }])).toEqual([
      'plugins[0]: kdp wires pods as flannel\'s conflist does — flannel first (delegating to bridge), then portmap or loopback; got "bridge" here',
    ]);
    expect(problems([{ type: 'portmap' }, { type: 'flannel' }])).toHaveLength(2);
    expect(problems([{ type: 'flannel', delegate: { type: 'ipvlan', name: 'x' } }])).toEqual([
      "plugins[0].delegate: 'delegate' dictionary must not have 'name' field, it'll be set by flannel",
      'plugins[0].delegate.type: failed to find plugin "ipvlan" in path [/opt/cni/bin] (flannel delegates to bridge on kdp\'s nodes)',
    ]);
  });
});

describe('pods wired by the nodes\' conflist', () => {
  const TOPO = `${NODES3}
---
apiVersion: v1
kind: Pod
metadata: {name: web}
spec: {nodeName: node2, containers: [{name: web, ports: [{containerPort: 80, hostPort: 8080}]}]}
`;
  const withList = (plugins: unknown[]) => cluster(TOPO + kubeFlannelCfg(JSON.stringify({ name: 'mynet', cniVersion: '1.0.0', plugins })));

  it('each pod\'s result is what libcni running the conflist returns for it', () => {
    const c = withList([{ type: 'flannel', delegate: { hairpinMode: false, isDefaultGateway: true } }, { type: 'portmap', capabilities: { portMappings: true } }]);
    const net = new ClusterNetwork(c);
    const s = net.pod('default', 'web')!;
    const node = net.cniNode('node2')!;
    const fresh = new ClusterNetwork(cluster(NODES3 + kubeFlannelCfg(JSON.stringify({ name: 'mynet', cniVersion: '1.0.0', plugins: net.conflist.plugins })))).cniNode('node2')!;
    const pod = new Netns(s.netns.name, {}, true);
    const rt = { containerId: s.containerId, netnsPath: s.netnsPath, ifName: 'eth0', args: [['IP', s.result.ips![0].address.split('/')[0]]] as [string, string][], capabilityArgs: {} };
    expect(addNetworkList(net.conflist, rt, { ...fresh, pod })).toEqual(s.result);
    expect(s.result.cniVersion).toBe('1.0.0');
    // The delegate's hairpinMode false reaches the bridge port; portmap writes the hostPort under the list's name.
    const veth = node.host.device(s.result.interfaces![1].name)!;
    expect(veth.hairpin).toBe(false);
    expect(node.host.netfilter.iptables.save('nat')).toContain(`--comment "dnat name: \\"mynet\\" id: \\"${s.containerId}\\""`);
  });

  it('without a portmap that declares portMappings, hostPorts open nothing (as on a real node)', () => {
    const net = new ClusterNetwork(withList([{ type: 'flannel' }, { type: 'portmap' }]));
    expect(net.cniNode('node2')!.host.netfilter.iptables.save('nat')).not.toMatch(/CNI-DN-/);
    const withCap = new ClusterNetwork(withList([{ type: 'flannel' }, { type: 'portmap', capabilities: { portMappings: true } }]));
    expect(withCap.cniNode('node2')!.host.netfilter.iptables.save('nat')).toMatch(/CNI-DN-/);
  });

  it('a conflist the nodes cannot run stops the network, with its problems', () => {
    expect(() => new ClusterNetwork(withList([{ type: 'bridge' }]))).toThrow(TopologyError);
  });
});
