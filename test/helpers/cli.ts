// Runs the kdp command line in-process with captured output.
import { main } from '../../src/cli/main.ts';
import type { IO } from '../../src/cli/io.ts';
import { NOW } from './cluster.ts';

export interface Run {
  code: number;
  stdout: string;
  stderr: string;
}

export async function kdp(args: string[], opts: { stdin?: string; interrupted?: Promise<void> } = {}): Promise<Run> {
  let stdout = '';
  let stderr = '';
  const io: IO = {
    stdout: (t) => { stdout += t; },
    stderr: (t) => { stderr += t; },
    stdin: () => opts.stdin ?? '',
    now: () => NOW,
    interrupted: () => opts.interrupted ?? Promise.resolve(),
  };
  const code = await main(args, io);
  return { code, stdout, stderr };
}

/** A `kdp up` running in-process, as in a second terminal: what it has printed so far, and its Ctrl-C. */
export interface RunningUp {
  readonly stdout: string;
  readonly stderr: string;
  /** Resolves with the exit code once it has stopped. */
  code: Promise<number>;
  /** Ctrl-C. */
  interrupt(): void;
}

export function kdpUp(args: string[]): RunningUp {
  let interrupt!: () => void;
  const interrupted = new Promise<void>((r) => (interrupt = r));
  const out = { stdout: '', stderr: '' };
  const io: IO = {
    stdout: (t) => { out.stdout += t; },
    stderr: (t) => { out.stderr += t; },
    stdin: () => '',
    now: () => NOW,
    interrupted: () => interrupted,
  };
  const code = main(['up', ...args], io);
  return { get stdout() { return out.stdout; }, get stderr() { return out.stderr; }, code, interrupt };
}
