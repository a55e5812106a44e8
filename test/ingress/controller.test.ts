// The controller on real sockets: real backend listeners on port 0, real clients (node:http, ws, curl).
import { execFile } from 'node:child_process';
import { connect } from 'node:tls';
import { promisify } from 'node:util';
import { generate } from 'selfsigned';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import WebSocket from 'ws';
import type { Cluster } from '../../src/cluster/cluster.ts';
import { IngressController } from '../../src/ingress/controller.ts';
import { StoreDialer } from '../../src/ingress/dialer.ts';
import { fakeCertificate, FAKE_CERT_CN, type KeyPair } from '../../src/ingress/tls.ts';
import { cluster } from '../helpers/cluster.ts';
import { get, startBackends, type Backends } from './backends.ts';
import { CONTROLLER_TOPOLOGY } from './topology.ts';

const run = promisify(execFile);

let c: Cluster;
let backends: Backends;
let ctl: IngressController;
let http: number;
let https: number;
const logs: string[] = [];
const notes: string[] = [];
let secure: KeyPair;

beforeAll(async () => {
  c = cluster(CONTROLLER_TOPOLOGY);
  backends = await startBackends(c.store, { silent: ['refusing-1', 'flaky-1'], delayMs: { 'slow-1': 1500 } });
  const pems = await generate([{ name: 'commonName', value: 'secure.example' }], { keySize: 2048, extensions: [{ name: 'subjectAltName', altNames: [{ type: 2, value: 'secure.example' }] }] });
  secure = { cert: pems.cert, key: pems.private };
  c.store.create({
    apiVersion: 'v1', kind: 'Secret', metadata: { name: 'secure-tls', namespace: 'default' }, type: 'kubernetes.io/tls',
    data: { 'tls.crt': Buffer.from(secure.cert).toString('base64'), 'tls.key': Buffer.from(secure.key).toString('base64') },
  });
  ctl = new IngressController({
    store: c.store, dialer: new StoreDialer(c.store, backends.registry), httpPort: 0, httpsPort: 0,
    defaultCertificate: await fakeCertificate(), accessLog: (l) => logs.push(l), log: (l) => notes.push(l),
  });
  await ctl.start();
  http = ctl.httpPort!;
  https = ctl.httpsPort!;
}, 30_000);

afterAll(async () => {
  await ctl?.stop();
  await backends?.close();
});

