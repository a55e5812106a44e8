// ingress-nginx annotations: examples from docs/user-guide/nginx-configuration/annotations.md,
// docs/examples/rewrite/README.md, docs/user-guide/ingress-path-matching.md and lua/balancer.lua.
import { describe, expect, it } from 'vitest';
import { allowed, parseAnnotations } from '../../src/ingress/annotations.ts';
import { cookieValue, useCanary } from '../../src/ingress/canary.ts';
import { normalizeRequestPath } from '../../src/ingress/paths.ts';
import { upstreamURI } from '../../src/ingress/rewrite.ts';
import { route } from '../../src/ingress/routes.ts';
import { ingress, path, served, svc, table } from './fixtures.ts';

const A = 'nginx.ingress.kubernetes.io/';

function rewritten(t: ReturnType<typeof table>, host: string, uri: string): string | 404 {
  const p = normalizeRequestPath(uri.split('?')[0])!;
  const r = route(t, host, p);
  return r.location ? upstreamURI(r.location, uri, p) : 404;
}

describe('rewrite-target with capture groups (docs/examples/rewrite)', () => {
  const t = table([
    ingress('rewrite', { rules: [{ host: 'rewrite.bar.com', http: { paths: [path('/something(/|$)(.*)', 'ImplementationSpecific', 'http-svc')] } }] }, {
      annotations: { [A + 'use-regex']: 'true', [A + 'rewrite-target']: '/$2' },
    }),
  ]);
  it.each([
    ['/something', '/'],
    ['/something/', '/'],
    ['/something/new', '/new'],
    ['/something/new?a=1', '/new?a=1'],
    ['/SOMETHING/new', '/new'],
  ])('%s is sent upstream as %s', (uri, want) => expect(rewritten(t, 'rewrite.bar.com', uri)).toBe(want));
  it('paths that do not match the regex get the 404', () => expect(rewritten(t, 'rewrite.bar.com', '/other')).toBe(404));

  it('rewrite-target without capture groups replaces the whole path', () => {
    const t2 = table([ingress('r', { rules: [{ host: 'h', http: { paths: [path('/api', 'Prefix', 'api')] } }] }, { annotations: { [A + 'rewrite-target']: '/' } })]);
    expect(rewritten(t2, 'h', '/api/users?id=1')).toBe('/?id=1');
  });

  it('without rewrite-target the request URI goes upstream untouched', () => {
    const t2 = table([ingress('r', { rules: [{ host: 'h', http: { paths: [path('/api', 'Prefix', 'api')] } }] })]);
    expect(rewritten(t2, 'h', '/api//users?id=1')).toBe('/api//users?id=1');
  });
});

describe('use-regex (docs/user-guide/ingress-path-matching.md)', () => {
  it('orders regex locations by descending path length, first match wins', () => {
    const t = table([
      ingress('test-ingress', {
        rules: [{ host: 'test.com', http: { paths: [path('/foo/bar', 'ImplementationSpecific', 'service1'), path('/foo/bar/.+', 'ImplementationSpecific', 'service2')] } }],
      }, { annotations: { [A + 'use-regex']: 'true' } }),
    ]);
    expect(t.servers.get('test.com')!.locations.map((l) => l.path)).toEqual(['/foo/bar/.+', '/foo/bar']);
    expect(served(t, 'test.com', '/foo/bar/bar')).toBe('service2');
    expect(served(t, 'test.com', '/foo/bar')).toBe('service1');
    expect(served(t, 'test.com', '/foo/barbaz')).toBe('service1');
  });

  it('a regex annotation on one Ingress makes every path of the host a case-insensitive regex (Exact too)', () => {
    const t = table([
      ingress('plain', { rules: [{ host: 'h', http: { paths: [path('/exact', 'Exact', 'exact')] } }] }),
      ingress('regex', { rules: [{ host: 'h', http: { paths: [path('/re[0-9]+', 'ImplementationSpecific', 're')] } }] }, { annotations: { [A + 'use-regex']: 'true' } }),
      ingress('other-host', { rules: [{ host: 'o', http: { paths: [path('/exact', 'Exact', 'o-exact')] } }] }),
    ]);
    expect(served(t, 'h', '/re42')).toBe('re');
    expect(served(t, 'h', '/EXACT/more')).toBe('exact');
    expect(served(t, 'o', '/EXACT')).toBe(404);
    expect(served(t, 'o', '/exact')).toBe('o-exact');
  });

  it('an invalid regex is reported and skipped', () => {
    const t = table([ingress('bad', { rules: [{ host: 'h', http: { paths: [path('/a(', 'ImplementationSpecific', 'bad'), path('/b', 'ImplementationSpecific', 'b')] } }] }, { annotations: { [A + 'use-regex']: 'true' } })]);
    expect(served(t, 'h', '/b')).toBe('b');
    expect(t.notes.join('\n')).toMatch(/not a valid regular expression/);
  });
});

