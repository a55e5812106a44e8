// kdp cni: cnitool's add, check and del against a node of the topology, with the conflist the nodes use.
import { describe, expect, it } from 'vitest';
import { topologyFile } from '../helpers/files.ts';
import { kdp } from '../helpers/cli.ts';
import { kubeFlannelCfg } from '../helpers/cluster.ts';
import { cnitoolContainerId } from '../../src/cli/commands/cni.ts';

const TOPO = `apiVersion: kdp.dev/v1alpha1
kind: Cluster
metadata: {name: c}
spec:
  nodes: [{name: node1, ip: 192.168.1.11}, {name: node2, ip: 192.168.1.12}]
---
apiVersion: v1
kind: Pod
metadata: {name: web}
spec: {nodeName: node1, containers: [{name: web}]}
`;

const CONFLIST_1_0 = kubeFlannelCfg(`{"name": "cbr0", "cniVersion": "1.0.0", "plugins": [
  {"type": "flannel", "delegate": {"hairpinMode": true, "isDefaultGateway": true}},
  {"type": "portmap", "capabilities": {"portMappings": true}}]}`);

const file = (text: string) => topologyFile(text);

describe('kdp cni', () => {
  it('add: a new namespace on the node gets the next address of its lease; the Result JSON as the 0.3.1 bridge prints it', async () => {
    const r = await kdp(['cni', 'add', 'cbr0', 'testing', '-f', file(TOPO), '--node', 'node1']);
    expect(r.stderr).toBe('');
    expect(r.code).toBe(0);
    const result = JSON.parse(r.stdout);
    expect(result.cniVersion).toBe('0.3.1');
    expect(result.interfaces.map((i: { name: string }) => i.name)).toEqual(['cni0', expect.stringMatching(/^veth[0-9a-f]{8}$/), 'eth0']);
    expect(result.interfaces[2].sandbox).toBe('/var/run/netns/testing');
    // node1's host-local gave web .2 and a coredns pod .3: the next sandbox gets .4.
    expect(result.ips).toEqual([{ version: '4', interface: 2, address: '10.244.0.4/24', gateway: '10.244.0.1' }]);
    expect(result.routes).toEqual([{ dst: '10.244.0.0/16' }, { dst: '0.0.0.0/0', gw: '10.244.0.1' }]);
    const chosen = await kdp(['cni', 'add', 'cbr0', '/var/run/netns/other', '-f', file(TOPO), '--node', 'node2', '--args', 'IP=10.244.1.77']);
    expect(JSON.parse(chosen.stdout).ips[0].address).toBe('10.244.1.77/24');
  });

  it('check: the 0.3.1 conflist refuses CHECK as libcni does; a 1.0.0 one checks a pod sandbox against its cached result', async () => {
    const old = await kdp(['cni', 'check', 'cbr0', 'testing', '-f', file(TOPO), '--node', 'node1']);
    expect(old).toMatchObject({ code: 1, stderr: 'configuration version "0.3.1" does not support the CHECK command\n' });
    const f = file(TOPO + CONFLIST_1_0);
    const sandbox = (await kdp(['ip', '--node', 'node1', 'link', '-f', f])).stdout.match(/link-netns (cni-[0-9a-f-]+)/)![1];
    expect(await kdp(['cni', 'check', 'cbr0', sandbox, '-f', f, '--node', 'node1'])).toMatchObject({ code: 0, stderr: '' });
    expect(await kdp(['cni', 'del', 'cbr0', sandbox, '-f', f, '--node', 'node1'])).toMatchObject({ code: 0, stderr: '' });
    // A namespace nothing was added to has no cached result: the bridge's CHECK finds no veth.
    const none = await kdp(['cni', 'check', 'cbr0', 'nothing', '-f', f, '--node', 'node1']);
    expect(none.code).toBe(1);
  });

  it('names what is wrong: another network name, a missing node, bad arguments', async () => {
    const f = file(TOPO);
    expect((await kdp(['cni', 'add', 'mynet', 'x', '-f', f, '--node', 'node1'])).stderr).toBe('error: failed to load netconf: no net configuration with name "mynet" (the nodes have "cbr0", from kube-flannel.yml\'s 10-flannel.conflist)\n');
    expect((await kdp(['cni', 'add', 'cbr0', 'x', '-f', f])).stderr).toBe('error: say which node runs it: --node NAME (node1, node2)\n');
    expect((await kdp(['cni', 'add', 'cbr0', 'x', '-f', f, '--node', 'node9'])).stderr).toBe('error: node "node9" not found\n');
    expect((await kdp(['cni', 'add', 'cbr0', 'x', '-f', f, '--node', 'node1', '--cap-args', '{bad'])).stderr).toMatch(/^error: CAP_ARGS: /);
    expect((await kdp(['cni', 'version', 'cbr0', 'x', '-f', f])).stderr).toBe('error: "version": kdp cni add|check|del NETWORK NETNS\n');
  });

  it('kdp validate reports a conflist the runtime could not load, on its line', async () => {
    const f = file(TOPO + CONFLIST_1_0.replace('"cniVersion": "1.0.0", "plugins"', '"cniVersion": "1.0.0" "plugins"'));
    const r = await kdp(['validate', '-f', f]);
    expect(r.code).toBe(1);
    expect(r.stderr).toBe(`error: ${f}:22: ConfigMap kube-flannel/kube-flannel-cfg: data.cni-conf.json: error parsing configuration list: invalid JSON: comma expected at line 1 column 40\n1 error, 0 warnings\n`);
    expect((await kdp(['validate', '-f', file(TOPO + CONFLIST_1_0)])).code).toBe(0);
  });

  it('derives the container id from the netns path as cnitool does', () => {
    expect(cnitoolContainerId('/var/run/netns/testing')).toMatch(/^cnitool-[0-9a-f]{20}$/);
  });
});
