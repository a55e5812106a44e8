// iptables-restore: tokenizer and quoting, table/chain/command semantics, --noflush, errors naming the line
// and the token; and the utiliptables-shaped calls kube-proxy makes (EnsureChain, EnsureRule).
import { thrown } from '../../helpers/thrown.ts';
import { describe, expect, it } from 'vitest';
import { NetfilterError } from '../../../src/netns/netfilter/errors.ts';
import { Iptables } from '../../../src/netns/netfilter/iptables.ts';
import { tokenize } from '../../../src/netns/netfilter/tokenize.ts';
import { fakeIpsets } from './fixtures.ts';

const rulesOf = (ipt: Iptables, table: 'filter' | 'nat' = 'filter') => ipt.save(table).split('\n').filter((l) => l.startsWith('-A') || l.startsWith(':'));

const errorOf = (fn: () => void): NetfilterError => thrown(fn, NetfilterError);

describe('tokenizer (add_param_to_argv)', () => {
  it('splits on blanks and keeps quoted words, with backslash escapes inside quotes only', () => {
    expect(tokenize('-A X  -m comment --comment "a b \\"c\\"" -j Y')).toEqual(['-A', 'X', '-m', 'comment', '--comment', 'a b "c"', '-j', 'Y']);
    expect(tokenize('--comment "" -j A')).toEqual(['--comment', '', '-j', 'A']);
    expect(tokenize("--comment 'a b'")).toEqual(['--comment', "'a", "b'"]);
    expect(tokenize('a\\b "x\\\\y"')).toEqual(['a\\b', 'x\\y']);
    expect(tokenize('"ab"cd')).toEqual(['ab', 'cd']);
  });
});

