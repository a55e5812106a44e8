// iproute2's layout, as iproute2 6.1 prints it on this project's machines (checked against the real kernel in
// scratch namespaces: trailing spaces, field order and all).
import { describe, expect, it } from 'vitest';
import { ClusterNetwork } from '../../src/kubelet/network.ts';
import { bridgeFdb, ipAddr, ipLink, ipNeigh, ipRoute, ipRouteGet } from '../../src/netns/iproute2.ts';
import { linkLocal } from '../../src/netns/netns.ts';
import { cluster, NO_COREDNS, podDoc } from '../helpers/cluster.ts';

const TOPO = `apiVersion: kdp.dev/v1alpha1
kind: Cluster
metadata: {name: t}
spec:
  nodes: [{name: node1, ip: 192.168.1.11}, {name: node2, ip: 192.168.1.12}]
` + NO_COREDNS + podDoc('a', 'node1');

function setup() {
  const net = new ClusterNetwork(cluster(TOPO));
  const host = net.host('node1')!;
  const pod = net.pod('default', 'a')!;
  return { net, host, pod, mac: (ns: typeof host, dev: string) => ns.device(dev)!.mac };
}

describe('iproute2 renderings', () => {
  it('ip route: key order, longer prefix first, trailing spaces, proto boot hidden', () => {
    const { host, pod } = setup();
    expect(ipRoute(host)).toBe([
      'default via 192.168.1.1 dev eth0 ',
      '10.244.0.0/24 dev cni0 proto kernel scope link src 10.244.0.1 ',
      '10.244.1.0/24 via 10.244.1.0 dev flannel.1 onlink ',
      '192.168.1.0/24 dev eth0 proto kernel scope link src 192.168.1.11 ',
      '',
    ].join('\n'));
    expect(ipRoute(pod.netns)).toBe([
      'default via 10.244.0.1 dev eth0 ',
      '10.244.0.0/24 dev eth0 proto kernel scope link src 10.244.0.2 ',
      '10.244.0.0/16 via 10.244.0.1 dev eth0 ',
      '',
    ].join('\n'));
  });

  it('ip route show table local', () => {
    const { host } = setup();
    expect(ipRoute(host, 'local')).toBe([
      'local 10.244.0.0 dev flannel.1 proto kernel scope host src 10.244.0.0 ',
      'local 10.244.0.1 dev cni0 proto kernel scope host src 10.244.0.1 ',
      'broadcast 10.244.0.255 dev cni0 proto kernel scope link src 10.244.0.1 ',
      'local 127.0.0.0/8 dev lo proto kernel scope host src 127.0.0.1 ',
      'local 127.0.0.1 dev lo proto kernel scope host src 127.0.0.1 ',
      'broadcast 127.255.255.255 dev lo proto kernel scope link src 127.0.0.1 ',
      'local 192.168.1.11 dev eth0 proto kernel scope host src 192.168.1.11 ',
      'broadcast 192.168.1.255 dev eth0 proto kernel scope link src 192.168.1.11 ',
      '',
    ].join('\n'));
  });

  it('ip route get', () => {
    const { host, pod } = setup();
    expect(ipRouteGet(host, '10.244.1.5')).toBe('10.244.1.5 via 10.244.1.0 dev flannel.1 src 10.244.0.0 uid 0 \n    cache \n');
    expect(ipRouteGet(pod.netns, '10.244.1.5')).toBe('10.244.1.5 via 10.244.0.1 dev eth0 src 10.244.0.2 uid 0 \n    cache \n');
    expect(ipRouteGet(host, '10.244.0.1')).toBe('local 10.244.0.1 dev lo src 10.244.0.1 uid 0 \n    cache <local> \n');
  });

  it('ip addr: link lines, qlen, @ifN and link-netns, inet before inet6, labels', () => {
    const { net, host, pod, mac } = setup();
    const veth = pod.netns.device('eth0')!.peer!.name;
    expect(ipAddr(host, net.namedNamespaces())).toBe([
      '1: lo: <LOOPBACK,UP,LOWER_UP> mtu 65536 qdisc noqueue state UNKNOWN group default qlen 1000',
      '    link/loopback 00:00:00:00:00:00 brd 00:00:00:00:00:00',
      '    inet 127.0.0.1/8 scope host lo',
      '       valid_lft forever preferred_lft forever',
      '    inet6 ::1/128 scope host ',
      '       valid_lft forever preferred_lft forever',
      '2: eth0: <BROADCAST,MULTICAST,UP,LOWER_UP> mtu 1500 qdisc fq_codel state UP group default qlen 1000',
      `    link/ether ${mac(host, 'eth0')} brd ff:ff:ff:ff:ff:ff`,
      '    inet 192.168.1.11/24 brd 192.168.1.255 scope global eth0',
      '       valid_lft forever preferred_lft forever',
      `    inet6 ${linkLocal(mac(host, 'eth0'))}/64 scope link `,
      '       valid_lft forever preferred_lft forever',
      '3: flannel.1: <BROADCAST,MULTICAST,UP,LOWER_UP> mtu 1450 qdisc noqueue state UNKNOWN group default qlen 1000',
      `    link/ether ${mac(host, 'flannel.1')} brd ff:ff:ff:ff:ff:ff`,
      '    inet 10.244.0.0/32 scope global flannel.1',
      '       valid_lft forever preferred_lft forever',
      `    inet6 ${linkLocal(mac(host, 'flannel.1'))}/64 scope link `,
      '       valid_lft forever preferred_lft forever',
      '4: cni0: <BROADCAST,MULTICAST,UP,LOWER_UP> mtu 1450 qdisc noqueue state UP group default qlen 1000',
      `    link/ether ${mac(host, 'cni0')} brd ff:ff:ff:ff:ff:ff`,
      '    inet 10.244.0.1/24 brd 10.244.0.255 scope global cni0',
      '       valid_lft forever preferred_lft forever',
      `    inet6 ${linkLocal(mac(host, 'cni0'))}/64 scope link `,
      '       valid_lft forever preferred_lft forever',
      `5: ${veth}@if2: <BROADCAST,MULTICAST,UP,LOWER_UP> mtu 1450 qdisc noqueue master cni0 state UP group default qlen 1000`,
      `    link/ether ${mac(host, veth)} brd ff:ff:ff:ff:ff:ff link-netns ${pod.netns.name}`,
      `    inet6 ${linkLocal(mac(host, veth))}/64 scope link `,
      '       valid_lft forever preferred_lft forever',
      '',
    ].join('\n'));
    // Inside the pod the node's namespace has no name, only an id.
    expect(ipLink(pod.netns)).toBe([
      '1: lo: <LOOPBACK,UP,LOWER_UP> mtu 65536 qdisc noqueue state UNKNOWN mode DEFAULT group default qlen 1000',
      '    link/loopback 00:00:00:00:00:00 brd 00:00:00:00:00:00',
      '2: eth0@if5: <BROADCAST,MULTICAST,UP,LOWER_UP> mtu 1450 qdisc noqueue state UP mode DEFAULT group default qlen 1000',
      `    link/ether ${mac(pod.netns, 'eth0')} brd ff:ff:ff:ff:ff:ff link-netnsid 0`,
      '',
    ].join('\n'));
  });

  it('ip neigh and bridge fdb', () => {
    const { net, host, pod } = setup();
    const peer = net.host('node2')!.device('flannel.1')!.mac;
    expect(ipNeigh(host)).toBe(`10.244.1.0 dev flannel.1 lladdr ${peer} PERMANENT \n`);
    const veth = pod.netns.device('eth0')!.peer!.name;
    expect(bridgeFdb(host)).toBe([
      `${peer} dev flannel.1 dst 192.168.1.12 self permanent`,
      `${host.device(veth)!.mac} dev ${veth} master cni0 permanent`,
      '',
    ].join('\n'));
    // A learned entry has no state word, and keeps the space before it.
    host.addFdb({ mac: pod.netns.device('eth0')!.mac, dev: veth, master: 'cni0', learned: true });
    expect(bridgeFdb(host).split('\n')).toContain(`${pod.netns.device('eth0')!.mac} dev ${veth} master cni0 `);
  });
});
