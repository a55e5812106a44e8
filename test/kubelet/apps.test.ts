// Each image's answers, as its source writes them (agnhost netexec.go, http-echo main.go/handlers.go,
// traefik/whoami app.go/content.go, nginx's default.conf and ngx_http_special_response.c).
import { describe, expect, it } from 'vitest';
import type { AppRequest, AppResponse, PodIdentity } from '../../src/kubelet/apps/app.ts';
import { Echo } from '../../src/kubelet/apps/echo.ts';
import { Netexec, ServeHostname, cleanPath } from '../../src/kubelet/apps/agnhost.ts';
import { HttpEcho } from '../../src/kubelet/apps/httpecho.ts';
import { Whoami, contentBytes, requestWire } from '../../src/kubelet/apps/whoami.ts';
import { Nginx, nginxVersion } from '../../src/kubelet/apps/nginx.ts';
import { goTimeString, parseGoDuration } from '../../src/kubelet/apps/gohttp.ts';

const NOW = new Date('2026-12-01T20:00:00.5Z');
const DATE = 'Tue, 01 Dec 2026 20:00:00 GMT';
const id: PodIdentity = { pod: 'web-0', namespace: 'default', node: 'node2', podIP: '10.244.1.5', hostname: 'web-0', addresses: ['127.0.0.1', '10.244.1.5', 'fe80::1'] };

function req(url: string, o: Partial<AppRequest> = {}): AppRequest {
  return {
    method: 'GET', url, httpVersion: '1.1', body: Buffer.alloc(0), remote: { ip: '10.244.0.1', port: 40000 }, port: 8080, now: NOW,
    headers: [['Host', '10.244.1.5:8080'], ['User-Agent', 'curl/8.5.0'], ['Accept', '*/*']], ...o,
  };
}
const text = (b: string | Buffer) => b.toString();

/** Netexec's answers other than /dial are immediate. */
const now = (r: AppResponse | Promise<AppResponse>): AppResponse => {
  if (r instanceof Promise) throw new Error('expected an immediate answer');
  return r;
};

describe('agnhost netexec', () => {
  const netexec = new Netexec(id, { udpPort: 8081 });
  const app = { handle: (r: AppRequest) => now(netexec.handle(r)) };

  it('/hostname and /hostName answer the pod hostname with Go headers', () => {
    for (const path of ['/hostname', '/hostName']) {
      const r = app.handle(req(path));
      expect(r.status).toBe(200);
      expect(text(r.body)).toBe('web-0');
      expect(r.headers).toEqual([['Date', DATE], ['Content-Length', '5'], ['Content-Type', 'text/plain; charset=utf-8']]);
    }
  });

  it('/clientip is r.RemoteAddr: the emulated client host:port', () => {
    expect(text(app.handle(req('/clientip')).body)).toBe('10.244.0.1:40000');
    expect(text(app.handle(req('/clientip', { remote: { ip: 'fd00::1', port: 5 } })).body)).toBe('[fd00::1]:5');
  });

  it('/echo?msg= echoes, with an optional status code, and rejects a bad code with 200', () => {
    expect(text(app.handle(req('/echo?msg=hello%20world')).body)).toBe('hello world');
    const coded = app.handle(req('/echo?msg=gone&code=503'));
    expect([coded.status, text(coded.body)]).toEqual([503, 'gone']);
    const bad = app.handle(req('/echo?msg=x&code=abc'));
    expect([bad.status, text(bad.body)]).toEqual([200, `argument 'code' must be an integer or empty, got "abc"\n`]);
    const form = app.handle(req('/echo?msg=q', { method: 'POST', body: Buffer.from('msg=body'), headers: [['Content-Type', 'application/x-www-form-urlencoded']] }));
    expect(text(form.body)).toBe('body');
  });

  it('/healthz is 200 with an empty body, and 412 when --udp-port=-1 leaves serverReady unset', () => {
    const ok = app.handle(req('/healthz'));
    expect([ok.status, text(ok.body)]).toEqual([200, '']);
    expect(ok.headers).toEqual([['Date', DATE], ['Content-Length', '0']]);
    expect(now(new Netexec(id, { udpPort: -1 }).handle(req('/healthz'))).status).toBe(412);
  });

  it('/ and unknown paths print the time as Go formats time.Now()', () => {
    expect(text(app.handle(req('/')).body)).toMatch(/^NOW: 2026-12-01 20:00:00\.5 \+0000 UTC m=\+\d+\.\d{9}$/);
    expect(text(app.handle(req('/nothing/here')).body)).toMatch(/^NOW: /);
  });

  it('/exit: no timeout drops the connection; with a timeout it answers then exits; bad arguments are 200 messages', () => {
    expect(app.handle(req('/exit?code=3')).exit).toEqual({ code: 3, when: 'now' });
    const graceful = app.handle(req('/exit?code=0&timeout=5s&wait=100ms'));
    expect([graceful.status, graceful.exit, graceful.waitMs]).toEqual([200, { code: 0, when: 'after' }, 100]);
    expect(text(app.handle(req('/exit?timeout=soon')).body)).toBe(`argument 'timeout' must be a valid golang duration or empty, got "soon"\n`);
    expect(text(app.handle(req('/exit?code=x')).body)).toBe(`argument 'code' must be an integer [0-127] or empty, got "x"\n`);
    expect(app.handle(req('/shutdown')).exit).toEqual({ code: 0, when: 'now' });
  });

  it('/redirect as http.Redirect writes it; ServeMux redirects unclean paths with 301', () => {
    const r = app.handle(req('/redirect?location=/echo%3Fmsg=foobar&code=307'));
    expect(r.status).toBe(307);
    expect(r.headers.slice(0, 2)).toEqual([['Content-Type', 'text/html; charset=utf-8'], ['Location', '/echo?msg=foobar']]);
    expect(text(r.body)).toBe('<a href="/echo?msg=foobar">Temporary Redirect</a>.\n\n');
    expect(app.handle(req('/redirect?location=/x')).status).toBe(302);
    const unclean = app.handle(req('//hostname?x=1'));
    expect(unclean.status).toBe(301);
    expect(unclean.headers.find(([k]) => k === 'Location')?.[1]).toBe('/hostname?x=1');
    expect(cleanPath('/a/./b/../c/')).toBe('/a/c/');
  });

  it('--http-override answers every request as a GET of that path', () => {
    const o = new Netexec(id, { udpPort: 8081, httpOverride: '/hostname' });
    expect(text(now(o.handle(req('/anything'))).body)).toBe('web-0');
  });

  it('serve-hostname answers the hostname on every path', () => {
    expect(text(new ServeHostname(id).handle(req('/x')).body)).toBe('web-0');
  });
});

