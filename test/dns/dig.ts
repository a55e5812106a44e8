// Runs the real dig and reads its output back into header and sections.
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';

const run = promisify(execFile);

export interface DigResult {
  status: string;
  flags: string[];
  answer: string[];
  authority: string[];
  additional: string[];
  /** SERVER line: (UDP) or (TCP). */
  transport: string;
  raw: string;
}

/** A record line as "name ttl class type data" with single spaces (dig aligns with tabs). */
const norm = (l: string) => l.trim().split(/\s+/).join(' ');

export function parseDig(text: string): DigResult {
  const status = /status: ([A-Z]+)/.exec(text)?.[1] ?? '';
  const flags = (/;; flags: ([a-z ]*);/.exec(text)?.[1] ?? '').trim().split(' ').filter(Boolean);
  const section = (name: string) => {
    const m = new RegExp(`;; ${name} SECTION:\\n([\\s\\S]*?)(?:\\n\\n|$)`).exec(text);
    return m ? m[1].split('\n').filter((l) => l && !l.startsWith(';')).map(norm) : [];
  };
  const transport = /;; SERVER: .*\((UDP|TCP)\)/.exec(text)?.[1] ?? '';
  return { status, flags, answer: section('ANSWER'), authority: section('AUTHORITY'), additional: section('ADDITIONAL'), transport, raw: text };
}

export async function dig(port: number, args: string[]): Promise<DigResult> {
  const { stdout } = await run('dig', ['@127.0.0.1', '-p', String(port), '+time=2', '+tries=1', ...args]);
  return parseDig(stdout);
}

export async function hasDig(): Promise<boolean> {
  try {
    await run('dig', ['-v']);
    return true;
  } catch {
    return false;
  }
}
