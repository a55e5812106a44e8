// kdp conntrack -L and kdp trace --seed/--branches.
import { describe, expect, it } from 'vitest';
import { kdp } from '../helpers/cli.ts';

const DEFAULT = 'topologies/default.yaml';

describe('kdp conntrack -L', () => {
  it('prints the entries of the connections made, as conntrack-tools does', async () => {
    const r = await kdp(['conntrack', '-L', '--pod', 'default/client', '--from', 'client', '--to', '10.244.1.3:8080', '-f', DEFAULT]);
    expect(r.code).toBe(0);
    expect(r.stdout).toMatch(/^tcp      6 86399 ESTABLISHED src=(10\.244\.\d+\.\d+) dst=10\.244\.1\.3 sport=(\d+) dport=8080 src=10\.244\.1\.3 dst=\1 sport=8080 dport=\2 \[ASSURED\] mark=0 use=1\n$/);
    expect(r.stderr).toBe('conntrack v1.4.7 (conntrack-tools): 1 flow entries have been shown.\n');
  });

  it('lists nothing before any connection, and says what it cannot do', async () => {
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
