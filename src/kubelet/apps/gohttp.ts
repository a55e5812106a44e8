// How a Go net/http server frames an answer, for the Go images (agnhost, http-echo, whoami): the handler's own
// headers sorted by name, then Date, Content-Length and a sniffed Content-Type (chunkWriter.writeHeader), no
// Connection header on HTTP/1.1 keep-alive.
import type { AppResponse } from './app.ts';

/** http.DetectContentType for the bodies these images write: HTML or UTF-8 text. */
function sniff(body: Buffer): string {
  const head = body.subarray(0, 512).toString('latin1').replace(/^[\t\n\f\r ]+/, '').toLowerCase();
  return /^<(!doctype html|html|head|script|iframe|h1|div|font|table|a|style|title|b|body|br|p|!--)[ >]/.test(head) ? 'text/html; charset=utf-8' : 'text/plain; charset=utf-8';
}

/** Go buffers this much of a body before it gives up on Content-Length and chunks (bufferBeforeChunkingSize). */
const BUFFER_BEFORE_CHUNKING = 2048;

export interface GoAnswer {
  status?: number;
  /** Headers the handler set, in any order (Go writes them sorted). */
  headers?: [string, string][];
  body?: string | Buffer;
  now: Date;
}

/** Go's canonical MIME header key: "x-app-name" -> "X-App-Name". */
export function canonicalHeaderKey(k: string): string {
  if (!/^[A-Za-z0-9!#$%&'*+\-.^_`|~]+$/.test(k)) return k;
  return k.toLowerCase().replace(/(^|-)([a-z])/g, (_, d: string, c: string) => d + c.toUpperCase());
}

export function goResponse(a: GoAnswer): AppResponse {
  const status = a.status ?? 200;
  const body = typeof a.body === 'string' ? Buffer.from(a.body) : a.body ?? Buffer.alloc(0);
  const headers = [...(a.headers ?? [])].map(([k, v]) => [canonicalHeaderKey(k), v] as [string, string]).sort((x, y) => (x[0] < y[0] ? -1 : x[0] > y[0] ? 1 : 0));
  const has = (k: string) => headers.some(([n]) => n === k);
  const bodyAllowed = !(status >= 100 && status < 200) && status !== 204 && status !== 304;
  const chunked = bodyAllowed && body.length > BUFFER_BEFORE_CHUNKING && !has('Content-Length');
  headers.push(['Date', a.now.toUTCString()]);
  if (bodyAllowed && !chunked && !has('Content-Length')) headers.push(['Content-Length', String(body.length)]);
  if (bodyAllowed && body.length && !has('Content-Type')) headers.push(['Content-Type', sniff(body)]);
  if (chunked) headers.push(['Transfer-Encoding', 'chunked']);
  return { status, headers, body: bodyAllowed ? body : Buffer.alloc(0) };
}

/** time.Duration parsing (time.ParseDuration): "1.5s", "300ms", "2h45m"; undefined when invalid. */
export function parseGoDuration(s: string): number | undefined {
  if (s === '0') return 0;
  const units: Record<string, number> = { ns: 1e-6, us: 1e-3, 'µs': 1e-3, 'μs': 1e-3, ms: 1, s: 1000, m: 60_000, h: 3_600_000 };
  const m = /^([+-]?)((?:\d+(?:\.\d*)?|\.\d+)(?:ns|us|µs|μs|ms|s|m|h))+$/.exec(s);
  if (!m) return undefined;
  let total = 0;
  for (const part of s.replace(/^[+-]/, '').matchAll(/(\d+(?:\.\d*)?|\.\d+)(ns|us|µs|μs|ms|s|m|h)/g)) total += Number(part[1]) * units[part[2]];
  return m[1] === '-' ? -total : total;
}

/** Go's `%v` of time.Now(): "2026-12-01 20:40:00.123456789 +0000 UTC m=+12.345678901". */
export function goTimeString(now: Date, sinceStartMs: number): string {
  const iso = now.toISOString();
  const frac = iso.slice(20, 23).replace(/0+$/, '');
  return `${iso.slice(0, 10)} ${iso.slice(11, 19)}${frac ? `.${frac}` : ''} +0000 UTC m=+${(sinceStartMs / 1000).toFixed(9)}`;
}

/** What net/http's conn.serve writes for a request it cannot parse, then it closes the connection. */
export const GO_BAD_REQUEST = 'HTTP/1.1 400 Bad Request\r\nContent-Type: text/plain; charset=utf-8\r\nConnection: close\r\n\r\n400 Bad Request';
