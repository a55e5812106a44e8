// Tables for namespaces and configuration objects: printNamespace, printConfigMap and printSecret in
// pkg/printers/internalversion/printers.go.
import type { ConfigMap, Namespace, Secret } from '../../cluster/objects.ts';
import { AGE, NAME, type KindTable } from './columns.ts';
import { age } from './duration.ts';

export const namespaceTable: KindTable<Namespace> = {
  columns: [NAME, { name: 'Status' }, AGE],
  cells: (ns, now) => [ns.metadata?.name ?? '', ns.status?.phase ?? '', age(ns.metadata?.creationTimestamp, now)],
};

export const configMapTable: KindTable<ConfigMap> = {
  columns: [NAME, { name: 'Data' }, AGE],
  cells(cm, now) {
    const count = Object.keys(cm.data ?? {}).length + Object.keys(cm.binaryData ?? {}).length;
    return [cm.metadata?.name ?? '', `${count}`, age(cm.metadata?.creationTimestamp, now)];
  },
};

export const secretTable: KindTable<Secret> = {
  columns: [NAME, { name: 'Type' }, { name: 'Data' }, AGE],
  cells(secret, now) {
    // The apiserver's v1 conversion merges stringData into data before the printer counts it.
    const keys = new Set([...Object.keys(secret.data ?? {}), ...Object.keys(secret.stringData ?? {})]);
    return [secret.metadata?.name ?? '', secret.type ?? '', `${keys.size}`, age(secret.metadata?.creationTimestamp, now)];
  },
};
