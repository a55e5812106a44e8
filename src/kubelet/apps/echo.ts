// kdp's default app: any method and path answered with what the pod saw of the request, as JSON, so a curl
// through Services, NodePorts and the Ingress shows which pod answered and which client address it saw. A
// WebSocket upgrade on any path becomes an echo of every message (for WebSocket paths through the Ingress).
import { header, type App, type AppRequest, type AppResponse, type PodIdentity } from './app.ts';

export class Echo implements App {
  readonly name = 'echo';
  constructor(private readonly id: PodIdentity) {}

  websocketEcho(): boolean {
    return true;
  }

  handle(req: AppRequest): AppResponse {
    const headers: Record<string, string> = {};
    for (const [k, v] of req.headers) {
      const n = k.toLowerCase();
      headers[n] = n in headers ? `${headers[n]}, ${v}` : v;
    }
    const body = `${JSON.stringify({
      pod: this.id.pod,
      namespace: this.id.namespace,
      node: this.id.node,
      podIP: this.id.podIP,
      containerPort: req.port,
      method: req.method,
      path: req.url,
      host: header(req, 'host') ?? '',
      proto: `HTTP/${req.httpVersion}`,
      headers,
      clientIP: req.remote.ip,
    })}\n`;
    return {
      status: 200,
      headers: [['Content-Type', 'application/json'], ['Content-Length', String(Buffer.byteLength(body))], ['Date', req.now.toUTCString()]],
      body,
    };
  }
}