describe('iptables-restore', () => {
  it('flushes each table it names unless --noflush; a user chain line empties the chain under --noflush', () => {
    const ipt = new Iptables('IPv4');
    ipt.restore('*filter\n:A - [0:0]\n:B - [0:0]\n-A A -j ACCEPT\n-A B -j DROP\n-A FORWARD -j A\nCOMMIT\n*nat\n:N - [0:0]\nCOMMIT\n');
    ipt.restore('*filter\n:A - [0:0]\n-A A -j RETURN\nCOMMIT\n', { noflush: true });
    expect(rulesOf(ipt)).toEqual([':INPUT ACCEPT [0:0]', ':FORWARD ACCEPT [0:0]', ':OUTPUT ACCEPT [0:0]', ':A - [0:0]', ':B - [0:0]', '-A FORWARD -j A', '-A A -j RETURN', '-A B -j DROP']);
    ipt.restore('*filter\n:C - [0:0]\nCOMMIT\n');
    expect(rulesOf(ipt)).toEqual([':INPUT ACCEPT [0:0]', ':FORWARD ACCEPT [0:0]', ':OUTPUT ACCEPT [0:0]', ':C - [0:0]']);
    // Tables the text does not name are left alone.
    expect(rulesOf(ipt, 'nat')).toContain(':N - [0:0]');
  });

  it('runs -I (with and without a position), -D, -N, -X, -F and -P', () => {
    const ipt = new Iptables('IPv4');
    ipt.restore(['*filter', '-N X', '-A X -j ACCEPT', '-A X -j DROP', '-I X -j RETURN', '-I X 3 -p tcp -j ACCEPT', '-D X 1', '-D X -j DROP',
      '-N Y', '-A Y -j ACCEPT', '-F Y', '-N Z', '-X Z', '-P FORWARD DROP', 'COMMIT', ''].join('\n'));
    expect(rulesOf(ipt)).toEqual([':INPUT ACCEPT [0:0]', ':FORWARD DROP [0:0]', ':OUTPUT ACCEPT [0:0]', ':X - [0:0]', ':Y - [0:0]', '-A X -j ACCEPT', '-A X -p tcp -j ACCEPT']);
  });

  it('names the line and the token of what it cannot load', () => {
    const ipt = new Iptables('IPv4');
    const cases: [string, number, RegExp][] = [
      ['*filter\n:A - [0:0]\n-A A -m nosuch -j ACCEPT\nCOMMIT\n', 3, /Couldn't load match `nosuch'/],
      ['*filter\n-A FORWARD -j NOSUCH\nCOMMIT\n', 2, /Couldn't load target `NOSUCH'/],
      ['*filter\n\n# c\n-A FORWARD -p tcp --bogus 1 -j ACCEPT\nCOMMIT\n', 4, /unknown option "--bogus"/],
      ['*filter\n-A FORWARD -p tcp --dport eighty -j ACCEPT\nCOMMIT\n', 2, /invalid port\/service `eighty'/],
      ['*filter\n-A NOCHAIN -j ACCEPT\nCOMMIT\n', 2, /Chain 'NOCHAIN' does not exist/],
      ['*nat\n-A PREROUTING -j REJECT\nCOMMIT\n', 2, /REJECT' is not valid in the nat table/],
      ['*nat\n-A PREROUTING -j DNAT --to-destination 10.0.0.1:80\nCOMMIT\n', 2, /Need TCP, UDP, SCTP or DCCP with port specification/],
      ['*filter\n-A FORWARD -m set --match-set NOSET dst -j ACCEPT\nCOMMIT\n', 2, /Set NOSET doesn't exist\./],
      ['*filter\n-A FORWARD -s 10.0.0.300 -j ACCEPT\nCOMMIT\n', 2, /host\/network `10\.0\.0\.300' not found/],
      ['*filter\n-A FORWARD -m statistic --probability 2 -j ACCEPT\nCOMMIT\n', 2, /--probability must be between 0 and 1/],
      ['*filter\n:A - [0:0]\n:B - [0:0]\n-A FORWARD -j A\n-A A -j B\n-A B -j A\nCOMMIT\n', 6, /Too many links/],
      ['*filter\n-A FORWARD -j ACCEPT\n', 2, /COMMIT expected/],
      ['*bogus\nCOMMIT\n', 1, /table 'bogus' does not exist/],
      ['-A FORWARD -j ACCEPT\n', 1, /outside a table/],
      ['*filter\n:FORWARD - [0:0]\nCOMMIT\n', 2, /Can't set policy `-' on built-in chain `FORWARD'/],
      ['*filter\n:KUBE-SEP-THIS-NAME-IS-FAR-TOO-LONG - [0:0]\nCOMMIT\n', 2, /too long/],
      ['*filter\n:A - [0:0]\n:B - [0:0]\n-A A -j B\n-X B\nCOMMIT\n', 5, /Device or resource busy/],
    ];
    for (const [text, line, msg] of cases) {
      const e = errorOf(() => ipt.restore(text));
      expect(e.line, text).toBe(line);
      expect(e.message, text).toMatch(msg);
      expect(e.message.startsWith(`line ${line}: `)).toBe(true);
    }
  });

  it('keeps tables committed before a failing one, and leaves a failing table as it was', () => {
    const ipt = new Iptables('IPv4');
    ipt.restore('*filter\n:OLD - [0:0]\nCOMMIT\n');
    expect(() => ipt.restore('*nat\n:N - [0:0]\nCOMMIT\n*filter\n:NEW - [0:0]\n-A NEW -j BAD\nCOMMIT\n')).toThrow(NetfilterError);
    expect(rulesOf(ipt, 'nat')).toContain(':N - [0:0]');
    expect(rulesOf(ipt)).toContain(':OLD - [0:0]');
    expect(rulesOf(ipt)).not.toContain(':NEW - [0:0]');
  });

  it('accepts -m set when the ipset exists', () => {
    const ipt = new Iptables('IPv4', fakeIpsets({ 'KUBE-CLUSTER-IP': [] }));
    ipt.restore('*nat\n-A PREROUTING -m set ! --match-set KUBE-CLUSTER-IP dst,dst -j RETURN\nCOMMIT\n');
    expect(rulesOf(ipt, 'nat')).toContain('-A PREROUTING -m set ! --match-set KUBE-CLUSTER-IP dst,dst -j RETURN');
  });
});

describe('EnsureChain / EnsureRule', () => {
  it('creates only what is missing and says whether it existed', () => {
    const ipt = new Iptables('IPv4');
    expect(ipt.ensureChain('nat', 'KUBE-SERVICES')).toBe(false);
    expect(ipt.ensureChain('nat', 'KUBE-SERVICES')).toBe(true);
    expect(ipt.ensureChain('nat', 'KUBE-POSTROUTING')).toBe(false);
    const jump = ['-m', 'comment', '--comment', 'kubernetes service portals', '-j', 'KUBE-SERVICES'];
    expect(ipt.ensureRule('prepend', 'nat', 'PREROUTING', jump)).toBe(false);
    expect(ipt.ensureRule('prepend', 'nat', 'PREROUTING', jump)).toBe(true);
    expect(ipt.ensureRule('append', 'nat', 'POSTROUTING', ['-m', 'comment', '--comment', 'kubernetes postrouting rules', '-j', 'KUBE-POSTROUTING'])).toBe(false);
    expect(ipt.ensureRule('prepend', 'nat', 'PREROUTING', ['-j', 'KUBE-POSTROUTING'])).toBe(false);
    expect(rulesOf(ipt, 'nat').filter((l) => l.startsWith('-A'))).toEqual([
      '-A PREROUTING -j KUBE-POSTROUTING',
      '-A PREROUTING -m comment --comment "kubernetes service portals" -j KUBE-SERVICES',
      '-A POSTROUTING -m comment --comment "kubernetes postrouting rules" -j KUBE-POSTROUTING',
    ]);
    // The same rule spelled another way is the same rule.
    expect(ipt.ensureRule('append', 'nat', 'POSTROUTING', ['-m', 'comment', '--comment', 'kubernetes postrouting rules', '--jump', 'KUBE-POSTROUTING'])).toBe(true);
    expect(() => ipt.ensureRule('append', 'nat', 'NOPE', ['-j', 'ACCEPT'])).toThrow(/Chain 'NOPE' does not exist/);
    // kube-proxy's restore (--noflush) keeps the jumps EnsureRule made in the built-in chains.
    ipt.restore('*nat\n:KUBE-SERVICES - [0:0]\n-A KUBE-SERVICES -j RETURN\nCOMMIT\n', { noflush: true });
    expect(rulesOf(ipt, 'nat')).toContain('-A PREROUTING -m comment --comment "kubernetes service portals" -j KUBE-SERVICES');
  });
});
