// registry.k8s.io/e2e-test-images/agnhost: the Kubernetes e2e tests' Swiss-army image. Two of its subcommands
// serve HTTP: netexec (test/images/agnhost/netexec/netexec.go) and serve-hostname. Their handlers as the Go
// source writes them, behind Go's ServeMux (exact patterns, "/" catching the rest, unclean paths redirected).
import http from 'node:http';
import { joinHostPort, splitTarget, header, type App, type AppRequest, type AppResponse, type PodDialer, type PodIdentity } from './app.ts';
import { goResponse, goTimeString, parseGoDuration, GO_BAD_REQUEST } from './gohttp.ts';

export interface NetexecOptions {
  /** --udp-port: -1 disables the UDP server, and /healthz then answers 412 (nothing sets serverReady). */
  udpPort: number;
  /** --http-override: every request is answered as a GET of this path. */
  httpOverride?: string;
  /** Connections /dial opens, from the pod, through the data plane. */
  dial?: PodDialer;
}

/** http.Client's Timeout in netexec's createHTTPClient. */
const DIAL_TIMEOUT_MS = 5000;

/** http.Error: the message and a newline, as plain text that must not be sniffed. */
function httpError(req: AppRequest, status: number, message: string): AppResponse {
  return goResponse({ status, headers: [['Content-Type', 'text/plain; charset=utf-8'], ['X-Content-Type-Options', 'nosniff']], body: `${message}\n`, now: req.now });
}

/** One GET of http://ip:port/request as Go's http.Client makes it (redirects followed up to 10); the body or Go's error text. */
function dialHTTP(dial: PodDialer, host: string, port: number, request: string): Promise<{ body: string } | { error: string }> {
  const first = `http://${joinHostPort(host, port)}/${request}`;
  return new Promise((resolve) => {
    let hops = 0;
    const timer = setTimeout(() => finish({ error: `Get "${first}": context deadline exceeded (Client.Timeout exceeded while awaiting headers)` }), DIAL_TIMEOUT_MS);
    let current: http.ClientRequest | undefined;
    let settled = false;
    const finish = (r: { body: string } | { error: string }) => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      current?.destroy();
      resolve(r);
    };
    const get = (url: string) => {
      const u = new URL(url);
      const h = u.hostname.replace(/^\[|\]$/g, '');
      const p = Number(u.port || 80);
      current = http.request({ host: h, port: p, path: u.pathname + u.search, headers: { 'User-Agent': 'Go-http-client/1.1', 'Accept-Encoding': 'gzip' }, createConnection: () => dial(h, p) }, (res) => {
        const loc = res.headers.location;
        if ([301, 302, 303, 307, 308].includes(res.statusCode!) && loc) {
          res.resume();
          if (++hops >= 10) return finish({ error: `Get "${loc}": stopped after 10 redirects` });
          return get(new URL(loc, url).toString());
        }
        let body = '';
        res.setEncoding('utf8');
        res.on('data', (c: string) => (body += c));
        res.on('end', () => finish({ body }));
        res.on('error', () => finish({ error: `Get "${url}": unexpected EOF` }));
      });
      current.on('error', (e: NodeJS.ErrnoException) => {
        const addr = joinHostPort(h, p);
        if (e.code === 'ECONNREFUSED') finish({ error: `Get "${url}": dial tcp ${addr}: connect: connection refused` });
        else if (e.code === 'ECONNRESET') finish({ error: `Get "${url}": read tcp ${addr}: read: connection reset by peer` });
        else if (e.code === 'ENOTFOUND') finish({ error: `Get "${url}": dial tcp: lookup ${h}: no such host` });
        else finish({ error: `Get "${url}": EOF` });
      });
      current.end();
    };
    get(first);
  });
}

const STATUS_TEXT: Record<number, string> = { 301: 'Moved Permanently', 302: 'Found', 303: 'See Other', 307: 'Temporary Redirect', 308: 'Permanent Redirect' };

