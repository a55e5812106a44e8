// The nodes' conflist: kube-flannel.yml's default, or the kube-flannel-cfg ConfigMap's cni-conf.json, checked
// as libcni parses a list, problems on the topology file's line.
import { describe, expect, it } from 'vitest';
import { cluster, kubeFlannelCfg, NODES3 } from '../helpers/cluster.ts';
import { clusterConflist, parseConflist } from '../../src/cni/conflist.ts';
import { FLANNEL_CONFLIST } from '../../src/cni/flannel.ts';
import { formatProblem } from '../../src/cluster/problems.ts';

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
