// Topology files on disk, for commands that read them the way a person's shell passes them.
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

/** `text` saved as `name` in a directory of its own (its dirname, for a test that removes it afterwards). */
export function topologyFile(text: string, name = 'topo.yaml'): string {
  const f = join(mkdtempSync(join(tmpdir(), 'kdp-test-')), name);
  writeFileSync(f, text);
  return f;
}
