// The health, ready and prometheus plugins' HTTP side, on one port: /health (200 OK while serving),
// /ready (200 OK once the cluster view is readable; 503 naming the plugins that are not) and /metrics.
import Fastify, { type FastifyInstance } from 'fastify';
import type { DnsMetrics } from './metrics.ts';

export interface DnsHttpOptions {
  metrics: DnsMetrics;
  /** Plugins not ready yet (empty: ready). */
  notReady: () => string[];
}

export async function startDnsHttp(opts: DnsHttpOptions, host = '127.0.0.1', port = 0): Promise<{ app: FastifyInstance; port: number }> {
  const app = Fastify({ logger: false });
  app.get('/health', async (_req, reply) => reply.type('text/plain; charset=utf-8').send('OK'));
  app.get('/ready', async (_req, reply) => {
    const waiting = opts.notReady();
    if (waiting.length) return reply.code(503).type('text/plain; charset=utf-8').send(waiting.join(', '));
    return reply.type('text/plain; charset=utf-8').send('OK');
  });
  app.get('/metrics', async (_req, reply) => reply.type(opts.metrics.registry.contentType).send(await opts.metrics.text()));
  await app.listen({ host, port });
  const addr = app.server.address();
  return { app, port: typeof addr === 'object' && addr ? addr.port : port };
}
