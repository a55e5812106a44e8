// A pod's DNS through the data plane: its query to 10.96.0.10:53 is DNATed by kube-proxy's rules to a coredns
// pod, and only a query a CoreDNS pod's socket takes is answered.
import { describe, expect, it } from 'vitest';
import { kdp } from '../helpers/cli.ts';
import { readFileSync } from 'node:fs';
import { topologyFile } from '../helpers/files.ts';
import { NO_COREDNS } from '../helpers/cluster.ts';

const topologyWith = (extra: string) => topologyFile(readFileSync('topologies/default.yaml', 'utf8') + extra);

describe('kdp dig through the data plane', () => {
  it('each query is DNATed from the kube-dns ClusterIP to a coredns pod, which answers', async () => {
    const r = await kdp(['dig', '--from', 'default/client', 'web']);
    expect(r.code).toBe(0);
    const via = r.stdout.split('\n').filter((l) => l.startsWith(';;        via '));
    expect(via).toHaveLength(2);
    for (const l of via) expect(l).toMatch(/^;; {8}via 10\.96\.0\.10:53 -> 10\.244\.\d+\.\d+:53 \(kube-system\/coredns-[a-z0-9]+-[a-z0-9]{5}\)$/);
    const pods = await kdp(['get', 'pods', '-n', 'kube-system', '-l', 'k8s-app=kube-dns', '-o', 'wide']);
    const [, ip, pod] = /-> (\S+):53 \(kube-system\/(\S+)\)/.exec(via[0])!;
    expect(pods.stdout).toMatch(new RegExp(`^${pod} .* ${ip.replace(/\./g, '\\.')} `, 'm'));
  });

  it('without coredns pods the query is rejected by kube-proxy\'s rules: no server answers', async () => {
    const r = await kdp(['dig', '--from', 'default/client', 'web', '-f', topologyWith(NO_COREDNS)]);
    expect(r.code).toBe(9);
    expect(r.stdout).toContain('rejected:');
    expect(r.stdout).toContain('kube-system/kube-dns:dns has no endpoints');
    expect(r.stdout).toContain(';; connection timed out; no servers could be reached');
  });
});

describe('kdp trace to a name', () => {
  it('resolves it as the source pod\'s resolver would, then traces to the address', async () => {
    const r = await kdp(['trace', '--from', 'default/client', '--to', 'http://web/', '--branches']);
    expect(r.code).toBe(0);
    expect(r.stderr).toMatch(/^kdp: web is 10\.\d+\.\d+\.\d+ \(web\.default\.svc\.cluster\.local, as default\/client's resolver looked it up\)\n$/);
    expect(r.stdout.trim().split('\n')).toHaveLength(3);
  });

  it('a name the cluster DNS does not know is an error naming the answer', async () => {
    const r = await kdp(['trace', '--from', 'default/client', '--to', 'nope:80']);
    expect(r.code).toBe(1);
    expect(r.stderr).toBe('error: --to nope: default/client\'s resolver found no address (NXDOMAIN for nope)\n');
  });
});
