// Conformance: label selectors, ported from upstream Go tests in kubernetes/kubernetes.
//
//   staging/src/k8s.io/apimachinery/pkg/labels/selector_test.go
//     (commit 86b3ca48ea108bf601e7dac30684ca9b1308c488): TestSelectorParse, TestDeterministicParse,
//     TestSelectorMatches, TestSetMatches, TestNilMapIsValid, TestLexerSequence (inputs only),
//     TestRequirementConstructor, TestRequirementSelectorMatching, TestSetSelectorParser
//   staging/src/k8s.io/apimachinery/pkg/apis/meta/v1/helpers_test.go
//     (commit 48291881088da16399a735bd0b21b416e54bb094): TestLabelSelectorAsSelector
//
// How upstream maps onto kdp:
//   labels.Parse                    -> parseSelector (throws where Parse returns an error)
//   labels.SelectorFromSet / Set    -> fromMap
//   metav1.LabelSelectorAsSelector  -> fromLabelSelector
//   Selector.Matches                -> matches
// kdp has no Selector.String(), so where upstream compares String() or reflect.DeepEqual on the parsed
// selector, these tests compare the requirements instead: upstream sorts requirements by key and keeps In/NotIn
// values as a sorted set, so both sides are normalised that way (order is not observable through matches()).
// Upstream's DoubleEquals ("==") matches exactly like Equals, and kdp folds it into 'Equals'.
// Cases kdp gets wrong are `it.fails` and listed in the report; upstream's expectation is kept as written.
import { describe, expect, it } from 'vitest';
import type { LabelSelector } from 'kubernetes-types/meta/v1.js';
import { fromLabelSelector, fromMap, matches, parseSelector, type Requirement, type Selector } from '../../../src/cluster/labels.ts';

/** Upstream selection.Operator, in kdp's spelling; Gt/Lt have no kdp counterpart. */
type Op = Requirement['operator'] | 'GreaterThan' | 'LessThan';
type Req = [key: string, op: Op, values?: string[]];

interface Norm {
  nothing: boolean;
  requirements: { key: string; operator: string; values: string[] }[];
}

function norm(sel: Selector): Norm {
  const requirements = sel.requirements.map((r) => ({
    key: r.key,
    operator: r.operator as string,
    values: r.operator === 'In' || r.operator === 'NotIn' ? [...new Set(r.values)].sort() : [...r.values],
  }));
  requirements.sort((a, b) => (a.key < b.key ? -1 : a.key > b.key ? 1 : a.operator < b.operator ? -1 : a.operator > b.operator ? 1 : 0));
  return { nothing: !!sel.nothing, requirements };
}

function want(reqs: Req[]): Norm {
  return norm({ requirements: reqs.map(([key, operator, values]) => ({ key, operator: operator as Requirement['operator'], values: values ?? [] })) });
}

function parses(text: string): boolean {
  try {
    parseSelector(text);
    return true;
  } catch {
    return false;
  }
}

describe('labels.Parse — TestSelectorParse', () => {
  // Upstream also checks that String() gives back the input minus spaces; kdp has no String(), so the expected
  // requirements are written out (they are what that round trip implies).
  const good: [string, Req[]][] = [
    ['x=a,y=b,z=c', [['x', 'Equals', ['a']], ['y', 'Equals', ['b']], ['z', 'Equals', ['c']]]],
    ['', []],
    ['x!=a,y=b', [['x', 'NotEquals', ['a']], ['y', 'Equals', ['b']]]],
    ['x=', [['x', 'Equals', ['']]]],
    ['x= ', [['x', 'Equals', ['']]]],
    ['x=,z= ', [['x', 'Equals', ['']], ['z', 'Equals', ['']]]],
    ['x= ,z= ', [['x', 'Equals', ['']], ['z', 'Equals', ['']]]],
    ['!x', [['x', 'DoesNotExist']]],
  ];
  for (const [text, reqs] of good) {
    it(`parses ${JSON.stringify(text)}`, () => {
      expect(norm(parseSelector(text))).toEqual(want(reqs));
    });
  }
  // Gt / Lt: labels.Parse accepts `key>int` and `key<int` (they are not valid in a metav1.LabelSelector).
  it('parses "x>1" (Gt)', () => {
    expect(norm(parseSelector('x>1'))).toEqual(want([['x', 'GreaterThan', ['1']]]));
  });
  it('parses "x>1,z<5" (Gt, Lt)', () => {
    expect(norm(parseSelector('x>1,z<5'))).toEqual(want([['x', 'GreaterThan', ['1']], ['z', 'LessThan', ['5']]]));
  });

  for (const text of ['x=a||y=b', 'x==a==b', '!x=a', 'x<a']) {
    it(`rejects ${JSON.stringify(text)}`, () => {
      expect(() => parseSelector(text)).toThrow();
    });
  }
});

