// The Ingress controller: watches Ingresses, IngressClasses and Secrets in the store, keeps the routing table
// current, and serves HTTP and HTTPS (SNI) on real sockets, proxying each request (and WebSocket upgrade) to
// the endpoint its Dialer picks. What it answers itself follows ingress-nginx: 404 from the default backend,
// 503 without a Service or ready endpoints, 502 when the endpoint refuses, 504 on connect/read timeouts,
// 308 to HTTPS, 403 outside whitelist-source-range. It can also be split across processes (ControllerRole):
// one keeps the table and the status, workers serve the connections it accepts (src/ingress/workers.ts).
import { randomBytes } from 'node:crypto';
import { Agent, createServer as createHttpServer, type IncomingMessage, type Server as HttpServer, type ServerResponse } from 'node:http';
import { createServer as createHttpsServer } from 'node:https';
import type { AddressInfo, Socket } from 'node:net';
import httpProxy from 'http-proxy';
import type { Ingress, IngressClass, KubeObject } from '../cluster/objects.ts';
import type { Store } from '../cluster/store.ts';
import { formatAccessLog, type AccessRecord } from './accesslog.ts';
import { allowed, parseAnnotations, type LocationConfig } from './annotations.ts';
import { cookieValue, useCanary } from './canary.ts';
import type { Dialer, DialRequest, DialResult } from './dialer.ts';
import { setForwardedHeaders } from './headers.ts';
import { errorPage, rawResponse } from './pages.ts';
import { normalizeRequestPath } from './paths.ts';
import { upstreamURI } from './rewrite.ts';
import { compile, hostName, matchLocation, serverFor, upstreamName, type Backend, type Location, type RoutingTable, type Server } from './routes.ts';
import { CertificateStore, fakeCertificate, type KeyPair } from './tls.ts';

/** What the controller reads from the store: the routing table and the certificates follow these. */
export const CONTROLLER_KINDS = ['Ingress', 'IngressClass', 'Secret'];

/**
 * 'all': routing, status and listeners in this process. 'control': the routing table, the Ingresses' status and
 * the controller's notes, no sockets (worker processes serve: src/ingress/workers.ts). 'serve': a worker, fed the
 * connections another process accepted (accept()); it writes no status and no notes.
 */
export type ControllerRole = 'all' | 'control' | 'serve';

export interface IngressControllerOptions {
  store: Store;
  /** How requests reach their backends; a 'control' controller, which serves none, needs none. */
  dialer?: Dialer;
  /** 'all' unless told otherwise. */
  role?: ControllerRole;
  /**
   * Listen for HTTP here (0: any free port); undefined: no HTTP listener. A 'serve' controller listens nowhere:
   * its ports are where its connections were accepted.
   */
  httpPort?: number;
  httpsPort?: number;
  /** 127.0.0.1 unless told otherwise. */
  address?: string;
  /** Receives one upstreaminfo line per request; default: none. */
  accessLog?: (line: string) => void;
  /** Receives what the controller would log: conflicts, ignored annotations, unusable Secrets. */
  log?: (line: string) => void;
  /** The default certificate; generated (self-signed) when absent. */
  defaultCertificate?: KeyPair;
  random?: () => number;
  now?: () => Date;
}

/** proxy_next_upstream_tries: the first attempt and two more. */
const TRIES = 3;
const DEFAULTS: LocationConfig = parseAnnotations({ metadata: {} } as Ingress);
const DEFAULT_BACKEND_UPSTREAM = 'upstream-default-backend';
const SERVER = 'nginx';

const FLIGHT = Symbol('kdp.ingress.flight');

/** One proxied attempt, found by its request from http-proxy's events. */
interface Flight {
  up: AccessRecord['upstreams'][number];
  started: number;
  timedOut: boolean;
  config: LocationConfig;
  hsts: boolean;
  /** The request's exchange, when its body bytes count for the access log. */
  exchange?: Exchange;
}

interface Exchange {
  start: number;
  /** The request target as the client sent it ($request_uri). */
  uri: string;
  clientIP: string;
  scheme: 'http' | 'https';
  serverPort: number;
  requestId: string;
  upstreamName: string;
  alternative?: string;
  upstreams: AccessRecord['upstreams'];
  /** $body_bytes_sent of a proxied answer. */
  bytes: number;
}

