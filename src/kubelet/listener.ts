// The real sockets behind a pod's ports. Each listening container port is a server on 127.0.0.1:0 (what
// resolve() hands out); the data plane's connections come in through one shared front door instead, which reads
// a PROXY protocol v1 line (written by connect(), never by the caller) naming the emulated client and the pod
// port, and hands the socket to that port's server. So the caller's bytes stay plain HTTP, and the app sees the
// client address the data plane's NAT left it.
import http from 'node:http';
import net from 'node:net';
import { WebSocketServer } from 'ws';
import type { App, AppRequest, AppResponse } from './apps/app.ts';
import type { Upstream } from './apps/select.ts';

export interface Peer {
  ip: string;
  port: number;
}

/** A server behind one pod port: it listens for resolve()'s callers and takes sockets from the front door. */
export interface PortServer {
  /** The real loopback port, once listening. */
  readonly realPort: number | undefined;
  listen(): Promise<number>;
  /** Serves a connection accepted elsewhere; `client` is who the pod sees at the other end. */
  serve(socket: net.Socket, client: Peer): void;
  /** Stops listening and drops every connection (the process is gone). */
  close(): Promise<void>;
}

const LOOPBACK = '127.0.0.1';

abstract class Listening {
  protected abstract readonly server: net.Server;
  realPort: number | undefined;
  private bound?: Promise<number>;

  listen(): Promise<number> {
    this.bound = new Promise((resolve, reject) => {
      this.server.once('error', reject);
      this.server.listen(0, LOOPBACK, () => {
        this.server.off('error', reject);
        this.realPort = (this.server.address() as net.AddressInfo).port;
        resolve(this.realPort);
      });
    });
    return this.bound;
  }

  /** Closes the listening socket, after its bind if that is still under way (a pod deleted as it starts). */
  protected async closeServer(beforeClose?: () => void): Promise<void> {
    await this.bound?.catch(() => undefined);
    if (!this.server.listening) return;
    await new Promise<void>((resolve) => {
      this.server.close(() => resolve());
      beforeClose?.();
    });
  }
}

/** An app's HTTP server: node:http framing, the app's own header lines, its waits and its exits. */
export class HttpPortServer extends Listening implements PortServer {
  protected readonly server: http.Server;
  private readonly clients = new WeakMap<net.Socket, Peer>();
  private readonly timers = new Set<NodeJS.Timeout>();
  private readonly sockets = new Set<net.Socket>();
  private closed = false;
  private ws?: WebSocketServer;

  /** onExit: the app's process ended (agnhost's /exit), with its exit code. */
  constructor(private readonly app: App, private readonly port: number, private readonly delayMs: number, private readonly onExit: (code: number) => void) {
    super();
    // Idle keep-alive connections stay open as long as nginx keeps them (65 s; Go's servers set no limit), so a
    // pooling proxy in front does not race a short server-side timeout.
    this.server = http.createServer({ keepAliveTimeout: 65_000 }, (req, res) => this.request(req, res));
    this.server.on('connection', (s: net.Socket) => {
      this.sockets.add(s);
      s.once('close', () => this.sockets.delete(s));
    });
    this.server.on('upgrade', (req: http.IncomingMessage, socket: net.Socket, head: Buffer) => this.upgrade(req, socket, head));
    this.server.on('clientError', (_err, socket) => {
      if (socket.writable) socket.end(app.badRequest?.(new Date()) ?? 'HTTP/1.1 400 Bad Request\r\nConnection: close\r\n\r\n');
      else socket.destroy();
    });
  }

  serve(socket: net.Socket, client: Peer): void {
    if (this.closed) {
      socket.destroy();
      return;
    }
    this.clients.set(socket, client);
    this.server.emit('connection', socket);
  }

  private appRequest(req: http.IncomingMessage, body: Buffer): AppRequest {
    const socket = req.socket;
    const headers: [string, string][] = [];
    for (let i = 0; i < req.rawHeaders.length; i += 2) headers.push([req.rawHeaders[i], req.rawHeaders[i + 1]]);
    return {
      method: req.method ?? 'GET',
      url: req.url ?? '/',
      httpVersion: req.httpVersion,
      headers,
      body,
      remote: this.clients.get(socket) ?? { ip: socket.remoteAddress ?? LOOPBACK, port: socket.remotePort ?? 0 },
      port: this.port,
      now: new Date(),
    };
  }

