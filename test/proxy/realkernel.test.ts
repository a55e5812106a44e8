// Checked against the real kernel: the restore text kdp's kube-proxy writes for a dual-stack, multi-service
// topology loads into a scratch network namespace with the real iptables-restore and ip6tables-restore,
// with kube-proxy's jump rules inserted as it inserts them, and a later partial sync loads on top.
// Root only: skipped (with the reason) elsewhere.
import { afterAll, describe, expect, it } from 'vitest';
import { spawnSync } from 'node:child_process';
import { join } from 'node:path';
import { loadCluster } from '../../src/cluster/cluster.ts';
import { KubeProxy, type ProxySync } from '../../src/proxy/kubeproxy.ts';
import type { KubeObject, Pod } from '../../src/cluster/objects.ts';
import { NOW } from '../helpers/cluster.ts';

const has = (cmd: string) => spawnSync('bash', ['-c', `command -v ${cmd}`]).status === 0;
const canRun = process.getuid?.() === 0 && has('ip') && has('iptables-restore') && has('ip6tables-restore') && has('nfacct');
const why = 'needs root, iproute2, iptables-restore, ip6tables-restore and nfacct (Debian package nfacct)';
if (!canRun) console.warn(`real-kernel iptables test skipped: ${why}`);

const NS = `kdpipt${process.pid % 100000}`;

function run(args: string[], input?: string): { status: number | null; stderr: string; stdout: string } {
  const r = spawnSync(args[0], args.slice(1), { input, encoding: 'utf8' });
  return { status: r.status, stderr: r.stderr, stdout: r.stdout };
}

function inNs(args: string[], input?: string) {
  return run(['ip', 'netns', 'exec', NS, ...args], input);
}

describe.skipIf(!canRun)('kube-proxy rules in the real kernel', () => {
  afterAll(() => {
    run(['ip', 'netns', 'del', NS]);
  });

  it('iptables-restore and ip6tables-restore load every sync, jump rules included', () => {
    run(['ip', 'netns', 'del', NS]);
    expect(run(['ip', 'netns', 'add', NS]).status).toBe(0);
    // kube-proxy creates its nfacct counters before it writes rules that name them.
    for (const counter of ['ct_state_invalid_dropped_pkts', 'localhost_nps_accepted_pkts']) expect(inNs(['nfacct', 'add', counter]).stderr).toBe('');

    const c = loadCluster([join(import.meta.dirname, 'topologies', 'multi-service.yaml')], { now: () => NOW });
    expect(c.problems.filter((p) => p.severity === 'error')).toEqual([]);
    const syncs: ProxySync[] = [];
    const kp = new KubeProxy(c.store, c.config, 'node1', (_node, r) => syncs.push(r));
    kp.start();
    expect(syncs.map((s) => s.family).sort()).toEqual(['IPv4', 'IPv6']);

    const load = (s: ProxySync) => {
      const restore = s.family === 'IPv4' ? 'iptables-restore' : 'ip6tables-restore';
      const r = inNs([restore, '--noflush', '--counters'], s.restoreText);
      expect(r.stderr, `${restore} of\n${s.restoreText}`).toBe('');
      expect(r.status).toBe(0);
      const iptables = s.family === 'IPv4' ? 'iptables' : 'ip6tables';
      // EnsureRule(Prepend): insert at the top unless the same rule is there already.
      for (const j of s.jumps) {
        if (inNs([iptables, '-w', '-t', j.table, '-L', j.target, '-n']).status !== 0) inNs([iptables, '-w', '-t', j.table, '-N', j.target]);
        if (inNs([iptables, '-w', '-t', j.table, '-C', j.chain, ...j.args]).status === 0) continue;
        const ins = inNs([iptables, '-w', '-t', j.table, '-I', j.chain, '1', ...j.args]);
        expect(ins.stderr, `${iptables} -I ${j.chain} ${j.args.join(' ')}`).toBe('');
      }
    };
    for (const s of syncs) load(s);
    const saved = inNs(['iptables-save', '-t', 'nat']).stdout;
    expect(saved).toContain('-A PREROUTING -m comment --comment "kubernetes service portals" -j KUBE-SERVICES');
    expect(saved).toMatch(/-A KUBE-SERVICES -d 10\.\d+\.\d+\.\d+\/32 -p tcp -m comment --comment "default\/web:http cluster IP" -m tcp --dport 80 -j KUBE-SVC-CDGGSHYLG3RE2FKL/);
    expect(inNs(['ip6tables-save', '-t', 'nat']).stdout).toContain('-A KUBE-SVC-CDGGSHYLG3RE2FKL');

    // A pod goes away: the partial syncs (its service's chains only, stale ones deleted) load on top.
    const n = syncs.length;
    const pod = c.store.list<Pod & KubeObject>('Pod', { namespace: 'default' }).find((p) => p.metadata.labels?.app === 'web')!;
    c.store.delete('Pod', 'default', pod.metadata.name);
    expect(syncs.length).toBeGreaterThan(n);
    for (const s of syncs.slice(n)) {
      expect(s.fullSync).toBe(false);
      load(s);
    }
    const after = inNs(['iptables-save', '-t', 'nat']).stdout;
    expect(after).not.toContain(`--to-destination ${pod.status!.podIP}:8080`);
    kp.stop();
  });
});
