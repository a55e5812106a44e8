// `kubectl get` tables: the apiserver's row printers plus cli-runtime's table printer (decorateTable, printTable).
import { isNamespaced, type KubeObject } from '../../cluster/objects.ts';
import type { KindTable } from './columns.ts';
import { configMapTable, namespaceTable, secretTable } from './config.ts';
import { endpointSliceTable, endpointsTable, ingressClassTable, ingressTable, serviceTable } from './network.ts';
import { nodeTable } from './node.ts';
import { podTable } from './pod.ts';
import { formatTable } from './tabwriter.ts';
import { daemonSetTable, deploymentTable, replicaSetTable, statefulSetTable } from './workloads.ts';

// Each table is written against its own kind's type; printTable only hands it objects of that kind.
const TABLES: Record<string, KindTable<never>> = {
  Node: nodeTable,
  Namespace: namespaceTable,
  Pod: podTable,
  Service: serviceTable,
  Endpoints: endpointsTable,
  EndpointSlice: endpointSliceTable,
  Ingress: ingressTable,
  IngressClass: ingressClassTable,
  ConfigMap: configMapTable,
  Secret: secretTable,
  Deployment: deploymentTable,
  ReplicaSet: replicaSetTable,
  StatefulSet: statefulSetTable,
  DaemonSet: daemonSetTable,
};

export interface TableOptions {
  /** -o wide: show the priority-1 columns. */
  wide: boolean;
  /** -A: a NAMESPACE column first (never for cluster-scoped kinds, as get.go decides). */
  withNamespace: boolean;
  now: Date;
  /** When several kinds are listed, names print as TYPE/NAME ("deployment.apps/web"); this is the TYPE. */
  typePrefix?: string;
}

/**
 * appendCellValue: a cell is cut at its first line break (tabwriter would start a new line there) and marked
 * with "...", and terminal escapes are made visible.
 */
function cellText(cell: string): string {
  const cut = cell.search(/[\n\r\f]/);
  const text = cut < 0 ? cell : cell.slice(0, cut);
  const escaped = text.replaceAll('\x1b', '^[');
  return cut < 0 ? escaped : `${escaped}...`;
}

/** All objects must be of `kind`. With no objects kubectl prints nothing at all, not even the header. */
export function printTable(kind: string, objects: KubeObject[], opts: TableOptions): string {
  const table = TABLES[kind] as KindTable<KubeObject> | undefined;
  if (!table) throw new Error(`no table printer for kind ${kind}`);
  if (objects.length === 0) return '';
  const shown = table.columns.flatMap((c, i) => (c.wide && !opts.wide ? [] : [i]));
  const withNamespace = opts.withNamespace && isNamespaced(kind);
  const header = [...(withNamespace ? ['NAMESPACE'] : []), ...shown.map((i) => table.columns[i].name.toUpperCase())];
  const rows = objects.map((obj) => {
    const cells = table.cells(obj, opts.now);
    // Every kind's first column is its name, the column decorateTable rewrites.
    if (opts.typePrefix !== undefined) cells[0] = `${opts.typePrefix}/${cells[0]}`;
    return [...(withNamespace ? [obj.metadata.namespace ?? ''] : []), ...shown.map((i) => cells[i])].map(cellText);
  });
  return formatTable([header, ...rows]);
}

/**
 * get.go's message when nothing matched, without its newline (kubectl writes it to stderr); namespace undefined
 * for -A or cluster-scoped kinds.
 */
export function noResourcesMessage(namespace: string | undefined): string {
  return namespace === undefined ? 'No resources found' : `No resources found in ${namespace} namespace.`;
}