describe('hashicorp/http-echo', () => {
  it('answers -text and a newline with X-App-Name/X-App-Version, at -status-code', () => {
    const r = new HttpEcho('hello world', 202).handle(req('/any/path'));
    expect(r.status).toBe(202);
    expect(text(r.body)).toBe('hello world\n');
    expect(r.headers).toEqual([['X-App-Name', 'http-echo'], ['X-App-Version', '1.0.0'], ['Date', DATE], ['Content-Length', '12'], ['Content-Type', 'text/plain; charset=utf-8']]);
  });
  it('/health is {"status":"ok"} with 200 whatever -status-code says', () => {
    const r = new HttpEcho('x', 500).handle(req('/health'));
    expect([r.status, text(r.body)]).toEqual([200, '{"status":"ok"}\n']);
  });
});

describe('traefik/whoami', () => {
  const app = new Whoami(id);

  it('prints hostname, interface addresses, RemoteAddr, then the request as Request.Write does', () => {
    const r = app.handle(req('/foo?bar=1', { headers: [['Host', 'whoami.example'], ['User-Agent', 'curl/8.5.0'], ['Accept', '*/*'], ['x-forwarded-for', '1.2.3.4'], ['X-Forwarded-For', '5.6.7.8']] }));
    expect(text(r.body)).toBe([
      'Hostname: web-0\n', 'IP: 127.0.0.1\n', 'IP: 10.244.1.5\n', 'IP: fe80::1\n', 'RemoteAddr: 10.244.0.1:40000\n',
      'GET /foo?bar=1 HTTP/1.1\r\n', 'Host: whoami.example\r\n', 'User-Agent: curl/8.5.0\r\n', 'Accept: */*\r\n',
      'X-Forwarded-For: 1.2.3.4\r\n', 'X-Forwarded-For: 5.6.7.8\r\n', '\r\n',
    ].join(''));
    expect(r.headers.map(([k]) => k)).toEqual(['Date', 'Content-Length', 'Content-Type']);
  });

  it('names itself with --name, writes Go\'s User-Agent when none came, and Content-Length for a POST', () => {
    const r = new Whoami(id, 'blue').handle(req('/', { method: 'POST', body: Buffer.from('abc'), headers: [['Host', 'h']] }));
    expect(text(r.body)).toMatch(/^Name: blue\nHostname: web-0\n/);
    expect(text(r.body)).toContain('POST / HTTP/1.1\r\nHost: h\r\nUser-Agent: Go-http-client/1.1\r\nContent-Length: 3\r\n\r\nabc');
    expect(requestWire(req('/', { headers: [['Host', 'h'], ['Transfer-Encoding', 'chunked']], method: 'POST', body: Buffer.from('hi') }))).toBe(
      'POST / HTTP/1.1\r\nHost: h\r\nUser-Agent: Go-http-client/1.1\r\nTransfer-Encoding: chunked\r\n\r\n2\r\nhi\r\n0\r\n\r\n');
  });

  it('/api is the same as JSON; /health follows POSTed codes; /bench is "1"', () => {
    const api = JSON.parse(text(app.handle(req('/api')).body));
    expect(api).toEqual({ hostname: 'web-0', ip: id.addresses, headers: { Accept: ['*/*'], 'User-Agent': ['curl/8.5.0'] }, url: '/api', host: '10.244.1.5:8080', method: 'GET', remoteAddr: '10.244.0.1:40000' });
    const h = new Whoami(id);
    expect(h.handle(req('/health')).status).toBe(200);
    h.handle(req('/health', { method: 'POST', body: Buffer.from('503') }));
    expect(h.handle(req('/health')).status).toBe(503);
    expect(text(app.handle(req('/bench')).body)).toBe('1');
  });

  it('/data?size= yields contentReader\'s bytes; ?wait= delays the answer', () => {
    expect(contentBytes(1).length).toBe(0);
    expect(contentBytes(10).toString()).toBe('|ABCDEFGH|');
    expect(app.handle(req('/data?size=10')).body.toString()).toBe('|ABCDEFGH|');
    expect(app.handle(req('/data?size=2&unit=KB')).body.length).toBe(2048);
    expect(app.handle(req('/?wait=250ms')).waitMs).toBe(250);
  });
});

