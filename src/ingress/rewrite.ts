// The URI sent upstream. Without rewrite-target nginx passes the client's request URI untouched; with it,
// ingress-nginx writes `rewrite "(?i)<path>" <target> break;` in the location: the whole path is replaced by
// the target with $1..$9 taken from the location's regex, and the query string is carried over.
import type { Location } from './routes.ts';

export function upstreamURI(loc: Location, requestURI: string, normalizedPath: string): string {
  const target = loc.config.rewriteTarget;
  if (target === undefined || !loc.regex) return requestURI;
  const m = loc.regex.exec(normalizedPath);
  if (!m) return requestURI;
  let out = target.replace(/\$(\d)/g, (_, d: string) => m[Number(d)] ?? '');
  // nginx appends the original arguments unless the replacement carries its own (then it joins them with &).
  const q = requestURI.indexOf('?');
  if (q >= 0) out += (out.includes('?') ? '&' : '?') + requestURI.slice(q + 1);
  return out.startsWith('/') || /^https?:\/\//.test(out) ? out : '/' + out;
}