/** path.Clean as ServeMux applies it (a trailing slash is kept). */
export function cleanPath(p: string): string {
  if (p === '') return '/';
  const abs = p.startsWith('/') ? p : `/${p}`;
  const out: string[] = [];
  for (const seg of abs.split('/')) {
    if (seg === '' || seg === '.') continue;
    if (seg === '..') out.pop();
    else out.push(seg);
  }
  let c = `/${out.join('/')}`;
  if (abs.endsWith('/') && c !== '/') c += '/';
  return c;
}

const htmlEscape = (s: string) => s.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;').replace(/"/g, '&#34;').replace(/'/g, '&#39;');

/** http.Redirect: a Location (relative targets resolved against the request's directory) and, for GET/HEAD, a short HTML body. */
function redirect(req: AppRequest, path: string, location: string, code: number): AppResponse {
  let loc = location;
  if (!/^[a-zA-Z][a-zA-Z0-9+.-]*:/.test(loc) && !loc.startsWith('/')) {
    const dir = path.slice(0, path.lastIndexOf('/') + 1);
    loc = cleanPath(dir + loc) + (loc.endsWith('/') ? '/' : '');
  }
  const headers: [string, string][] = [['Location', loc]];
  let body = '';
  if (req.method === 'GET' || req.method === 'HEAD') {
    headers.push(['Content-Type', 'text/html; charset=utf-8']);
    body = `<a href="${htmlEscape(loc)}">${STATUS_TEXT[code] ?? ''}</a>.\n\n`;
  }
  return goResponse({ status: code, headers, body, now: req.now });
}

/** r.FormValue: the urlencoded body's value first (POST, PUT, PATCH), then the query's. */
function formValue(req: AppRequest, query: URLSearchParams, name: string): string {
  if (['POST', 'PUT', 'PATCH'].includes(req.method) && (header(req, 'content-type') ?? '').startsWith('application/x-www-form-urlencoded')) {
    const v = new URLSearchParams(req.body.toString('utf8')).get(name);
    if (v !== null) return v;
  }
  return query.get(name) ?? '';
}

const goQuote = (s: string) => JSON.stringify(s);

export class Netexec implements App {
  badRequest(): string {
    return GO_BAD_REQUEST;
  }

  readonly name = 'agnhost';
  /** The process's start on the monotonic clock (Go prints m=+seconds since then). */
  private readonly started = performance.now();

  constructor(private readonly id: PodIdentity, private readonly opts: NetexecOptions) {}

  handle(req: AppRequest): AppResponse | Promise<AppResponse> {
    const target = this.opts.httpOverride ? { ...req, method: 'GET', url: this.opts.httpOverride, body: Buffer.alloc(0) } : req;
    const { path, rawQuery, query } = splitTarget(target.url);
    const clean = cleanPath(path);
    if (clean !== path && req.method !== 'CONNECT') return redirect(req, path, clean + (rawQuery ? `?${rawQuery}` : ''), 301);
    const text = (body: string, status?: number) => goResponse({ status, body, now: req.now });
    switch (path) {
      case '/clientip':
        return text(joinHostPort(req.remote.ip, req.remote.port));
      case '/echo': {
        const msg = formValue(target, query, 'msg');
        const code = formValue(target, query, 'code');
        if (code === '') return text(msg);
        if (!/^[+-]?\d+$/.test(code)) return text(`argument 'code' must be an integer or empty, got ${goQuote(code)}\n`);
        return text(msg, Number(code));
      }
      case '/exit':
        return this.exit(target, query);
      case '/healthz':
        return goResponse({ status: this.opts.udpPort === -1 ? 412 : 200, now: req.now });
      case '/hostname':
      case '/hostName':
        return text(this.id.hostname);
      case '/redirect': {
        const code = formValue(target, query, 'code');
        if (code !== '' && !/^[+-]?\d+$/.test(code)) return text(`argument 'code' must be an integer or empty, got ${goQuote(code)}\n`);
        return redirect(req, path, formValue(target, query, 'location'), code === '' ? 302 : Number(code));
      }
      case '/shutdown':
        return { status: 0, headers: [], body: '', exit: { code: 0, when: 'now' } };
      case '/dial':
        return this.dial(target, query);
      case '/shell':
      case '/upload':
        // These run commands or write files inside the container; kdp does not emulate them.
        return goResponse({ status: 417, body: `{"error":"kdp does not emulate agnhost netexec ${path}"}`, now: req.now });
      default:
        return text(`NOW: ${goTimeString(req.now, performance.now() - this.started)}`);
    }
  }