describe('nginx', () => {
  const app = new Nginx('1.27.3');

  it('serves the welcome page at / and /index.html with nginx\'s headers', () => {
    for (const path of ['/', '/index.html', '/?q=1', '//index.html']) {
      const r = app.handle(req(path));
      expect(r.status).toBe(200);
      expect(text(r.body)).toContain('<title>Welcome to nginx!</title>');
      expect(r.headers.map(([k]) => k)).toEqual(['Server', 'Date', 'Content-Type', 'Content-Length', 'Last-Modified', 'Connection', 'ETag', 'Accept-Ranges']);
      expect(r.headers[0]).toEqual(['Server', 'nginx/1.27.3']);
      expect(r.headers[3]).toEqual(['Content-Length', '615']);
    }
  });

  it('answers other paths with its 404 page (153 bytes for nginx/1.27.3), non-GET methods with 405', () => {
    const r = app.handle(req('/missing'));
    expect(r.status).toBe(404);
    expect(text(r.body)).toBe('<html>\r\n<head><title>404 Not Found</title></head>\r\n<body>\r\n<center><h1>404 Not Found</h1></center>\r\n<hr><center>nginx/1.27.3</center>\r\n</body>\r\n</html>\r\n');
    expect(r.body.length).toBe(153);
    expect(app.handle(req('/', { method: 'POST' })).status).toBe(405);
    expect(app.handle(req('/missing', { method: 'POST' })).status).toBe(404);
    expect(app.handle(req('/', { method: 'DELETE' })).status).toBe(405);
    expect(app.handle(req('/50x.html')).body.length).toBe(497);
    expect(app.handle(req('/../etc/passwd')).status).toBe(400);
  });

  it('answers 304 to a matching If-None-Match or If-Modified-Since, 400 to HTTP/1.1 without Host', () => {
    const etag = app.handle(req('/')).headers.find(([k]) => k === 'ETag')![1];
    const lastModified = app.handle(req('/')).headers.find(([k]) => k === 'Last-Modified')![1];
    expect(app.handle(req('/', { headers: [['Host', 'h'], ['If-None-Match', etag]] })).status).toBe(304);
    expect(app.handle(req('/', { headers: [['Host', 'h'], ['If-Modified-Since', lastModified]] })).status).toBe(304);
    expect(app.handle(req('/', { headers: [['Host', 'h'], ['If-None-Match', '"other"']] })).status).toBe(200);
    expect(app.handle(req('/', { headers: [] })).status).toBe(400);
    expect(app.handle(req('/', { headers: [], httpVersion: '1.0' })).status).toBe(200);
  });

  it('takes its version from the image tag', () => {
    expect(nginxVersion('nginx:1.25.3-alpine')).toBe('1.25.3');
    expect(nginxVersion('docker.io/library/nginx')).toMatch(/^\d+\.\d+\.\d+$/);
  });
});

describe('echo (kdp\'s default)', () => {
  it('answers JSON with the pod, the request and the client the pod saw', () => {
    const r = new Echo(id).handle(req('/a/b?c=d', { method: 'PUT' }));
    expect(JSON.parse(text(r.body))).toEqual({
      pod: 'web-0', namespace: 'default', node: 'node2', podIP: '10.244.1.5', containerPort: 8080, method: 'PUT', path: '/a/b?c=d',
      host: '10.244.1.5:8080', proto: 'HTTP/1.1', headers: { host: '10.244.1.5:8080', 'user-agent': 'curl/8.5.0', accept: '*/*' }, clientIP: '10.244.0.1',
    });
  });
});

describe('Go helpers', () => {
  it('parses durations as time.ParseDuration does', () => {
    expect(parseGoDuration('1.5s')).toBe(1500);
    expect(parseGoDuration('2h45m')).toBe(9_900_000);
    expect(parseGoDuration('300ms')).toBe(300);
    expect(parseGoDuration('5')).toBeUndefined();
    expect(goTimeString(new Date('2026-12-01T20:00:00Z'), 1500)).toBe('2026-12-01 20:00:00 +0000 UTC m=+1.500000000');
  });
});
