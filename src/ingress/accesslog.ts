// One access-log line per request in ingress-nginx's `upstreaminfo` log_format (configmap log-format-upstream):
// $remote_addr - $remote_user [$time_local] "$request" $status $body_bytes_sent "$http_referer"
// "$http_user_agent" $request_length $request_time [$proxy_upstream_name] [$proxy_alternative_upstream_name]
// $upstream_addr $upstream_response_length $upstream_response_time $upstream_status $req_id
// nginx prints "-" for an empty variable; several upstream attempts are joined with ", ".

export interface AccessRecord {
  remoteAddr: string;
  time: Date;
  method: string;
  uri: string;
  httpVersion: string;
  status: number;
  bodyBytesSent: number;
  referer?: string;
  userAgent?: string;
  requestLength: number;
  requestTimeMs: number;
  upstreamName: string;
  alternativeUpstreamName?: string;
  upstreams: { addr: string; responseLength?: number; responseTimeMs?: number; status?: number }[];
  requestId: string;
}

const MONTHS = ['Jan', 'Feb', 'Mar', 'Apr', 'May', 'Jun', 'Jul', 'Aug', 'Sep', 'Oct', 'Nov', 'Dec'];
const pad = (n: number) => (n < 10 ? '0' + n : String(n));

// The last second formatted: a busy controller logs thousands of lines in each.
let formattedSecond = NaN;
let formatted = '';

/** nginx's $time_local in UTC: 01/Dec/2026:20:40:00 +0000. */
export function timeLocal(d: Date): string {
  const second = Math.floor(d.getTime() / 1000);
  if (second !== formattedSecond) {
    formattedSecond = second;
    formatted = `${pad(d.getUTCDate())}/${MONTHS[d.getUTCMonth()]}/${d.getUTCFullYear()}:${pad(d.getUTCHours())}:${pad(d.getUTCMinutes())}:${pad(d.getUTCSeconds())} +0000`;
  }
  return formatted;
}

const seconds = (ms: number) => (ms / 1000).toFixed(3);
const quoted = (s: string | undefined) => `"${s ? s.replace(/["\\]/g, (c) => '\\x' + c.charCodeAt(0).toString(16).toUpperCase()) : '-'}"`;
const join = (xs: (string | undefined)[]) => (xs.length === 0 || xs.every((x) => x === undefined) ? '-' : xs.map((x) => x ?? '-').join(', '));

export function formatAccessLog(r: AccessRecord): string {
  const u = r.upstreams;
  return [
    `${r.remoteAddr} - - [${timeLocal(r.time)}] "${r.method} ${r.uri} HTTP/${r.httpVersion}" ${r.status} ${r.bodyBytesSent}`,
    quoted(r.referer),
    quoted(r.userAgent),
    `${r.requestLength} ${seconds(r.requestTimeMs)} [${r.upstreamName}] [${r.alternativeUpstreamName ?? ''}]`,
    join(u.map((x) => x.addr)),
    join(u.map((x) => (x.responseLength === undefined ? undefined : String(x.responseLength)))),
    join(u.map((x) => (x.responseTimeMs === undefined ? undefined : seconds(x.responseTimeMs)))),
    join(u.map((x) => (x.status === undefined ? undefined : String(x.status)))),
    r.requestId,
  ].join(' ');
}

export interface LineBuffer {
  (line: string): void;
  /** Writes what is gathered now. */
  flush(): void;
}

/**
 * Access-log lines gathered and written once per turn of the event loop, or at most every `flushMs` (as nginx's
 * `access_log ... buffer= flush=` gathers them): one write for many requests instead of one write each.
 */
export function bufferedLines(write: (text: string) => void, flushMs?: number): LineBuffer {
  let pending = '';
  let timer: NodeJS.Timeout | NodeJS.Immediate | undefined;
  const flush = () => {
    if (timer) (flushMs === undefined ? clearImmediate(timer as NodeJS.Immediate) : clearTimeout(timer as NodeJS.Timeout));
    timer = undefined;
    if (pending === '') return;
    const text = pending;
    pending = '';
    write(text);
  };
  const log = (line: string) => {
    if (pending === '') timer = flushMs === undefined ? setImmediate(flush) : setTimeout(flush, flushMs);
    pending += line + '\n';
  };
  return Object.assign(log, { flush });
}
