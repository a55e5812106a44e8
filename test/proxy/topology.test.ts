// The same upstream case, reached the way a user reaches it: a topology file (Node with annotations and
// addresses, KubeProxyConfiguration, Services, EndpointSlices) through the store and `kdp rules`.
import { describe, expect, it } from 'vitest';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { parse } from 'yaml';
import { cluster, errors } from '../helpers/cluster.ts';
import { kdp } from '../helpers/cli.ts';
import { iptablesRules } from '../../src/proxy/kubeproxy.ts';
import { sortIPTablesRules } from './helpers/sortrules.ts';
import { serviceObject, sliceObject } from './helpers/fixtures.ts';
import { stringify } from 'yaml';

/** A node set as upstream's fake proxier sets it: test-node, 192.168.0.2, no --random-fully. */
const FAKE_NODE = (era: 'current' | 'v1.28') => `
apiVersion: kdp.dev/v1alpha1
kind: Cluster
metadata: {name: t}
spec:
  podCIDR: 10.0.0.0/8
  serviceCIDR: 172.30.0.0/16
---
apiVersion: kubeproxy.config.k8s.io/v1alpha1
kind: KubeProxyConfiguration
mode: iptables
clusterCIDR: 10.0.0.0/8
---
apiVersion: v1
kind: Node
metadata:
  name: ${era === 'current' ? 'test-node' : 'test-hostname'}
  annotations:
    kdp.dev/iptables-random-fully: "false"
    kdp.dev/kernel-nfacct: "${era === 'current'}"
    kdp.dev/conntrack-tcp-be-liberal: "false"
status:
  addresses:
    - {type: InternalIP, address: 192.168.0.2}
    - {type: InternalIP, address: 192.168.1.2}
    - {type: ExternalIP, address: 192.168.99.11}
`;

function caseObjects(file: string): string {
  const doc = parse(readFileSync(join(import.meta.dirname, 'cases', file), 'utf8'));
  // Upstream's svc4 is a NodePort Service without a node port, which only a fixture bypassing the apiserver
  // can hold; as a ClusterIP Service with the same externalIP it is written the same way.
  for (const s of doc.services) if (s.name === 'svc4') s.spec.type = 'ClusterIP';
  const objs = [...doc.services.map(serviceObject), ...doc.endpointSlices.map(sliceObject)];
  return objs.map((o) => `---\n${stringify(o)}`).join('');
}

function expectedOf(file: string): string {
  return parse(readFileSync(join(import.meta.dirname, 'cases', file), 'utf8')).expected;
}

/** The cluster's own Services (kubernetes, kube-dns) are not in upstream's fixture. */
function withoutSystemServices(c: ReturnType<typeof cluster>) {
  for (const [ns, name] of [['default', 'kubernetes'], ['kube-system', 'kube-dns']]) {
    c.store.delete('Service', ns, name);
    for (const s of c.store.list('EndpointSlice', { namespace: ns })) {
      if (s.metadata.labels?.['kubernetes.io/service-name'] === name) c.store.delete('EndpointSlice', ns, s.metadata.name);
    }
  }
  return c;
}

describe('kdp rules from a topology', () => {
  for (const [era, file] of [['current', 'current-overall.yaml'], ['v1.28', 'v128-overall.yaml']] as const) {
    it(`reproduces ${file} with the node and configuration set as the fake proxier (${era})`, () => {
      const c = cluster(FAKE_NODE(era) + caseObjects(file));
      expect(errors(c)).toEqual([]);
      withoutSystemServices(c);
      const out = iptablesRules(c.store, c.config, era === 'current' ? 'test-node' : 'test-hostname', 'IPv4');
      expect(sortIPTablesRules(out.restoreText)).toBe(expectedOf(file));
    });
  }

  it('prints iptables-restore text for a node, with a modern node\'s defaults', async () => {
    const r = await kdp(['rules', '-f', 'topologies/default.yaml', '--node', 'node2', '--format', 'iptables-restore']);
    expect(r.stderr).toBe('');
    expect(r.code).toBe(0);
    expect(r.stdout).toMatch(/^\*filter\n:KUBE-SERVICES - \[0:0\]\n/);
    expect(r.stdout).toContain('-A KUBE-FORWARD -m conntrack --ctstate INVALID -m nfacct --nfacct-name ct_state_invalid_dropped_pkts -j DROP\n');
    expect(r.stdout).toContain('-j MASQUERADE --random-fully\n');
    expect(r.stdout).toContain('-A KUBE-SERVICES -m comment --comment "default/kubernetes:https cluster IP" -m tcp -p tcp -d 10.96.0.1 --dport 443 -j KUBE-SVC-NPX46M4PTMTKRN6Y\n');
    expect(r.stdout.endsWith('COMMIT\n')).toBe(true);
  });

  it('refuses an unknown format, family or node with a clear error', async () => {
    const bad = await kdp(['rules', '--node', 'node1', '--format', 'pf']);
    expect(bad).toMatchObject({ code: 1, stderr: 'error: --format "pf": must be one of iptables-restore, iptables-save, ipvsadm, ipset\n' });
    const fam = await kdp(['rules', '--node', 'node1', '--ip-family', 'IPv5']);
    expect(fam).toMatchObject({ code: 1, stderr: 'error: --ip-family "IPv5": must be IPv4 or IPv6\n' });
    const v6 = await kdp(['rules', '--node', 'node1', '--ip-family', 'IPv6']);
    expect(v6.stderr).toBe('error: the cluster has no IPv6 Service CIDR (serviceCIDR 10.96.0.0/12)\n');
    const node = await kdp(['rules', '--node', 'nodeX']);
    expect(node.stderr).toBe('error: node "nodeX" not found (nodes: node1, node2, node3)\n');
    const which = await kdp(['rules']);
    expect(which.stderr).toBe('error: say which node\'s rules: --node NAME (one of node1, node2, node3)\n');
  });

  it('names the node and annotation of a bad capability annotation', () => {
    const c = cluster(`
apiVersion: v1
kind: Node
metadata: {name: n1, annotations: {kdp.dev/kernel-nfacct: "yes"}}
`);
    expect(() => iptablesRules(c.store, c.config, 'n1', 'IPv4')).toThrow('Node n1: metadata.annotations["kdp.dev/kernel-nfacct"]: Invalid value: "yes": must be "true" or "false"');
  });
});