  /**
   * /dial?host=&port=&request=&protocol=&tries=: requests made from this pod, and the answers or errors as
   * JSON ({"errors": [...], "responses": [...]}; "responses" only when the last try answered).
   */
  private async dial(req: AppRequest, query: URLSearchParams): Promise<AppResponse> {
    const host = query.get('host') ?? '';
    const portS = query.get('port') ?? '';
    const request = query.get('request') ?? '';
    const protocol = (query.get('protocol') ?? '').toLowerCase();
    const triesS = query.get('tries') ?? '';
    let tries = 1;
    if (triesS !== '') {
      if (!/^[+-]?\d+$/.test(triesS)) return httpError(req, 400, `tries parameter is invalid. strconv.Atoi: parsing ${goQuote(triesS)}: invalid syntax`);
      tries = Number(triesS);
    }
    if (request === '') return httpError(req, 400, 'request parameter not specified. <nil>');
    if (!['', 'http', 'udp', 'sctp'].includes(protocol)) return httpError(req, 400, `unsupported protocol. ${query.get('protocol')}`);
    const port = portS === '' ? 0 : Number(portS);
    if (!/^\d*$/.test(portS) || port > 65535) return httpError(req, 400, `host and/or port param are invalid. address ${joinHostPort(host, port)}: invalid port`);
    const errors: string[] = [];
    const responses: string[] = [];
    let last = '';
    for (let i = 0; i < tries; i++) {
      if (protocol === 'udp' || protocol === 'sctp') {
        errors.push(`kdp does not emulate agnhost netexec ${protocol} dialing`);
        last = '';
        continue;
      }
      const r = this.opts.dial ? await dialHTTP(this.opts.dial, host, port, request) : { error: `dial tcp ${joinHostPort(host, port)}: kdp has no network for this pod` };
      if ('body' in r) responses.push((last = r.body));
      else {
        errors.push(r.error);
        last = '';
      }
    }
    // encoding/json writes a map's keys sorted.
    const out: Record<string, string[]> = {};
    if (errors.length) out.errors = errors;
    if (last.length) out.responses = responses;
    return goResponse({ body: JSON.stringify(out).replace(/</g, '\\u003c').replace(/>/g, '\\u003e').replace(/&/g, '\\u0026'), now: req.now });
  }

  /** /exit?code=&timeout=&wait=: with no timeout the process exits mid-request; with one, it answers first. */
  private exit(req: AppRequest, query: URLSearchParams): AppResponse {
    const text = (body: string) => goResponse({ body, now: req.now });
    const waitS = formValue(req, query, 'wait');
    const timeoutS = formValue(req, query, 'timeout');
    const codeS = formValue(req, query, 'code');
    const timeout = timeoutS === '' ? 0 : parseGoDuration(timeoutS);
    if (timeout === undefined) return text(`argument 'timeout' must be a valid golang duration or empty, got ${goQuote(timeoutS)}\n`);
    const wait = waitS === '' ? 0 : parseGoDuration(waitS);
    if (wait === undefined) return text(`argument 'wait' must be a valid golang duration or empty, got ${goQuote(waitS)}\n`);
    if (codeS !== '' && !/^[+-]?\d+$/.test(codeS)) return text(`argument 'code' must be an integer [0-127] or empty, got ${goQuote(codeS)}\n`);
    const code = codeS === '' ? 0 : Number(codeS);
    const waitMs = Math.max(0, wait);
    if (timeout === 0) return { status: 0, headers: [], body: '', waitMs, exit: { code, when: 'now' } };
    return { ...goResponse({ now: req.now }), waitMs, exit: { code, when: 'after' } };
  }
}

/** agnhost serve-hostname: the hostname, for any path. */
export class ServeHostname implements App {
  badRequest(): string {
    return GO_BAD_REQUEST;
  }

  readonly name = 'agnhost';
  constructor(private readonly id: PodIdentity) {}
  handle(req: AppRequest): AppResponse {
    return goResponse({ body: this.id.hostname, now: req.now });
  }
}
