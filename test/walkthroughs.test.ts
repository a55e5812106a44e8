// Runs every command of docs/walkthroughs/*.md and checks the output the page shows beside it, so the pages
// cannot drift from what kdp does. A page's ```console blocks hold `$ COMMAND` lines, each followed by the key
// lines of its output: every one must appear, in that order, in what the command prints (stdout and stderr,
// runs of blanks counted as one; `...` marks lines left out). A `kdp up` runs in the background until its
// lines have appeared and stays up until the page ends, as it would in a second terminal.
import { spawn, type ChildProcess } from 'node:child_process';
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';

const ROOT = join(import.meta.dirname, '..');
const DIR = join(ROOT, 'docs/walkthroughs');
const ENV = { ...process.env, PATH: `${join(ROOT, 'node_modules/.bin')}:${process.env.PATH}`, NO_COLOR: '1' };

interface Step {
  command: string;
  expect: string[];
  line: number;
}

function steps(markdown: string): Step[] {
  const out: Step[] = [];
  let inBlock = false;
  markdown.split('\n').forEach((text, i) => {
    if (/^```console\s*$/.test(text)) inBlock = true;
    else if (inBlock && /^```\s*$/.test(text)) inBlock = false;
    else if (inBlock && text.startsWith('$ ')) out.push({ command: text.slice(2), expect: [], line: i + 1 });
    else if (inBlock && out.length > 0 && text.trim() !== '' && text.trim() !== '...') out.at(-1)!.expect.push(text);
  });
  return out;
}

const squash = (s: string) => s.replace(/\s+/g, ' ').trim();

/** The expected lines not found in order in the output; empty when all are there. */
function missing(output: string, expected: string[]): string[] {
  const lines = output.split('\n').map(squash);
  let at = 0;
  for (const [k, want] of expected.map(squash).entries()) {
    const found = lines.findIndex((l, j) => j >= at && l.includes(want));
    if (found < 0) return expected.slice(k);
    at = found + 1;
  }
  return [];
}

function run(command: string): Promise<string> {
  return new Promise((resolve) => {
    const child = spawn('bash', ['-c', command], { cwd: ROOT, env: ENV });
    let output = '';
    child.stdout.on('data', (d) => (output += d));
    child.stderr.on('data', (d) => (output += d));
    child.on('close', () => resolve(output));
  });
}

const background: ChildProcess[] = [];
/** What each background `kdp up` has printed so far: a failing step shows it (a warning there often says why). */
const backgroundOutput: string[] = [];
afterEach(() => {
  backgroundOutput.length = 0;
  for (const child of background.splice(0)) if (child.exitCode === null) process.kill(-child.pid!, 'SIGINT');
});

function start(step: Step): Promise<string> {
  return new Promise((resolve, reject) => {
    const child = spawn('bash', ['-c', `exec ${step.command}`], { cwd: ROOT, env: ENV, detached: true });
    background.push(child);
    let output = '';
    const slot = backgroundOutput.push('') - 1;
    const timer = setTimeout(() => reject(new Error(`line ${step.line}: not ready in 60 s:\n${output}`)), 60_000);
    const check = (d: Buffer) => {
      output += d;
      backgroundOutput[slot] = output;
      if (missing(output, step.expect).length === 0) {
        clearTimeout(timer);
        resolve(output);
      }
    };
    child.stdout!.on('data', check);
    child.stderr!.on('data', check);
    child.on('close', () => {
      clearTimeout(timer);
      resolve(output);
    });
  });
}

const pages = readdirSync(DIR).filter((f) => f.endsWith('.md')).sort();

describe('docs/walkthroughs', () => {
  it('has the three walkthroughs, each with commands and their output', () => {
    expect(pages).toEqual(expect.arrayContaining(['client-ip.md', 'dns-search.md', 'no-endpoints.md']));
    for (const page of pages) {
      const s = steps(readFileSync(join(DIR, page), 'utf8'));
      expect(s.length, page).toBeGreaterThan(3);
      expect(s.filter((x) => x.expect.length === 0).map((x) => x.command), `${page}: commands without output`).toEqual([]);
    }
  });

  it('reads a page as commands and their key lines', () => {
    const page = 'text\n```console\n$ echo a\na\n...\n\n$ true\n```\n$ not a command\n';
    expect(steps(page)).toEqual([
      { command: 'echo a', expect: ['a'], line: 3 },
      { command: 'true', expect: [], line: 7 },
    ]);
    expect(missing('x\n b  c \nd', ['b c', 'd'])).toEqual([]);
    expect(missing('d\nb c', ['b c', 'd'])).toEqual(['d']);
  });

  for (const page of pages) {
    it(`${page}: every command prints what the page shows`, { timeout: 300_000 }, async () => {
      for (const step of steps(readFileSync(join(DIR, page), 'utf8'))) {
        const output = /(^|\s)kdp up\b/.test(step.command) ? await start(step) : await run(step.command);
        const running = backgroundOutput.map((o) => `\n--- meanwhile, in the background:\n${o}`).join('');
        expect(missing(output, step.expect), `${page}:${step.line}: $ ${step.command}\n${output}${running}`).toEqual([]);
      }
    });
  }
});
