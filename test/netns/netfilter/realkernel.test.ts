// Checked against the real kernel: each fixture (a varied, kube-proxy-shaped ruleset, IPv4 and IPv6) is loaded
// with the real iptables-restore into a scratch network namespace, and the real iptables-save must print what
// ours prints for the same text (date lines and counters aside). Root only; skipped with the reason otherwise.
import { afterAll, describe, expect, it } from 'vitest';
import { spawnSync } from 'node:child_process';
import { Iptables, renderSave } from '../../../src/netns/netfilter/iptables.ts';
import { comparable, fakeIpsets, FIXTURES } from './fixtures.ts';

const has = (cmd: string) => spawnSync('sh', ['-c', `command -v ${cmd}`]).status === 0;
const canRun = process.getuid?.() === 0 && has('ip') && has('iptables-restore') && has('ip6tables-restore') && spawnSync('ip', ['netns', 'list']).status === 0;
if (!canRun) console.warn('netfilter real-kernel test skipped: needs root, iproute2 and iptables (nf_tables) to load rules into a scratch namespace');

const NS = `kdpnf${process.pid % 100000}`;
const run = (args: string[], input?: string) => spawnSync(args[0], args.slice(1), { input, encoding: 'utf8' });

describe.skipIf(!canRun)('iptables-save against the real kernel', () => {
  afterAll(() => {
    run(['ip', 'netns', 'del', NS]);
  });

  for (const f of FIXTURES) {
    it.skipIf(f.sets.length > 0 && !has('ipset'))(`${f.name}: real iptables-save equals ours`, () => {
      run(['ip', 'netns', 'del', NS]);
      expect(run(['ip', 'netns', 'add', NS]).status).toBe(0);
      try {
        for (const s of f.sets) expect(run(['ip', 'netns', 'exec', NS, 'ipset', 'create', s, 'hash:ip,port']).status).toBe(0);
        const tool = f.family === 'IPv4' ? 'iptables' : 'ip6tables';
        const loaded = run(['ip', 'netns', 'exec', NS, `${tool}-restore`], f.rules);
        expect(loaded.stderr).toBe('');
        expect(loaded.status).toBe(0);
        const real = run(['ip', 'netns', 'exec', NS, `${tool}-save`]).stdout;
        const ours = renderSave(f.rules, { family: f.family, ipsets: fakeIpsets(Object.fromEntries(f.sets.map((s) => [s, []]))) });
        expect(comparable(ours)).toBe(comparable(real));
      } finally {
        run(['ip', 'netns', 'del', NS]);
      }
    });
  }

  it('--noflush: a second restore keeps built-in chains\' rules and other chains, empties the user chains it names', () => {
    const first = '*nat\n:PREROUTING ACCEPT [0:0]\n:KUBE-SERVICES - [0:0]\n:KUBE-SVC-A - [0:0]\n:KEEP - [0:0]\n-A PREROUTING -j KUBE-SERVICES\n-A KUBE-SERVICES -d 10.96.0.1 -j KUBE-SVC-A\n-A KUBE-SVC-A -j RETURN\n-A KEEP -j RETURN\nCOMMIT\n';
    const second = '*nat\n:PREROUTING ACCEPT [0:0]\n:KUBE-SERVICES - [0:0]\n:KUBE-SVC-B - [0:0]\n:KUBE-SVC-A - [0:0]\n-A PREROUTING -m comment --comment again -j KUBE-SERVICES\n-A KUBE-SERVICES -d 10.96.0.2 -j KUBE-SVC-B\n-A KUBE-SVC-B -j ACCEPT\n-X KUBE-SVC-A\nCOMMIT\n';
    run(['ip', 'netns', 'del', NS]);
    run(['ip', 'netns', 'add', NS]);
    try {
      expect(run(['ip', 'netns', 'exec', NS, 'iptables-restore'], first).status).toBe(0);
      const r = run(['ip', 'netns', 'exec', NS, 'iptables-restore', '--noflush'], second);
      expect(r.stderr).toBe('');
      const real = run(['ip', 'netns', 'exec', NS, 'iptables-save']).stdout;
      const ipt = new Iptables('IPv4');
      ipt.restore(first);
      ipt.restore(second, { noflush: true });
      expect(comparable(ipt.save())).toBe(comparable(real));
    } finally {
      run(['ip', 'netns', 'del', NS]);
    }
  });

  it('refuses what the kernel refuses: a jump loop a hook reaches (and only that)', () => {
    run(['ip', 'netns', 'add', NS]);
    try {
      const unreachable = '*filter\n:A - [0:0]\n:B - [0:0]\n-A A -j B\n-A B -j A\nCOMMIT\n';
      expect(run(['ip', 'netns', 'exec', NS, 'iptables-restore'], unreachable).status).toBe(0);
      expect(() => renderSave(unreachable)).not.toThrow();
      const reached = unreachable.replace('COMMIT', '-A FORWARD -j A\nCOMMIT');
      expect(run(['ip', 'netns', 'exec', NS, 'iptables-restore'], reached).status).not.toBe(0);
      expect(() => renderSave(reached)).toThrow(/Too many links/);
    } finally {
      run(['ip', 'netns', 'del', NS]);
    }
  });
});
