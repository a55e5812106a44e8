// kdp conntrack -L and kdp trace --seed/--branches.
import { describe, expect, it } from 'vitest';
import { kdp } from '../helpers/cli.ts';

const DEFAULT = 'topologies/default.yaml';

describe('kdp conntrack -L', () => {
  it('prints the entries of the connections made, as conntrack-tools does', async () => {
    // node2 holds 10.244.1.0/24 and forwards the connection to the pod.
    const r = await kdp(['conntrack', '-L', '--node', 'node2', '--from', 'client', '--to', '10.244.1.3:8080', '-f', DEFAULT]);
    expect(r.code).toBe(0);
    const lines = r.stdout.trim().split('\n');
    expect(lines).toContainEqual(expect.stringMatching(/^tcp      6 86399 ESTABLISHED src=(10\.244\.\d+\.\d+) dst=10\.244\.1\.3 sport=(\d+) dport=8080 src=10\.244\.1\.3 dst=\1 sport=8080 dport=\2 \[ASSURED\] mark=0 use=1$/));
    // The VXLAN packets between the nodes are flows of their own, one each way.
    expect(lines.filter((l) => /^udp      17 29 src=192\.168\.1\.1\d dst=192\.168\.1\.1\d sport=\d+ dport=8472 \[UNREPLIED\] /.test(l))).toHaveLength(2);
    expect(r.stderr).toBe(`conntrack v1.4.7 (conntrack-tools): ${lines.length} flow entries have been shown.\n`);
  });

  it('lists nothing before any connection (nor in a pod\'s namespace, which loads no rules), and says what it cannot do', async () => {
    expect((await kdp(['conntrack', '-L', '--pod', 'default/client', '--from', 'client', '--to', '10.244.1.3:8080', '-f', DEFAULT])).stdout).toBe('');
    const r = await kdp(['conntrack', '-L', '--node', 'node1', '-f', DEFAULT]);
    expect([r.code, r.stdout, r.stderr]).toEqual([0, '', 'conntrack v1.4.7 (conntrack-tools): 0 flow entries have been shown.\n']);
    expect((await kdp(['conntrack', '--node', 'node1', '-f', DEFAULT])).stderr).toBe('error: conntrack: only -L (list) is supported\n');
    expect((await kdp(['conntrack', '-L', '--node', 'nope', '-f', DEFAULT])).stderr).toBe('error: --node nope: no such node\n');
    expect((await kdp(['conntrack', '-L', '--from', 'client', '-f', DEFAULT])).stderr).toMatch(/--from and --to go together/);
  });
});

describe('kdp trace --seed / --branches', () => {
  it('lists each branch with its probability', async () => {
    const r = await kdp(['trace', '--from', 'client', '--to', '10.244.1.3:8080', '--branches', '-f', DEFAULT]);
    expect(r.code).toBe(0);
    expect(r.stdout).toMatch(/^p=1\.000000  DELIVERED: socket 10\.244\.1\.3:8080\/tcp in p\/default\/web-[a-z0-9-]+\n$/);
  });

  it('takes a seed and refuses a bad one', async () => {
    expect((await kdp(['trace', '--from', 'client', '--to', '10.244.1.3:8080', '--seed', '7', '-f', DEFAULT])).code).toBe(0);
    expect((await kdp(['trace', '--from', 'client', '--to', '10.244.1.3:8080', '--seed', 'x', '-f', DEFAULT])).stderr).toBe('error: --seed x: want an integer from 0 to 4294967295\n');
  });
});
