// `kdp up` runs the pods' listeners, prints where each pod port is served, and closes them on Ctrl-C.
import { describe, expect, it } from 'vitest';
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { kdpUp } from '../helpers/cli.ts';
import { until } from '../helpers/until.ts';
import { formatListeners } from '../../src/cli/printers/listeners.ts';

const run = promisify(execFile);

describe('kdp up', () => {
  it('prints a real address per pod port; curl gets the pod\'s app there; Ctrl-C closes them', async () => {
    const up = kdpUp(['topologies/default.yaml', '--loopback', '127.21']);
    await until(() => up.stdout.includes('Press Ctrl-C'), 20_000);
    expect(up.stdout).toContain('Pod ports (');
    const m = /^  (default\/web-[a-z0-9-]+) +10\.244\.\d+\.\d+:8080 +agnhost netexec +(http:\/\/127\.0\.0\.1:\d+\/)$/m.exec(up.stdout);
    expect(m, up.stdout).not.toBeNull();
    const { stdout: hostname } = await run('curl', ['-s', `${m![2]}hostname`]);
    expect(hostname).toBe(m![1].split('/')[1]);
    // The postgres pods run no HTTP app kdp knows: kdp's echo answers on their declared port.
    expect(up.stdout).toMatch(/^  default\/db-0 +10\.244\.\d+\.\d+:5432 +echo +http:/m);
    // The client pod runs agnhost pause: nothing listens, nothing is listed.
    expect(up.stdout).not.toMatch(/^  default\/client /m);
    up.interrupt();
    expect(await up.code).toBe(0);
    expect(up.stderr).toBe('');
    await expect(run('curl', ['-s', '--max-time', '2', `${m![2]}hostname`])).rejects.toThrow();
  }, 60_000);

  it('lists the first ports and counts the rest', () => {
    const rows = Array.from({ length: 25 }, (_, i) => ({ pod: `default/p${i}`, container: 'c', app: 'echo', podIP: `10.244.1.${i + 2}`, port: 80, real: { host: '127.0.0.1' as const, port: 40000 + i } }));
    const out = formatListeners(rows, 20);
    expect(out[0]).toBe('Pod ports (25), each served by a real listener on this machine:');
    expect(out[1]).toMatch(/^  POD +POD IP:PORT +APP +SERVED AT$/);
    expect(out[2]).toMatch(/^  default\/p0 +10\.244\.1\.2:80 +echo +http:\/\/127\.0\.0\.1:40000\/$/);
    expect(out).toHaveLength(1 + 1 + 20 + 1);
    expect(out[out.length - 1]).toBe('  ... and 5 more');
  });
});