describe('labels.Parse — TestDeterministicParse', () => {
  it('"x=a,a=x" and "a=x,x=a" are the same selector', () => {
    const s1 = parseSelector('x=a,a=x');
    const s2 = parseSelector('a=x,x=a');
    expect(norm(s1)).toEqual(norm(s2));
    expect(norm(s1)).toEqual(want([['a', 'Equals', ['x']], ['x', 'Equals', ['a']]]));
    for (const set of [{ x: 'a', a: 'x' }, { x: 'a' }, { a: 'x' }, {}] as Record<string, string>[]) expect(matches(s1, set)).toBe(matches(s2, set));
  });
});

describe('labels.Parse + Matches — TestSelectorMatches', () => {
  const yes: [string, Record<string, string>][] = [
    ['', { x: 'y' }],
    ['x=y', { x: 'y' }],
    ['x=y,z=w', { x: 'y', z: 'w' }],
    ['x!=y,z!=w', { x: 'z', z: 'a' }],
    ['notin=in', { notin: 'in' }], // in and notin in exactMatch
    ['x', { x: 'z' }],
    ['!x', { y: 'z' }],
  ];
  const no: [string, Record<string, string>][] = [
    ['x=z', {}],
    ['x=y', { x: 'z' }],
    ['x=y,z=w', { x: 'w', z: 'w' }],
    ['x!=y,z!=w', { x: 'z', z: 'w' }],
    ['x', { y: 'z' }],
    ['!x', { x: 'z' }],
  ];
  const labelset = { foo: 'bar', baz: 'blah' };
  yes.push(['foo=bar', labelset], ['baz=blah', labelset], ['foo=bar,baz=blah', labelset]);
  no.push(['foo=blah', labelset], ['baz=bar', labelset], ['foo=bar,foobar=bar,baz=blah', labelset]);

  for (const [sel, set] of yes) {
    it(`${JSON.stringify(sel)} matches ${JSON.stringify(set)}`, () => {
      expect(matches(parseSelector(sel), set)).toBe(true);
    });
  }
  for (const [sel, set] of no) {
    it(`${JSON.stringify(sel)} does not match ${JSON.stringify(set)}`, () => {
      expect(matches(parseSelector(sel), set)).toBe(false);
    });
  }
  // Gt / Lt compare the label value as an integer.
  it('"x>1" matches {x: "2"}', () => {
    expect(matches(parseSelector('x>1'), { x: '2' })).toBe(true);
  });
  it('"x<1" matches {x: "0"}', () => {
    expect(matches(parseSelector('x<1'), { x: '0' })).toBe(true);
  });
  it('"x>1" does not match {x: "0"} (and parses)', () => {
    expect(matches(parseSelector('x>1'), { x: '0' })).toBe(false);
  });
  it('"x<1" does not match {x: "2"} (and parses)', () => {
    expect(matches(parseSelector('x<1'), { x: '2' })).toBe(false);
  });
});