describe('routing and load balancing', () => {
  it('routes by host and path to the Service endpoints, round robin over both pods', async () => {
    const pods = new Set<string>();
    for (let i = 0; i < 4; i++) pods.add((await get(http, 'web.example', '/x')).json!.pod);
    expect([...pods].sort()).toEqual(['web-1', 'web-2']);
    const api = await get(http, 'web.example', '/api/v1?q=1');
    expect(api.json).toMatchObject({ pod: 'api-1', url: '/api/v1?q=1', method: 'GET' });
  });

  it('answers 404 from the default backend for unknown hosts, with nginx\'s page', async () => {
    const r = await get(http, 'nobody.example', '/');
    expect(r.status).toBe(404);
    expect(r.body).toContain('<center><h1>404 Not Found</h1></center>');
  });

  it('503 for a Service without ready endpoints and for a missing Service', async () => {
    expect((await get(http, 'web.example', '/empty')).status).toBe(503);
    expect((await get(http, 'web.example', '/missing')).status).toBe(503);
  });

  it('502 when the endpoint refuses the connection', async () => {
    expect((await get(http, 'web.example', '/refusing')).status).toBe(502);
  });

  it('a refused endpoint is skipped for the next one (proxy_next_upstream), and the log shows both attempts', async () => {
    logs.length = 0;
    for (let i = 0; i < 4; i++) {
      const r = await get(http, 'web.example', '/flaky');
      expect(r.status).toBe(200);
      expect(r.json!.pod).toBe('flaky-2');
    }
    expect(logs.some((l) => /\[default-flaky-80\] \[\] [\d.]+:8080, [\d.]+:8080 0, \d+ 0\.000, \d+\.\d{3} 502, 200 /.test(l))).toBe(true);
  });

  it('504 when the backend answers after proxy-read-timeout', async () => {
    const r = await get(http, 'slow.example', '/');
    expect(r.status).toBe(504);
  });

  it('rewrite-target sends the capture group upstream', async () => {
    const r = await get(http, 'rewrite.example', '/something/new?x=1');
    expect(r.json).toMatchObject({ pod: 'api-1', url: '/new?x=1' });
    expect(r.json!.headers['x-original-uri']).toBe('/something/new?x=1');
  });

  it('whitelist-source-range answers 403 to clients outside it', async () => {
    expect((await get(http, 'private.example', '/')).status).toBe(403);
  });

  it('canary-by-header sends "always" to the canary Service, everything else to the primary', async () => {
    expect((await get(http, 'shop.example', '/', { 'x-canary': 'always' })).json!.pod).toBe('canary-1');
    expect((await get(http, 'shop.example', '/', { 'x-canary': 'never' })).json!.pod).toMatch(/^web-/);
    expect((await get(http, 'shop.example', '/')).json!.pod).toMatch(/^web-/);
  });

  it('follows the store live: a new Ingress routes at once, a deleted one stops', async () => {
    c.store.create({ apiVersion: 'networking.k8s.io/v1', kind: 'Ingress', metadata: { name: 'live', namespace: 'default' }, spec: { rules: [{ host: 'live.example', http: { paths: [{ path: '/', pathType: 'Prefix', backend: { service: { name: 'api', port: { number: 80 } } } }] } }] } });
    expect((await get(http, 'live.example', '/')).json!.pod).toBe('api-1');
    c.store.delete('Ingress', 'default', 'live');
    expect((await get(http, 'live.example', '/')).status).toBe(404);
  });
});

describe('Ingress status', () => {
  it('claimed Ingresses show the address the controller listens on; others are left alone', () => {
    type Ing = import('../../src/cluster/objects.ts').Ingress & import('../../src/cluster/objects.ts').KubeObject;
    expect(c.store.get<Ing>('Ingress', 'default', 'web')!.status?.loadBalancer?.ingress).toEqual([{ ip: '127.0.0.1' }]);
    expect(c.store.get<Ing>('Ingress', 'default', 'shop-canary')!.status?.loadBalancer?.ingress).toEqual([{ ip: '127.0.0.1' }]);
    expect(c.store.get<Ing>('Ingress', 'default', 'foreign')!.status?.loadBalancer?.ingress).toBeUndefined();
  });

  it('an Ingress of another class is not served', async () => {
    expect((await get(http, 'foreign.example', '/')).status).toBe(404);
  });
});

describe('headers as ingress-nginx sets them', () => {
  it('sets X-Forwarded-*, X-Real-IP and X-Request-ID, keeps Host, replaces a client X-Forwarded-For', async () => {
    const r = await get(http, 'web.example:8000', '/h', { 'x-forwarded-for': '203.0.113.9', 'x-forwarded-proto': 'https', proxy: 'evil', under_score: 'x' });
    const h = r.json!.headers;
    expect(h.host).toBe('web.example:8000');
    expect(h['x-real-ip']).toBe('127.0.0.1');
    expect(h['x-forwarded-for']).toBe('127.0.0.1');
    expect(h['x-original-forwarded-for']).toBe('203.0.113.9');
    expect(h['x-forwarded-host']).toBe('web.example:8000');
    expect(h['x-forwarded-port']).toBe(String(http));
    expect(h['x-forwarded-proto']).toBe('http');
    expect(h['x-forwarded-scheme']).toBe('http');
    expect(h['x-scheme']).toBe('http');
    expect(h['x-request-id']).toMatch(/^[0-9a-f]{32}$/);
    expect(h.proxy).toBeUndefined();
    expect(h.under_score).toBeUndefined();
  });

  it('passes a client X-Request-ID through', async () => {
    const r = await get(http, 'web.example', '/', { 'x-request-id': 'abc123' });
    expect(r.json!.headers['x-request-id']).toBe('abc123');
  });
});