// $request_id: 16 random bytes in hex. Drawn from a pooled buffer: one getrandom call per 256 requests.
const ID_POOL = 4096;
let idPool = randomBytes(ID_POOL);
let idOffset = 0;
function requestId(): string {
  if (idOffset === ID_POOL) {
    idPool = randomBytes(ID_POOL);
    idOffset = 0;
  }
  idOffset += 16;
  return idPool.toString('hex', idOffset - 16, idOffset);
}

/**
 * The upstream's body to the client with backpressure, as pipe() relays it but with three listeners instead of
 * its eight a request; counts the bytes ($upstream_response_length). A client that hangs up mid-body closes the
 * upstream connection too, as nginx does.
 */
function relay(from: IncomingMessage, to: ServerResponse, done: (bytes: number) => void): void {
  let bytes = 0;
  from.on('data', (c: Buffer) => {
    bytes += c.length;
    if (!to.write(c)) {
      from.pause();
      to.once('drain', () => from.resume());
    }
  });
  from.on('end', () => {
    to.end();
    done(bytes);
  });
  to.on('close', () => {
    if (!from.complete) from.destroy();
  });
}

const PROXY_OPTIONS = Symbol('kdp.ingress.proxyOptions');
type Delivered = Extract<DialResult, { ok: true }> & { [PROXY_OPTIONS]?: httpProxy.ServerOptions };

/**
 * http-proxy's options for a dial's target (and its connections, when the Dialer gives them), made once per
 * result: a Dialer that keeps its decision for a client connection hands back the same result each request.
 * Without an agent the controller's own keep-alive one stays in force.
 */
function proxyOptions(r: Delivered): httpProxy.ServerOptions {
  return (r[PROXY_OPTIONS] ??= { target: { host: r.target.host, port: r.target.port } as never, ...(r.agent ? { agent: r.agent } : {}) });
}

type Decision =
  | { answer: number; headers?: Record<string, string> }
  | { location: Location; backend: Backend; canary: boolean; uri: string };

export class IngressController {
  private table: RoutingTable;
  private certs?: CertificateStore;
  private readonly stopWatches: (() => void)[] = [];
  private readonly agent = new Agent({ keepAlive: true, maxSockets: Infinity, maxFreeSockets: 256, scheduling: 'lifo' });
  /**
   * selfHandleResponse: the 'proxyRes' hook writes the response head in one writeHead, where http-proxy's
   * web-outgoing passes would res.setHeader every header one by one.
   */
  private readonly proxy = httpProxy.createProxyServer({ agent: this.agent, xfwd: false, ws: true, selfHandleResponse: true });
  private http?: HttpServer;
  private https?: HttpServer;
  private readonly sockets = new Set<Socket>();
  /**
   * The attempt in progress, found from http-proxy's events by its request. A symbol-keyed property rather
   * than a WeakMap: thousands of short-lived WeakMap keys a second make every scavenge walk ephemerons.
   */
  private readonly flights = {
    get: (req: IncomingMessage): Flight | undefined => (req as IncomingMessage & { [FLIGHT]?: Flight })[FLIGHT],
    set: (req: IncomingMessage, f: Flight): void => {
      (req as IncomingMessage & { [FLIGHT]?: Flight })[FLIGHT] = f;
    },
  };
  private readonly random: () => number;
  private readonly now: () => Date;
  private readonly role: ControllerRole;

