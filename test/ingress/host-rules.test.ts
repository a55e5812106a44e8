// Ported from ingress-controller-conformance host_rules.feature, default_backend.feature and
// ingress_class.feature, the API docs' hostname-wildcard table, and ingress-nginx's e2e suites
// (test/e2e/ingress/without_host.go, pathtype_mixed.go) for merging and default backends.
import { describe, expect, it } from 'vitest';
import { ingress, ingressClass, path, served, svc, table } from './fixtures.ts';

describe('conformance: host rules (host_rules.feature)', () => {
  const t = table([
    ingress('host-rules', {
      tls: [{ hosts: ['foo.bar.com'], secretName: 'conformance-tls' }],
      rules: [
        { host: '*.foo.com', http: { paths: [{ path: '/', pathType: 'Prefix', backend: svc('wildcard-foo-com') }] } },
        { host: 'foo.bar.com', http: { paths: [{ path: '/', pathType: 'Prefix', backend: svc('foo-bar-com', 'http') }] } },
      ],
    }),
  ]);
  it.each([
    ['foo.bar.com', 'foo-bar-com'],
    ['subdomain.bar.com', 404],
    ['bar.foo.com', 'wildcard-foo-com'],
    ['baz.bar.foo.com', 404],
    ['foo.com', 404],
    // The Host header's port is not part of the name; names are case-insensitive; a trailing dot is the same name.
    ['foo.bar.com:8080', 'foo-bar-com'],
    ['FOO.Bar.COM', 'foo-bar-com'],
    ['foo.bar.com.', 'foo-bar-com'],
    ['BAR.foo.com:443', 'wildcard-foo-com'],
  ] as const)('Host %s -> %s', (host, want) => expect(served(t, host, '/')).toBe(want));

  it('backend ports by name are kept for the dialer', () => {
    const r = t.servers.get('foo.bar.com')!.locations[0].backend;
    expect(r).toEqual({ namespace: 'default', name: 'foo-bar-com', port: 'http' });
  });

  it('the tls entry is attached to the host it lists', () => {
    expect(t.servers.get('foo.bar.com')!.tls?.secretName).toBe('conformance-tls');
    expect(t.servers.get('*.foo.com')!.tls).toBeUndefined();
  });
});

describe('exact host before wildcard before host-less rules', () => {
  const t = table([
    ingress('a', { rules: [{ http: { paths: [path('/', 'Prefix', 'hostless')] } }] }),
    ingress('b', { rules: [{ host: '*.example.com', http: { paths: [path('/', 'Prefix', 'wild')] } }] }),
    ingress('c', { rules: [{ host: 'www.example.com', http: { paths: [path('/api', 'Prefix', 'www-api')] } }] }),
  ]);
  it.each([
    ['www.example.com', '/api', 'www-api'],
    // A matching server never falls through to a less specific one: nginx picked the server already.
    ['www.example.com', '/other', 404],
    ['shop.example.com', '/other', 'wild'],
    ['example.com', '/', 'hostless'],
    ['10.0.0.1', '/', 'hostless'],
    ['', '/', 'hostless'],
  ] as const)('%s%s -> %s', (host, url, want) => expect(served(t, host, url)).toBe(want));
});

describe('conformance: default backend (default_backend.feature)', () => {
  const t = table([ingress('default-backend', { defaultBackend: svc('echo-service', 8080) })]);
  it.each([
    ['some.host', '/'],
    ['other', '/some/path'],
    ['', '/x?q=1'],
  ])('any host (%s) and path (%s) goes to the defaultBackend', (host, url) => expect(served(t, host, url)).toBe('echo-service'));
});

describe('defaultBackend of an Ingress with rules (ingress-nginx without_host.go)', () => {
  const t = table([
    ingress('only-backend', {
      defaultBackend: svc('default-svc'),
      rules: [{ host: 'only-backend', http: { paths: [path('/api', 'Prefix', 'api')] } }],
    }),
  ]);
  it('serves unmatched paths of the hosts that Ingress creates', () => {
    expect(served(t, 'only-backend', '/api/x')).toBe('api');
    expect(served(t, 'only-backend', '/other')).toBe('default-svc');
  });
  it('does not catch other hosts: the controller answers 404', () => expect(served(t, 'only-backend-doesnotexist', '/')).toBe(404));

  it('host-only rules (no http) use it for the whole host', () => {
    const t2 = table([ingress('x', { defaultBackend: svc('dflt'), rules: [{ host: 'just.host' }] })]);
    expect(served(t2, 'just.host', '/anything')).toBe('dflt');
    expect(served(t2, 'other.host', '/anything')).toBe(404);
  });

  it('the oldest rules-less defaultBackend is the catch-all', () => {
    const t3 = table([ingress('new', { defaultBackend: svc('newer') }, { created: '2026-02-01T00:00:00Z' }), ingress('old', { defaultBackend: svc('older') }, { created: '2026-01-01T00:00:00Z' })]);
    expect(served(t3, 'x', '/')).toBe('older');
    expect(t3.notes.join('\n')).toMatch(/defaultBackend ignored/);
  });
});

