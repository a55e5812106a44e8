// The ReplicaSet controller: keeps spec.replicas pods from the template, named <rs>-<5 chars>, owned by the RS.
import type { Controller, ControllerContext } from './controller.ts';
import { ownerReferences, resyncOwnerOfDeletedPods, syncDesiredState } from './controller.ts';
import type { KubeObject, Pod, ReplicaSet } from '../objects.ts';
import { isPodReady, isPodTerminal } from '../podutil.ts';

type RS = ReplicaSet & KubeObject;

export function ownedPods(ctx: ControllerContext, owner: KubeObject): (Pod & KubeObject)[] {
  return ctx.store.listOwnedBy<Pod & KubeObject>('Pod', owner.metadata.uid!);
}

/** A pod made from a workload's template, as controller.GetPodFromTemplate makes it. */
export function podFromTemplate(owner: KubeObject, template: NonNullable<ReplicaSet['spec']>['template'], generateName: string): Pod & KubeObject {
  return {
    apiVersion: 'v1',
    kind: 'Pod',
    metadata: {
      name: '',
      generateName,
      namespace: owner.metadata.namespace,
      labels: template?.metadata?.labels ?? {},
      ...(template?.metadata?.annotations ? { annotations: { ...template.metadata.annotations } } : {}),
      ownerReferences: ownerReferences(owner),
    },
    spec: template?.spec ?? { containers: [] },
  };
}

/** controller.ActivePods ranking, reduced: the pods a scale-down removes first (unscheduled, pending, not ready, newest). */
function deletionRank(p: Pod): number[] {
  return [p.spec?.nodeName ? 1 : 0, p.status?.phase === 'Running' ? 1 : 0, isPodReady(p) ? 1 : 0];
}

export class ReplicaSetController implements Controller {
  readonly name = 'replicaset';

  start(ctx: ControllerContext): void {
    syncDesiredState<RS>(ctx, 'ReplicaSet', (rs) => this.sync(ctx, rs));
    resyncOwnerOfDeletedPods<RS>(ctx, 'ReplicaSet', (owner) => this.sync(ctx, owner));
  }

  sync(ctx: ControllerContext, rs: RS): void {
    const want = rs.spec?.replicas ?? 1;
    const active = ownedPods(ctx, rs).filter((p) => !isPodTerminal(p) && !p.metadata.deletionTimestamp);
    // One base string for the whole batch: the name generator keys its sequences by it.
    const generateName = `${rs.metadata.name}-`;
    for (let n = active.length; n < want; n++) ctx.api.create(podFromTemplate(rs, rs.spec!.template, generateName));
    if (active.length > want) {
      const order = active.map((p, i) => ({ p, i, r: deletionRank(p) }))
        .sort((a, b) => a.r[0] - b.r[0] || a.r[1] - b.r[1] || a.r[2] - b.r[2] || b.i - a.i);
      for (const { p } of order.slice(0, active.length - want)) ctx.api.delete('Pod', p.metadata.namespace, p.metadata.name);
    }
  }
}