  /**
   * An Upgrade request: a WebSocket echo where the app has one; otherwise the app answers it as any request
   * (Go's servers ignore Upgrade), written on the raw socket, which then closes.
   */
  private upgrade(req: http.IncomingMessage, socket: net.Socket, head: Buffer): void {
    socket.on('error', () => socket.destroy());
    const request = this.appRequest(req, Buffer.alloc(0));
    if ((req.headers.upgrade ?? '').toLowerCase() === 'websocket' && this.app.websocketEcho?.(request)) {
      this.ws ??= new WebSocketServer({ noServer: true });
      this.ws.handleUpgrade(req, socket, head, (ws) => {
        ws.on('message', (data, isBinary) => ws.send(data, { binary: isBinary }));
        ws.on('error', () => ws.terminate());
      });
      return;
    }
    Promise.resolve(this.app.handle(request)).then((a) => {
      if (this.closed || socket.destroyed) return;
      const body = typeof a.body === 'string' ? Buffer.from(a.body) : a.body;
      const lines = [`HTTP/1.1 ${a.status} ${http.STATUS_CODES[a.status] ?? ''}`, ...a.headers.filter(([k]) => k.toLowerCase() !== 'connection').map(([k, v]) => `${k}: ${v}`), 'Connection: close'];
      socket.end(Buffer.concat([Buffer.from(`${lines.join('\r\n')}\r\n\r\n`), req.method === 'HEAD' ? Buffer.alloc(0) : body]));
    }, () => socket.destroy());
  }

  private request(req: http.IncomingMessage, res: http.ServerResponse): void {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('error', () => req.socket.destroy());
    req.on('end', () => {
      const request = this.appRequest(req, Buffer.concat(chunks));
      const failed = (e: unknown): AppResponse => ({ status: 500, headers: [['Content-Type', 'text/plain']], body: `kdp: the ${this.app.name} app failed: ${(e as Error).message}\n` });
      let answer: AppResponse | Promise<AppResponse>;
      try {
        answer = this.app.handle(request);
      } catch (e) {
        answer = failed(e);
      }
      if (answer instanceof Promise) answer.then((a) => this.wait(res, a), (e) => this.wait(res, failed(e)));
      else this.wait(res, answer);
    });
  }

  /** kdp.dev/delay-ms and the app's own wait, then the answer. */
  private wait(res: http.ServerResponse, answer: AppResponse): void {
    const wait = this.delayMs + (answer.waitMs ?? 0);
    if (wait <= 0) return this.answer(res, answer);
    const t = setTimeout(() => {
      this.timers.delete(t);
      this.answer(res, answer);
    }, wait);
    this.timers.add(t);
  }

  private answer(res: http.ServerResponse, a: AppResponse): void {
    if (this.closed || res.socket?.destroyed) return;
    if (a.exit?.when === 'now') {
      // The process dies with the request open: the kernel closes its sockets, the client gets no answer.
      res.socket?.destroy();
      this.onExit(a.exit.code);
      return;
    }
    res.sendDate = false;
    const headers = [...a.headers];
    const connection = headers.findIndex(([k]) => k.toLowerCase() === 'connection');
    if (!res.shouldKeepAlive) {
      if (connection >= 0) headers[connection] = [headers[connection][0], 'close'];
      else headers.push(['Connection', 'close']);
    } else if (connection < 0) {
      // Go and kdp's echo say nothing about keep-alive on HTTP/1.1; node:http would add its own header.
      res.removeHeader('Connection');
    }
    res.writeHead(a.status, headers.flat());
    res.end(a.body);
    if (a.exit?.when === 'after') res.once('finish', () => this.onExit(a.exit!.code));
  }