  constructor(private readonly opts: IngressControllerOptions) {
    this.role = opts.role ?? 'all';
    if (!opts.dialer && this.role !== 'control') throw new Error(`an Ingress controller that serves (role ${this.role}) needs a dialer`);
    this.random = opts.random ?? Math.random;
    this.now = opts.now ?? (() => new Date());
    this.table = this.compile();
    // A backend that breaks mid-response must never take the controller down.
    this.proxy.on('error', () => {});
    this.proxy.on('proxyReq', (proxyReq, req) => {
      const f = this.flights.get(req);
      if (!f) return;
      // http-proxy emits proxyReq from the request's 'socket' event, so the socket is already there; a reused
      // keep-alive socket is connected, a new one is still connecting.
      const sock = proxyReq.socket;
      if (sock?.connecting) {
        const t = setTimeout(() => {
          f.timedOut = true;
          proxyReq.destroy();
        }, f.config.connectTimeoutMs);
        sock.once('connect', () => clearTimeout(t));
        sock.once('close', () => clearTimeout(t));
      }
      proxyReq.setTimeout(f.config.readTimeoutMs, () => {
        f.timedOut = true;
        proxyReq.destroy();
      });
    });
    this.proxy.on('proxyRes', (pres, req, res) => {
      const h = pres.headers;
      // Hop-by-hop headers describe the upstream connection, not the client's: nginx never passes them on.
      if (h['keep-alive'] !== undefined) delete h['keep-alive'];
      // An HTTP/1.0 client cannot read chunks: the body is then delimited by the connection's close.
      if (req.httpVersion === '1.0' && h['transfer-encoding'] !== undefined) delete h['transfer-encoding'];
      // nginx hides the upstream's Server header and sends its own (server-tokens false: no version).
      h.server = SERVER;
      h.connection = res.shouldKeepAlive ? 'keep-alive' : 'close';
      const f = this.flights.get(req);
      if (f) {
        f.up.status = pres.statusCode;
        if (f.hsts) h['strict-transport-security'] = 'max-age=31536000; includeSubDomains';
      }
      res.writeHead(pres.statusCode!, pres.statusMessage, h);
      relay(pres, res, (length) => {
        if (!f) return;
        if (f.exchange) f.exchange.bytes += length;
        f.up.responseLength = length;
        f.up.responseTimeMs = performance.now() - f.started;
      });
    });
    // An idle upgraded connection dies after proxy-read-timeout, as nginx's does.
    this.proxy.on('proxyReqWs', (proxyReq, req, socket) => {
      const ms = this.flights.get(req)?.config.readTimeoutMs ?? DEFAULTS.readTimeoutMs;
      proxyReq.on('upgrade', (_res, proxySocket: Socket) => {
        proxySocket.setTimeout(ms, () => {
          proxySocket.destroy();
          socket.destroy();
        });
      });
    });
  }

  get routingTable(): RoutingTable {
    return this.table;
  }

  get httpPort(): number | undefined {
    return this.role === 'serve' ? this.opts.httpPort : (this.http?.address() as AddressInfo | null)?.port;
  }

  get httpsPort(): number | undefined {
    return this.role === 'serve' ? this.opts.httpsPort : (this.https?.address() as AddressInfo | null)?.port;
  }

  async start(): Promise<void> {
    const s = this.opts.store;
    for (const kind of CONTROLLER_KINDS) this.stopWatches.push(s.watch({ kind }, () => this.refresh()));
    const address = this.opts.address ?? '127.0.0.1';
    const serving = this.role !== 'control';
    if (this.opts.httpPort !== undefined && serving) {
      this.http = createHttpServer({ keepAliveTimeout: 75_000 }, (req, res) => this.onRequest(req, res, 'http'));
      this.http.on('upgrade', (req, sock, head) => this.onUpgrade(req, sock as Socket, head, 'http'));
      this.prepare(this.http);
      if (this.role === 'all') await this.listen(this.http, this.opts.httpPort, address);
    }
    if (this.opts.httpsPort !== undefined && serving) {
      const fake = this.opts.defaultCertificate ?? (await fakeCertificate());
      this.certs = new CertificateStore(s, this.table, fake, (line) => this.opts.log?.(line));
      const certs = this.certs;
      this.https = createHttpsServer(
        { ...fake, keepAliveTimeout: 75_000, SNICallback: (name, cb) => cb(null, certs.contextFor(name)) },
        (req, res) => this.onRequest(req, res, 'https'),
      );
      this.https.on('upgrade', (req, sock, head) => this.onUpgrade(req, sock as Socket, head, 'https'));
      this.prepare(this.https);
      if (this.role === 'all') await this.listen(this.https, this.opts.httpsPort, address);
    }
    if (this.role === 'serve') return;
    for (const n of this.table.notes) this.opts.log?.(n);
    this.publishStatus();
  }

  /** A 'serve' controller's connection, accepted by another process. */
  accept(socket: Socket, scheme: 'http' | 'https'): void {
    const srv = scheme === 'https' ? this.https : this.http;
    if (!srv) {
      socket.destroy();
      return;
    }
    srv.emit('connection', socket);
    // A socket handed over arrives paused (it was accepted with pauseOnConnect); TLS reads through its own wrap.
    if (scheme === 'http') socket.resume();
  }

