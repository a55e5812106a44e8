// What `kdp up` says about the pods' real listeners: which loopback address serves each pod port.
import type { ContainerRuntime } from '../../kubelet/runtime.ts';
import { GET_TABWRITER, tabwrite } from './tabwriter.ts';

/** Listed one per line up to this many; beyond, a count (a big topology would drown the rest). */
export const MAX_LISTED = 20;

export function formatListeners(rows: ReturnType<ContainerRuntime['listening']>, max = MAX_LISTED): string[] {
  if (rows.length === 0) return [];
  // The user's own pods first, then the system's.
  const sorted = [...rows.filter((r) => !r.pod.startsWith('kube-system/')), ...rows.filter((r) => r.pod.startsWith('kube-system/'))];
  const shown = sorted.slice(0, max);
  const table = tabwrite([
    ['POD', 'POD IP:PORT', 'APP', 'SERVED AT'],
    ...shown.map((r) => [r.pod, `${r.podIP}:${r.port}`, r.app, r.real ? `http://${r.real.host}:${r.real.port}/` : '(starting)']),
  ], GET_TABWRITER).trimEnd().split('\n').map((l) => `  ${l}`);
  const more = sorted.length - shown.length;
  return [
    `Pod ports (${rows.length}), each served by a real listener on this machine:`,
    ...table,
    ...(more > 0 ? [`  ... and ${more} more`] : []),
  ];
}
