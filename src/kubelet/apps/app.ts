// What a container's app sees of one HTTP request and what it answers: plain data, so each image's behaviour
// is a pure function that tests can call without sockets. The listener (../listeners.ts) moves the bytes.

/** The pod an app runs in, as the app itself could learn it (hostname, interfaces) or kdp reports it. */
export interface PodIdentity {
  pod: string;
  namespace: string;
  node: string;
  podIP: string;
  /** What os.Hostname() returns in the container: spec.hostname, else the pod's name. */
  hostname: string;
  /** The container's interface addresses in interface order (lo, then eth0), as net.Interfaces() lists them. */
  addresses: string[];
}

export interface AppRequest {
  method: string;
  /** The request target as sent: path and query. */
  url: string;
  /** "1.1", "1.0" */
  httpVersion: string;
  /** Header lines in the order received, names as sent. */
  headers: [string, string][];
  body: Buffer;
  /** The peer the pod sees: the emulated client after the data plane's NAT. */
  remote: { ip: string; port: number };
  /** The container port the connection came in on. */
  port: number;
  /** When the request arrived (apps that print the time use it). */
  now: Date;
}

export interface AppResponse {
  status: number;
  /** Header lines in the order the real server writes them. */
  headers: [string, string][];
  body: string | Buffer;
  /**
   * The container's process ends: after this answer ("after"), or at once without one ("now": the connection is
   * dropped as the kernel drops it when a process dies mid-request).
   */
  exit?: { code: number; when: 'after' | 'now' };
  /** The app itself waits this long before answering (whoami's ?wait=, netexec's /exit?wait=). */
  waitMs?: number;
}

export interface App {
  /** The app's name, as the kdp.dev/app annotation spells it. */
  readonly name: string;
  /** Most answers are immediate; one that calls out (netexec's /dial) is a promise. */
  handle(req: AppRequest): AppResponse | Promise<AppResponse>;
  /** The raw answer to bytes that are not HTTP, before the connection closes (the server's, not the app's). */
  badRequest?(now: Date): string;
  /** Whether a WebSocket upgrade request becomes an echo of every message (whoami's /echo). */
  websocketEcho?(req: AppRequest): boolean;
}

/** Opens a TCP connection from inside the pod to host:port (a name or an address), through the data plane. */
export type PodDialer = (host: string, port: number) => import('node:net').Socket;

/** The first value of a header, case-insensitively. */
export function header(req: AppRequest, name: string): string | undefined {
  const n = name.toLowerCase();
  return req.headers.find(([k]) => k.toLowerCase() === n)?.[1];
}

/** The request target split into path and query parameters (Go's url.Values semantics: first value wins on Get). */
export function splitTarget(url: string): { path: string; rawQuery: string; query: URLSearchParams } {
  const q = url.indexOf('?');
  const path = q < 0 ? url : url.slice(0, q);
  const rawQuery = q < 0 ? '' : url.slice(q + 1);
  return { path, rawQuery, query: new URLSearchParams(rawQuery) };
}

/** `host:port`, with IPv6 hosts in brackets (net.JoinHostPort). */
export function joinHostPort(ip: string, port: number): string {
  return ip.includes(':') ? `[${ip}]:${port}` : `${ip}:${port}`;
}
