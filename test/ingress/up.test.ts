// `kdp up` starts the Ingress controller and prints curl lines that work when pasted.
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { describe, expect, it } from 'vitest';
import { kdp, kdpUp } from '../helpers/cli.ts';
import { until } from '../helpers/until.ts';

const run = promisify(execFile);

/** This process's children running an Ingress worker. */
async function workerProcesses(): Promise<number[]> {
  const r = await run('pgrep', ['-P', String(process.pid), '-f', 'ingress/worker.ts']).catch(() => ({ stdout: '' }));
  return r.stdout.split('\n').filter(Boolean).map(Number);
}

describe('kdp up with the Ingress controller', () => {
  it.each([
    ['its own process serving', '0', 0],
    ['two worker processes serving', '2', 2],
  ])('listens on the ports asked for (0: free ones), prints ready-to-paste curl lines, and serves them: %s', async (_, workers, processes) => {
    const up = kdpUp(['topologies/default.yaml', '--http-port', '0', '--https-port', '0', '--loopback', '127.22', '--ingress-workers', workers]);
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
    const https = /https:\/\/127\.0\.0\.1:(\d+)/.exec(up.stdout)![1];
    const { stdout: secure } = await run('curl', ['-sk', '-o', '/dev/null', '-w', '%{http_code}', '--resolve', `web.example.com:${https}:127.0.0.1`, `https://web.example.com:${https}/`]);
    expect(secure).toBe('200');
    expect(await workerProcesses()).toHaveLength(processes);
    up.interrupt();
    expect(await up.code).toBe(0);
    // Ctrl-C ends every worker with kdp.
    expect(await workerProcesses()).toEqual([]);
    expect(up.stdout).toMatch(/"GET \/ HTTP\/1\.1" 404 .*\[upstream-default-backend\]/);
    expect(up.stdout).toMatch(/"GET \/ HTTP\/1\.1" 200 .* \[default-web-http\] \[\] 10\.244\.\d+\.\d+:8080 /);
  });

  it('rejects a bad port with a clear message', async () => {
    const r = await kdp(['up', 'topologies/default.yaml', '--http-port', 'eighty', '--loopback', '127.27']);
    expect(r.code).not.toBe(0);
    expect(r.stderr).toMatch(/option '--http-port <port>' argument 'eighty' is invalid\. want a port number from 0 to 65535\./);
  });

  it('rejects a bad number of Ingress workers with a clear message', async () => {
    const r = await kdp(['up', 'topologies/default.yaml', '--ingress-workers', 'many', '--loopback', '127.27']);
    expect(r.code).not.toBe(0);
    expect(r.stderr).toMatch(/option '--ingress-workers <n>' argument 'many' is invalid\. want a number of processes from 0 to 64/);
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
