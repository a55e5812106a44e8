// The small pure pieces: Host parsing, the upstreaminfo line, the forwarded headers, request path normalization.
import { describe, expect, it } from 'vitest';
import { bufferedLines, formatAccessLog, timeLocal } from '../../src/ingress/accesslog.ts';
import { setForwardedHeaders } from '../../src/ingress/headers.ts';
import { normalizeRequestPath } from '../../src/ingress/paths.ts';
import { hostMatchesPattern, hostName } from '../../src/ingress/routes.ts';

describe('hostName', () => {
  it.each([
    ['foo.bar.com', 'foo.bar.com'],
    ['Foo.Bar.COM:8080', 'foo.bar.com'],
    ['foo.bar.com.', 'foo.bar.com'],
    ['[::1]:80', '::1'],
    ['10.0.0.1:443', '10.0.0.1'],
    [undefined, ''],
  ])('%s -> %s', (h, want) => expect(hostName(h)).toBe(want));
});

describe('hostMatchesPattern (tls hosts)', () => {
  it.each([
    ['*.foo.com', 'bar.foo.com', true],
    ['*.foo.com', 'baz.bar.foo.com', false],
    ['*.foo.com', 'foo.com', false],
    ['foo.com', 'foo.com', true],
  ] as const)('%s covers %s: %s', (p, h, want) => expect(hostMatchesPattern(p, h)).toBe(want));
});

describe('the upstreaminfo log line', () => {
  it('matches ingress-nginx\'s layout field for field, "-" for empty values, ", " between attempts', () => {
    const line = formatAccessLog({
      remoteAddr: '192.168.1.5', time: new Date('2026-12-01T20:40:05Z'), method: 'GET', uri: '/api?x=1', httpVersion: '1.1', status: 200,
      bodyBytesSent: 612, userAgent: 'curl/7.88.1', requestLength: 87, requestTimeMs: 3.4, upstreamName: 'default-web-80',
      upstreams: [{ addr: '10.244.1.3:8080', status: 502 }, { addr: '10.244.2.4:8080', responseLength: 612, responseTimeMs: 2.9, status: 200 }], requestId: 'abc',
    });
    expect(line).toBe('192.168.1.5 - - [01/Dec/2026:20:40:05 +0000] "GET /api?x=1 HTTP/1.1" 200 612 "-" "curl/7.88.1" 87 0.003 [default-web-80] [] 10.244.1.3:8080, 10.244.2.4:8080 -, 612 -, 0.003 502, 200 abc');
  });
  it('escapes quotes in quoted fields as nginx does', () => {
    const line = formatAccessLog({ remoteAddr: '1.2.3.4', time: new Date(0), method: 'GET', uri: '/', httpVersion: '1.1', status: 404, bodyBytesSent: 0, userAgent: 'a"b', requestLength: 1, requestTimeMs: 0, upstreamName: 'upstream-default-backend', upstreams: [], requestId: 'x' });
    expect(line).toContain('"a\\x22b"');
    expect(timeLocal(new Date(0))).toBe('01/Jan/1970:00:00:00 +0000');
  });
});

describe('bufferedLines (kdp up\'s access log)', () => {
  it('writes the lines of one event-loop turn in one write, in order, and the next turn\'s in the next', async () => {
    const writes: string[] = [];
    const log = bufferedLines((t) => writes.push(t));
    log('a');
    log('b');
    expect(writes).toEqual([]);
    await new Promise((r) => setImmediate(r));
    log('c');
    await new Promise((r) => setImmediate(r));
    expect(writes).toEqual(['a\nb\n', 'c\n']);
  });

  it('with a flush time, gathers the lines of many turns into one write, and writes what it has when told', async () => {
    const writes: string[] = [];
    const log = bufferedLines((t) => writes.push(t), 30);
    log('a');
    await new Promise((r) => setImmediate(r));
    log('b');
    expect(writes).toEqual([]);
    await new Promise((r) => setTimeout(r, 60));
    expect(writes).toEqual(['a\nb\n']);
    log('c');
    log.flush();
    expect(writes).toEqual(['a\nb\n', 'c\n']);
    // Nothing more is written later for what flush() wrote.
    await new Promise((r) => setTimeout(r, 60));
    expect(writes).toEqual(['a\nb\n', 'c\n']);
  });
});

describe('forwarded headers', () => {
  it('replaces X-Forwarded-*, keeps the originals, drops Proxy and underscored headers', () => {
    const h: Record<string, string | string[] | undefined> = { host: 'a.example', 'x-forwarded-for': '1.1.1.1', 'x-forwarded-host': 'orig.example', proxy: 'x', my_header: 'y', connection: 'close' };
    setForwardedHeaders(h, { clientIP: '10.0.0.9', scheme: 'https', serverPort: 443, requestId: 'rid', requestURI: '/p?q', upgrade: false });
    expect(h).toEqual({
      host: 'a.example', 'x-forwarded-for': '10.0.0.9', 'x-original-forwarded-for': '1.1.1.1', 'x-forwarded-host': 'a.example', 'x-original-forwarded-host': 'orig.example',
      'x-request-id': 'rid', 'x-real-ip': '10.0.0.9', 'x-forwarded-port': '443', 'x-forwarded-proto': 'https', 'x-forwarded-scheme': 'https', 'x-scheme': 'https', 'x-original-uri': '/p?q',
    });
  });
  it('keeps Connection: upgrade for WebSockets', () => {
    const h: Record<string, string | string[] | undefined> = { host: 'a', connection: 'Upgrade', upgrade: 'websocket' };
    setForwardedHeaders(h, { clientIP: '10.0.0.9', scheme: 'http', serverPort: 80, requestId: 'r', requestURI: '/', upgrade: true });
    expect([h.connection, h.upgrade]).toEqual(['upgrade', 'websocket']);
  });
});

describe('normalizeRequestPath', () => {
  it.each([
    ['/a//b', '/a/b'],
    ['/a/./b/', '/a/b/'],
    ['/a/b/..', '/a/'],
    ['/a%2Fb', '/a/b'],
    ['/%zz', undefined],
    ['relative', undefined],
  ])('%s -> %s', (p, want) => expect(normalizeRequestPath(p)).toBe(want));
});
