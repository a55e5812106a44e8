import { describe, expect, it } from 'vitest';
import { NamespacedMap } from '../../src/cluster/namespacedmap.ts';

describe('NamespacedMap', () => {
  it('keeps one value per namespace and name', () => {
    const m = new NamespacedMap<number>();
    m.set('a', 'web', 1);
    m.set('b', 'web', 2);
    m.set('a', 'web', 3);
    expect(m.get('a', 'web')).toBe(3);
    expect(m.get('b', 'web')).toBe(2);
    expect(m.get('c', 'web')).toBeUndefined();
    expect(m.has('a', 'web')).toBe(true);
    expect(m.has('a', 'db')).toBe(false);
  });

  it('does not confuse names that would collide as "namespace/name" strings', () => {
    const m = new NamespacedMap<string>();
    m.set('a/b', 'c', 'first');
    m.set('a', 'b/c', 'second');
    expect(m.get('a/b', 'c')).toBe('first');
    expect(m.get('a', 'b/c')).toBe('second');
  });

  it('keys cluster-scoped objects by name alone', () => {
    const m = new NamespacedMap<string>();
    m.set(undefined, 'node1', 'x');
    expect(m.get(undefined, 'node1')).toBe('x');
    expect(m.get('', 'node1')).toBe('x');
  });

  it('delete returns what it removed, once', () => {
    const m = new NamespacedMap<string[]>();
    const ips = ['10.244.0.2'];
    m.set('default', 'web-1', ips);
    expect(m.delete('default', 'web-1')).toBe(ips);
    expect(m.delete('default', 'web-1')).toBeUndefined();
    expect(m.has('default', 'web-1')).toBe(false);
  });
});
