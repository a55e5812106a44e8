// The request headers ingress-nginx's location block sets on the proxied request (nginx.tmpl, with the
// defaults use-forwarded-headers false, generate-request-id true): incoming X-Forwarded-* are replaced, not
// appended, and the originals kept as X-Original-Forwarded-*.
import type { IncomingHttpHeaders } from 'node:http';

export interface ForwardContext {
  clientIP: string;
  scheme: 'http' | 'https';
  /** The port the client connected to ($server_port). */
  serverPort: number;
  requestId: string;
  requestURI: string;
  upgrade: boolean;
}

/** Rewrites headers in place; Host is left as the client sent it ($best_http_host). */
export function setForwardedHeaders(h: IncomingHttpHeaders, c: ForwardContext): void {
  const xff = h['x-forwarded-for'];
  const xfh = h['x-forwarded-host'];
  for (const k in h) {
    // nginx drops headers with underscores (enable-underscores-in-headers false); `Proxy` is removed (httpoxy).
    if (k.includes('_') || k === 'proxy') delete h[k];
  }
  if (xff !== undefined) h['x-original-forwarded-for'] = xff;
  if (xfh !== undefined) h['x-original-forwarded-host'] = xfh;
  h['x-request-id'] = c.requestId;
  h['x-real-ip'] = c.clientIP;
  h['x-forwarded-for'] = c.clientIP;
  h['x-forwarded-host'] = h.host ?? '';
  h['x-forwarded-port'] = String(c.serverPort);
  h['x-forwarded-proto'] = c.scheme;
  h['x-forwarded-scheme'] = c.scheme;
  h['x-scheme'] = c.scheme;
  h['x-original-uri'] = c.requestURI;
  if (c.upgrade) {
    h.connection = 'upgrade';
  } else {
    // `proxy_set_header Connection ""`: the upstream connection stays keep-alive whatever the client asked.
    if (h.connection !== undefined) delete h.connection;
    if (h['keep-alive'] !== undefined) delete h['keep-alive'];
  }
}
