// Where topology text comes from: files, directories (as `kubectl apply -f DIR`: its .yaml, .yml and
// .json files in name order, not recursive) and `-` for standard input.
import { readFileSync, readdirSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { TopologyError } from '../problems.ts';

export interface Source {
  /** The name problems are reported under: the path as given, or "<stdin>". */
  file: string;
  text: string;
}

const MANIFEST = /\.(ya?ml|json)$/i;

export function readSources(paths: readonly string[], stdin: () => string = () => readFileSync(0, 'utf8')): Source[] {
  const out: Source[] = [];
  for (const p of paths) {
    if (p === '-') {
      out.push({ file: '<stdin>', text: stdin() });
      continue;
    }
    let isDir: boolean;
    try {
      isDir = statSync(p).isDirectory();
    } catch {
      throw new TopologyError([{ severity: 'error', file: p, message: 'no such file or directory' }]);
    }
    if (isDir) {
      const files = readdirSync(p).filter((f) => MANIFEST.test(f)).sort();
      if (files.length === 0) {
        throw new TopologyError([{ severity: 'error', file: p, message: 'directory holds no .yaml, .yml or .json files' }]);
      }
      for (const f of files) out.push({ file: join(p, f), text: readFileSync(join(p, f), 'utf8') });
    } else {
      out.push({ file: p, text: readFileSync(p, 'utf8') });
    }
  }
  return out;
}
