// registry.k8s.io/e2e-test-images/agnhost: the Kubernetes e2e tests' Swiss-army image. Two of its subcommands
// serve HTTP: netexec (test/images/agnhost/netexec/netexec.go) and serve-hostname. Their handlers as the Go
// source writes them, behind Go's ServeMux (exact patterns, "/" catching the rest, unclean paths redirected).
import { joinHostPort, splitTarget, header, type App, type AppRequest, type AppResponse, type PodIdentity } from './app.ts';
import { goResponse, goTimeString, parseGoDuration } from './gohttp.ts';

export interface NetexecOptions {
  /** --udp-port: -1 disables the UDP server, and /healthz then answers 412 (nothing sets serverReady). */
  udpPort: number;
  /** --http-override: every request is answered as a GET of this path. */
  httpOverride?: string;
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
  readonly name = 'agnhost';
  /** The process's start on the monotonic clock (Go prints m=+seconds since then). */
  private readonly started = performance.now();

  constructor(private readonly id: PodIdentity, private readonly opts: NetexecOptions) {}

  handle(req: AppRequest): AppResponse {
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
      case '/shell':
      case '/upload':
        // These run commands or open connections from inside the pod; kdp does not emulate them (yet).
        return goResponse({ status: 417, body: `{"error":"kdp does not emulate agnhost netexec ${path}"}`, now: req.now });
      default:
        return text(`NOW: ${goTimeString(req.now, performance.now() - this.started)}`);
    }
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
  readonly name = 'agnhost';
  constructor(private readonly id: PodIdentity) {}
  handle(req: AppRequest): AppResponse {
    return goResponse({ body: this.id.hostname, now: req.now });
  }
}
