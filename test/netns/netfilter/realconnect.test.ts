// Checked against the real kernel: the same rules, loaded with the real iptables-restore into a scratch
// router namespace, decide real TCP connections as our engine decides them — a ClusterIP-style DNAT lands on
// exactly the endpoints our enumeration lists (and the reply comes back un-DNATed, or the connect would
// fail), a REJECT --reject-with tcp-reset refuses, a DROP times out. Root only; skipped with the reason otherwise.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { existsSync } from 'node:fs';
import { Netfilter } from '../../../src/netns/netfilter/netfilter.ts';
import { enumerate, seeded } from '../../../src/netns/netfilter/random.ts';

const PY = '/usr/bin/python3';
const has = (cmd: string) => spawnSync('sh', ['-c', `command -v ${cmd}`]).status === 0;
const canRun = process.getuid?.() === 0 && has('ip') && has('iptables-restore') && existsSync(PY) && spawnSync('ip', ['netns', 'list']).status === 0;
if (!canRun) console.warn('netfilter real-connection test skipped: needs root, iproute2, iptables (nf_tables) and /usr/bin/python3');

const P = `kdpc${process.pid % 10000}`;
const [C, N, E1, E2] = ['c', 'n', 'e1', 'e2'].map((s) => `${P}${s}`);

const RULES = `*nat
:SVC - [0:0]
:SEP1 - [0:0]
:SEP2 - [0:0]
-A PREROUTING -d 10.96.0.50/32 -p tcp -m tcp --dport 80 -m comment --comment "default/web cluster IP" -j SVC
-A SVC -m statistic --mode random --probability 0.50000000000 -j SEP1
-A SVC -j SEP2
-A SEP1 -p tcp -j DNAT --to-destination 10.1.0.2:8080
-A SEP2 -p tcp -j DNAT --to-destination 10.2.0.2:8080
COMMIT
*filter
-A FORWARD -d 10.1.0.2/32 -p tcp -m tcp --dport 9 -j REJECT --reject-with tcp-reset
-A FORWARD -d 10.2.0.2/32 -p tcp -m tcp --dport 9 -j DROP
COMMIT
`;

function sh(cmd: string): string {
  const r = spawnSync('bash', ['-c', cmd], { encoding: 'utf8', timeout: 20000 });
  if (r.status !== 0) throw new Error(`${cmd}\n${r.stderr}`);
  return r.stdout;
}

// A server that answers every connection with its name; a client that connects and prints what it got.
const SERVER = (name: string) => `import socket
s = socket.socket(); s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1); s.bind(('0.0.0.0', 8080)); s.listen(64)
while True:
    c, _ = s.accept(); c.sendall(b'${name}'); c.close()`;
const CLIENT = `import socket, sys
host, port, n = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
for _ in range(n):
    s = socket.socket(); s.settimeout(1.5)
    try:
        s.connect((host, port)); print(s.recv(64).decode() or 'empty')
    except ConnectionRefusedError: print('refused')
    except socket.timeout: print('timeout')
    finally: s.close()`;

