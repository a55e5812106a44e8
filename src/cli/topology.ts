// Turning the -f arguments of any verb into a loaded cluster, and its problems into output.
import { fileURLToPath } from 'node:url';
import { hasErrors, loadCluster, type Cluster } from '../cluster/cluster.ts';
import { formatProblem } from '../cluster/problems.ts';
import type { IO } from './io.ts';

/** The embedded default topology: what `kdp up` (npm start) runs when given no files. */
export const DEFAULT_TOPOLOGY = fileURLToPath(new URL('../../topologies/default.yaml', import.meta.url));

export function collect(value: string, previous: string[] = []): string[] {
  return [...previous, value];
}

/** Loads the topology; prints its problems (warnings included when `verbose`); undefined when it has errors. */
export function loadOrReport(files: string[], io: IO, opts: { warnings: boolean }): Cluster | undefined {
  const cluster = loadCluster(files.length ? files : [DEFAULT_TOPOLOGY], { now: io.now, stdin: io.stdin });
  const shown = cluster.problems.filter((p) => p.severity === 'error' || opts.warnings);
  for (const p of shown) io.stderr(`${formatProblem(p)}\n`);
  return hasErrors(cluster.problems) ? undefined : cluster;
}
