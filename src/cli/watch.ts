// kdp up's watch on its topology files: a saved file is re-read, validated as `kdp validate` does, and applied
// live. The directories are watched rather than the files, so an editor that saves by writing a new file and
// renaming it over the old one (a new inode) is still seen; an editor's burst of writes is applied once.
import { watch, type FSWatcher } from 'node:fs';
import { basename, dirname, resolve } from 'node:path';
import { statSync } from 'node:fs';
import { hasErrors, loadClusterFromText, type Cluster } from '../cluster/cluster.ts';
import { loadTopology } from '../cluster/topology/load.ts';
import { readSources, type Source } from '../cluster/topology/sources.ts';
import { formatProblem, TopologyError } from '../cluster/problems.ts';
import { applyTopology, declaredObjects, type Declared } from '../cluster/apply.ts';
import { checkCorefile } from '../dns/service.ts';
import type { IO } from './io.ts';

const MANIFEST = /\.(ya?ml|json)$/i;
/** Long enough to gather an editor's write, truncate and rename of one save. */
export const DEBOUNCE_MS = 150;

export interface TopologyWatch {
  close(): void;
}

const sameSources = (a: Source[], b: Source[]) => a.length === b.length && a.every((s, i) => s.file === b[i].file && s.text === b[i].text);

function read(files: readonly string[], io: IO): Source[] | undefined {
  try {
    return readSources(files);
  } catch (e) {
    // A file can vanish between the directory listing and its reading while an editor renames: said, not fatal.
    if (e instanceof TopologyError) for (const p of e.problems) io.stderr(`${formatProblem(p)}\n`);
    else io.stderr(`error: ${(e as Error).message}\n`);
    return undefined;
  }
}

/** What `kdp validate` would print for these sources, tried on a cluster of their own. */
function validated(sources: Source[], io: IO): { errors: string[]; warnings: string[] } {
  const trial = loadClusterFromText(sources, { now: io.now });
  const dns = checkCorefile(trial);
  const errors = hasErrors(trial.problems) || dns.errors.length ? [...trial.problems.filter((p) => p.severity === 'error').map(formatProblem), ...dns.errors] : [];
  return { errors, warnings: [...trial.problems.filter((p) => p.severity === 'warning').map(formatProblem), ...dns.warnings] };
}

/**
 * Watches the files `kdp up` was given (stdin, `-`, is not watchable and is skipped) and applies each saved
 * change to the running cluster, printing kubectl's line per change.
 */
export function watchTopology(cluster: Cluster, files: readonly string[], io: IO, opts: { debounceMs?: number } = {}): TopologyWatch {
  const paths = files.filter((f) => f !== '-');
  let sources = read(paths, io) ?? [];
  let declared: Declared = declaredObjects(loadTopology(sources));
  // kdp up printed the warnings at start; a save prints only those it brings.
  let warned = new Set(sources.length ? validated(sources, io).warnings : []);
  let timer: NodeJS.Timeout | undefined;
  let closed = false;

  const reapply = () => {
    timer = undefined;
    if (closed) return;
    try {
      applySaved();
    } catch (e) {
      // The running cluster outlives a change it cannot take.
      io.stderr(`kdp: the saved topology was not applied: ${(e as Error).message}\n`);
    }
  };
  const applySaved = () => {
    const next = read(paths, io);
    if (!next || sameSources(next, sources)) return;
    const { errors, warnings } = validated(next, io);
    if (errors.length) {
      for (const l of errors) io.stderr(`${l}\n`);
      io.stderr(`kdp: topology not applied (${errors.length} error${errors.length === 1 ? '' : 's'}); the cluster keeps its state\n`);
      return;
    }
    for (const w of warnings) if (!warned.has(w)) io.stderr(`${w}\n`);
    warned = new Set(warnings);
    sources = next;
    const seen = cluster.problems.length;
    const result = applyTopology(cluster, declared, loadTopology(next));
    declared = result.declared;
    for (const w of [...result.warnings, ...result.errors]) io.stderr(`${w}\n`);
    for (const p of cluster.problems.slice(seen)) if (p.severity === 'error') io.stderr(`${formatProblem(p)}\n`);
    for (const l of result.lines) io.stdout(`${l}\n`);
  };
  const changed = () => {
    if (closed) return;
    clearTimeout(timer);
    timer = setTimeout(reapply, opts.debounceMs ?? DEBOUNCE_MS);
  };

  // Each directory once: a file's own directory (filtered to its name), or a directory given whole.
  const wanted = new Map<string, (name: string) => boolean>();
  for (const p of paths) {
    let isDir = false;
    try {
      isDir = statSync(p).isDirectory();
    } catch {
      continue;
    }
    const dir = resolve(isDir ? p : dirname(p));
    const prev = wanted.get(dir);
    const mine = isDir ? (n: string) => MANIFEST.test(n) : (n: string) => n === basename(p);
    wanted.set(dir, prev ? (n) => prev(n) || mine(n) : mine);
  }
  const watchers: FSWatcher[] = [];
  for (const [dir, match] of wanted) {
    try {
      const w = watch(dir, (_event, name) => {
        if (!name || match(name.toString())) changed();
      });
      // A watched directory removed or unreadable: said once, the cluster keeps running.
      w.on('error', (e) => io.stderr(`kdp: stopped watching ${dir}: ${e.message}\n`));
      watchers.push(w);
    } catch (e) {
      io.stderr(`kdp: cannot watch ${dir}: ${(e as Error).message}\n`);
    }
  }
  return {
    close() {
      closed = true;
      clearTimeout(timer);
      for (const w of watchers) w.close();
    },
  };
}
