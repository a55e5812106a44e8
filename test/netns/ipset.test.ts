import { execFileSync, spawnSync } from 'node:child_process';
import { describe, expect, it } from 'vitest';
import { Ipsets, IpsetError } from '../../src/netns/ipset.ts';

const KUBE_SETS = `create KUBE-CLUSTER-IP hash:ip,port family inet hashsize 1024 maxelem 65536 comment
add KUBE-CLUSTER-IP 10.96.0.10,udp:53 comment "kube-system/kube-dns:dns"
add KUBE-CLUSTER-IP 10.96.0.1,tcp:443
add KUBE-CLUSTER-IP 10.96.0.10,tcp:53
create KUBE-LOOP-BACK hash:ip,port,ip family inet hashsize 1024 maxelem 65536 comment
add KUBE-LOOP-BACK 10.244.1.5,tcp:8080,10.244.1.5
create KUBE-LOAD-BALANCER-SOURCE-CIDR hash:ip,port,net family inet hashsize 1024 maxelem 65536 comment
add KUBE-LOAD-BALANCER-SOURCE-CIDR 1.2.3.4,tcp:80,192.168.0.0/16
add KUBE-LOAD-BALANCER-SOURCE-CIDR 1.2.3.4,tcp:80,10.1.2.3
create KUBE-NODE-PORT-TCP bitmap:port range 0-65535 comment
add KUBE-NODE-PORT-TCP 30080 comment "default/web:http"
add KUBE-NODE-PORT-TCP 31000
create KUBE-6-CLUSTER-IP hash:ip,port family inet6 hashsize 1024 maxelem 65536 comment
add KUBE-6-CLUSTER-IP fd00:10:96::a,udp:53
create KUBE-IPVS-IPS hash:ip family inet hashsize 1024 maxelem 65536 timeout 300
add KUBE-IPVS-IPS 10.96.0.1 timeout 0
create NETS hash:net family inet hashsize 100 maxelem 100
add NETS 10.0.0.0/8
add NETS 10.0.0.7
create EMPTY hash:ip
`;

