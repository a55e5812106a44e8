// proxy-connect-timeout and what the controller answers for each way a dial can fail.
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { IngressController } from '../../src/ingress/controller.ts';
import type { DialFailure, DialResult, Dialer } from '../../src/ingress/dialer.ts';
import { cluster, NODES3 } from '../helpers/cluster.ts';
import { get } from './backends.ts';

const TOPOLOGY = NODES3 + `---
apiVersion: networking.k8s.io/v1
kind: Ingress
metadata:
  name: t
  annotations: {nginx.ingress.kubernetes.io/proxy-connect-timeout: "1"}
spec:
  rules:
    - host: t.example
      http: {paths: [{path: /, pathType: Prefix, backend: {service: {name: svc, port: {number: 80}}}}]}
`;

const run = promisify(execFile);

let answer: DialResult = { ok: false, reason: 'no-endpoints', detail: '' };
const dialer: Dialer = { dial: () => Promise.resolve(answer) };
let ctl: IngressController;

beforeAll(async () => {
  ctl = new IngressController({ store: cluster(TOPOLOGY).store, dialer, httpPort: 0 });
  await ctl.start();
});
afterAll(() => ctl.stop());

describe('dial failures', () => {
  it.each([
    ['no-service', 503],
    ['no-endpoints', 503],
    ['refused', 502],
    ['unreachable', 502],
    ['timeout', 504],
  ] as [DialFailure, number][])('%s -> %d', async (reason, status) => {
    answer = { ok: false, reason, detail: 'test' };
    expect((await get(ctl.httpPort!, 't.example', '/')).status).toBe(status);
  });
});

describe('proxy-connect-timeout against a port whose SYNs the real kernel drops (root only)', () => {
  const root = process.getuid?.() === 0;
  let port = 0;
  let rule: string[] = [];
  beforeAll(async () => {
    if (!root) return;
    // A free port (bound then released), made to swallow SYNs, as a dead host does: connect() hangs.
    const { createServer } = await import('node:net');
    const srv = createServer();
    await new Promise<void>((r) => srv.listen(0, '127.0.0.1', r));
    port = (srv.address() as import('node:net').AddressInfo).port;
    await new Promise((r) => srv.close(r));
    rule = ['OUTPUT', '-o', 'lo', '-p', 'tcp', '--dport', String(port), '--syn', '-j', 'DROP', '-m', 'comment', '--comment', 'kdp-ingress-test'];
    await run('iptables', ['-I', ...rule]).catch(() => (port = 0));
  });
  afterAll(async () => {
    if (port) await run('iptables', ['-D', ...rule]).catch(() => {});
  });

  it('answers 504 after the annotation\'s 1 s', async (ctx) => {
    if (!root || !port) {
      console.log('skipped: needs root and iptables to make the kernel drop SYNs');
      ctx.skip();
    }
    answer = { ok: true, endpoint: '10.244.0.9:8080', target: { host: '127.0.0.1', port } };
    const t0 = Date.now();
    const r = await get(ctl.httpPort!, 't.example', '/');
    expect(r.status).toBe(504);
    expect(Date.now() - t0).toBeGreaterThanOrEqual(900);
    expect(Date.now() - t0).toBeLessThan(4000);
  }, 10_000);
});

describe('a Dialer that throws', () => {
  const rejecting: Dialer = { dial: () => Promise.reject(new Error('boom')) };
  const throwing: Dialer = {
    dial: () => {
      throw new Error('boom');
    },
  };
  it.each([['rejects', rejecting], ['throws at once', throwing]])('%s: gets the request a 502 and the controller keeps serving', async (_, dialer) => {
    const lines: string[] = [];
    const broken = new IngressController({ store: cluster(TOPOLOGY).store, dialer, httpPort: 0, log: (l) => lines.push(l) });
    await broken.start();
    try {
      expect((await get(broken.httpPort!, 't.example', '/')).status).toBe(502);
      expect((await get(broken.httpPort!, 't.example', '/')).status).toBe(502);
      expect(lines).toContain('dialer failed: boom');
    } finally {
      await broken.stop();
    }
  });
});
