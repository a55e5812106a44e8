// kdp get: kubectl get's listing of the model — same resource names, flags, columns, sorting and messages.
import type { Cluster } from '../../cluster/cluster.ts';
import { resolveResource, type KindInfo, type KubeObject } from '../../cluster/objects.ts';
import { parseSelector, type Selector } from '../../cluster/labels.ts';
import { UserError, type IO } from '../io.ts';
import { printTable, noResourcesMessage } from '../printers/table.ts';
import { asList, toJSON, toYAML } from '../printers/serialize.ts';
import { byteOrder } from '../printers/order.ts';

export interface GetOptions {
  namespace?: string;
  allNamespaces?: boolean;
  output?: string;
  selector?: string;
}

const OUTPUTS = ['wide', 'yaml', 'json', 'name'];

/** "pods", "pods,svc", "pod/web-1" -> the kinds asked for and any names given in TYPE/NAME form. */
function parseTargets(args: string[]): { kinds: KindInfo[]; names: string[] } {
  if (args.length === 0) {
    throw new UserError('You must specify the type of resource to get. Use "kdp get --help" for the kinds kdp knows (nodes, pods, services, endpoints, endpointslices, ingresses, ...).');
  }
  const resolve = (t: string): KindInfo => {
    const k = resolveResource(t);
    if (!k) throw new UserError(`the server doesn't have a resource type "${t}"`);
    return k;
  };
  if (args.every((a) => a.includes('/'))) {
    const pairs = args.map((a) => a.split('/'));
    const kinds = [...new Map(pairs.map(([t]) => { const k = resolve(t); return [k.kind, k] as const; })).values()];
    if (kinds.length > 1) throw new UserError('kdp get takes TYPE/NAME arguments of one type at a time');
    return { kinds, names: pairs.map(([, n]) => n) };
  }
  const [first, ...names] = args;
  return { kinds: first.split(',').map(resolve), names };
}

const sortKey = (o: KubeObject) => `${o.metadata.namespace ?? ''}\0${o.metadata.name}`;

export function get(cluster: Cluster, args: string[], opts: GetOptions, io: IO): number {
  const { kinds, names } = parseTargets(args);
  const output = opts.output ?? '';
  if (output && !OUTPUTS.includes(output)) throw new UserError(`unable to match a printer suitable for the output format "${output}", allowed formats are: ${OUTPUTS.join(',')}`);
  if (names.length && kinds.length > 1) throw new UserError('you may only specify a single resource type when naming objects');
  let selector: Selector | undefined;
  try {
    selector = opts.selector ? parseSelector(opts.selector) : undefined;
  } catch (e) {
    throw new UserError((e as Error).message);
  }
  const namespace = opts.allNamespaces ? undefined : opts.namespace ?? 'default';

  const found: { kind: KindInfo; objects: KubeObject[] }[] = [];
  let missing = 0;
  for (const kind of kinds) {
    const ns = kind.namespaced ? namespace : undefined;
    let objects: KubeObject[];
    if (names.length) {
      objects = [];
      for (const n of names) {
        const o = cluster.store.get(kind.kind, ns ?? 'default', n);
        if (o) objects.push(o);
        else {
          io.stderr(`Error from server (NotFound): ${kind.resource} "${n}" not found\n`);
          missing++;
        }
      }
    } else {
      objects = cluster.store.list(kind.kind, { namespace: ns, selector }).sort((a, b) => byteOrder(sortKey(a), sortKey(b)));
    }
    found.push({ kind, objects });
  }

  const all = found.flatMap((f) => f.objects);
  if (output === 'json' || output === 'yaml') {
    const value = names.length === 1 && kinds.length === 1 && all.length === 1 ? all[0] : asList(all);
    if (all.length || names.length === 0) io.stdout(output === 'json' ? toJSON(value) : toYAML(value));
  } else if (output === 'name') {
    for (const f of found) for (const o of f.objects) io.stdout(`${qualifiedType(f.kind)}/${o.metadata.name}\n`);
  } else {
    const tables = found.filter((f) => f.objects.length > 0).map((f) => printTable(f.kind.kind, f.objects, {
      wide: output === 'wide',
      withNamespace: opts.allNamespaces === true && f.kind.namespaced,
      now: io.now(),
      ...(kinds.length > 1 ? { typePrefix: qualifiedType(f.kind) } : {}),
    }));
    io.stdout(tables.join('\n'));
  }
  if (all.length === 0 && names.length === 0 && output !== 'json' && output !== 'yaml') {
    io.stderr(`${noResourcesMessage(kinds.every((k) => k.namespaced) ? namespace : undefined)}\n`);
  }
  return missing ? 1 : 0;
}

/** The TYPE kubectl prints in TYPE/NAME: the resource in singular, with its group ("deployment.apps"). */
function qualifiedType(k: KindInfo): string {
  const group = k.apiVersion.includes('/') ? k.apiVersion.split('/')[0] : '';
  return `${k.kind.toLowerCase()}${group ? `.${group}` : ''}`;
}