describe('canary (annotations.md Canary, lua/balancer.lua)', () => {
  const primary = ingress('production', { rules: [{ host: 'echo.example', http: { paths: [path('/', 'Prefix', 'production')] } }] });
  const canaryIng = (ann: Record<string, string>) =>
    ingress('canary', { rules: [{ host: 'echo.example', http: { paths: [path('/', 'Prefix', 'canary')] } }] }, { annotations: { [A + 'canary']: 'true', ...ann } });
  const request = (headers: Record<string, string>) => ({
    header: (n: string) => headers[n.toLowerCase()],
    cookie: (n: string) => cookieValue(headers.cookie, n),
  });
  const pick = (ann: Record<string, string>, headers: Record<string, string>, random = 0.5) => {
    const t = table([primary, canaryIng(ann)]);
    const loc = route(t, 'echo.example', '/').location!;
    expect(loc.backend.name).toBe('production');
    return loc.canary && useCanary(loc.canary, request(headers), () => random) ? 'canary' : 'production';
  };
  it.each([
    [{ [A + 'canary-by-header']: 'x-canary' }, { 'x-canary': 'always' }, 'canary'],
    [{ [A + 'canary-by-header']: 'x-canary' }, { 'x-canary': 'never' }, 'production'],
    [{ [A + 'canary-by-header']: 'x-canary' }, { 'x-canary': 'maybe' }, 'production'],
    [{ [A + 'canary-by-header']: 'x-canary' }, {}, 'production'],
    [{ [A + 'canary-by-header']: 'x-region', [A + 'canary-by-header-value']: 'us-east' }, { 'x-region': 'us-east' }, 'canary'],
    [{ [A + 'canary-by-header']: 'x-region', [A + 'canary-by-header-value']: 'us-east' }, { 'x-region': 'always' }, 'production'],
    [{ [A + 'canary-by-header']: 'x-canary', [A + 'canary-weight']: '100' }, { 'x-canary': 'never' }, 'production'],
    [{ [A + 'canary-by-cookie']: 'canary' }, { cookie: 'a=b; canary=always' }, 'canary'],
    [{ [A + 'canary-by-cookie']: 'canary', [A + 'canary-weight']: '100' }, { cookie: 'canary=never' }, 'production'],
    [{ [A + 'canary-weight']: '100' }, {}, 'canary'],
    [{ [A + 'canary-weight']: '0' }, {}, 'production'],
  ] as const)('%j with %j -> %s', (ann, headers, want) => expect(pick({ ...ann }, { ...headers })).toBe(want));

  it('canary-weight splits by the random draw', () => {
    expect(pick({ [A + 'canary-weight']: '30' }, {}, 0.29)).toBe('canary');
    expect(pick({ [A + 'canary-weight']: '30' }, {}, 0.3)).toBe('production');
    expect(pick({ [A + 'canary-weight']: '30', [A + 'canary-weight-total']: '1000' }, {}, 0.031)).toBe('production');
  });

  it('a canary adds no routes of its own and needs a primary', () => {
    const t = table([canaryIng({ [A + 'canary-weight']: '100' })]);
    expect(served(t, 'echo.example', '/')).toBe(404);
    expect(t.notes.join('\n')).toMatch(/no primary Ingress/);
  });
});

describe('other annotations', () => {
  it('whitelist-source-range allows listed CIDRs and addresses only', () => {
    const cfg = parseAnnotations(ingress('w', { defaultBackend: svc('x') }, { annotations: { [A + 'whitelist-source-range']: '10.0.0.0/24, 172.10.0.1,::1' } }));
    expect(allowed(cfg, '10.0.0.7')).toBe(true);
    expect(allowed(cfg, '::ffff:10.0.0.200')).toBe(true);
    expect(allowed(cfg, '172.10.0.1')).toBe(true);
    expect(allowed(cfg, '::1')).toBe(true);
    expect(allowed(cfg, '10.0.1.1')).toBe(false);
    expect(allowed(cfg, '127.0.0.1')).toBe(false);
  });

  it('denylist-source-range refuses its CIDRs first, then the allow list applies', () => {
    const both = parseAnnotations(ingress('d', { defaultBackend: svc('x') }, { annotations: { [A + 'whitelist-source-range']: '10.0.0.0/8', [A + 'denylist-source-range']: '10.1.0.0/16' } }));
    expect(allowed(both, '10.2.3.4')).toBe(true);
    expect(allowed(both, '10.1.3.4')).toBe(false);
    expect(allowed(both, '192.168.0.1')).toBe(false);
    const denyOnly = parseAnnotations(ingress('d', { defaultBackend: svc('x') }, { annotations: { [A + 'denylist-source-range']: '127.0.0.1' } }));
    expect(allowed(denyOnly, '127.0.0.1')).toBe(false);
    expect(allowed(denyOnly, '127.0.0.2')).toBe(true);
  });

  it('a bad CIDR is reported under the annotation that holds it', () => {
    const problems: { annotation: string; message: string }[] = [];
    parseAnnotations(ingress('d', { defaultBackend: svc('x') }, { annotations: { [A + 'denylist-source-range']: '10.0.0.0/33' } }), problems);
    expect(problems).toEqual([{ annotation: A + 'denylist-source-range', message: 'invalid CIDR "10.0.0.0/33"' }]);
  });

  it('timeouts are seconds; bad values are reported and the defaults kept', () => {
    const problems: { annotation: string; message: string }[] = [];
    const cfg = parseAnnotations(ingress('t', { defaultBackend: svc('x') }, { annotations: { [A + 'proxy-connect-timeout']: '2', [A + 'proxy-read-timeout']: 'soon' } }), problems);
    expect(cfg.connectTimeoutMs).toBe(2000);
    expect(cfg.readTimeoutMs).toBe(60_000);
    expect(problems[0]).toEqual({ annotation: A + 'proxy-read-timeout', message: 'invalid value "soon": want a positive number of seconds' });
  });

  it('ssl-redirect defaults on, force-ssl-redirect off', () => {
    const cfg = parseAnnotations(ingress('s', { defaultBackend: svc('x') }));
    expect([cfg.sslRedirect, cfg.forceSslRedirect]).toEqual([true, false]);
    const off = parseAnnotations(ingress('s', { defaultBackend: svc('x') }, { annotations: { [A + 'ssl-redirect']: 'false', [A + 'force-ssl-redirect']: 'true' } }));
    expect([off.sslRedirect, off.forceSslRedirect]).toEqual([false, true]);
  });
});
