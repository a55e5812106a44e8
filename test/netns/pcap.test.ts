// The pcap rendering, read back by the real tshark (installed by .ci/run): outer and inner addresses of the
// VXLAN frames, the VNI, and every checksum.
import { describe, expect, it } from 'vitest';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ClusterNetwork } from '../../src/kubelet/network.ts';
import { traceFlow } from '../../src/netns/forward.ts';
import { checksum, pcapFile } from '../../src/netns/pcap.ts';
import { cluster, get, NODES3, podDoc } from '../helpers/cluster.ts';

const hasTshark = spawnSync('tshark', ['--version']).status === 0;

describe('pcap', () => {
  it('computes the Internet checksum (RFC 1071 example)', () => {
    expect(checksum(Buffer.from([0x00, 0x01, 0xf2, 0x03, 0xf4, 0xf5, 0xf6, 0xf7]))).toBe(0x220d);
  });

  it.skipIf(!hasTshark)('is decoded by tshark: the VXLAN outer and inner addresses, VNI 1, good checksums', () => {
    const c = cluster(NODES3 + podDoc('a', 'node1') + podDoc('b', 'node2', [80]));
    const net = new ClusterNetwork(c);
    const a = get<any>(c, 'Pod', 'default', 'a').status.podIP;
    const b = get<any>(c, 'Pod', 'default', 'b').status.podIP;
    const t = traceFlow(net, net.pod('default', 'a')!.netns, { protocol: 'tcp', dst: b, dport: 80 });
    const file = join(mkdtempSync(join(tmpdir(), 'kdp-pcap-')), 'trace.pcap');
    writeFileSync(file, pcapFile([...t.request.frames, ...t.reply!.frames]));
    const r = spawnSync('tshark', [
      '-r', file, '-d', 'udp.port==8472,vxlan',
      '-o', 'ip.check_checksum:TRUE', '-o', 'tcp.check_checksum:TRUE', '-o', 'udp.check_checksum:TRUE',
      '-T', 'fields', '-E', 'separator=;', '-e', 'ip.src', '-e', 'ip.dst', '-e', 'vxlan.vni', '-e', 'tcp.flags.str', '-e', 'ip.checksum.status', '-e', 'tcp.checksum.status', '-e', 'udp.checksum.status',
    ], { encoding: 'utf8' });
    expect(r.status).toBe(0);
    const rows = r.stdout.trim().split('\n').map((l) => l.split(';'));
    const vxlan = rows.filter((row) => row[2] === '1');
    expect(vxlan.map((row) => [row[0], row[1]])).toEqual([
      [`192.168.1.11,${a}`, `192.168.1.12,${b}`],
      [`192.168.1.12,${b}`, `192.168.1.11,${a}`],
    ]);
    // Wireshark's checksum status 1 is "good"; a field is empty where the header is absent.
    const statuses = rows.flatMap((row) => [row[4], row[5], row[6]].flatMap((f) => f.split(',')).filter(Boolean));
    expect(statuses.length).toBeGreaterThan(rows.length);
    expect(new Set(statuses)).toEqual(new Set(['1']));
    expect(rows[0][3]).toMatch(/S/);
    expect(rows.at(-1)![3]).toMatch(/A.*S|S.*A/);
  });
});
