// What `kdp up` says about the cluster's outside entrances: each NodePort, LoadBalancer IP and externalIP, and
// the ready-to-paste curl that reaches it through its loopback listener.
import type { Entrance } from '../../dataplane/nodeports.ts';
import { GET_TABWRITER, tabwrite } from './tabwriter.ts';
import { MAX_LISTED } from './listeners.ts';

/** `single`: every entrance on 127.0.0.1 at a port of its own (this machine has no other loopback address). */
export function formatEntrances(rows: Entrance[], client: string, pool: string, single = false, max = MAX_LISTED): string[] {
  if (rows.length === 0) return [];
  const shown = rows.slice(0, max);
  const table = tabwrite([
    ['SERVICE', 'TYPE', 'NODE', 'ADDRESS', 'CURL'],
    ...shown.map((e) => [e.service, e.kind, e.node ?? '', `${e.dst}:${e.dport}`, e.error ? `(cannot listen on ${e.host}:${e.port}: ${e.error})` : `curl http://${e.host}:${e.port}/`]),
  ], GET_TABWRITER).trimEnd().split('\n').map((l) => `  ${l}`);
  const more = rows.length - shown.length;
  return [
    single
      ? `From outside the cluster (client ${client}; this machine has only 127.0.0.1, so each node's NodePort, LoadBalancer IP and externalIP listens there on a port of its own, the CURL column's; LoadBalancer IPs from ${pool}):`
      : `From outside the cluster (client ${client}; each node's NodePorts on its own loopback address, LoadBalancer IPs from ${pool}):`,
    ...table,
    ...(more > 0 ? [`  ... and ${more} more`] : []),
  ];
}