describe('ipset', () => {
  it('restores kube-proxy\'s sets and lists them as ipset 7.17 does (members in the jhash bucket order)', () => {
    const s = new Ipsets({ now: () => 0 });
    s.restore(KUBE_SETS);
    expect(s.list('KUBE-CLUSTER-IP')).toBe(`Name: KUBE-CLUSTER-IP
Type: hash:ip,port
Revision: 7
Header: family inet hashsize 1024 maxelem 65536 comment bucketsize 12 initval 0x${s.get('KUBE-CLUSTER-IP')!.options.initval.toString(16).padStart(8, '0')}
Size in memory: ${216 + 3 * (32 + 2 * 16) + 16 + 'kube-system/kube-dns:dns'.length + 1}
References: 0
Number of entries: 3
Members:
10.96.0.10,tcp:53
10.96.0.10,udp:53 comment "kube-system/kube-dns:dns"
10.96.0.1,tcp:443
`);
    expect(s.list('KUBE-NODE-PORT-TCP').split('\n').slice(3, 9)).toEqual([
      'Header: range 0-65535 comment', 'Size in memory: 532585', 'References: 0', 'Number of entries: 2', 'Members:', '30080 comment "default/web:http"',
    ]);
    expect(s.list('NETS').split('\n').slice(-3)).toEqual(['10.0.0.0/8', '10.0.0.7', '']);
    expect(s.list('KUBE-IPVS-IPS')).toContain('\n10.96.0.1 timeout 0\n');
    expect(s.list()).toContain('Members:\n10.244.1.5,tcp:8080,10.244.1.5\n\nName: KUBE-LOAD-BALANCER-SOURCE-CIDR\n');
    expect(s.list().endsWith('Members:\n')).toBe(true);
    expect(s.save('NETS')).toBe(`create NETS hash:net family inet hashsize 128 maxelem 100 bucketsize 12 initval 0x${s.get('NETS')!.options.initval.toString(16).padStart(8, '0')}\nadd NETS 10.0.0.0/8\nadd NETS 10.0.0.7\n`);
  });

  it('matches packets the way -m set --match-set does, dimension by dimension', () => {
    const s = new Ipsets({ now: () => 0 });
    s.restore(KUBE_SETS);
    const pkt = { src: '10.244.1.5', dst: '10.96.0.10', protocol: 'udp', sport: 40000, dport: 53 };
    expect(s.test('KUBE-CLUSTER-IP', pkt, ['dst', 'dst'])).toBe(true);
    expect(s.test('KUBE-CLUSTER-IP', { ...pkt, protocol: 'sctp' }, ['dst', 'dst'])).toBe(false);
    expect(s.test('KUBE-CLUSTER-IP', pkt, ['src', 'dst'])).toBe(false);
    const hairpin = { src: '10.244.1.5', dst: '10.244.1.5', protocol: 'tcp', sport: 1234, dport: 8080 };
    expect(s.test('KUBE-LOOP-BACK', hairpin, ['dst', 'dst', 'src'])).toBe(true);
    expect(s.test('KUBE-LOOP-BACK', { ...hairpin, src: '10.244.2.2' }, ['dst', 'dst', 'src'])).toBe(false);
    const lb = { src: '192.168.44.1', dst: '1.2.3.4', protocol: 'tcp', sport: 999, dport: 80 };
    expect(s.test('KUBE-LOAD-BALANCER-SOURCE-CIDR', lb, ['dst', 'dst', 'src'])).toBe(true);
    expect(s.test('KUBE-LOAD-BALANCER-SOURCE-CIDR', { ...lb, src: '10.1.2.4' }, ['dst', 'dst', 'src'])).toBe(false);
    expect(s.test('KUBE-NODE-PORT-TCP', { src: '1.1.1.1', dst: '192.168.1.11', protocol: 'tcp', sport: 5, dport: 30080 }, ['dst'])).toBe(true);
    expect(s.test('KUBE-NODE-PORT-TCP', { src: '1.1.1.1', dst: '192.168.1.11', protocol: 'icmp' }, ['dst'])).toBe(false);
    expect(s.test('NETS', { src: '10.9.9.9', dst: 'x', protocol: 'tcp' }, ['src'])).toBe(true);
    expect(s.test('KUBE-6-CLUSTER-IP', { src: '::1', dst: 'fd00:10:96::a', protocol: 'udp', dport: 53 }, ['dst', 'dst'])).toBe(true);
    expect(s.test('NO-SUCH-SET', pkt, ['dst'])).toBe(false);
    expect(s.has('KUBE-CLUSTER-IP') && !s.has('NO-SUCH-SET')).toBe(true);
  });

  it('expires entries after their timeout', () => {
    const clock = { t: 0 };
    const s = new Ipsets({ now: () => clock.t });
    s.restore('create T hash:ip timeout 10\nadd T 10.0.0.1\nadd T 10.0.0.2 timeout 0\nadd T 10.0.0.3 timeout 100\n');
    clock.t = 4_500;
    expect(s.list('T').split('Members:\n')[1]).toBe('10.0.0.1 timeout 5\n10.0.0.2 timeout 0\n10.0.0.3 timeout 95\n');
    clock.t = 10_000;
    expect(s.test('T', { src: '10.0.0.1', dst: '', protocol: 'tcp' }, ['src'])).toBe(false);
    expect(s.list('T')).toContain('Number of entries: 2\n');
  });

  it('flush, destroy, swap and rename; errors name the line, earlier lines stay applied', () => {
    const s = new Ipsets({ now: () => 0 });
    s.restore('create A hash:ip\nadd A 10.0.0.1\ncreate B hash:ip\nadd B 10.0.0.2\nswap A B\n');
    expect(s.names()).toEqual(['A', 'B']);
    expect(s.test('A', { src: '10.0.0.2', dst: '', protocol: 'tcp' }, ['src'])).toBe(true);
    s.restore('flush A\nrename B C\ndestroy A\n');
    expect(s.names()).toEqual(['C']);
    const err = (text: string) => { try { s.restore(text); } catch (e) { return (e as IpsetError).message; } return 'no error'; };
    expect(err('create D hash:ip\nadd D 10.0.0.1\nadd D 10.0.0.1\n')).toBe("ipset v7.17: Error in line 3: Element cannot be added to the set: it's already added");
    expect(s.has('D')).toBe(true);
    expect(err('add Z 10.0.0.1\n')).toBe('ipset v7.17: Error in line 1: The set with the given name does not exist');
    expect(err('add D 10.0.0.300\n')).toBe('ipset v7.17: Error in line 1: Syntax error: cannot parse 10.0.0.300: resolving to IPv4 address failed');
    expect(err('create X hash:foo\n')).toBe("ipset v7.17: Error in line 1: Syntax error: typename 'hash:foo' is unknown");
    expect(err('add D 10.0.0.2 comment "x"\n')).toBe('ipset v7.17: Error in line 1: Comment cannot be used: set was created without comment support');
    expect(err('create E bitmap:port range 0-100\nadd E 200\n')).toBe('ipset v7.17: Error in line 2: Element is out of the range of the set');
    expect(err('create -exist D hash:ip\nadd D 10.0.0.1 -exist\n')).toBe('no error');
    expect(err('create F hash:ip family inet6\nadd F 10.0.0.1\n')).toBe('ipset v7.17: Error in line 2: Syntax error: cannot parse 10.0.0.1: resolving to IPv6 address failed');
  });
});

