// Conformance: IP and CIDR parsing and canonical text, ported from upstream kubernetes/utils
//   net/v2/ips_test.go (commit 128102a5d0f363d96d28396485fcf87c8c451b06): goodTestIPs, badTestIPs,
//   goodTestCIDRs, badTestCIDRs — each good string must parse, and print (Go's net.IP / *net.IPNet String(),
//   RFC 5952 for IPv6) as .strings[0]; each bad string must fail to parse.
//
// Mapping: ParseIPSloppy -> parseIP / canonicalIP; ParseCIDRSloppy -> parseCIDR(text, false) (host bits masked,
// as ParseCIDRSloppy does); IPFamilyOf -> parseIP(...).family.
// Left out on purpose: the "Sloppy" leading-zero IPv4 forms ("192.168.000.005", "000.000.000.000/000",
// "::ffff:0192.0168.0000.0005"). kdp rejects leading zeros in IPv4 by design (as Go's net.ParseIP and the
// apiserver's strict IP validation do); that is not a ParseIPSloppy port.
import { describe, expect, it } from 'vitest';
import { canonicalIP, isCidr, parseCIDR, parseIP } from '../../../src/cluster/net.ts';

describe('IP parsing — goodTestIPs', () => {
  const good: [desc: string, family: 'IPv4' | 'IPv6', canonical: string, strings: string[]][] = [
    ['IPv4', 'IPv4', '192.168.0.5', ['192.168.0.5']],
    ['IPv4 all-zeros', 'IPv4', '0.0.0.0', ['0.0.0.0']],
    ['IPv4 broadcast', 'IPv4', '255.255.255.255', ['255.255.255.255']],
    ['IPv6', 'IPv6', '2001:db8::5', ['2001:db8::5', '2001:0db8::0005', '2001:DB8::5']],
    ['IPv6 all-zeros', 'IPv6', '::', ['::', '0:0:0:0:0:0:0:0', '0000:0000:0000:0000:0000:0000:0000:0000', '0::0']],
    ['IPv6 loopback', 'IPv6', '::1', ['::1', '0000:0000:0000:0000:0000:0000:0000:0001']],
  ];
  for (const [desc, family, canonical, strings] of good) {
    for (const s of strings) {
      it(`${desc}: ${JSON.stringify(s)} is ${family} ${canonical}`, () => {
        expect(parseIP(s)?.family).toBe(family);
        expect(canonicalIP(s)).toBe(canonical);
      });
    }
  }
  // "IPv4-mapped IPv6": net.ParseIP("::ffff:192.168.0.5") is the 16-byte form of 192.168.0.5; IPFamilyOf says
  // IPv4 and String() prints the plain dotted quad.
  it('IPv4-mapped IPv6: "::ffff:192.168.0.5" is IPv4 192.168.0.5', () => {
    expect(parseIP('::ffff:192.168.0.5')?.family).toBe('IPv4');
    expect(canonicalIP('::ffff:192.168.0.5')).toBe('192.168.0.5');
  });

  // RFC 5952 as Go's net.IP.String() applies it: the longest run of two or more zero groups becomes "::"
  // (the first on a tie); a single zero group stays. (Go net package behaviour, not an ips_test.go case.)
  const rfc5952: [string, string][] = [
    ['fd00:10:96:0::a', 'fd00:10:96::a'],
    ['2001:db8:0:0:1:0:0:1', '2001:db8::1:0:0:1'],
    ['2001:0:0:1:0:0:0:1', '2001:0:0:1::1'],
    ['2001:db8:0:1:1:1:1:1', '2001:db8:0:1:1:1:1:1'],
  ];
  for (const [s, want] of rfc5952) {
    it(`${s} prints as ${want}`, () => expect(canonicalIP(s)).toBe(want));
  }
});

describe('IP parsing — badTestIPs', () => {
  const bad: [desc: string, strings: string[]][] = [
    ['empty string is not an IP', ['']],
    ['random non-IP string is not an IP', ['bad ip']],
    ['domain name is not an IP', ['www.example.com']],
    ['mangled IPv4 addresses are invalid', ['1.2.3.400', '1.2..4', '1.2.3', '1.2.3.4.5']],
    ['mangled IPv6 addresses are invalid', ['1:2::12345', '1::2::3', '1:2:::3', '1:2:3', '1:2:3:4:5:6:7:8:9', '1:2:3:4::6:7:8:9']],
    ['IPs do not have ports or brackets', ['1.2.3.4:80', '[2001:db8::5]', '[2001:db8::5]:80', 'www.example.com:80']],
    ['IPs with zones are invalid', ['169.254.169.254%eth0', 'fe80::1234%eth0']],
    ['CIDR strings are not IPs', ['1.2.3.0/24', '2001:db8::/64']],
    ['IPs with whitespace are invalid', [' 1.2.3.4', '1.2.3.4 ', ' 2001:db8::5', '2001:db8::5 ']],
  ];
  for (const [desc, strings] of bad) {
    for (const s of strings) {
      it(`${desc}: ${JSON.stringify(s)}`, () => {
        expect(parseIP(s)).toBeUndefined();
        expect(canonicalIP(s)).toBeUndefined();
      });
    }
  }
});

