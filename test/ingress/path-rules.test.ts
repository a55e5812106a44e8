// Ported from kubernetes-sigs/ingress-controller-conformance features/path_rules.feature and the examples
// table of kubernetes/website concepts/services-networking/ingress.md ("Examples" under Path types).
import { describe, expect, it } from 'vitest';
import { ingress, path, served, table } from './fixtures.ts';

describe('conformance: path rules (ingress-controller-conformance path_rules.feature)', () => {
  const t = table([
    ingress('path-rules', {
      rules: [
        { host: 'exact-path-rules', http: { paths: [path('/foo', 'Exact', 'foo-exact')] } },
        {
          host: 'prefix-path-rules',
          http: { paths: [path('/foo', 'Prefix', 'foo-prefix'), path('/aaa/bbb', 'Prefix', 'aaa-slash-bbb-prefix'), path('/aaa', 'Prefix', 'aaa-prefix')] },
        },
        { host: 'mixed-path-rules', http: { paths: [path('/foo', 'Prefix', 'foo-prefix'), path('/foo', 'Exact', 'foo-exact')] } },
        {
          host: 'trailing-slash-path-rules',
          http: { paths: [path('/aaa/bbb/', 'Prefix', 'aaa-slash-bbb-slash-prefix'), path('/foo/', 'Exact', 'foo-slash-exact')] },
        },
      ],
    }),
  ]);
  it.each([
    ['exact-path-rules', '/foo', 'foo-exact'],
    ['exact-path-rules', '/foo/', 404],
    ['exact-path-rules', '/FOO', 404],
    ['exact-path-rules', '/bar', 404],
    ['prefix-path-rules', '/foo', 'foo-prefix'],
    ['prefix-path-rules', '/foo/', 'foo-prefix'],
    ['prefix-path-rules', '/FOO', 404],
    ['prefix-path-rules', '/aaa/bbb', 'aaa-slash-bbb-prefix'],
    ['prefix-path-rules', '/aaa/bbb/ccc', 'aaa-slash-bbb-prefix'],
    ['prefix-path-rules', '/aaa/ccc', 'aaa-prefix'],
    ['prefix-path-rules', '/aaaccc', 404],
    ['mixed-path-rules', '/foo', 'foo-exact'],
    ['mixed-path-rules', '/foo/bar', 'foo-prefix'],
    ['trailing-slash-path-rules', '/aaa/bbb', 'aaa-slash-bbb-slash-prefix'],
    ['trailing-slash-path-rules', '/aaa/bbb/', 'aaa-slash-bbb-slash-prefix'],
    ['trailing-slash-path-rules', '/foo', 404],
    ['trailing-slash-path-rules', '/foo/', 'foo-slash-exact'],
  ] as const)('http://%s%s -> %s', (host, url, want) => {
    expect(served(t, host, url)).toBe(want);
  });
});

