// The routes the kernel adds for an address (fib_add_ifaddr) and takes with it (fib_del_ifaddr): a local
// route, an IPv4 broadcast route, the connected prefix route once the device is up, one per network and
// device. Netns keeps them as the address until read; listings, lookups and removals see them in place.
import { describe, expect, it } from 'vitest';
import { linkLocal, Netns } from '../../src/netns/netns.ts';
import { networkOf } from '../../src/netns/netns.ts';

const MAC = '02:42:0a:00:00:05';
const show = (ns: Netns) => ns.routes.map((r) => [r.table, r.type, r.dst?.text ?? 'default', r.via, r.dev, r.proto, r.scope, r.src].filter(Boolean).join(' '));

function netns(): Netns {
  const ns = new Netns('t');
  ns.addDevice({ name: 'eth0', kind: 'veth', mtu: 1500, mac: MAC, up: false });
  return ns;
}

describe('an address\'s kernel routes', () => {
  it('adds local and broadcast at once and the connected route when the device comes up, in the order they came', () => {
    const ns = netns();
    ns.addAddress('eth0', '10.0.0.5', 24);
    ns.addRoute({ dst: networkOf('10.9.0.0', 16), via: '10.0.0.1', dev: 'eth0' });
    expect(show(ns)).toEqual([
      'local local 10.0.0.5/32 eth0 kernel host 10.0.0.5',
      'local broadcast 10.0.0.255/32 eth0 kernel link 10.0.0.5',
      'main unicast 10.9.0.0/16 10.0.0.1 eth0 universe',
    ]);
    // Down: only the local table's routes are usable.
    expect(ns.lookup('10.0.0.7')).toBeUndefined();
    expect(ns.lookup('10.0.0.5')).toMatchObject({ table: 'local', type: 'local' });
    ns.setUp('eth0');
    expect(show(ns).slice(3)).toEqual([
      'main unicast 10.0.0.0/24 eth0 kernel link 10.0.0.5',
      `local local ${linkLocal(MAC)}/128 eth0 kernel host ${linkLocal(MAC)}`,
      'main unicast fe80::/64 eth0 kernel link ' + linkLocal(MAC),
    ]);
    expect(ns.lookup('10.0.0.7')).toMatchObject({ table: 'main', dst: { text: '10.0.0.0/24' }, src: '10.0.0.5' });
    expect(ns.lookup('10.9.1.1')).toMatchObject({ via: '10.0.0.1' });
    expect(ns.lookup(linkLocal(MAC))).toMatchObject({ table: 'local', type: 'local', dev: 'eth0' });
    expect(ns.lookup('fe80::1')).toMatchObject({ table: 'main', dst: { text: 'fe80::/64' } });
    // The same objects each time they are read.
    expect(ns.lookup('10.0.0.7')).toBe(ns.routes[3]);
  });

  it('keeps one connected route a network, the first address\'s, until the last address of that network goes', () => {
    const ns = netns();
    ns.setUp('eth0');
    ns.addAddress('eth0', '10.0.0.5', 24);
    ns.addAddress('eth0', '10.0.0.6', 24);
    expect(show(ns).filter((r) => r.startsWith('main') && r.includes('10.0.0.0/24'))).toEqual(['main unicast 10.0.0.0/24 eth0 kernel link 10.0.0.5']);
    ns.removeAddress('eth0', '10.0.0.5');
    expect(show(ns).filter((r) => r.includes('10.0.0.'))).toEqual([
      'main unicast 10.0.0.0/24 eth0 kernel link 10.0.0.5',
      'local local 10.0.0.6/32 eth0 kernel host 10.0.0.6',
      'local broadcast 10.0.0.255/32 eth0 kernel link 10.0.0.6',
    ]);
    ns.removeAddress('eth0', '10.0.0.6');
    expect(show(ns).filter((r) => r.includes('10.0.0.'))).toEqual(['main unicast 10.0.0.0/24 eth0 kernel link 10.0.0.5']);
  });

  it('a device that goes takes its routes; one of the same name later gets its own', () => {
    const ns = netns();
    ns.setUp('eth0');
    ns.addAddress('eth0', '10.0.0.5', 24);
    ns.addRoute({ via: '10.0.0.1', dev: 'eth0' });
    expect(ns.defaultRoute('eth0')).toMatchObject({ via: '10.0.0.1' });
    ns.removeDevice('eth0');
    expect(ns.routes).toEqual([]);
    expect(ns.defaultRoute('eth0')).toBeUndefined();
    ns.addDevice({ name: 'eth0', kind: 'veth', mtu: 1500, mac: MAC, up: true });
    ns.addAddress('eth0', '10.0.0.5', 24);
    expect(show(ns)).toEqual([
      'local local 10.0.0.5/32 eth0 kernel host 10.0.0.5',
      'local broadcast 10.0.0.255/32 eth0 kernel link 10.0.0.5',
      'main unicast 10.0.0.0/24 eth0 kernel link 10.0.0.5',
    ]);
  });

  it('a /32 and a /31 have no broadcast route, a /32 no connected route', () => {
    const ns = netns();
    ns.setUp('eth0');
    ns.addAddress('eth0', '10.244.0.0', 32);
    ns.addAddress('eth0', '10.1.0.0', 31);
    expect(show(ns).filter((r) => !r.includes('fe80'))).toEqual([
      'local local 10.244.0.0/32 eth0 kernel host 10.244.0.0',
      'local local 10.1.0.0/32 eth0 kernel host 10.1.0.0',
      'main unicast 10.1.0.0/31 eth0 kernel link 10.1.0.0',
    ]);
  });
});
