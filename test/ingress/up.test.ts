// `kdp up` starts the Ingress controller and prints curl lines that work when pasted.
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { describe, expect, it } from 'vitest';
import { kdp, kdpUp } from '../helpers/cli.ts';
import { until } from '../helpers/until.ts';

const run = promisify(execFile);

describe('kdp up with the Ingress controller', () => {
  it('listens on the ports asked for (0: free ones), prints ready-to-paste curl lines, and serves them', async () => {
    const up = kdpUp(['topologies/default.yaml', '--http-port', '0', '--https-port', '0', '--loopback', '127.22']);
    await until(() => up.stdout.includes('Press Ctrl-C'), 20_000);
    const line = up.stdout.split('\n').find((l) => l.includes("curl -H 'Host: web.example.com'"));
    expect(line).toMatch(/^ {2}curl -H 'Host: web\.example\.com' http:\/\/127\.0\.0\.1:\d+\/$/);
    expect(up.stdout).toMatch(/^Ingress controller on http:\/\/127\.0\.0\.1:\d+ and https:\/\/127\.0\.0\.1:\d+:$/m);
    // Through the data plane to the web pods' real listeners; the access log names the endpoint kube-proxy chose.
    const url = /http:\/\/\S+/.exec(line!)![0];
    const { stdout } = await run('curl', ['-s', '-o', '/dev/null', '-w', '%{http_code}', '-H', 'Host: web.example.com', url]);
    expect(stdout).toBe('200');
    // The pod sees the client the data plane delivered: the controller on node1, its connection to the
    // ClusterIP masqueraded by KUBE-MARK-MASQ to node1's cni0 or flannel.1 address (not the loopback).
    const { stdout: client } = await run('curl', ['-s', '-H', 'Host: web.example.com', url + 'clientip']);
    expect(client).toMatch(/^10\.244\.0\.[01]:\d+$/);
    const { stdout: notFound } = await run('curl', ['-s', '-o', '/dev/null', '-w', '%{http_code}', '-H', 'Host: nobody.example', url]);
    expect(notFound).toBe('404');
    up.interrupt();
    expect(await up.code).toBe(0);
    expect(up.stdout).toMatch(/"GET \/ HTTP\/1\.1" 404 .*\[upstream-default-backend\]/);
    expect(up.stdout).toMatch(/"GET \/ HTTP\/1\.1" 200 .* \[default-web-http\] \[\] 10\.244\.\d+\.\d+:8080 /);
  });

  it('rejects a bad port with a clear message', async () => {
    const r = await kdp(['up', 'topologies/default.yaml', '--http-port', 'eighty', '--loopback', '127.27']);
    expect(r.code).not.toBe(0);
    expect(r.stderr).toMatch(/option '--http-port <port>' argument 'eighty' is invalid\. want a port number from 0 to 65535\./);
  });

  it('says so when the port is taken', async () => {
    const { createServer } = await import('node:net');
    const srv = createServer();
    await new Promise<void>((r) => srv.listen(0, '127.0.0.1', r));
    const port = (srv.address() as import('node:net').AddressInfo).port;
    try {
      const r = await kdp(['up', 'topologies/default.yaml', '--http-port', String(port), '--loopback', '127.27']);
      expect(r.code).toBe(1);
      expect(r.stderr).toMatch(new RegExp(`^error: the Ingress controller cannot listen on 127\\.0\\.0\\.1 \\(--http-port ${port}, --https-port 0\\): listen EADDRINUSE`));
    } finally {
      srv.close();
    }
  });
});
