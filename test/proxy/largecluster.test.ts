// Large-cluster mode (TestSyncProxyRulesLargeClusterMode): past 1000 endpoints the per-endpoint rules lose
// their comments; a service that did not change is not rewritten when the mode flips.
import { describe, expect, it } from 'vitest';
import { IPTablesProxier } from '../../src/proxy/iptables/proxier.ts';
import { servicePorts } from '../../src/proxy/serviceport.ts';
import { endpointsByServicePort } from '../../src/proxy/endpoints.ts';
import { fakeProxierSettings, serviceObject, sliceObject } from './helpers/fixtures.ts';

function addService(p: IPTablesProxier, name: string, ip: string, n: number, base: number) {
  p.setService(`ns1/${name}`, servicePorts(serviceObject({ namespace: 'ns1', name, spec: { clusterIP: ip, ports: [{ name: 'p80', port: 80, protocol: 'TCP' }] } }), 'IPv4'));
  const endpoints = Array.from({ length: n }, (_, i) => ({ addresses: [`10.${base}.${i >> 8}.${i & 255}`] }));
  p.setEndpoints(`ns1/${name}`, endpointsByServicePort([sliceObject({ namespace: 'ns1', service: name, endpoints, ports: [{ name: 'p80', port: 80, protocol: 'TCP' }] })], 'IPv4', 'test-node'));
}

describe('large-cluster mode', () => {
  it('drops the comments of endpoint rules above 1000 endpoints, and only there', () => {
    const p = new IPTablesProxier(fakeProxierSettings('current', 'IPv4'));
    addService(p, 'svc1', '172.30.0.41', 499, 0);
    addService(p, 'svc2', '172.30.0.42', 499, 1);
    addService(p, 'svc3', '172.30.0.43', 2, 2);
    const small = p.sync().restoreText;
    expect(small).toContain('-A KUBE-SEP-DKGQUZGBKLTPAR56 -m comment --comment ns1/svc1:p80 -m tcp -p tcp -j DNAT --to-destination 10.0.0.0:80\n');
    expect(small).toContain('-A KUBE-SVC-XPGD46QRK7WJZT7O -m comment --comment "ns1/svc1:p80 -> 10.0.0.0:80" -m statistic --mode random --probability 0.0020040080 -j KUBE-SEP-DKGQUZGBKLTPAR56\n');

    // 1002 endpoints: svc4's chains are written without comments; svc1's are not rewritten at all.
    addService(p, 'svc4', '172.30.0.44', 2, 3);
    const partial = p.sync().restoreText;
    expect(partial).not.toContain('KUBE-SEP-DKGQUZGBKLTPAR56');
    expect(partial).toMatch(/^-A KUBE-SEP-\S+ -m tcp -p tcp -j DNAT --to-destination 10\.3\.0\.0:80$/m);
    expect(partial).toMatch(/^-A KUBE-SEP-\S+ -s 10\.3\.0\.0 -j KUBE-MARK-MASQ$/m);
    // KUBE-SERVICES keeps its comments in large-cluster mode.
    expect(partial).toContain('-A KUBE-SERVICES -m comment --comment "ns1/svc4:p80 cluster IP" -m tcp -p tcp -d 172.30.0.44 --dport 80');

    p.forceFullSync();
    const full = p.sync().restoreText;
    expect(full).toContain('-A KUBE-SEP-DKGQUZGBKLTPAR56 -m tcp -p tcp -j DNAT --to-destination 10.0.0.0:80\n');
    expect(full).not.toMatch(/-A KUBE-SEP-\S+ -m comment/);
  });
});
