// The command as a person runs it: a real process from bin/, as npm installs it.
import { describe, expect, it } from 'vitest';
import { spawn, spawnSync } from 'node:child_process';

describe('the kdp executable', () => {
  it('answers --help right after npm install (no build step)', () => {
    const r = spawnSync('npx', ['--no-install', 'kdp', '--help'], { encoding: 'utf8' });
    expect(r.status).toBe(0);
    expect(r.stdout).toMatch(/^Usage: kdp \[options\] \[command\]/);
    for (const verb of ['up', 'validate', 'get', 'describe']) expect(r.stdout).toMatch(new RegExp(`^  ${verb}\\b`, 'm'));
  });

  it('exits 1 with the problem, not a stack trace, on bad input', () => {
    const r = spawnSync('node', ['bin/kdp.js', 'validate', '-f', '-'], { input: 'kind: [\n', encoding: 'utf8' });
    expect(r.status).toBe(1);
    expect(r.stderr).toMatch(/^error: <stdin>:\d+: YAML syntax: /);
    expect(r.stderr).not.toMatch(/\n\s+at /);
  });

  it('runs `kdp up` until Ctrl-C (SIGINT to its whole process group, as a terminal sends it), its Ingress workers\' last lines written', async () => {
    // A process group of its own, as a shell's foreground job: Ctrl-C signals every process in it.
    const child = spawn('node', ['bin/kdp.js', 'up', '--loopback', '127.25', '--ingress-workers', '2'], { stdio: ['ignore', 'pipe', 'pipe'], detached: true });
    let out = '';
    const exited = new Promise<number | null>((resolve) => child.on('exit', (code) => resolve(code)));
    try {
      await new Promise<void>((resolve, reject) => {
        const timer = setTimeout(() => reject(new Error(`kdp up did not start: ${out}`)), 15_000);
        child.stdout.on('data', (d) => {
          out += d;
          if (out.includes('Press Ctrl-C to stop.')) {
            clearTimeout(timer);
            resolve();
          }
        });
      });
      expect(out).toMatch(/^kdp: cluster "demo" is up: 3 nodes, 8 pods, 6 services/);
      const port = /^Ingress controller on http:\/\/127\.0\.0\.1:(\d+) /m.exec(out)![1];
      const curl = spawnSync('curl', ['-s', '-o', '/dev/null', '-w', '%{http_code}', '-H', 'Host: web.example.com', `http://127.0.0.1:${port}/`], { encoding: 'utf8' });
      expect(curl.stdout).toBe('200');
      process.kill(-child.pid!, 'SIGINT');
      expect(await exited).toBe(0);
      // The workers heard Ctrl-C too, but wrote their access log out before they stopped, told by kdp.
      expect(out).toMatch(/"GET \/ HTTP\/1\.1" 200 .* \[default-web-http\] /);
      expect(out).toMatch(/kdp: stopped\n$/);
      // Nothing of it is left (its helpers end a moment after it).
      const left = () => spawnSync('pgrep', ['-a', '-g', String(child.pid)], { encoding: 'utf8' }).stdout;
      for (let i = 0; i < 100 && left(); i++) await new Promise((r) => setTimeout(r, 20));
      expect(left()).toBe('');
    } finally {
      try {
        process.kill(-child.pid!, 'SIGKILL');
      } catch {
        // Already gone.
      }
    }
  });

  it('`kdp up` on a topology the data plane refuses exits 1 with the problem instead of waiting for Ctrl-C', () => {
    const topology = `apiVersion: v1
kind: ConfigMap
metadata: {name: kube-flannel-cfg, namespace: kube-system}
data:
  cni-conf.json: '{"name": "cbr0", "plugins": [{"type": "bridge"}]}'
`;
    const r = spawnSync('node', ['bin/kdp.js', 'up', '-f', '-'], { input: topology, encoding: 'utf8', timeout: 30_000 });
    expect(r.status).toBe(1);
    expect(r.stderr).toContain('error: <stdin>:5: ConfigMap kube-system/kube-flannel-cfg: data.cni-conf.json: plugins[0]: kdp wires pods');
  });
});