describe('several Ingresses merged per host (ingress-nginx pathtype_mixed.go)', () => {
  const host = 'mixed.example';
  const t = table([
    ingress('exact-root', { rules: [{ host, http: { paths: [path('/', 'Exact', 'exact-root')] } }] }),
    ingress('prefix-root', { rules: [{ host, http: { paths: [path('/', 'Prefix', 'prefix-root')] } }] }),
    ingress('exact-foo', { rules: [{ host, http: { paths: [path('/foo', 'Exact', 'exact-foo')] } }] }),
    ingress('prefix-foo', { rules: [{ host, http: { paths: [path('/foo', 'Prefix', 'prefix-foo')] } }] }),
  ]);
  it.each([
    ['/', 'exact-root'],
    ['/bar', 'prefix-root'],
    ['/foo', 'exact-foo'],
    ['/foo/bar', 'prefix-foo'],
    ['/foobar', 'prefix-root'],
  ] as const)('%s -> %s', (url, want) => expect(served(t, host, url)).toBe(want));

  it('the same host+path in two Ingresses: the oldest wins, whatever the list order', () => {
    const young = ingress('young', { rules: [{ host: 'h', http: { paths: [path('/', 'Prefix', 'young')] } }] }, { created: '2026-03-01T00:00:00Z' });
    const old = ingress('old', { rules: [{ host: 'h', http: { paths: [path('/', 'Prefix', 'old')] } }] }, { created: '2026-01-01T00:00:00Z' });
    const t2 = table([young, old]);
    expect(served(t2, 'h', '/')).toBe('old');
    expect(t2.notes.join('\n')).toMatch(/already served by Ingress default\/old; the oldest wins/);
  });

  it('Ingresses in different namespaces share a host; each backend stays in its own namespace', () => {
    const t2 = table([
      ingress('a', { rules: [{ host: 'shared', http: { paths: [path('/a', 'Prefix', 'svc-a')] } }] }, { namespace: 'team-a' }),
      ingress('b', { rules: [{ host: 'shared', http: { paths: [path('/b', 'Prefix', 'svc-b')] } }] }, { namespace: 'team-b' }),
    ]);
    expect(served(t2, 'shared', '/a')).toBe('svc-a');
    expect(served(t2, 'shared', '/b')).toBe('svc-b');
    const b = t2.servers.get('shared')!.locations.find((l) => l.path === '/b')!.backend;
    expect(b.namespace).toBe('team-b');
  });
});

describe('resource backends', () => {
  it('are skipped as ingress-nginx skips non-service backends: the host default backend answers', () => {
    const bucket = { resource: { apiGroup: 'k8s.example.com', kind: 'StorageBucket', name: 'static-assets' } };
    const t = table([
      ingress('r', { defaultBackend: svc('fallback'), rules: [{ host: 'static', http: { paths: [{ path: '/icons', pathType: 'ImplementationSpecific', backend: bucket }, path('/api', 'Prefix', 'api')] } }] }),
    ]);
    expect(served(t, 'static', '/icons/a.png')).toBe('fallback');
    expect(served(t, 'static', '/api')).toBe('api');
    expect(t.notes.join('\n')).toMatch(/resource backend StorageBucket static-assets is not supported/);
    expect(served(table([ingress('only-bucket', { defaultBackend: bucket })]), 'x', '/')).toBe(404);
  });
});

describe('conformance: IngressClass (ingress_class.feature) and the claim rules', () => {
  const rules = (host: string) => ({ rules: [{ host, http: { paths: [path('/', 'Prefix', host)] } }] });
  const classes = [ingressClass('kdp', 'kdp.dev/ingress'), ingressClass('public', 'k8s.io/ingress-nginx'), ingressClass('traefik', 'traefik.io/ingress-controller')];
  const t = table(
    [
      ingress('no-class', rules('no-class')),
      ingress('kdp', { ...rules('kdp'), ingressClassName: 'kdp' }),
      ingress('ingress-nginx', { ...rules('ingress-nginx'), ingressClassName: 'public' }),
      ingress('nginx', { ...rules('nginx'), ingressClassName: 'nginx' }),
      ingress('annotated', rules('annotated'), { annotations: { 'kubernetes.io/ingress.class': 'nginx' } }),
      ingress('invalid', { ...rules('invalid'), ingressClassName: 'some-invalid-class-name' }),
      ingress('traefik', { ...rules('traefik'), ingressClassName: 'traefik' }),
      ingress('annotated-traefik', rules('annotated-traefik'), { annotations: { 'kubernetes.io/ingress.class': 'traefik' } }),
    ],
    classes,
  );
  it.each([
    ['no-class', 'no-class'],
    ['kdp', 'kdp'],
    ['ingress-nginx', 'ingress-nginx'],
    ['nginx', 'nginx'],
    ['annotated', 'annotated'],
    ['invalid', 404],
    ['traefik', 404],
    ['annotated-traefik', 404],
  ] as const)('%s -> %s', (host, want) => expect(served(t, host, '/')).toBe(want));

  it('an IngressClass object named nginx for another controller takes the name away', () => {
    const t2 = table([ingress('n', { ...rules('n'), ingressClassName: 'nginx' })], [ingressClass('nginx', 'example.com/other')]);
    expect(served(t2, 'n', '/')).toBe(404);
  });

  it('class-less Ingresses get the default class, as admission would stamp it', () => {
    const foreignDefault = table([ingress('n', rules('n'))], [ingressClass('other', 'example.com/other', true)]);
    expect(served(foreignDefault, 'n', '/')).toBe(404);
    const ourDefault = table([ingress('n', rules('n'))], [ingressClass('kdp', 'kdp.dev/ingress', true)]);
    expect(served(ourDefault, 'n', '/')).toBe('n');
  });
});
