// The runtime's side of CNI, as libcni runs a network configuration list: order, prevResult, capability
// arguments, the cached result, CHECK and DEL by spec version, errors as libcni words them; and the plugins
// kdp's nodes carry (flannel delegating to bridge, portmap, loopback).
import { thrown } from '../helpers/thrown.ts';
import { describe, expect, it } from 'vitest';
import { Netns } from '../../src/netns/netns.ts';
import { parseCIDR, type Cidr } from '../../src/cluster/net.ts';
import { FLANNEL_CONFLIST, flannelDelegate, type SubnetEnv } from '../../src/cni/flannel.ts';
import {
  addNetworkList, cachedResult, checkNetworkList, delNetworkList, newNodeCniState, printResult, PLUGINS,
  type Plugin, type PluginEnv, type RequestConf, type RuntimeConf,
} from '../../src/cni/libcni.ts';
import { CniError, type NetworkConfigList, type Result } from '../../src/cni/types.ts';

const cidr = (t: string) => parseCIDR(t) as Cidr;
const SUBNET: SubnetEnv = { network: cidr('10.244.0.0/16'), lease: cidr('10.244.1.0/24'), mtu: 1450, ipMasq: true };
const CID = 'f3e2d1c0b9a8f3e2d1c0b9a8f3e2d1c0b9a8f3e2d1c0b9a8f3e2d1c0b9a8f3e2';
const NETNS = '/var/run/netns/cni-1234';

function node(overrides: Partial<PluginEnv> = {}): PluginEnv {
  const pod = new Netns('cni-1234', {}, true);
  pod.addDevice({ name: 'lo', kind: 'loopback', mtu: 65536, mac: '00:00:00:00:00:00', up: false });
  pod.addAddress('lo', '127.0.0.1', 8, 'host', false);
  return { host: new Netns('node1'), pod, subnetEnv: SUBNET, state: newNodeCniState(), ...overrides };
}

const rt = (over: Partial<RuntimeConf> = {}): RuntimeConf => ({ containerId: CID, netnsPath: NETNS, ifName: 'eth0', args: [['IP', '10.244.1.5']], capabilityArgs: {}, ...over });

const error = (f: () => unknown): CniError => thrown(f, CniError);

/** Plugins that record each call's request configuration and return what they were told. */
function recorder() {
  const calls: [string, string, RequestConf][] = [];
  const make = (type: string): Plugin => ({
    add: (conf) => {
      calls.push(['ADD', type, conf]);
      return { cniVersion: conf.cniVersion, ips: [...(conf.prevResult?.ips ?? []), { address: `10.0.0.${calls.length}/24` }] };
    },
    check: (conf) => void calls.push(['CHECK', type, conf]),
    del: (conf) => void calls.push(['DEL', type, conf]),
  });
  return { calls, plugins: { first: make('first'), second: make('second'), third: make('third') } };
}

const list = (cniVersion: string, extra: Partial<NetworkConfigList & { disableCheck: boolean }> = {}) => ({
  name: 'testnet', cniVersion,
  plugins: [{ type: 'first' }, { type: 'second', capabilities: { portMappings: true, bandwidth: false } }, { type: 'third', name: 'own' }],
  ...extra,
});

