// traefik/whoami (app.go): "/" prints Name, Hostname, every interface address, RemoteAddr, then the request as
// Go's Request.Write puts it on the wire (CRLF lines); /api the same as JSON; /health, /bench, /data; /echo a
// WebSocket echo.
import { joinHostPort, splitTarget, header, type App, type AppRequest, type AppResponse, type PodIdentity } from './app.ts';
import { canonicalHeaderKey, goResponse, parseGoDuration, GO_BAD_REQUEST } from './gohttp.ts';

/** Headers Request.Write writes itself (reqWriteExcludeHeader) rather than from the header map. */
const EXCLUDED = new Set(['Host', 'User-Agent', 'Content-Length', 'Transfer-Encoding', 'Trailer']);

/** The request's header map as Go's server builds it: canonical keys, values in arrival order, Host taken out. */
function headerMap(req: AppRequest): Map<string, string[]> {
  const m = new Map<string, string[]>();
  for (const [k, v] of req.headers) {
    const key = canonicalHeaderKey(k);
    if (key === 'Host') continue;
    m.set(key, [...(m.get(key) ?? []), v]);
  }
  return m;
}

/** Request.Write of a server-side request: request line, Host, User-Agent, framing, sorted headers, body. */
export function requestWire(req: AppRequest): string {
  const lines = [`${req.method} ${req.url} HTTP/1.1`, `Host: ${header(req, 'host') ?? ''}`];
  const m = headerMap(req);
  // Request.Write sends Go's own User-Agent when the request had none.
  lines.push(`User-Agent: ${m.get('User-Agent')?.[0] ?? 'Go-http-client/1.1'}`);
  const chunked = /chunked/i.test(header(req, 'transfer-encoding') ?? '');
  if (chunked) lines.push('Transfer-Encoding: chunked');
  else if (req.body.length > 0 || ['POST', 'PUT', 'PATCH'].includes(req.method)) lines.push(`Content-Length: ${req.body.length}`);
  for (const key of [...m.keys()].sort()) {
    if (EXCLUDED.has(key)) continue;
    for (const v of m.get(key)!) lines.push(`${key}: ${v}`);
  }
  let out = `${lines.join('\r\n')}\r\n\r\n`;
  if (chunked) out += req.body.length ? `${req.body.length.toString(16)}\r\n${req.body.toString('latin1')}\r\n0\r\n\r\n` : '0\r\n\r\n';
  else out += req.body.toString('latin1');
  return out;
}

export class Whoami implements App {
  badRequest(): string {
    return GO_BAD_REQUEST;
  }

  readonly name = 'whoami';
  private healthStatus = 200;

  /** name: --name / WHOAMI_NAME. */
  constructor(private readonly id: PodIdentity, private readonly whoamiName = '') {}

  /** /echo upgrades to a WebSocket that sends every message back with its type (gorilla/websocket). */
  websocketEcho(req: AppRequest): boolean {
    return splitTarget(req.url).path === '/echo';
  }

  handle(req: AppRequest): AppResponse {
    const { path, query } = splitTarget(req.url);
    switch (path) {
      case '/api': return this.api(req, query);
      case '/health': return this.health(req);
      case '/bench': return goResponse({ headers: [['Connection', 'keep-alive'], ['Content-Type', 'text/plain']], body: '1', now: req.now });
      case '/data': return this.data(req, query);
      default: return this.whoami(req, query);
    }
  }

  private whoami(req: AppRequest, query: URLSearchParams): AppResponse {
    const wait = query.get('wait');
    const waitMs = wait ? parseGoDuration(wait) : undefined;
    let out = '';
    if (this.whoamiName) out += `Name: ${this.whoamiName}\n`;
    out += `Hostname: ${this.id.hostname}\n`;
    for (const ip of this.id.addresses) out += `IP: ${ip}\n`;
    out += `RemoteAddr: ${joinHostPort(req.remote.ip, req.remote.port)}\n`;
    out += requestWire(req);
    return { ...goResponse({ body: Buffer.from(out, 'latin1'), now: req.now }), ...(waitMs && waitMs > 0 ? { waitMs } : {}) };
  }

  private api(req: AppRequest, _query: URLSearchParams): AppResponse {
    const headers: Record<string, string[]> = {};
    for (const [k, v] of headerMap(req)) headers[k] = v;
    // encoding/json writes map keys sorted and struct fields in declaration order, omitting empty ones.
    const sorted = Object.fromEntries(Object.entries(headers).sort(([a], [b]) => (a < b ? -1 : 1)));
    const data: Record<string, unknown> = { hostname: this.id.hostname, ip: this.id.addresses, headers: sorted, url: req.url, host: header(req, 'host') ?? '', method: req.method };
    if (this.whoamiName) data.name = this.whoamiName;
    data.remoteAddr = joinHostPort(req.remote.ip, req.remote.port);
    return goResponse({ headers: [['Content-Type', 'application/json']], body: `${JSON.stringify(data).replace(/</g, '\\u003c').replace(/>/g, '\\u003e').replace(/&/g, '\\u0026')}\n`, now: req.now });
  }

  /** GET answers the current status (200 until a POST sets another); POST takes a JSON number. */
  private health(req: AppRequest): AppResponse {
    if (req.method === 'POST') {
      const text = req.body.toString('utf8').trim();
      if (!/^-?\d+$/.test(text)) return goResponse({ status: 400, headers: [['Content-Type', 'text/plain; charset=utf-8'], ['X-Content-Type-Options', 'nosniff']], body: `invalid character in status code ${JSON.stringify(text)}\n`, now: req.now });
      this.healthStatus = Number(text);
      return goResponse({ now: req.now });
    }
    return goResponse({ status: this.healthStatus, now: req.now });
  }

  /** ?size=N&unit=kb|mb|gb|tb: contentReader's bytes, '|' at both ends of "-ABC...Z" repeated. */
  private data(req: AppRequest, query: URLSearchParams): AppResponse {
    const parsed = /^[+-]?\d+$/.test(query.get('size') ?? '') ? Number(query.get('size')) : 1;
    const unit = ({ kb: 1024, mb: 1024 ** 2, gb: 1024 ** 3, tb: 1024 ** 4 } as Record<string, number>)[(query.get('unit') ?? '').toLowerCase()] ?? 1;
    // An answer this emulator holds in memory: capped at 64 MiB.
    const size = Math.min(Math.max(0, parsed) * unit, 64 * 1024 * 1024);
    return goResponse({ body: contentBytes(size), now: req.now });
  }
}

const CONTENT_CHARSET = '-ABCDEFGHIJKLMNOPQRSTUVWXYZ';

/** What whoami's contentReader yields for a size: that many bytes, none for 0 or 1 (it stops at size-1). */
export function contentBytes(size: number): Buffer {
  const n = size >= 2 ? size : 0;
  const b = Buffer.alloc(n);
  for (let i = 0; i < n; i++) b[i] = CONTENT_CHARSET.charCodeAt(i % CONTENT_CHARSET.length);
  if (n > 0) {
    b[0] = 0x7c;
    b[n - 1] = 0x7c;
  }
  return b;
}
