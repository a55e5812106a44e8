// Ready-to-paste curl lines for what the routing table serves, printed by `kdp up`.
import type { RoutingTable } from './routes.ts';

/** A concrete request path for a location path: regex paths are cut at their first metacharacter. */
function samplePath(path: string, regex: boolean): string {
  if (!regex) return path;
  const cut = path.search(/[\\^$.|?*+()[\]{}]/);
  const literal = cut < 0 ? path : path.slice(0, cut);
  return literal.startsWith('/') ? literal : '/' + literal;
}

/** "*.foo.com" -> "app.foo.com": any single label works. */
const sampleHost = (host: string) => (host.startsWith('*.') ? 'app' + host.slice(1) : host);

export function curlExamples(table: RoutingTable, address: string, ports: { http?: number; https?: number }): string[] {
  const out: string[] = [];
  const servers = [...table.servers.values(), table.catchAll];
  for (const s of servers) {
    const host = sampleHost(s.host);
    const paths = [...new Set(s.locations.map((l) => samplePath(l.path, s.regex)))];
    if (paths.length === 0 && s.fallback) paths.push('/');
    for (const p of paths) {
      if (ports.http !== undefined) out.push(host ? `curl -H 'Host: ${host}' http://${address}:${ports.http}${p}` : `curl http://${address}:${ports.http}${p}`);
      if (ports.https !== undefined && s.tls && host) out.push(`curl -k --resolve ${host}:${ports.https}:${address} https://${host}:${ports.https}${p}`);
    }
  }
  return out;
}
