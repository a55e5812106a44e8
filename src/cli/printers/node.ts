// The nodes table: printNode in pkg/printers/internalversion/printers.go.
import type { Node } from '../../cluster/objects.ts';
import { AGE, NAME, type KindTable } from './columns.ts';
import { age } from './duration.ts';
import { byteOrder } from './order.ts';

const ROLE_PREFIX = 'node-role.kubernetes.io/';
const LEGACY_ROLE_LABEL = 'kubernetes.io/role';

/** findNodeRoles: node-role.kubernetes.io/<role> keys plus the legacy kubernetes.io/role value, as a sorted set. */
function roles(node: Node): string {
  const found = new Set<string>();
  for (const [key, value] of Object.entries(node.metadata?.labels ?? {})) {
    if (key.startsWith(ROLE_PREFIX)) {
      if (key.length > ROLE_PREFIX.length) found.add(key.slice(ROLE_PREFIX.length));
    } else if (key === LEGACY_ROLE_LABEL && value !== '') {
      found.add(value);
    }
  }
  return found.size === 0 ? '<none>' : [...found].sort(byteOrder).join(',');
}

/** Only the Ready condition counts; a later duplicate replaces an earlier one, as in Go's condition map. */
function status(node: Node): string {
  const ready = (node.status?.conditions ?? []).filter((c) => c.type === 'Ready').pop();
  const parts = [ready === undefined ? 'Unknown' : ready.status === 'True' ? 'Ready' : 'NotReady'];
  if (node.spec?.unschedulable) parts.push('SchedulingDisabled');
  return parts.join(',');
}

const address = (node: Node, type: string): string =>
  node.status?.addresses?.find((a) => a.type === type)?.address ?? '<none>';

export const nodeTable: KindTable<Node> = {
  columns: [
    NAME, { name: 'Status' }, { name: 'Roles' }, AGE, { name: 'Version' },
    { name: 'Internal-IP', wide: true }, { name: 'External-IP', wide: true }, { name: 'OS-Image', wide: true },
    { name: 'Kernel-Version', wide: true }, { name: 'Container-Runtime', wide: true },
  ],
  cells(node, now) {
    const info = node.status?.nodeInfo;
    return [
      node.metadata?.name ?? '', status(node), roles(node), age(node.metadata?.creationTimestamp, now),
      info?.kubeletVersion ?? '', address(node, 'InternalIP'), address(node, 'ExternalIP'),
      info?.osImage || '<unknown>', info?.kernelVersion || '<unknown>', info?.containerRuntimeVersion || '<unknown>',
    ];
  },
};