describe('libcni: running a network configuration list', () => {
  it('ADD runs the plugins in order, each given the previous result; the last result is cached', () => {
    const { calls, plugins } = recorder();
    const env = node({ plugins });
    const result = addNetworkList(list('1.0.0'), rt(), env);
    expect(calls.map(([v, t]) => `${v} ${t}`)).toEqual(['ADD first', 'ADD second', 'ADD third']);
    expect(calls[0][2].prevResult).toBeUndefined();
    expect(calls[1][2].prevResult?.ips).toEqual([{ address: '10.0.0.1/24' }]);
    expect(calls[2][2].prevResult?.ips).toHaveLength(2);
    // Every plugin gets the list's name and version, whatever its own conf says.
    expect(calls.map(([, , c]) => [c.name, c.cniVersion])).toEqual([['testnet', '1.0.0'], ['testnet', '1.0.0'], ['testnet', '1.0.0']]);
    expect(result.ips).toHaveLength(3);
    expect(cachedResult(list('1.0.0'), rt(), env)).toBe(result);
  });

  it('passes a capability argument only to the plugins that declare (and enable) that capability', () => {
    const { calls, plugins } = recorder();
    addNetworkList(list('1.0.0'), rt({ capabilityArgs: { portMappings: [{ hostPort: 8080, containerPort: 80, protocol: 'tcp' }], bandwidth: { ingressRate: 1 } } }), node({ plugins }));
    expect(calls.map(([, t, c]) => [t, c.runtimeConfig])).toEqual([
      ['first', undefined],
      ['second', { portMappings: [{ hostPort: 8080, containerPort: 80, protocol: 'tcp' }] }],
      ['third', undefined],
    ]);
  });

  it('DEL runs in reverse order with the cached result from 0.4.0 on, without it before; the cache entry goes', () => {
    for (const [version, withPrev] of [['0.4.0', true], ['1.1.0', true], ['0.3.1', false]] as const) {
      const { calls, plugins } = recorder();
      const env = node({ plugins });
      const added = addNetworkList(list(version), rt(), env);
      calls.length = 0;
      delNetworkList(list(version), rt(), env);
      expect(calls.map(([v, t]) => `${v} ${t}`), version).toEqual(['DEL third', 'DEL second', 'DEL first']);
      expect(calls.every(([, , c]) => c.prevResult === (withPrev ? added : undefined)), version).toBe(true);
      expect(cachedResult(list(version), rt(), env)).toBeUndefined();
    }
  });

  it('CHECK: refused before 0.4.0 as libcni words it, skipped with disableCheck, else in order against the cached result', () => {
    const { calls, plugins } = recorder();
    const env = node({ plugins });
    expect(error(() => checkNetworkList(list('0.3.1'), rt(), env)).message).toBe('configuration version "0.3.1" does not support the CHECK command');
    const added = addNetworkList(list('0.4.0'), rt(), env);
    calls.length = 0;
    checkNetworkList(list('0.4.0', { disableCheck: true }), rt(), env);
    expect(calls).toEqual([]);
    checkNetworkList(list('0.4.0'), rt(), env);
    expect(calls.map(([v, t, c]) => [v, t, c.prevResult])).toEqual([['CHECK', 'first', added], ['CHECK', 'second', added], ['CHECK', 'third', added]]);
  });

  it('a plugin that is not installed, or that fails, stops the ADD with libcni\'s wrapped error', () => {
    const env = node();
    const e = error(() => addNetworkList({ name: 'cbr0', cniVersion: '0.3.1', plugins: [...FLANNEL_CONFLIST.plugins, { type: 'tuning', name: 'sysctls' }] }, rt(), env));
    expect(e.message).toBe('plugin type="tuning" name="sysctls" failed (add): failed to find plugin "tuning" in path [/opt/cni/bin]');
    const bad = error(() => addNetworkList({ name: 'cbr0', cniVersion: '0.3.1', plugins: [{ type: 'portmap' }] }, rt(), node()));
    expect(bad.message).toBe('plugin type="portmap" failed (add): must be called as chained plugin');
    expect(error(() => addNetworkList({ name: 'cbr0', cniVersion: 'x', plugins: [] }, rt(), node())).code).toBe(7);
  });
});