  /**
   * status.loadBalancer.ingress of every claimed Ingress names the address the controller listens on, as
   * ingress-nginx publishes its Service's address (ingress-controller-conformance checks it is set).
   */
  private publishStatus(): void {
    const ip = this.opts.address ?? '127.0.0.1';
    const s = this.opts.store;
    for (const ref of this.table.ingresses) {
      const ing = s.get<Ingress & KubeObject>('Ingress', ref.namespace, ref.name);
      const lb = ing?.status?.loadBalancer?.ingress;
      if (!ing || (lb?.length === 1 && lb[0].ip === ip)) continue;
      s.update({ ...ing, status: { ...ing.status, loadBalancer: { ingress: [{ ip }] } } });
    }
  }

  async stop(): Promise<void> {
    for (const stop of this.stopWatches.splice(0)) stop();
    for (const sock of this.sockets) sock.destroy();
    await Promise.all([this.http, this.https].map((srv) => srv && new Promise<void>((resolve) => srv.close(() => resolve()))));
    this.agent.destroy();
  }

  /** What every accepted connection gets, wherever it was accepted. */
  private prepare(srv: HttpServer): void {
    srv.on('connection', (sock: Socket) => {
      this.sockets.add(sock);
      sock.on('close', () => this.sockets.delete(sock));
    });
    srv.on('tlsClientError', (_e, sock: Socket) => sock.destroy());
    srv.on('clientError', (_e, sock: Socket) => {
      if (sock.writable) sock.end('HTTP/1.1 400 Bad Request\r\nConnection: close\r\nContent-Length: 0\r\n\r\n');
      else sock.destroy();
    });
  }

  private listen(srv: HttpServer, port: number, address: string): Promise<void> {
    return new Promise((resolve, reject) => {
      srv.once('error', reject);
      srv.listen(port, address, () => {
        srv.off('error', reject);
        resolve();
      });
    });
  }

  private compile(): RoutingTable {
    const s = this.opts.store;
    return compile({ ingresses: s.list<Ingress & KubeObject>('Ingress'), classes: s.list<IngressClass & KubeObject>('IngressClass') });
  }

  private refresh(): void {
    const before = new Set(this.table.notes);
    this.table = this.compile();
    this.certs?.setTable(this.table);
    if (this.role === 'serve') return;
    for (const n of this.table.notes) if (!before.has(n)) this.opts.log?.(n);
    if (this.http || this.https || this.role === 'control') this.publishStatus();
  }

  /** Routing and every answer the controller gives without an upstream. */
  private decide(req: IncomingMessage, x: Exchange): Decision {
    let rawURI = req.url ?? '/';
    let host = req.headers.host;
    // An absolute-form request target names the host itself (RFC 9112 3.2.2), as nginx honours it.
    if (!rawURI.startsWith('/')) {
      try {
        const u = new URL(rawURI);
        host = u.host;
        rawURI = u.pathname + u.search;
      } catch {
        return { answer: 400 };
      }
    }
    const q = rawURI.indexOf('?');
    const path = normalizeRequestPath(q >= 0 ? rawURI.slice(0, q) : rawURI);
    if (path === undefined) return { answer: 400 };
    const name = hostName(host);
    const server: Server = serverFor(this.table, name);
    const location = matchLocation(server, path);
    const cfg = location?.config ?? DEFAULTS;
    // In nginx's order: the rewrite phase (app-root, redirects, then the Lua HTTPS redirect), then access
    // (whitelist), then the body size check, then the upstream.
    if (cfg.appRoot && path === '/') return { answer: 302, headers: { Location: `${x.scheme}://${host ?? ''}${cfg.appRoot}` } };
    if (cfg.redirect) return { answer: cfg.redirect.code, headers: { Location: cfg.redirect.url } };
    if (x.scheme === 'http' && (cfg.forceSslRedirect || (cfg.sslRedirect && server.tls && this.https))) {
      return { answer: 308, headers: { Location: this.httpsURL(name, rawURI) } };
    }
    if (!location) return { answer: 404 };
    if (!allowed(cfg, x.clientIP)) return { answer: 403 };
    // The unread body makes the connection useless for another request, so nginx (and we) close it.
    if (cfg.maxBodyBytes > 0 && Number(req.headers['content-length'] ?? 0) > cfg.maxBodyBytes) return { answer: 413, headers: { Connection: 'close' } };
    const canary = location.canary !== undefined && useCanary(location.canary, {
      header: (n) => {
        const v = req.headers[n.toLowerCase()];
        return Array.isArray(v) ? v[0] : v;
      },
      cookie: (n) => cookieValue(req.headers.cookie, n),
    }, this.random);
    return { location, backend: canary ? location.canary!.backend : location.backend, canary, uri: upstreamURI(location, rawURI, path) };
  }