const root = process.getuid?.() === 0 && spawnSync('ipset', ['version']).status === 0;

describe.skipIf(!root)('ipset against the real kernel (root)', () => {
  const BIG = (() => {
    let t = 'create BIG hash:ip family inet hashsize 64 maxelem 65536\n';
    for (let i = 0; i < 1200; i++) t += `add BIG 10.${(i >> 8) & 255}.${i & 255}.7\n`;
    t += 'create PORTS hash:ip,port,net family inet hashsize 64 maxelem 65536 comment\n';
    for (let i = 0; i < 60; i++) t += `add PORTS 10.0.0.${i},${i % 2 ? 'udp' : 'tcp'}:${1000 + i},192.168.${i}.0/${16 + (i % 9)} comment "e${i}"\n`;
    t += 'create NETS6 hash:net family inet6 hashsize 64 maxelem 65536\n';
    for (let i = 0; i < 40; i++) t += `add NETS6 fd00:${i.toString(16)}::/${48 + (i % 17)}\n`;
    t += 'create IPS6 hash:ip,port,ip family inet6 hashsize 64 maxelem 65536 timeout 600\n';
    for (let i = 0; i < 40; i++) t += `add IPS6 fd00::${i.toString(16)},sctp:${i},fd01::${i.toString(16)} timeout 0\n`;
    return t;
  })();

  it('the real `ipset list` of the same sets prints what kdp prints: members in bucket order, sizes, resizes', () => {
    if (!root) return;
    const ns = `kdp-ipset-${process.pid}`;
    const s = new Ipsets({ now: () => 0 });
    s.restore(KUBE_SETS + BIG);
    execFileSync('ip', ['netns', 'add', ns]);
    try {
      // kdp's save output carries each set's initval, so the kernel hashes as kdp says it does.
      execFileSync('ip', ['netns', 'exec', ns, 'ipset', 'restore'], { input: s.save() });
      const real = execFileSync('ip', ['netns', 'exec', ns, 'ipset', 'list'], { encoding: 'utf8' });
      expect(real).toBe(s.list());
      expect(s.get('BIG')!.table!.hashsize).toBeGreaterThan(64);
    } finally {
      spawnSync('ip', ['netns', 'del', ns]);
    }
  });
});
if (!root) console.log('ipset real-kernel test skipped: needs root and the ipset command');
