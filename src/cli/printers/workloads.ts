// Tables for the workload controllers: printDeployment, printReplicaSet, printStatefulSet and printDaemonSet
// in pkg/printers/internalversion/printers.go. Counts print as Go's zero value when the field is absent.
import type { DaemonSet, Deployment, ReplicaSet, StatefulSet } from '../../cluster/objects.ts';
import { AGE, NAME, containerCells, type KindTable } from './columns.ts';
import { age } from './duration.ts';
import { formatLabels, formatLabelSelector, selectorString } from './labels.ts';

const CONTAINERS = { name: 'Containers', wide: true } as const;
const IMAGES = { name: 'Images', wide: true } as const;
const SELECTOR = { name: 'Selector', wide: true } as const;

const n = (v: number | undefined): string => `${v ?? 0}`;

export const deploymentTable: KindTable<Deployment> = {
  columns: [NAME, { name: 'Ready' }, { name: 'Up-to-date' }, { name: 'Available' }, AGE, CONTAINERS, IMAGES, SELECTOR],
  cells(d, now) {
    return [
      d.metadata?.name ?? '', `${n(d.status?.readyReplicas)}/${n(d.spec?.replicas)}`, n(d.status?.updatedReplicas),
      n(d.status?.availableReplicas), age(d.metadata?.creationTimestamp, now),
      ...containerCells(d.spec?.template?.spec?.containers), selectorString(d.spec?.selector) ?? '<invalid>',
    ];
  },
};

export const replicaSetTable: KindTable<ReplicaSet> = {
  columns: [NAME, { name: 'Desired' }, { name: 'Current' }, { name: 'Ready' }, AGE, CONTAINERS, IMAGES, SELECTOR],
  cells(rs, now) {
    return [
      rs.metadata?.name ?? '', n(rs.spec?.replicas), n(rs.status?.replicas), n(rs.status?.readyReplicas),
      age(rs.metadata?.creationTimestamp, now), ...containerCells(rs.spec?.template?.spec?.containers),
      formatLabelSelector(rs.spec?.selector),
    ];
  },
};

export const statefulSetTable: KindTable<StatefulSet> = {
  columns: [NAME, { name: 'Ready' }, AGE, CONTAINERS, IMAGES],
  cells(ss, now) {
    return [
      ss.metadata?.name ?? '', `${n(ss.status?.readyReplicas)}/${n(ss.spec?.replicas)}`,
      age(ss.metadata?.creationTimestamp, now), ...containerCells(ss.spec?.template?.spec?.containers),
    ];
  },
};

export const daemonSetTable: KindTable<DaemonSet> = {
  columns: [
    NAME, { name: 'Desired' }, { name: 'Current' }, { name: 'Ready' }, { name: 'Up-to-date' }, { name: 'Available' },
    { name: 'Node Selector' }, AGE, CONTAINERS, IMAGES, SELECTOR,
  ],
  cells(ds, now) {
    const s = ds.status;
    return [
      ds.metadata?.name ?? '', n(s?.desiredNumberScheduled), n(s?.currentNumberScheduled), n(s?.numberReady),
      n(s?.updatedNumberScheduled), n(s?.numberAvailable), formatLabels(ds.spec?.template?.spec?.nodeSelector),
      age(ds.metadata?.creationTimestamp, now), ...containerCells(ds.spec?.template?.spec?.containers),
      formatLabelSelector(ds.spec?.selector),
    ];
  },
};