  private httpsURL(name: string, uri: string): string {
    // nginx drops one trailing slash unless preserve-trailing-slash is set (lua_ingress.lua redirect_to_https).
    const u = uri.endsWith('/') ? uri.slice(0, -1) : uri;
    const port = this.httpsPort ?? 443;
    const h = name.includes(':') ? `[${name}]` : name;
    // The real controller's HTTPS port is 443; ours is whatever --https-port chose, so the redirect names it.
    return `https://${h}${port === 443 ? '' : ':' + port}${u}`;
  }

  private exchange(req: IncomingMessage, scheme: 'http' | 'https'): Exchange {
    const ip = req.socket.remoteAddress ?? '';
    const incoming = req.headers['x-request-id'];
    return {
      start: performance.now(),
      uri: req.url ?? '/',
      clientIP: ip.startsWith('::ffff:') ? ip.slice(7) : ip,
      scheme,
      serverPort: req.socket.localPort ?? 0,
      requestId: typeof incoming === 'string' && incoming ? incoming : requestId(),
      upstreamName: DEFAULT_BACKEND_UPSTREAM,
      upstreams: [],
      bytes: 0,
    };
  }

  private onRequest(req: IncomingMessage, res: ServerResponse, scheme: 'http' | 'https'): void {
    const x = this.exchange(req, scheme);
    if (this.opts.accessLog) res.on('close', () => this.logRequest(req, res, x));
    const d = this.decide(req, x);
    if ('answer' in d) {
      this.answer(res, d.answer, d.headers);
      return;
    }
    x.upstreamName = upstreamName(d.location.backend);
    if (d.canary) x.alternative = upstreamName(d.backend);
    setForwardedHeaders(req.headers, { clientIP: x.clientIP, scheme, serverPort: x.serverPort, requestId: x.requestId, requestURI: req.url ?? '/', upgrade: false });
    if (d.location.config.upstreamVhost) req.headers.host = d.location.config.upstreamVhost;
    if (d.location.config.forwardedPrefix) req.headers['x-forwarded-prefix'] = d.location.config.forwardedPrefix;
    req.url = d.uri;
    const hasBody = (req.headers['content-length'] !== undefined && req.headers['content-length'] !== '0') || req.headers['transfer-encoding'] !== undefined;
    const attempt = (tried: string[]): void => {
      this.dial({ service: d.backend, port: d.backend.port, clientIP: x.clientIP, exclude: tried, connection: req.socket }, (r: DialResult) => {
        if (!r.ok) {
          // nginx logs a refused attempt with length 0 and the time it took (here: none).
          if (r.endpoint) x.upstreams.push({ addr: r.endpoint, status: 502, responseLength: 0, responseTimeMs: 0 });
          if (r.reason === 'refused' && r.endpoint && tried.length + 1 < TRIES && !hasBody) return attempt([...tried, r.endpoint]);
          return this.answer(res, r.reason === 'timeout' ? 504 : r.reason === 'no-service' || r.reason === 'no-endpoints' ? 503 : 502);
        }
        const up: AccessRecord['upstreams'][number] = { addr: r.endpoint };
        x.upstreams.push(up);
        const flight: Flight = { up, started: performance.now(), timedOut: false, config: d.location.config, hsts: scheme === 'https', exchange: x };
        this.flights.set(req, flight);
        this.proxy.web(req, res, proxyOptions(r), (err: NodeJS.ErrnoException) => {
          up.responseTimeMs = performance.now() - flight.started;
          up.responseLength ??= 0;
          if (res.headersSent) {
            res.destroy();
            return;
          }
          up.status = flight.timedOut ? 504 : 502;
          if (err.code === 'ECONNREFUSED' && tried.length + 1 < TRIES && !hasBody) return attempt([...tried, r.endpoint]);
          this.answer(res, flight.timedOut ? 504 : 502);
        });
      }, () => this.answer(res, 502));
    };
    attempt([]);
  }