describe.skipIf(!canRun)('netfilter decisions against the real kernel', () => {
  const servers: ChildProcess[] = [];

  beforeAll(async () => {
    for (const ns of [C, N, E1, E2]) sh(`ip netns add ${ns} && ip -n ${ns} link set lo up`);
    const link = (a: string, ai: string, b: string, bi: string) => sh(`ip link add ${ai} netns ${a} type veth peer name ${bi} netns ${b}`);
    link(C, 'eth0', N, 'n0');
    link(E1, 'eth0', N, 'n1');
    link(E2, 'eth0', N, 'n2');
    sh(`ip -n ${C} addr add 10.0.0.2/24 dev eth0 && ip -n ${C} link set eth0 up && ip -n ${C} route add default via 10.0.0.1`);
    sh(`ip -n ${N} addr add 10.0.0.1/24 dev n0 && ip -n ${N} addr add 10.1.0.1/24 dev n1 && ip -n ${N} addr add 10.2.0.1/24 dev n2`);
    sh(`for d in n0 n1 n2; do ip -n ${N} link set $d up; done; ip netns exec ${N} sysctl -qw net.ipv4.ip_forward=1`);
    for (const [ns, net] of [[E1, '10.1.0'], [E2, '10.2.0']]) sh(`ip -n ${ns} addr add ${net}.2/24 dev eth0 && ip -n ${ns} link set eth0 up && ip -n ${ns} route add default via ${net}.1`);
    const load = spawnSync('ip', ['netns', 'exec', N, 'iptables-restore'], { input: RULES, encoding: 'utf8' });
    if (load.status !== 0) throw new Error(load.stderr);
    for (const [ns, name] of [[E1, 'e1'], [E2, 'e2']]) servers.push(spawn('ip', ['netns', 'exec', ns, PY, '-c', SERVER(name)], { stdio: 'ignore' }));
    // Wait for both servers to listen.
    for (let i = 0; i < 50; i++) {
      if (['10.1.0.2', '10.2.0.2'].every((ip) => sh(`ip netns exec ${N} ${PY} -c "${CLIENT.replace(/"/g, '\\"')}" ${ip} 8080 1`).trim() !== 'refused')) break;
      await new Promise((r) => setTimeout(r, 100));
    }
  });

  afterAll(() => {
    for (const s of servers) s.kill();
    for (const ns of [C, N, E1, E2]) spawnSync('ip', ['netns', 'del', ns]);
  });

  const connect = (host: string, port: number, n: number) =>
    spawnSync('ip', ['netns', 'exec', C, PY, '-c', CLIENT, host, String(port), String(n)], { encoding: 'utf8', timeout: 60000 }).stdout.trim().split('\n');

  function ours() {
    const nf = new Netfilter({ addrType: () => 'UNICAST', primaryAddress: () => undefined });
    nf.iptables.restore(RULES);
    return nf;
  }

  it('DNATs a ClusterIP connection to exactly the endpoints our enumeration lists', () => {
    const nf = ours();
    const branches = enumerate((random) => {
      const p = { src: '10.0.0.2', dst: '10.96.0.50', protocol: 'tcp', sport: 40000, dport: 80, flags: 'SYN', length: 60 };
      return nf.hook('PREROUTING', p, nf.track(p), { in: 'n0', mark: 0, random }).packet.dst;
    });
    expect(branches.map((b) => [b.result, b.p])).toEqual([['10.1.0.2', 0.5], ['10.2.0.2', 0.5]]);
    const names: Record<string, string> = { e1: '10.1.0.2', e2: '10.2.0.2' };
    const real = new Set(connect('10.96.0.50', 80, 24).map((r) => names[r] ?? r));
    expect(real).toEqual(new Set(branches.map((b) => b.result)));
  });

  it('refuses where REJECT --reject-with tcp-reset stands and times out where DROP does', () => {
    const nf = ours();
    const decide = (dst: string) => {
      const p = { src: '10.0.0.2', dst, protocol: 'tcp', sport: 40001, dport: 9, flags: 'SYN', length: 60 };
      const r = nf.hook('FORWARD', p, nf.track(p), { in: 'n0', out: dst.startsWith('10.1') ? 'n1' : 'n2', mark: 0, random: seeded(1) });
      return r.verdict === 'reject' ? `reject ${r.rejectWith}` : r.verdict;
    };
    expect(decide('10.1.0.2')).toBe('reject tcp-reset');
    expect(connect('10.1.0.2', 9, 1)).toEqual(['refused']);
    expect(decide('10.2.0.2')).toBe('drop');
    expect(connect('10.2.0.2', 9, 1)).toEqual(['timeout']);
    // And what no rule stops gets through.
    expect(decide('10.1.0.3')).toBe('accept');
    expect(connect('10.1.0.2', 8080, 1)).toEqual(['e1']);
  });
});