describe('CIDR parsing — goodTestCIDRs', () => {
  const good: [desc: string, family: 'IPv4' | 'IPv6', canonical: string, strings: string[]][] = [
    ['IPv4', 'IPv4', '1.2.3.0/24', ['1.2.3.0/24']],
    ['IPv4, single IP', 'IPv4', '1.1.1.1/32', ['1.1.1.1/32']],
    ['IPv4, all IPs', 'IPv4', '0.0.0.0/0', ['0.0.0.0/0']],
    ['IPv4 ifaddr (masked)', 'IPv4', '1.2.3.0/24', ['1.2.3.0/24', '1.2.3.4/24', '1.2.3.255/24']],
    ['IPv6', 'IPv6', '2001:db8::/64', ['2001:db8::/64', '2001:db8:0:0:0:0:0:0/64', '2001:DB8::/64']],
    ['IPv6, all IPs', 'IPv6', '::/0', ['::/0']],
    ['IPv6, single IP', 'IPv6', '::1/128', ['::1/128']],
    ['IPv6 ifaddr (masked)', 'IPv6', '2001:db8::/64', ['2001:db8::/64', '2001:db8::1/64', '2001:db8::f00f:f0f0:0f0f:000f/64']],
  ];
  for (const [desc, family, canonical, strings] of good) {
    for (const s of strings) {
      it(`${desc}: ${JSON.stringify(s)} is ${family} ${canonical}`, () => {
        const c = parseCIDR(s, false);
        if (!isCidr(c)) throw new Error(c.error);
        expect(c.family).toBe(family);
        expect(c.text).toBe(canonical);
      });
    }
  }
  it('IPv4-mapped IPv6: "::ffff:1.1.1.0/120" is IPv4 1.1.1.0/24', () => {
    const c = parseCIDR('::ffff:1.1.1.0/120', false);
    if (!isCidr(c)) throw new Error(c.error);
    expect(c.family).toBe('IPv4');
    expect(c.text).toBe('1.1.1.0/24');
  });
  it('sizes follow the prefix', () => {
    const sizes: [string, bigint][] = [['1.2.3.0/24', 256n], ['1.1.1.1/32', 1n], ['0.0.0.0/0', 1n << 32n], ['2001:db8::/64', 1n << 64n], ['::1/128', 1n]];
    for (const [s, size] of sizes) {
      const c = parseCIDR(s);
      if (!isCidr(c)) throw new Error(c.error);
      expect(c.size).toBe(size);
    }
  });
});

describe('CIDR parsing — badTestCIDRs', () => {
  const bad: [desc: string, strings: string[]][] = [
    ['empty string is not a CIDR', ['']],
    ['random unparseable string is not a CIDR', ['bad cidr']],
    ['CIDR with invalid IP is invalid', ['1.2.300.0/24', '2001:db8000::/64']],
    ['CIDR with invalid prefix length is invalid', ['1.2.3.4/64', '2001:db8::5/192', '1.2.3.0/-8', '1.2.3.0/+24']],
    ['URLs (that aren\'t also valid CIDRs) are invalid', ['www.example.com/24']],
    ['plain IP is not a CIDR', ['1.2.3.4', '2001:db8::1']],
  ];
  for (const [desc, strings] of bad) {
    for (const s of strings) {
      it(`${desc}: ${JSON.stringify(s)}`, () => {
        expect(isCidr(parseCIDR(s, false))).toBe(false);
        expect(isCidr(parseCIDR(s))).toBe(false);
      });
    }
  }
  it('URLs (that aren\'t also valid CIDRs) are invalid: "192.168.0.1/0/99"', () => {
    expect(isCidr(parseCIDR('192.168.0.1/0/99', false))).toBe(false);
  });
  it('CIDR with whitespace is invalid: " 1.2.3.0/24"', () => {
    expect(isCidr(parseCIDR(' 1.2.3.0/24', false))).toBe(false);
  });
  it('CIDR with whitespace is invalid: "1.2.3.0/24 "', () => {
    expect(isCidr(parseCIDR('1.2.3.0/24 ', false))).toBe(false);
  });
});