describe('the API docs table of Prefix and Exact examples', () => {
  type Row = [kind: string, paths: [string, 'Exact' | 'Prefix'][], request: string, matches: string | 404];
  const rows: Row[] = [
    ['Prefix', [['/', 'Prefix']], '/anything/at/all', '/'],
    ['Exact', [['/foo', 'Exact']], '/foo', '/foo'],
    ['Exact', [['/foo', 'Exact']], '/bar', 404],
    ['Exact', [['/foo', 'Exact']], '/foo/', 404],
    ['Exact', [['/foo/', 'Exact']], '/foo', 404],
    ['Prefix', [['/foo', 'Prefix']], '/foo', '/foo'],
    ['Prefix', [['/foo', 'Prefix']], '/foo/', '/foo'],
    ['Prefix', [['/foo/', 'Prefix']], '/foo', '/foo/'],
    ['Prefix', [['/foo/', 'Prefix']], '/foo/', '/foo/'],
    ['Prefix', [['/aaa/bb', 'Prefix']], '/aaa/bbb', 404],
    ['Prefix', [['/aaa/bbb', 'Prefix']], '/aaa/bbb', '/aaa/bbb'],
    ['Prefix', [['/aaa/bbb/', 'Prefix']], '/aaa/bbb', '/aaa/bbb/'],
    ['Prefix', [['/aaa/bbb', 'Prefix']], '/aaa/bbb/', '/aaa/bbb'],
    ['Prefix', [['/aaa/bbb', 'Prefix']], '/aaa/bbb/ccc', '/aaa/bbb'],
    ['Prefix', [['/aaa/bbb', 'Prefix']], '/aaa/bbbxyz', 404],
    ['Prefix', [['/', 'Prefix'], ['/aaa', 'Prefix']], '/aaa/ccc', '/aaa'],
    ['Prefix', [['/', 'Prefix'], ['/aaa', 'Prefix'], ['/aaa/bbb', 'Prefix']], '/aaa/bbb', '/aaa/bbb'],
    ['Prefix', [['/', 'Prefix'], ['/aaa', 'Prefix'], ['/aaa/bbb', 'Prefix']], '/ccc', '/'],
    ['Prefix', [['/aaa', 'Prefix']], '/ccc', 404],
    ['Mixed', [['/foo', 'Prefix'], ['/foo', 'Exact']], '/foo', '/foo Exact'],
  ];
  it.each(rows)('%s %j, request %s -> %s', (_kind, paths, request, want) => {
    const name = (p: string, t: string) => (paths.some(([q, u]) => q === p && u !== t) ? `${p} ${t}` : p);
    const backendOf = (p: string, t: string) => 'svc' + name(p, t).replace(/[^a-z]/gi, '-');
    const t = table([ingress('docs', { rules: [{ host: 'foo.bar.com', http: { paths: paths.map(([p, pt]) => path(p, pt, backendOf(p, pt))) } }] })]);
    const expected = want === 404 ? 404 : 'svc' + want.replace(/[^a-z]/gi, '-');
    expect(served(t, 'foo.bar.com', request)).toBe(expected);
  });
});

describe('ImplementationSpecific, as ingress-nginx renders it (a plain nginx prefix location)', () => {
  const t = table([
    ingress('impl', {
      rules: [
        { host: 'a', http: { paths: [path('/foo', 'ImplementationSpecific', 'foo')] } },
        { host: 'b', http: { paths: [path('/foo/', 'ImplementationSpecific', 'foo-slash')] } },
        { host: 'c', http: { paths: [{ pathType: 'ImplementationSpecific', backend: { service: { name: 'empty', port: { number: 80 } } } }] } },
        { host: 'd', http: { paths: [path('/foo', 'ImplementationSpecific', 'impl'), path('/foo', 'Prefix', 'prefix')] } },
      ],
    }),
  ]);
  it.each([
    ['a', '/foo', 'foo'],
    ['a', '/foo/bar', 'foo'],
    ['a', '/foobar', 'foo'],
    ['a', '/FOO', 404],
    ['b', '/foo/', 'foo-slash'],
    ['b', '/foo', 404],
    ['c', '/anything', 'empty'],
    ['d', '/foo/x', 'prefix'],
    ['d', '/foobar', 'impl'],
  ] as const)('http://%s%s -> %s', (host, url, want) => expect(served(t, host, url)).toBe(want));
});

describe('request paths are matched as nginx normalizes them', () => {
  const t = table([ingress('n', { rules: [{ http: { paths: [path('/api', 'Prefix', 'api'), path('/', 'Exact', 'root')] } }] })]);
  it.each([
    ['/api/v1?x=/y', 'api'],
    ['//api', 'api'],
    ['/other/../api/x', 'api'],
    ['/%61pi', 'api'],
    ['/./', 'root'],
    ['/../x', 404],
  ] as const)('%s -> %s', (url, want) => expect(served(t, 'any', url)).toBe(want));
});
