// Conformance: generated names and safe-encoded hashes, ported from upstream kubernetes/kubernetes:
//   staging/src/k8s.io/apimachinery/pkg/util/rand/rand_test.go
//     (commit 44d00ba2cbffe20d8ea3a706efedacb872704b7e): TestSafeEncodeString, TestString (alphabet)
//   staging/src/k8s.io/apiserver/pkg/storage/names/generate_test.go: TestSimpleNameGenerator, and the
//     length rules of generate.go (maxNameLength 63, randomLength 5, MaxGeneratedNameLength 58)
//
// Upstream's TestSafeEncodeString only asserts properties (one output character per input rune, all from the
// alphabet). The exact outputs asserted for ASCII input are what rand.go's mapping gives,
// alphanums[int(r) % len(alphanums)], computed independently of kdp.
// Upstream draws the generateName suffix from math/rand; kdp derives it deterministically, so only the shape is
// compared.
import { describe, expect, it } from 'vitest';
import { NameGenerator, safeEncodeString } from '../../../src/cluster/names.ts';

const ALPHANUMS = 'bcdfghjklmnpqrstvwxz2456789';
const inAlphabet = (s: string) => [...s].every((c) => ALPHANUMS.includes(c));

describe('rand.SafeEncodeString — TestSafeEncodeString', () => {
  const cases: [name: string, input: string][] = [
    ['empty', ''],
    ['ASCII', 'abc'],
    ['kubernetes text', 'kube-system-controller-manager'],
    ['accented', 'é'],
    ['CJK', '日本語'],
  ];
  for (const [name, input] of cases) {
    it(`${name}: one alphabet character per rune`, () => {
      const got = safeEncodeString(input);
      expect([...got].length).toBe([...input].length);
      expect(inAlphabet(got)).toBe(true);
    });
  }

  const exact: [input: string, want: string][] = [
    ['', ''],
    ['abc', 'vwx'],
    ['kube-system-controller-manager', '9mw2xkrkl2cxxfdljfbb2jxcvdv52j'],
    // ComputeHash encodes the decimal text of an FNV-32a sum: digits map onto {4..9, b, c, d, f}
    ['0123456789', '456789bcdf'],
    ['4294967295', '86f8fbc6f9'],
  ];
  for (const [input, want] of exact) {
    it(`${JSON.stringify(input)} -> ${JSON.stringify(want)}`, () => {
      expect(safeEncodeString(input)).toBe(want);
    });
  }
});

describe('names.SimpleNameGenerator — TestSimpleNameGenerator and generate.go', () => {
  const never = () => false;

  it('GenerateName("foo") starts with foo and is not foo', () => {
    const name = new NameGenerator().generate('foo', never);
    expect(name.startsWith('foo')).toBe(true);
    expect(name).not.toBe('foo');
  });
  it('appends exactly five characters of the rand.String alphabet', () => {
    const g = new NameGenerator();
    for (const base of ['foo', 'web-7d4b9c8f5-', 'x']) {
      for (let i = 0; i < 20; i++) {
        const name = g.generate(base, never);
        expect(name.length).toBe(base.length + 5);
        expect(name.slice(0, base.length)).toBe(base);
        expect(name.slice(base.length)).toMatch(/^[bcdfghjklmnpqrstvwxz2456789]{5}$/);
      }
    }
  });
  it('keeps a base of 58 characters whole (63 in all)', () => {
    const base = 'a'.repeat(58);
    const name = new NameGenerator().generate(base, never);
    expect(name.length).toBe(63);
    expect(name.slice(0, 58)).toBe(base);
  });
  it('cuts a longer base to its first 58 characters', () => {
    for (const len of [59, 63, 100]) {
      const base = 'abcdefghij'.repeat(10).slice(0, len);
      const name = new NameGenerator().generate(base, never);
      expect(name.length).toBe(63);
      expect(name.slice(0, 58)).toBe(base.slice(0, 58));
      expect(inAlphabet(name.slice(58))).toBe(true);
    }
  });
  it('does not hand out a name that is taken', () => {
    const first = new NameGenerator().generate('foo-', never);
    const taken = new Set([first]);
    const second = new NameGenerator().generate('foo-', (n) => taken.has(n));
    expect(second).not.toBe(first);
    expect(second).toMatch(/^foo-[bcdfghjklmnpqrstvwxz2456789]{5}$/);
  });
});