  close(): Promise<void> {
    this.closed = true;
    for (const t of this.timers) clearTimeout(t);
    this.timers.clear();
    for (const s of this.sockets) s.destroy();
    for (const c of this.ws?.clients ?? []) c.terminate();
    this.ws?.close();
    return this.closeServer(() => this.server.closeAllConnections());
  }
}

/** kdp.dev/upstream.<port>: a TCP relay to the user's own process, so any protocol works. */
export class RelayPortServer extends Listening implements PortServer {
  protected readonly server: net.Server;
  private readonly sockets = new Set<net.Socket>();
  private closed = false;

  constructor(readonly upstream: Upstream) {
    super();
    this.server = net.createServer((s) => this.serve(s));
  }

  /**
   * The user's process itself, where it is on loopback: callers connect to it directly, so a process that is
   * not running refuses them as a pod's port would (a relay would have accepted first).
   */
  get direct(): { host: '127.0.0.1'; port: number } | undefined {
    return this.upstream.host === '127.0.0.1' ? { host: '127.0.0.1', port: this.upstream.port } : undefined;
  }

  serve(socket: net.Socket): void {
    if (this.closed) {
      socket.destroy();
      return;
    }
    const out = net.connect(this.upstream.port, this.upstream.host);
    for (const s of [socket, out]) {
      this.sockets.add(s);
      s.once('close', () => this.sockets.delete(s));
    }
    // A refused or reset upstream resets the caller too, as a backend that is not listening would.
    out.on('error', () => (socket.destroyed ? undefined : socket.resetAndDestroy()));
    socket.on('error', () => out.destroy());
    socket.pipe(out);
    out.pipe(socket);
  }

  close(): Promise<void> {
    this.closed = true;
    for (const s of this.sockets) s.destroy();
    return this.closeServer();
  }
}

/** The longest PROXY v1 line ("PROXY TCP6 " + two full IPv6 addresses and ports + CRLF). */
const PROXY_MAX = 107;

/** Formats the PROXY protocol v1 line connect() writes first. */
export function proxyLine(client: Peer, pod: Peer): string {
  const family = pod.ip.includes(':') ? 'TCP6' : 'TCP4';
  return `PROXY ${family} ${client.ip} ${pod.ip} ${client.port} ${pod.port}\r\n`;
}

/** Parses one PROXY v1 line (without CRLF); undefined if it is not one. */
export function parseProxyLine(line: string): { client: Peer; pod: Peer } | undefined {
  const m = /^PROXY TCP[46] (\S+) (\S+) (\d+) (\d+)$/.exec(line);
  if (!m) return undefined;
  return { client: { ip: m[1], port: Number(m[3]) }, pod: { ip: m[2], port: Number(m[4]) } };
}

/** The shared door the data plane's connections come through. */
export class FrontDoor extends Listening {
  protected readonly server: net.Server;
  private readonly sockets = new Set<net.Socket>();

  constructor(private readonly route: (pod: Peer) => PortServer | undefined) {
    super();
    this.server = net.createServer((s) => this.accept(s));
  }

  private accept(socket: net.Socket): void {
    this.sockets.add(socket);
    socket.once('close', () => this.sockets.delete(socket));
    socket.on('error', () => socket.destroy());
    let buffered = Buffer.alloc(0);
    const onData = (chunk: Buffer) => {
      buffered = Buffer.concat([buffered, chunk]);
      const end = buffered.indexOf('\r\n');
      if (end < 0) {
        if (buffered.length > PROXY_MAX) socket.destroy();
        return;
      }
      socket.off('data', onData);
      socket.pause();
      const header = parseProxyLine(buffered.subarray(0, end).toString('latin1'));
      const rest = buffered.subarray(end + 2);
      const target = header && this.route(header.pod);
      if (!header || !target) {
        socket.resetAndDestroy();
        return;
      }
      this.sockets.delete(socket);
      if (rest.length) socket.unshift(rest);
      target.serve(socket, header.client);
      socket.resume();
    };
    socket.on('data', onData);
  }

  close(): Promise<void> {
    for (const s of this.sockets) s.destroy();
    return this.closeServer();
  }
}
