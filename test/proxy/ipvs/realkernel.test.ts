// Root only: kube-proxy's IPVS-mode ipsets and iptables text, as kdp writes them, loaded into a scratch network
// namespace with the real ipset and iptables-restore. (The kernel here has no IPVS, so the `-m ipvs` rule of
// KUBE-IPVS-OUT-FILTER cannot load: the topology keeps every LB source range containing the node.)
import { execFileSync, spawnSync } from 'node:child_process';
import { describe, expect, it } from 'vitest';
import { Ipsets } from '../../../src/netns/ipset.ts';
import { syncIpvsProxier } from '../../../src/proxy/ipvs/proxier.ts';
import { loadIntoKernel, referenceSets } from '../../../src/proxy/ipvs/rules.ts';
import { Ipvs } from '../../../src/netns/ipvs.ts';

const root = process.getuid?.() === 0 && spawnSync('ipset', ['version']).status === 0 && spawnSync('iptables-restore', ['--version']).status === 0;
if (!root) console.log('IPVS-mode real-kernel test skipped: needs root, ipset and iptables-restore');

const svc = (name: string, spec: object, status: object = {}) => ({ apiVersion: 'v1', kind: 'Service', metadata: { namespace: 'ns', name }, spec, status });

describe.skipIf(!root)('kube-proxy IPVS mode against the real kernel (root)', () => {
  it('the ipset restore text and iptables-restore text load; the real ipset list equals kdp\'s', () => {
    const state = syncIpvsProxier({
      family: 'IPv4', nodeName: 'n', nodeIP: '192.168.1.11', nodeLabels: {}, nodeAddresses: ['192.168.1.11', '127.0.0.1'],
      services: [
        svc('a', {
          type: 'LoadBalancer', clusterIP: '10.96.0.5', loadBalancerSourceRanges: ['192.168.0.0/16', '10.1.2.3/32'], externalTrafficPolicy: 'Local', healthCheckNodePort: 32000,
          ports: [{ name: 'h', port: 80, protocol: 'TCP', nodePort: 30080 }, { name: 'u', port: 53, protocol: 'UDP', nodePort: 30053 }, { name: 's', port: 9, protocol: 'SCTP', nodePort: 30009 }],
        }, { loadBalancer: { ingress: [{ ip: '1.2.3.4' }] } }),
        svc('b', { type: 'ClusterIP', clusterIP: '10.96.0.6', externalIPs: ['5.6.7.9'], ports: [{ port: 80, protocol: 'TCP' }] }),
      ] as never,
      endpointSlices: [{
        apiVersion: 'discovery.k8s.io/v1', kind: 'EndpointSlice', addressType: 'IPv4',
        metadata: { namespace: 'ns', name: 'a-1', labels: { 'kubernetes.io/service-name': 'a' } },
        ports: [{ name: 'h', port: 8080, protocol: 'TCP' }], endpoints: [{ addresses: ['10.244.0.9'], nodeName: 'n' }],
      }] as never,
      scheduler: 'rr', masqueradeAll: false, masqueradeBit: 14, ifNotLocal: ['!', '-s', '10.244.0.0/16'], nodePortAddresses: [], randomFully: true,
    });
    expect(state.iptablesRestore).not.toContain('-m ipvs');
    const sets = new Ipsets({ now: () => 0 });
    loadIntoKernel(state, new Ipvs({ now: () => 0 }), sets);
    const ns = `kdp-ipvs-${process.pid}`;
    execFileSync('ip', ['netns', 'add', ns]);
    try {
      const run = (cmd: string[], input?: string) => execFileSync('ip', ['netns', 'exec', ns, ...cmd], { input, encoding: 'utf8' });
      // kube-proxy's own text loads as it is...
      run(['ipset', 'restore'], state.ipsetRestore);
      run(['ipset', 'destroy']);
      // ...and kdp's sets, recreated with the initval kdp chose, list as the kernel lists them.
      run(['ipset', 'restore'], sets.save());
      expect(run(['ipset', 'list'])).toBe(sets.list());
      run(['iptables-restore', '--noflush'], state.iptablesRestore);
      // With the rules loaded, each set's References counts the rules that match on it.
      referenceSets(sets, state.iptablesRestore);
      expect(run(['ipset', 'list'])).toBe(sets.list());
      const saved = run(['iptables-save']);
      expect(saved).toContain('-A KUBE-SERVICES -m comment --comment "Kubernetes service lb portal" -m set --match-set KUBE-LOAD-BALANCER dst,dst -j KUBE-LOAD-BALANCER');
      expect(saved).toContain('-A KUBE-IPVS-FILTER -m conntrack --ctstate NEW -m set --match-set KUBE-IPVS-IPS dst -j REJECT --reject-with icmp-port-unreachable');
    } finally {
      spawnSync('ip', ['netns', 'del', ns]);
    }
  });
});