describe('SelectorFromSet — TestSetMatches, TestNilMapIsValid', () => {
  const labelset = { foo: 'bar', baz: 'blah' };
  for (const sel of [{}, { foo: 'bar' }, { baz: 'blah' }, { foo: 'bar', baz: 'blah' }] as Record<string, string>[]) {
    it(`${JSON.stringify(sel)} matches ${JSON.stringify(labelset)}`, () => {
      expect(matches(fromMap(sel), labelset)).toBe(true);
    });
  }
  it('an empty set is the empty selector (matches everything)', () => {
    const s = fromMap({});
    expect(s.requirements).toEqual([]);
    expect(s.nothing).toBeFalsy();
    expect(matches(s, { x: 'y' })).toBe(true);
    expect(matches(s, {})).toBe(true);
  });
  it('a set is equality on every pair', () => {
    expect(norm(fromMap({ foo: 'bar', baz: 'blah' }))).toEqual(want([['baz', 'Equals', ['blah']], ['foo', 'Equals', ['bar']]]));
    expect(matches(fromMap({ foo: 'bar', foobar: 'bar' }), labelset)).toBe(false);
  });
});

describe('labels.Parse — TestLexerSequence inputs', () => {
  // Upstream asserts token sequences; kdp exposes no lexer, so these inputs are run through the parser and the
  // expected outcome is the one labels.Parse gives for them (derived from the grammar, not asserted upstream).
  it('"key in ( value )"', () => expect(norm(parseSelector('key in ( value )'))).toEqual(want([['key', 'In', ['value']]])));
  it('"key notin ( value )"', () => expect(norm(parseSelector('key notin ( value )'))).toEqual(want([['key', 'NotIn', ['value']]])));
  it('"key in ( value1, value2 )"', () =>
    expect(norm(parseSelector('key in ( value1, value2 )'))).toEqual(want([['key', 'In', ['value1', 'value2']]])));
  it('"key"', () => expect(norm(parseSelector('key'))).toEqual(want([['key', 'Exists']])));
  it('"!key"', () => expect(norm(parseSelector('!key'))).toEqual(want([['key', 'DoesNotExist']])));
  it('"()" is not a selector', () => expect(parses('()')).toBe(false));
  it('"== != (), = notin" is not a selector', () => expect(parses('== != (), = notin')).toBe(false));
  it('"x in (),y" is x in ("") and y exists', () =>
    expect(norm(parseSelector('x in (),y'))).toEqual(want([['x', 'In', ['']], ['y', 'Exists']])));
  it('"key>2" is Gt', () => expect(norm(parseSelector('key>2'))).toEqual(want([['key', 'GreaterThan', ['2']]])));
  it('"key<1" is Lt', () => expect(norm(parseSelector('key<1'))).toEqual(want([['key', 'LessThan', ['1']]])));
});