describe('access log (upstreaminfo)', () => {
  it('one line per request naming the upstream and the pod IP:port that served it', async () => {
    logs.length = 0;
    const r = await get(http, 'web.example', '/api/log', { 'user-agent': 'kdp-test', 'x-request-id': 'rid-1' });
    const podIP = c.store.get<{ status: { podIP: string } } & import('../../src/cluster/objects.ts').KubeObject>('Pod', 'default', 'api-1')!.status.podIP;
    expect(r.status).toBe(200);
    expect(logs).toHaveLength(1);
    expect(logs[0]).toMatch(new RegExp(String.raw`^127\.0\.0\.1 - - \[\d\d/\w{3}/\d{4}:\d\d:\d\d:\d\d \+0000\] "GET /api/log HTTP/1\.1" 200 \d+ "-" "kdp-test" \d+ \d+\.\d{3} \[default-api-http\] \[\] ${podIP.replace(/\./g, '\\.')}:8080 \d+ \d+\.\d{3} 200 rid-1$`));
  });

  it('the 404 default backend and a failed upstream are logged too', async () => {
    logs.length = 0;
    await get(http, 'nobody.example', '/none');
    await get(http, 'web.example', '/refusing');
    expect(logs[0]).toMatch(/" 404 1\d\d .* \[upstream-default-backend\] \[\] - - - - [0-9a-f]{32}$/);
    // proxy_next_upstream: tried once per endpoint (one pod here), 502 each time.
    expect(logs[1]).toMatch(/" 502 \d+ .* \[default-refusing-80\] \[\] [\d.]+:8080 0 0\.000 502 /);
  });
});

describe('TLS', () => {
  const peerCN = (servername: string) =>
    new Promise<string>((resolve, reject) => {
      const s = connect({ host: '127.0.0.1', port: https, servername, rejectUnauthorized: false }, () => {
        const cn = s.getPeerCertificate().subject.CN;
        s.end();
        resolve(String(Array.isArray(cn) ? cn[0] : cn));
      });
      s.on('error', reject);
    });

  it('serves the Secret of the tls entry by SNI, the fake certificate otherwise', async () => {
    expect(await peerCN('secure.example')).toBe('secure.example');
    expect(await peerCN('web.example')).toBe(FAKE_CERT_CN);
  });

  it('redirects plain HTTP to HTTPS with 308 for a host with TLS (ssl-redirect), and for force-ssl-redirect', async () => {
    const r = await get(http, 'secure.example', '/path/?a=b');
    expect(r.status).toBe(308);
    expect(r.headers.location).toBe(`https://secure.example:${https}/path/?a=b`);
    expect((await get(http, 'secure.example', '/')).headers.location).toBe(`https://secure.example:${https}`);
    expect((await get(http, 'forced.example', '/x')).headers.location).toBe(`https://forced.example:${https}/x`);
    expect((await get(http, 'web.example', '/')).status).toBe(200);
  });
});

describe('real clients', () => {
  it('curl: host and path routing with -H Host', async () => {
    const { stdout } = await run('curl', ['-s', '-H', 'Host: web.example', `http://127.0.0.1:${http}/api/curl`]);
    expect(JSON.parse(stdout)).toMatchObject({ pod: 'api-1', url: '/api/curl' });
    const { stdout: code } = await run('curl', ['-s', '-o', '/dev/null', '-w', '%{http_code}', '-H', 'Host: nobody.example', `http://127.0.0.1:${http}/`]);
    expect(code).toBe('404');
  });

  it('curl: TLS by SNI with --resolve and -k, HSTS on the answer', async () => {
    const { stdout, stderr } = await run('curl', ['-sv', '-k', '--resolve', `secure.example:${https}:127.0.0.1`, `https://secure.example:${https}/tls`]);
    expect(JSON.parse(stdout)).toMatchObject({ url: '/tls' });
    expect(JSON.parse(stdout).headers['x-forwarded-proto']).toBe('https');
    expect(stderr).toMatch(/subject: CN=secure\.example/);
    expect(stderr).toMatch(/strict-transport-security: max-age=31536000; includeSubDomains/i);
  });

  it('curl: --cacert verifies the Secret\'s certificate for its host', async () => {
    const fs = await import('node:fs/promises');
    const os = await import('node:os');
    const file = `${os.tmpdir()}/kdp-ingress-ca-${process.pid}.pem`;
    await fs.writeFile(file, secure.cert);
    try {
      const { stdout } = await run('curl', ['-s', '--cacert', file, '--resolve', `secure.example:${https}:127.0.0.1`, `https://secure.example:${https}/verified`]);
      expect(JSON.parse(stdout)).toMatchObject({ url: '/verified' });
    } finally {
      await fs.rm(file, { force: true });
    }
  });

  it('curl: a WebSocket upgrade is switched through to the backend', async () => {
    const { stdout } = await run('curl', ['-s', '-i', '--max-time', '2', '--http1.1', '-H', 'Host: web.example', '-H', 'Connection: Upgrade', '-H', 'Upgrade: websocket', '-H', 'Sec-WebSocket-Version: 13', '-H', 'Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==', `http://127.0.0.1:${http}/ws`]).catch((e: { stdout: string }) => e);
    expect(stdout).toMatch(/^HTTP\/1\.1 101 Switching Protocols/);
    expect(stdout).toMatch(/sec-websocket-accept: s3pPLMBiTxaQ9kYGzzhZRbK\+xOo=/i);
  });

  it('ws: text and binary frames relayed end to end', async () => {
    const ws = new WebSocket(`ws://127.0.0.1:${http}/chat`, { headers: { host: 'web.example' } });
    await new Promise((resolve, reject) => (ws.once('open', resolve), ws.once('error', reject)));
    const next = () => new Promise<{ data: WebSocket.RawData; binary: boolean }>((resolve) => ws.once('message', (data, binary) => resolve({ data, binary })));
    let m = next();
    ws.send('hello');
    expect((await m).data.toString()).toMatch(/^web-\d: hello$/);
    m = next();
    ws.send(Buffer.from([1, 2, 3]));
    const bin = await m;
    expect(bin.binary).toBe(true);
    expect([...(bin.data as Buffer)]).toEqual([1, 2, 3]);
    ws.close();
  });

  it('ws: an upgrade for an unknown host gets the 404', async () => {
    const ws = new WebSocket(`ws://127.0.0.1:${http}/chat`, { headers: { host: 'nobody.example' } });
    const status = await new Promise<number>((resolve) => ws.once('unexpected-response', (_req, res) => resolve(res.statusCode ?? 0)));
    expect(status).toBe(404);
  });
});

describe('more clients', () => {
  it('wss: a WebSocket over TLS by SNI', async () => {
    const ws = new WebSocket(`wss://127.0.0.1:${https}/chat`, { rejectUnauthorized: false, servername: 'secure.example', headers: { host: 'secure.example' } } as WebSocket.ClientOptions);
    ws.once('upgrade', (res) => expect(res.socket && (res.socket as import('node:tls').TLSSocket).getPeerCertificate().subject.CN).toBe('secure.example'));
    await new Promise((resolve, reject) => (ws.once('open', resolve), ws.once('error', reject)));
    const m = new Promise<string>((resolve) => ws.once('message', (d) => resolve(d.toString())));
    ws.send('over tls');
    expect(await m).toMatch(/^web-\d: over tls$/);
    ws.close();
  });

  it('a request body is streamed to the backend', async () => {
    const { request } = await import('node:http');
    const body = JSON.stringify({ big: 'x'.repeat(100_000) });
    const reply = await new Promise<string>((resolve, reject) => {
      const req = request({ host: '127.0.0.1', port: http, path: '/api/upload', method: 'POST', headers: { host: 'web.example', 'content-type': 'application/json', 'content-length': Buffer.byteLength(body) } }, (res) => {
        let s = '';
        res.on('data', (c) => (s += c));
        res.on('end', () => resolve(s));
      });
      req.on('error', reject);
      req.end(body);
    });
    expect(JSON.parse(reply)).toMatchObject({ pod: 'api-1', method: 'POST', headers: { 'content-length': String(Buffer.byteLength(body)) } });
  });

  it('a malformed request gets 400 and the controller keeps serving', async () => {
    const { connect: tcp } = await import('node:net');
    const answer = await new Promise<string>((resolve) => {
      const s = tcp(http, '127.0.0.1', () => s.write('GARBAGE \x00\x01 nonsense\r\n\r\n'));
      let out = '';
      s.on('data', (d) => (out += d));
      s.on('close', () => resolve(out));
      s.on('error', () => resolve(out));
    });
    expect(answer).toMatch(/^HTTP\/1\.1 400 Bad Request/);
    expect((await get(http, 'web.example', '/')).status).toBe(200);
  });
});

describe('redirect and limit annotations (annotations.md)', () => {
  const add = (name: string, host: string, annotations: Record<string, string>) =>
    c.store.create({
      apiVersion: 'networking.k8s.io/v1', kind: 'Ingress', metadata: { name, namespace: 'default', annotations: Object.fromEntries(Object.entries(annotations).map(([k, v]) => [`nginx.ingress.kubernetes.io/${k}`, v])) },
      spec: { rules: [{ host, http: { paths: [{ path: '/', pathType: 'Prefix', backend: { service: { name: 'api', port: { number: 80 } } } }] } }] },
    });

  it('permanent-redirect answers 301 to the fixed URL, -code changes the status, temporal-redirect 302', async () => {
    add('perm', 'perm.example', { 'permanent-redirect': 'https://www.example.org/new' });
    add('perm-code', 'perm-code.example', { 'permanent-redirect': 'https://www.example.org/', 'permanent-redirect-code': '308' });
    add('temp', 'temp.example', { 'temporal-redirect': 'https://tmp.example.org/' });
    const p = await get(http, 'perm.example', '/any/path?q=1');
    expect([p.status, p.headers.location]).toEqual([301, 'https://www.example.org/new']);
    expect((await get(http, 'perm-code.example', '/')).status).toBe(308);
    const t = await get(http, 'temp.example', '/x');
    expect([t.status, t.headers.location]).toEqual([302, 'https://tmp.example.org/']);
  });

  it('app-root sends / (only /) to the app with 302', async () => {
    add('approot', 'approot.example', { 'app-root': '/app1' });
    const r = await get(http, 'approot.example', '/');
    expect([r.status, r.headers.location]).toEqual([302, 'http://approot.example/app1']);
    expect((await get(http, 'approot.example', '/app1')).json!.url).toBe('/app1');
  });

  it('proxy-body-size: 413 past the limit (1m by default)', async () => {
    add('small', 'small.example', { 'proxy-body-size': '1k' });
    const post = (host: string, size: number) =>
      new Promise<number>((resolve, reject) => {
        import('node:http').then(({ request }) => {
          const req = request({ host: '127.0.0.1', port: http, path: '/', method: 'POST', agent: false, headers: { host, 'content-length': size } }, (res) => {
            res.resume();
            resolve(res.statusCode ?? 0);
          });
          req.on('error', reject);
          req.end(Buffer.alloc(size));
        }, reject);
      });
    expect(await post('small.example', 1024)).toBe(200);
    expect(await post('small.example', 1025)).toBe(413);
    expect(await post('web.example', 2 << 20)).toBe(413);
  });

  it('x-forwarded-prefix is sent upstream; denylist-source-range answers 403', async () => {
    add('prefixed', 'prefixed.example', { 'x-forwarded-prefix': '/shop' });
    expect((await get(http, 'prefixed.example', '/')).json!.headers['x-forwarded-prefix']).toBe('/shop');
    add('denied', 'denied.example', { 'denylist-source-range': '127.0.0.0/8' });
    expect((await get(http, 'denied.example', '/')).status).toBe(403);
  });

  it('upstream-vhost sets the Host the backend sees; X-Forwarded-Host keeps the client\'s', async () => {
    add('vhost', 'vhost.example', { 'upstream-vhost': 'internal.svc' });
    const h = (await get(http, 'vhost.example', '/')).json!.headers;
    expect([h.host, h['x-forwarded-host']]).toEqual(['internal.svc', 'vhost.example']);
  });
});

describe('connection handling', () => {
  it('the upstream\'s hop-by-hop headers are not passed on; the client\'s keep-alive choice is honoured', async () => {
    const kept = await get(http, 'web.example', '/');
    expect(kept.headers['keep-alive']).toBeUndefined();
    const closed = await get(http, 'web.example', '/', { connection: 'close' });
    expect(closed.headers.connection).toBe('close');
    // Upstream the connection stays keep-alive whatever the client asked (proxy_set_header Connection "").
    expect(closed.json!.headers.connection).toBe('keep-alive');
  });
});

describe('a client that goes away', () => {
  it('is logged with nginx\'s 499', async () => {
    logs.length = 0;
    const { request } = await import('node:http');
    await new Promise<void>((resolve) => {
      const req = request({ host: '127.0.0.1', port: http, path: '/gone', headers: { host: 'slow.example' }, agent: false });
      req.on('error', () => resolve());
      req.end();
      setTimeout(() => req.destroy(), 200);
    });
    await new Promise((r) => setTimeout(r, 200));
    expect(logs.some((l) => /"GET \/gone HTTP\/1\.1" 499 /.test(l))).toBe(true);
  });
});

describe('TLS Secrets change live', () => {
  const cn = (servername: string) =>
    new Promise<string>((resolve, reject) => {
      const s = connect({ host: '127.0.0.1', port: https, servername, rejectUnauthorized: false }, () => {
        const v = s.getPeerCertificate().subject.CN;
        s.end();
        resolve(String(Array.isArray(v) ? v[0] : v));
      });
      s.on('error', reject);
    });

  it('a Secret created after the Ingress is used at once; one that does not cover the host is not', async () => {
    const pems = await generate([{ name: 'commonName', value: 'late.example' }], { keySize: 2048, extensions: [{ name: 'subjectAltName', altNames: [{ type: 2, value: 'late.example' }] }] });
    c.store.create({
      apiVersion: 'networking.k8s.io/v1', kind: 'Ingress', metadata: { name: 'late', namespace: 'default' },
      spec: { tls: [{ hosts: ['late.example', 'wrong.example'], secretName: 'late-tls' }], rules: [{ host: 'late.example', http: { paths: [{ path: '/', pathType: 'Prefix', backend: { service: { name: 'web', port: { number: 80 } } } }] } }] },
    });
    expect(await cn('late.example')).toBe(FAKE_CERT_CN);
    c.store.create({ apiVersion: 'v1', kind: 'Secret', metadata: { name: 'late-tls', namespace: 'default' }, type: 'kubernetes.io/tls', stringData: { 'tls.crt': pems.cert, 'tls.key': pems.private } });
    expect(await cn('late.example')).toBe('late.example');
    // The certificate names late.example only: ingress-nginx falls back to its default one for other names.
    expect(await cn('wrong.example')).toBe(FAKE_CERT_CN);
  });

  it('an unusable Secret falls back to the default certificate and says why', async () => {
    c.store.create({
      apiVersion: 'networking.k8s.io/v1', kind: 'Ingress', metadata: { name: 'broken-tls', namespace: 'default' },
      spec: { tls: [{ hosts: ['broken.example'], secretName: 'broken-tls' }], rules: [{ host: 'broken.example', http: { paths: [{ path: '/', pathType: 'Prefix', backend: { service: { name: 'web', port: { number: 80 } } } }] } }] },
    });
    c.store.create({ apiVersion: 'v1', kind: 'Secret', metadata: { name: 'broken-tls', namespace: 'default' }, type: 'kubernetes.io/tls', stringData: { 'tls.crt': 'not a certificate', 'tls.key': 'nor a key' } });
    expect(await cn('broken.example')).toBe(FAKE_CERT_CN);
    expect(notes.some((n) => /^Secret default\/broken-tls: does not hold a usable certificate and key: .*; using the default certificate$/.test(n))).toBe(true);
  });
});
