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