describe('labels.Parse — TestSetSelectorParser', () => {
  const valid: [string, Req[]][] = [
    ['', []],
    ['\rx', [['x', 'Exists']]],
    ['this-is-a-dns.domain.com/key-with-dash', [['this-is-a-dns.domain.com/key-with-dash', 'Exists']]],
    ['this-is-another-dns.domain.com/key-with-dash in (so,what)', [['this-is-another-dns.domain.com/key-with-dash', 'In', ['so', 'what']]]],
    ['0.1.2.domain/99 notin (10.10.100.1, tick.tack.clock)', [['0.1.2.domain/99', 'NotIn', ['10.10.100.1', 'tick.tack.clock']]]],
    ['foo  in\t (abc)', [['foo', 'In', ['abc']]]],
    ['x notin\n (abc)', [['x', 'NotIn', ['abc']]]],
    ['x  notin\t\t\t(abc,def)', [['x', 'NotIn', ['abc', 'def']]]],
    ['x in (abc,def)', [['x', 'In', ['abc', 'def']]]],
    ['x in (abc,)', [['x', 'In', ['abc', '']]]],
    // upstream marks this one Match=false only because its expected list is not in key order; the content is this:
    ['x,y in (a)', [['y', 'In', ['a']], ['x', 'Exists']]],
    ['x=a', [['x', 'Equals', ['a']]]],
    ['x=a,y!=b', [['x', 'Equals', ['a']], ['y', 'NotEquals', ['b']]]],
    ['x=a,y!=b,z in (h,i,j)', [['x', 'Equals', ['a']], ['y', 'NotEquals', ['b']], ['z', 'In', ['h', 'i', 'j']]]],
    ['x notin (, a)', [['x', 'NotIn', ['', 'a']]]],
    ['a ', [['a', 'Exists']]],
    ['a in (x,y,notin, z,in)', [['a', 'In', ['in', 'notin', 'x', 'y', 'z']]]], // operator 'in' inside list of identifiers
  ];
  for (const [text, reqs] of valid) {
    it(`parses ${JSON.stringify(text)}`, () => {
      expect(norm(parseSelector(text))).toEqual(want(reqs));
    });
  }

  // `()` and `( )` are a set holding the empty string, not an empty set.
  it('parses "x in ()" as x in ("")', () => {
    expect(norm(parseSelector('x in ()'))).toEqual(want([['x', 'In', ['']]]));
  });
  it('parses "x notin (abc,,def),bar,z in (),w"', () => {
    expect(norm(parseSelector('x notin (abc,,def),bar,z in (),w'))).toEqual(
      want([['bar', 'Exists'], ['w', 'Exists'], ['x', 'NotIn', ['abc', '', 'def']], ['z', 'In', ['']]]),
    );
  });
  it('parses "x notin ( )" as x notin ("")', () => {
    expect(norm(parseSelector('x notin ( )'))).toEqual(want([['x', 'NotIn', ['']]]));
  });
  it('parses "x>1" (Gt)', () => {
    expect(norm(parseSelector('x>1'))).toEqual(want([['x', 'GreaterThan', ['1']]]));
  });
  it('parses "x<7" (Lt)', () => {
    expect(norm(parseSelector('x<7'))).toEqual(want([['x', 'LessThan', ['7']]]));
  });

  for (const text of ['x=a||y=b', 'x,,y', ',x,y', 'x nott in (y)', 'a in (xyz)b notin ()', 'a notin(', 'a (', '(']) {
    it(`rejects ${JSON.stringify(text)}`, () => {
      expect(() => parseSelector(text)).toThrow();
    });
  }
  it('rejects "a in (xyz)," (trailing comma)', () => {
    expect(() => parseSelector('a in (xyz),')).toThrow();
  });
  it('rejects "a in (xyz abc)" (no comma)', () => {
    expect(() => parseSelector('a in (xyz abc)')).toThrow();
  });
});

describe('NewRequirement — TestRequirementConstructor', () => {
  // Through metav1.LabelSelector (LabelSelectorAsSelector calls NewRequirement for every expression).
  const cases: [key: string, operator: string, values: string[] | undefined, ok: boolean][] = [
    ['x', 'In', undefined, false],
    ['x', 'NotIn', [], false],
    ['x', 'In', ['foo'], true],
    ['x', 'NotIn', ['foo'], true],
    ['x', 'Exists', undefined, true],
    ['x', 'DoesNotExist', undefined, true],
    ['1foo', 'In', ['bar'], true],
    ['1234', 'In', ['bar'], true],
  ];
  for (const [key, operator, values, ok] of cases) {
    it(`${key} ${operator} ${JSON.stringify(values)} -> ${ok ? 'ok' : 'error'}`, () => {
      const ls: LabelSelector = { matchExpressions: [{ key, operator, ...(values ? { values } : {}) }] };
      if (ok) expect(norm(fromLabelSelector(ls))).toEqual(want([[key, operator as Op, values ?? []]]));
      else expect(() => fromLabelSelector(ls)).toThrow();
    });
  }
  // Gt/Lt with integer and non-integer values, through the string syntax.
  it('y>1 is a valid requirement', () => expect(parses('y>1')).toBe(true));
  it('z<6 is a valid requirement', () => expect(parses('z<6')).toBe(true));
  it('foo>bar is not (value must be an integer)', () => expect(parses('foo>bar')).toBe(false));
  it('barz<blah is not (value must be an integer)', () => expect(parses('barz<blah')).toBe(false));

  const longKey = 'a'.repeat(254); // breaks DNS rule that len(key) <= 253
  it('a 254-character key is rejected by the parser', () => {
    expect(() => parseSelector(longKey)).toThrow();
  });
  it('a 254-character key is rejected in a LabelSelector', () => {
    expect(() => fromLabelSelector({ matchExpressions: [{ key: longKey, operator: 'Exists' }] })).toThrow();
  });
});

