// kdp curl: an HTTP request from inside a pod. The name is resolved by the pod's resolver (the cluster DNS
// through the data plane), the connection's first packet is decided by the data plane (kube-proxy's DNAT, the
// pod network), and the real request goes to the real listener of the pod socket the trace ends at, which sees
// the client address the data plane left on the packet. -v prints the trace beside curl's verbose lines.
import { request, type IncomingMessage } from 'node:http';
import type { Cluster } from '../../cluster/cluster.ts';
import type { KubeObject, Pod } from '../../cluster/objects.ts';
import { parseIP } from '../../cluster/net.ts';
import { DataPlane } from '../../dataplane/dataplane.ts';
import { ContainerRuntime } from '../../kubelet/runtime.ts';
import { traceFlow } from '../../netns/forward.ts';
import { renderTrace, type Trace } from '../../netns/trace.ts';
import { UserError, type IO } from '../io.ts';
import { resolveName } from '../resolve.ts';

export interface CurlOptions {
  from: string;
  verbose?: boolean;
  header?: string[];
  request?: string;
  data?: string;
  include?: boolean;
  maxTime?: string;
}

/** curl's exit codes and messages for a connection the data plane did not let through. */
function connectFailure(t: Trace, host: string, port: number): { code: number; message: string } {
  const v = t.request.verdict;
  switch (v.kind) {
    case 'refused':
    case 'rejected':
      return { code: 7, message: `Failed to connect to ${host} port ${port} after 0 ms: Couldn't connect to server` };
    case 'dropped':
    case 'mtu-exceeded':
      return { code: 28, message: `Failed to connect to ${host} port ${port} after 0 ms: Timeout was reached` };
    default:
      return { code: 7, message: `Failed to connect to ${host} port ${port} after 0 ms: No route to host` };
  }
}

export async function curl(cluster: Cluster, url: string, o: CurlOptions, io: IO): Promise<number> {
  const m = /^(https?):\/\/(\[[^\]]+\]|[^/:?#]+)(?::(\d+))?([^#]*)/.exec(url);
  if (!m) throw new UserError(`"${url}" is not an http:// URL`);
  if (m[1] === 'https') throw new UserError(`${url}: kdp curl speaks plain HTTP to pods (the pods' listeners have no TLS); use http://`);
  const host = m[2].replace(/^\[|\]$/g, '');
  const port = m[3] ? Number(m[3]) : 80;
  const path = m[4] || '/';
  const [ns, name] = o.from.includes('/') ? o.from.split('/') : ['default', o.from];
  const pod = cluster.store.get<Pod & KubeObject>('Pod', ns, name);
  if (!pod) throw new UserError(`--from ${o.from}: pod "${ns}/${name}" not found`);
  const dp = new DataPlane(cluster);
  const ip = parseIP(host) ? host : await resolveName(dp, pod, host, o.verbose ? io : { ...io, stderr: () => {} });
  const runtime = await ContainerRuntime.start(cluster, { network: dp.network });
  try {
    const from = dp.network.pod(ns, name)?.netns ?? (pod.spec?.hostNetwork && pod.spec.nodeName ? dp.network.host(pod.spec.nodeName) : undefined);
    if (!from) throw new UserError(`--from ${o.from}: the pod is not running`);
    if (o.verbose) io.stderr(`*   Trying ${ip}:${port}...\n`);
    const t = traceFlow(dp.network, from, { protocol: 'tcp', dst: ip, dport: port });
    if (o.verbose) io.stderr(renderTrace(t).replace(/^/gm, '* '));
    const v = t.request.verdict;
    const socket = v.kind === 'delivered' && v.socket?.port !== undefined && v.socket.peer?.port !== undefined ? v.socket : undefined;
    if (!socket) {
      const f = connectFailure(t, host, port);
      io.stderr(`curl: (${f.code}) ${f.message}\n`);
      return f.code;
    }
    if (!runtime.resolve(socket.address, socket.port!, 'tcp')) {
      io.stderr(`curl: (7) Failed to connect to ${host} port ${port} after 0 ms: Couldn't connect to server (no real listener behind ${socket.netns})\n`);
      return 7;
    }
    if (o.verbose) io.stderr(`* Connected to ${host} (${ip}) port ${port}; the data plane delivered it to ${socket.address}:${socket.port} in ${socket.netns}\n`);
    return await exchange(runtime, socket as { address: string; port: number; peer: { address: string; port: number } }, { host: m[3] ? `${host}:${port}` : host, path }, o, io);
  } finally {
    await runtime.close();
    dp.close();
  }
}

function exchange(runtime: ContainerRuntime, socket: { address: string; port: number; peer: { address: string; port: number } }, target: { host: string; path: string }, o: CurlOptions, io: IO): Promise<number> {
  const headers: Record<string, string> = { Host: target.host, 'User-Agent': 'curl/7.88.1', Accept: '*/*' };
  for (const h of o.header ?? []) {
    const i = h.indexOf(':');
    if (i <= 0) throw new UserError(`-H "${h}": want "Name: value"`);
    headers[h.slice(0, i).trim()] = h.slice(i + 1).trim();
  }
  const method = o.request ?? (o.data !== undefined ? 'POST' : 'GET');
  if (o.data !== undefined) headers['Content-Type'] ??= 'application/x-www-form-urlencoded';
  const seconds = o.maxTime === undefined ? 30 : Number(o.maxTime);
  if (!(seconds > 0)) throw new UserError(`--max-time ${o.maxTime}: want seconds`);
  return new Promise((resolve) => {
    const req = request({
      method, path: target.path, headers,
      createConnection: () => runtime.connect(socket.address, socket.port, { ip: socket.peer.address, port: socket.peer.port }),
    });
    if (o.verbose) {
      io.stderr(`> ${method} ${target.path} HTTP/1.1\n`);
      for (const [k, v] of Object.entries(headers)) io.stderr(`> ${k}: ${v}\n`);
      io.stderr('>\n');
    }
    req.setTimeout(seconds * 1000, () => {
      req.destroy();
      io.stderr(`curl: (28) Operation timed out after ${seconds * 1000} milliseconds with 0 bytes received\n`);
      resolve(28);
    });
    req.on('error', (e) => {
      io.stderr(`curl: (56) Recv failure: ${e.message}\n`);
      resolve(56);
    });
    req.on('response', (res: IncomingMessage) => {
      const head = [`HTTP/${res.httpVersion} ${res.statusCode} ${res.statusMessage}`, ...chunk(res.rawHeaders).map(([k, v]) => `${k}: ${v}`)];
      if (o.verbose) io.stderr(`${head.map((l) => `< ${l}`).join('\n')}\n<\n`);
      if (o.include) io.stdout(`${head.join('\r\n')}\r\n\r\n`);
      res.setEncoding('utf8');
      res.on('data', (d: string) => io.stdout(d));
      res.on('end', () => resolve(0));
    });
    req.end(o.data);
  });
}

const chunk = (raw: string[]) => Array.from({ length: raw.length / 2 }, (_, i) => [raw[2 * i], raw[2 * i + 1]] as const);
