// kdp curl: a request from inside a pod, resolved by its resolver, decided by the data plane, answered by the
// real listener of the pod socket the trace ends at.
import { describe, expect, it } from 'vitest';
import { kdp } from '../helpers/cli.ts';

describe('kdp curl', () => {
  it('reaches a Service by name; the pod sees the client pod\'s own address (no masquerade pod -> ClusterIP)', async () => {
    const pods = await kdp(['get', 'pods', '-o', 'wide']);
    const clientIP = /^client\s+\S+\s+\S+\s+\S+\s+\S+\s+(\S+)/m.exec(pods.stdout)![1];
    const r = await kdp(['curl', '--from', 'default/client', 'http://web/clientip']);
    expect(r).toMatchObject({ code: 0, stderr: '' });
    expect(r.stdout).toMatch(new RegExp(`^${clientIP.replace(/\./g, '\\.')}:\\d+$`));
  });

  it('-v prints the trace beside curl\'s verbose lines; -i the response head', async () => {
    const r = await kdp(['curl', '--from', 'client', '-v', '-i', 'http://web.default.svc.cluster.local/hostname']);
    expect(r.code).toBe(0);
    expect(r.stderr).toContain('* request:\n');
    expect(r.stderr).toMatch(/\* +\d+\. \[node\/node1\] hook +nat KUBE-SEP-[A-Z2-7]{16} #\d+: .* -j DNAT --to-destination 10\.244\.\d+\.\d+:8080/);
    expect(r.stderr).toContain('> GET /hostname HTTP/1.1\n> Host: web.default.svc.cluster.local\n');
    expect(r.stderr).toMatch(/^< HTTP\/1\.1 200 OK$/m);
    expect(r.stdout).toMatch(/^HTTP\/1\.1 200 OK\r\n[\s\S]*\r\n\r\nweb-[a-z0-9]+-[a-z0-9]{5}$/);
  });

  it('a port nothing listens on is refused, as curl says it (exit 7)', async () => {
    const slices = await kdp(['get', 'endpointslices', '-o', 'json']);
    const podIP = (JSON.parse(slices.stdout).items as any[]).find((s) => s.metadata.labels['kubernetes.io/service-name'] === 'web').endpoints[0].addresses[0];
    const r = await kdp(['curl', '--from', 'client', `http://${podIP}:9999/`]);
    expect(r.code).toBe(7);
    expect(r.stderr).toBe(`curl: (7) Failed to connect to ${podIP} port 9999 after 0 ms: Couldn't connect to server\n`);
  });
});