describe('Requirement.Matches — TestRequirementSelectorMatching', () => {
  const sel = (...reqs: Req[]): Selector => ({
    requirements: reqs.map(([key, operator, values]) => ({ key, operator: operator as Requirement['operator'], values: values ?? [] })),
  });
  // (upstream's first case, a zero-value Requirement with no operator, has no kdp representation)
  const cases: [Record<string, string>, Selector, boolean][] = [
    [{ x: 'foo', y: 'baz' }, sel(['x', 'In', ['foo']], ['y', 'NotIn', ['alpha']]), true],
    [{ x: 'foo', y: 'baz' }, sel(['x', 'In', ['foo']], ['y', 'In', ['alpha']]), false],
    [{ y: '' }, sel(['x', 'NotIn', ['']], ['y', 'Exists']), true],
    [{ y: '' }, sel(['x', 'DoesNotExist'], ['y', 'Exists']), true],
    [{ y: '' }, sel(['x', 'NotIn', ['']], ['y', 'DoesNotExist']), false],
    [{ y: 'baz' }, sel(['x', 'In', ['']]), false],
  ];
  for (const [set, s, m] of cases) {
    it(`${JSON.stringify(s.requirements)} on ${JSON.stringify(set)} -> ${m}`, () => {
      expect(matches(s, set)).toBe(m);
    });
  }
  it('z>1 matches {z: "2"}', () => expect(matches(parseSelector('z>1'), { z: '2' })).toBe(true));
  it('z>1 does not match {z: "v2"} (and parses)', () => expect(matches(parseSelector('z>1'), { z: 'v2' })).toBe(false));
});

describe('metav1.LabelSelectorAsSelector — TestLabelSelectorAsSelector', () => {
  const matchLabels = { foo: 'bar' };
  const matchExpressions = [{ key: 'baz', operator: 'In', values: ['qux', 'norf'] }];

  it('nil selects nothing', () => {
    for (const ls of [undefined, null]) {
      const s = fromLabelSelector(ls);
      expect(s.nothing).toBe(true);
      expect(matches(s, { any: 'label' })).toBe(false);
      expect(matches(s, {})).toBe(false);
    }
  });
  it('{} selects everything', () => {
    const s = fromLabelSelector({});
    expect(s.nothing).toBeFalsy();
    expect(s.requirements).toEqual([]);
    expect(matches(s, { any: 'label' })).toBe(true);
    expect(matches(s, {})).toBe(true);
  });

  const same: [LabelSelector, string, Req[]][] = [
    [{ matchLabels }, 'foo=bar', [['foo', 'Equals', ['bar']]]],
    [{ matchExpressions }, 'baz in (norf,qux)', [['baz', 'In', ['norf', 'qux']]]],
    [{ matchLabels, matchExpressions }, 'baz in (norf,qux),foo=bar', [['baz', 'In', ['norf', 'qux']], ['foo', 'Equals', ['bar']]]],
  ];
  for (const [ls, text, reqs] of same) {
    it(`${JSON.stringify(ls)} is ${JSON.stringify(text)}`, () => {
      const before = structuredClone(ls);
      const s = fromLabelSelector(ls);
      expect(ls).toEqual(before); // the input is not modified
      expect(norm(s)).toEqual(want(reqs));
      expect(norm(s)).toEqual(norm(parseSelector(text)));
    });
  }

  it('Exists with values is an error', () => {
    expect(() => fromLabelSelector({ matchExpressions: [{ key: 'baz', operator: 'Exists', values: ['qux', 'norf'] }] })).toThrow();
  });
});
