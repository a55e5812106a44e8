// flanneld's net-conf.json (the kube-flannel-cfg ConfigMap's): read as flannel's subnet.ParseConfig reads it, and
// checked against the Cluster, whose pod CIDR and overlay are what kdp's nodes run: what disagrees is an error on
// its line of the topology file, never silently overruled.
import { describe, expect, it } from 'vitest';
import { netConfFindings, netConfProblems } from '../../src/cni/netconf.ts';
import { formatProblem, TopologyError } from '../../src/cluster/problems.ts';
import { ClusterNetwork } from '../../src/kubelet/network.ts';
import { cluster, NODES3 } from '../helpers/cluster.ts';
import { kdp, kdpUp } from '../helpers/cli.ts';
import { until } from '../helpers/until.ts';
import { rmSync } from 'node:fs';
import { dirname } from 'node:path';
import { topologyFile } from '../helpers/files.ts';

/** kube-flannel.yml's ConfigMap with this net-conf.json (and its cni-conf.json as the manifest has it). */
const withNetConf = (json: string, head = NODES3) => `${head}---
apiVersion: v1
kind: ConfigMap
metadata: {name: kube-flannel-cfg, namespace: kube-system}
data:
  net-conf.json: |
${json.split('\n').map((l) => `    ${l}`).join('\n')}
`;

const HOST_GW = NODES3.replace('spec:', 'spec:\n  network: {overlay: host-gw}');
const findings = (o: unknown, head = NODES3) => {
  const f = netConfFindings(JSON.stringify(o), cluster(head));
  return Array.isArray(f) ? f.map((x) => `${x.severity ?? 'error'}: ${x.message}`) : [f.syntax];
};

describe('flanneld\'s net-conf.json', () => {
  it('kube-flannel.yml\'s own (10.244.0.0/16, vxlan) agrees with the default Cluster', () => {
    expect(findings({ Network: '10.244.0.0/16', EnableNFTables: false, Backend: { Type: 'vxlan' } })).toEqual([]);
    // Keys matched as Go's encoding/json matches them: case does not matter.
    expect(findings({ network: '10.244.0.0/16', backend: { type: 'vxlan', vni: 1, port: 8472 } })).toEqual([]);
    expect(findings({ Network: '10.244.0.0/16', Backend: { Type: 'host-gw' } }, HOST_GW)).toEqual([]);
  });

  it('a backend or network other than the Cluster\'s is an error that says which field to set', () => {
    expect(findings({ Network: '10.244.0.0/16', Backend: { Type: 'host-gw' } })).toEqual([
      'error: Backend.Type "host-gw" is not the Cluster\'s overlay "vxlan": set spec.network.overlay: host-gw in the Cluster object (what kdp\'s nodes are wired by)',
    ]);
    expect(findings({ Network: '10.42.0.0/16', Backend: { Type: 'vxlan' } })).toEqual([
      'error: Network 10.42.0.0/16 is not the Cluster\'s pod CIDR (10.244.0.0/16): set them alike (the Cluster\'s spec.podCIDR is what kdp\'s nodes lease from)',
    ]);
    expect(findings({ Backend: { Type: 'vxlan' } })).toEqual(['error: please define a correct Network parameter in the flannel config']);
  });

  it('refuses backends and options kdp does not run, flannel\'s udp default included', () => {
    expect(findings({ Network: '10.244.0.0/16' })).toEqual([
      'error: Backend.Type "udp" (flannel\'s default when Backend is not given) is not emulated: kdp\'s flanneld runs vxlan and host-gw',
    ]);
    expect(findings({ Network: '10.244.0.0/16', Backend: { Type: 'wireguard' } })).toEqual([
      'error: Backend.Type "wireguard" is not emulated: kdp\'s flanneld runs vxlan and host-gw',
    ]);
    expect(findings({ Network: '10.244.0.0/16', Backend: { Type: 'vxlan', VNI: 4096, Port: 4789, DirectRouting: true } })).toEqual([
      'error: VNI 4096 is not emulated: kdp\'s vxlan device is flannel.1 (VNI 1)',
      'error: Port 4789 is not emulated: kdp\'s vxlan uses UDP 8472, the kernel\'s default',
      'error: DirectRouting is not emulated: every peer is reached through flannel.1',
    ]);
    expect(findings({ Network: '10.244.0.0/16', EnableNFTables: true, Backend: { Type: 'vxlan' } })).toEqual([
      'warning: EnableNFTables: kdp\'s flanneld writes its masquerade rules with iptables (FLANNEL-POSTRTG), as without it',
    ]);
  });

  it('places each problem on its line of the topology file, a JSON syntax error too', () => {
    const c = cluster(withNetConf('{\n  "Network": "10.244.0.0/16",\n  "Backend": {\n    "Type": "udp"\n  }\n}'));
    expect(netConfProblems(c).map(formatProblem)).toEqual([
      'error: topo.yaml:19: ConfigMap kube-system/kube-flannel-cfg: data.net-conf.json: Backend.Type "udp" is not emulated: kdp\'s flanneld runs vxlan and host-gw',
    ]);
    const broken = cluster(withNetConf('{\n  "Network": "10.244.0.0/16"\n  "Backend": {}\n}'));
    expect(netConfProblems(broken).map(formatProblem)).toEqual([
      'error: topo.yaml:18: ConfigMap kube-system/kube-flannel-cfg: data.net-conf.json: failed to parse net config: invalid JSON: comma expected at line 3 column 3',
    ]);
  });

  it('stops the pod network as flanneld would not start, and kdp validate says why', async () => {
    const text = withNetConf(JSON.stringify({ Network: '10.244.0.0/16', Backend: { Type: 'host-gw' } }));
    expect(() => new ClusterNetwork(cluster(text))).toThrow(TopologyError);
    const r = await kdp(['validate', '-f', '-'], { stdin: text });
    expect(r.code).toBe(1);
    expect(r.stderr).toContain('data.net-conf.json: Backend.Type "host-gw" is not the Cluster\'s overlay "vxlan"');
    // Agreeing with the Cluster, the same ConfigMap is fine.
    const ok = await kdp(['validate', '-f', '-'], { stdin: withNetConf(JSON.stringify({ Network: '10.244.0.0/16', Backend: { Type: 'host-gw' } }), HOST_GW) });
    expect(ok.stderr).toBe('');
    expect(ok.code).toBe(0);
  });

  it('kdp up says what it does otherwise (a warning) and runs', async () => {
    const file = topologyFile(withNetConf(JSON.stringify({ Network: '10.244.0.0/16', EnableNFTables: true, Backend: { Type: 'vxlan' } })));
    try {
      const up = kdpUp([file, '--loopback', '127.28', '--ingress-workers', '0']);
      await until(() => up.stdout.includes('Press Ctrl-C'), 20_000);
      up.interrupt();
      expect(await up.code).toBe(0);
      expect(up.stderr).toMatch(/^warning: .*topo\.yaml:\d+: ConfigMap kube-system\/kube-flannel-cfg: data\.net-conf\.json: EnableNFTables: /m);
    } finally {
      rmSync(dirname(file), { recursive: true, force: true });
    }
  });
});