describe('flannel delegating to bridge, then portmap (10-flannel.conflist)', () => {
  const ports = { portMappings: [{ hostPort: 8080, containerPort: 80, protocol: 'tcp' }] };

  it('ADD wires the pod and returns the bridge\'s result, printed as a 0.3.1 plugin prints it', () => {
    const env = node();
    const r = addNetworkList(FLANNEL_CONFLIST, rt(), env);
    const veth = [...env.host.devices.values()].find((d) => d.kind === 'veth')!;
    expect(env.pod!.addressesOf('eth0').map((a) => `${a.ip}/${a.prefix}`)).toContain('10.244.1.5/24');
    expect(env.host.addressesOf('cni0').map((a) => a.ip)).toContain('10.244.1.1');
    expect(JSON.parse(printResult(r, '0.3.1'))).toEqual({
      cniVersion: '0.3.1',
      interfaces: [
        { name: 'cni0', mac: env.host.device('cni0')!.mac },
        { name: veth.name, mac: veth.mac },
        { name: 'eth0', mac: env.pod!.device('eth0')!.mac, sandbox: NETNS },
      ],
      ips: [{ version: '4', interface: 2, address: '10.244.1.5/24', gateway: '10.244.1.1' }],
      routes: [{ dst: '10.244.0.0/16' }, { dst: '0.0.0.0/0', gw: '10.244.1.1' }],
      dns: {},
    });
    // Go's field order and json.MarshalIndent's four spaces; no "version" from 1.0.0 on.
    expect(printResult(r, '0.3.1')).toContain('"ips": [\n        {\n            "version": "4",\n            "interface": 2,\n            "address": "10.244.1.5/24",');
    expect(JSON.parse(printResult(r, '1.0.0')).ips).toEqual([{ interface: 2, address: '10.244.1.5/24', gateway: '10.244.1.1' }]);
  });

  it('portmap gets the hostPorts only through the portMappings capability, and DEL removes its chain', () => {
    const env = node();
    addNetworkList(FLANNEL_CONFLIST, rt({ capabilityArgs: ports }), env);
    const nat = () => env.host.netfilter.iptables.save('nat');
    expect(nat()).toMatch(/-A CNI-DN-\w+ -p tcp -m tcp --dport 8080 -j DNAT --to-destination 10\.244\.1\.5:80/);
    delNetworkList(FLANNEL_CONFLIST, rt({ capabilityArgs: ports }), env);
    expect(nat()).not.toMatch(/CNI-DN-/);
    expect([...env.host.devices.values()].some((d) => d.kind === 'veth')).toBe(false);
    // DEL again: what is gone stays gone, and it is no error.
    delNetworkList(FLANNEL_CONFLIST, rt(), env);

    const without = node();
    addNetworkList({ ...FLANNEL_CONFLIST, plugins: [FLANNEL_CONFLIST.plugins[0], { type: 'portmap' }] }, rt({ capabilityArgs: ports }), without);
    expect(without.host.netfilter.iptables.save('nat')).not.toMatch(/CNI-DN-/);
  });

  it('the delegate as flannel builds it: the block\'s own settings win, ipam comes from subnet.env', () => {
    const d = flannelDelegate({ name: 'cbr0', cniVersion: '0.3.1', plugins: [{ type: 'flannel', delegate: { isGateway: false, mtu: 1400, bridge: 'kbr0' }, ipam: { routes: [{ dst: '192.168.0.0/16' }] } }] }, SUBNET);
    expect(d).toEqual({
      isGateway: false, mtu: 1400, bridge: 'kbr0', name: 'cbr0', type: 'bridge', ipMasq: false, cniVersion: '0.3.1',
      ipam: { type: 'host-local', ranges: [[{ subnet: '10.244.1.0/24' }]], routes: [{ dst: '192.168.0.0/16' }, { dst: '10.244.0.0/16' }] },
    });
    expect(flannelDelegate(FLANNEL_CONFLIST, { ...SUBNET, ipMasq: false })).toMatchObject({ type: 'bridge', isGateway: true, hairpinMode: true, isDefaultGateway: true, ipMasq: true, mtu: 1450 });
  });

  it('flannel refuses a delegate naming itself or its IPAM, a delegate kdp has not got, and a node without subnet.env', () => {
    const withDelegate = (delegate: Record<string, unknown>): NetworkConfigList => ({ name: 'cbr0', cniVersion: '0.3.1', plugins: [{ type: 'flannel', delegate }] });
    expect(error(() => addNetworkList(withDelegate({ name: 'x' }), rt(), node())).message).toBe("plugin type=\"flannel\" failed (add): 'delegate' dictionary must not have 'name' field, it'll be set by flannel");
    expect(error(() => addNetworkList(withDelegate({ ipam: {} }), rt(), node())).message).toContain("must not have 'ipam' field");
    expect(error(() => addNetworkList(withDelegate({ type: 'ipvlan' }), rt(), node())).message).toBe('plugin type="flannel" failed (add): failed to delegate add: failed to find plugin "ipvlan" in path [/opt/cni/bin]');
    expect(error(() => addNetworkList(FLANNEL_CONFLIST, rt(), node({ subnetEnv: undefined }))).message).toBe('plugin type="flannel" failed (add): open /run/flannel/subnet.env: no such file or directory');
  });

  it('loopback brings lo up (the kernel adds ::1) and reports both addresses; chained, it passes the previous result on', () => {
    const env = node();
    const r = addNetworkList({ name: 'cni-loopback', cniVersion: '1.0.0', plugins: [{ type: 'loopback' }] }, rt({ ifName: 'lo' }), env);
    expect(env.pod!.device('lo')!.up).toBe(true);
    expect(r).toEqual({ cniVersion: '1.0.0', interfaces: [{ name: 'lo', mac: '00:00:00:00:00:00', sandbox: NETNS }], ips: [{ interface: 0, address: '127.0.0.1/8' }, { interface: 0, address: '::1/128' }] });
    const prev: Result = { cniVersion: '1.0.0', ips: [{ address: '10.0.0.9/24' }] };
    expect(PLUGINS.loopback.add({ type: 'loopback', name: 'n', cniVersion: '1.0.0', prevResult: prev }, rt({ ifName: 'lo' }), node())).toBe(prev);
  });
});