  /** The Dialer's answer, at once when it has one. One that throws is a bug elsewhere: `failed`, and serve on. */
  private dial(req: DialRequest, then: (r: DialResult) => void, failed: () => void): void {
    const fail = (e: Error) => {
      this.opts.log?.(`dialer failed: ${e.message}`);
      failed();
    };
    let r: DialResult | Promise<DialResult>;
    try {
      // Serving roles have one (the constructor checks).
      r = this.opts.dialer!.dial(req);
    } catch (e) {
      return fail(e as Error);
    }
    if ('then' in r) r.then(then, fail);
    else then(r);
  }

  private answer(res: ServerResponse, status: number, headers: Record<string, string> = {}): void {
    if (res.headersSent || res.destroyed) return;
    const body = errorPage(status);
    // Set one by one (not through writeHead) so the access log can read Content-Length back.
    res.setHeader('Server', SERVER);
    res.setHeader('Content-Type', 'text/html');
    res.setHeader('Content-Length', Buffer.byteLength(body));
    for (const [k, v] of Object.entries(headers)) res.setHeader(k, v);
    res.writeHead(status);
    res.end(body);
  }

  private logRequest(req: IncomingMessage, res: ServerResponse, x: Exchange): void {
    let requestLength = (req.method?.length ?? 0) + (req.url?.length ?? 0) + 12;
    for (let i = 0; i < req.rawHeaders.length; i += 2) requestLength += req.rawHeaders[i].length + req.rawHeaders[i + 1].length + 4;
    requestLength += Number(req.headers['content-length'] ?? 0) || 0;
    const ua = req.headers['user-agent'];
    const line = formatAccessLog({
      remoteAddr: x.clientIP,
      time: this.now(),
      method: req.method ?? 'GET',
      uri: x.uri,
      httpVersion: req.httpVersion,
      // nginx's 499: the client went away before the answer was complete.
      status: res.writableFinished ? res.statusCode : 499,
      bodyBytesSent: x.bytes || Number(res.getHeader('content-length') ?? 0) || 0,
      referer: req.headers.referer,
      userAgent: ua,
      requestLength,
      requestTimeMs: performance.now() - x.start,
      upstreamName: x.upstreamName,
      alternativeUpstreamName: x.alternative,
      upstreams: x.upstreams,
      requestId: x.requestId,
    });
    this.opts.accessLog!(line);
  }

  private onUpgrade(req: IncomingMessage, socket: Socket, head: Buffer, scheme: 'http' | 'https'): void {
    socket.on('error', () => socket.destroy());
    const x = this.exchange(req, scheme);
    const d = this.decide(req, x);
    const refuse = (status: number, headers?: Record<string, string>) => {
      if (socket.writable) socket.end(rawResponse(status, headers));
      else socket.destroy();
    };
    if ('answer' in d) return refuse(d.answer, d.headers);
    setForwardedHeaders(req.headers, { clientIP: x.clientIP, scheme, serverPort: x.serverPort, requestId: x.requestId, requestURI: req.url ?? '/', upgrade: true });
    req.url = d.uri;
    const attempt = (tried: string[]): void => {
      this.dial({ service: d.backend, port: d.backend.port, clientIP: x.clientIP, exclude: tried }, (r) => {
        if (!r.ok) {
          if (r.reason === 'refused' && r.endpoint && tried.length + 1 < TRIES) return attempt([...tried, r.endpoint]);
          return refuse(r.reason === 'timeout' ? 504 : r.reason === 'no-service' || r.reason === 'no-endpoints' ? 503 : 502);
        }
        this.flights.set(req, { up: { addr: r.endpoint }, started: performance.now(), timedOut: false, config: d.location.config, hsts: false });
        this.proxy.ws(req, socket, head, proxyOptions(r), (err: NodeJS.ErrnoException) => {
          if (err.code === 'ECONNREFUSED' && tried.length + 1 < TRIES) return attempt([...tried, r.endpoint]);
          refuse(502);
        });
      }, () => refuse(502));
    };
    attempt([]);
  }
}
