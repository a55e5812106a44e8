// --nodeport-addresses (pkg/proxy/util/nodeport_addresses.go) and the local traffic detectors.
import { describe, expect, it } from 'vitest';
import { nodeIPsFor, nodePortAddresses } from '../../src/proxy/nodeportaddresses.ts';
import { localDetectorFor } from '../../src/proxy/localdetector.ts';

const LOCAL = ['127.0.0.1', '::1', '192.168.0.2', '192.168.1.2', '192.168.99.11', '2001:db8::1'];

describe('nodePortAddresses', () => {
  it('matches all with no CIDRs, or with CIDRs of the other family only', () => {
    expect(nodePortAddresses('IPv4', [], undefined)).toMatchObject({ matchAll: true, containsIPv4Loopback: true });
    expect(nodePortAddresses('IPv6', ['192.168.0.0/24'], undefined)).toMatchObject({ matchAll: true, containsIPv4Loopback: false });
  });

  it('picks the node addresses inside the family\'s CIDRs', () => {
    const npa = nodePortAddresses('IPv4', ['192.168.0.0/24', '127.0.0.1/32', '2001:db8::/64'], undefined);
    expect(npa).toMatchObject({ matchAll: false, containsIPv4Loopback: true });
    expect(nodeIPsFor(npa, LOCAL)).toEqual(['127.0.0.1', '192.168.0.2']);
    expect(nodeIPsFor(nodePortAddresses('IPv6', ['192.168.0.0/24', '2001:db8::/64'], undefined), LOCAL)).toEqual(['2001:db8::1']);
  });

  it('"primary" is the node IP of the family', () => {
    expect(nodeIPsFor(nodePortAddresses('IPv4', ['primary'], '192.168.1.2'), LOCAL)).toEqual(['192.168.1.2']);
    expect(nodePortAddresses('IPv6', ['primary'], '192.168.1.2').matchAll).toBe(true);
  });
});

describe('local traffic detectors (detectLocalMode)', () => {
  const s = { clusterCIDRs: [{ text: '10.244.0.0/16', family: 'IPv4' as const }], nodePodCIDRs: ['10.244.1.0/24', 'fd00:10:244:1::/64'] };
  it('ClusterCIDR and NodeCIDR match the source range; a family without one gets no detector', () => {
    expect(localDetectorFor('IPv4', { ...s, mode: 'ClusterCIDR' })).toEqual({ implemented: true, ifLocal: ['-s', '10.244.0.0/16'], ifNotLocal: ['!', '-s', '10.244.0.0/16'] });
    expect(localDetectorFor('IPv6', { ...s, mode: 'ClusterCIDR' }).implemented).toBe(false);
    expect(localDetectorFor('IPv6', { ...s, mode: 'NodeCIDR' }).ifNotLocal).toEqual(['!', '-s', 'fd00:10:244:1::/64']);
  });
  it('BridgeInterface and InterfaceNamePrefix match the input interface', () => {
    expect(localDetectorFor('IPv4', { ...s, mode: 'BridgeInterface', bridgeInterface: 'cni0' }).ifNotLocal).toEqual(['!', '-i', 'cni0']);
    expect(localDetectorFor('IPv4', { ...s, mode: 'InterfaceNamePrefix', interfaceNamePrefix: 'veth' }).ifLocal).toEqual(['-i', 'veth+']);
  });
});
