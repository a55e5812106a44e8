import { describe, expect, it } from 'vitest';
import { curlExamples } from '../../src/ingress/examples.ts';
import { ingress, path, svc, table } from './fixtures.ts';

describe('curl examples for kdp up', () => {
  it('one line per host and path; TLS hosts also over https with --resolve; wildcards get a sample label', () => {
    const t = table([
      ingress('a', { tls: [{ hosts: ['secure.example'], secretName: 's' }], rules: [{ host: 'secure.example', http: { paths: [path('/', 'Prefix', 'web')] } }, { host: '*.apps.example', http: { paths: [path('/api', 'Prefix', 'api')] } }] }),
      ingress('b', { rules: [{ host: 're.example', http: { paths: [path('/something(/|$)(.*)', 'ImplementationSpecific', 'x')] } }] }, { annotations: { 'nginx.ingress.kubernetes.io/use-regex': 'true' } }),
      ingress('c', { defaultBackend: svc('fallback') }),
    ]);
    expect(curlExamples(t, '127.0.0.1', { http: 8080, https: 8443 })).toEqual([
      "curl -H 'Host: secure.example' http://127.0.0.1:8080/",
      'curl -k --resolve secure.example:8443:127.0.0.1 https://secure.example:8443/',
      "curl -H 'Host: app.apps.example' http://127.0.0.1:8080/api",
      "curl -H 'Host: re.example' http://127.0.0.1:8080/something",
      'curl http://127.0.0.1:8080/',
    ]);
  });
});
