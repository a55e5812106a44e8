// The DaemonSet controller: one pod per node the pod fits, pinned there by a node-affinity term on
// metadata.name (the scheduler then binds it), with the tolerations the controller always adds.
import type { Controller, ControllerContext } from './controller.ts';
import { resyncOwnerOfDeletedPods, syncDesiredState } from './controller.ts';
import type { DaemonSet, KubeObject, Node, Pod } from '../objects.ts';
import type * as core from 'kubernetes-types/core/v1.js';
import { computeHash } from '../names.ts';
import { podFromTemplate } from './replicaset.ts';
import { unfitReason } from './nodefit.ts';

type DS = DaemonSet & KubeObject;

const DAEMON_TOLERATIONS: [string, string][] = [
  ['node.kubernetes.io/not-ready', 'NoExecute'],
  ['node.kubernetes.io/unreachable', 'NoExecute'],
  ['node.kubernetes.io/disk-pressure', 'NoSchedule'],
  ['node.kubernetes.io/memory-pressure', 'NoSchedule'],
  ['node.kubernetes.io/pid-pressure', 'NoSchedule'],
  ['node.kubernetes.io/unschedulable', 'NoSchedule'],
];

function daemonTolerations(spec: core.PodSpec): core.Toleration[] {
  const out = [...(spec.tolerations ?? [])];
  const wanted = spec.hostNetwork ? [...DAEMON_TOLERATIONS, ['node.kubernetes.io/network-unavailable', 'NoSchedule'] as [string, string]] : DAEMON_TOLERATIONS;
  for (const [key, effect] of wanted) {
    if (!out.some((t) => t.key === key && t.effect === effect)) out.push({ key, operator: 'Exists', effect });
  }
  return out;
}

export class DaemonSetController implements Controller {
  readonly name = 'daemonset';

  start(ctx: ControllerContext): void {
    const syncAll = () => {
      for (const ds of ctx.store.list<DS>('DaemonSet')) this.sync(ctx, ds);
    };
    syncDesiredState<DS>(ctx, 'DaemonSet', (ds) => this.sync(ctx, ds));
    ctx.store.watch({ kind: 'Node' }, (e) => {
      if (e.type !== 'MODIFIED' || e.old?.metadata.labels !== e.object.metadata.labels || (e.old as Node).spec?.taints !== (e.object as Node).spec?.taints) syncAll();
    });
    resyncOwnerOfDeletedPods<DS>(ctx, 'DaemonSet', (owner) => this.sync(ctx, owner));
  }

  private owned(ctx: ControllerContext, ds: DS): (Pod & KubeObject)[] {
    return ctx.store.listOwnedBy<Pod & KubeObject>('Pod', ds.metadata.uid!);
  }

  /** The node a daemon pod is pinned to by its injected affinity term. */
  private static nodeOf(p: Pod): string | undefined {
    return p.spec?.nodeName ?? p.spec?.affinity?.nodeAffinity?.requiredDuringSchedulingIgnoredDuringExecution?.nodeSelectorTerms?.[0]?.matchFields?.[0]?.values?.[0];
  }

  sync(ctx: ControllerContext, ds: DS): void {
    const template = ds.spec!.template;
    const hash = computeHash(template);
    const spec: core.PodSpec = { ...template.spec!, tolerations: daemonTolerations(template.spec!) };
    const byNode = new Map(this.owned(ctx, ds).map((p) => [DaemonSetController.nodeOf(p), p]));
    for (const node of ctx.store.list<Node & KubeObject>('Node')) {
      const nodeName = node.metadata.name;
      const probe: Pod = { spec };
      const fits = !unfitReason(probe, node, { ignoreUnschedulable: true });
      const existing = byNode.get(nodeName);
      byNode.delete(nodeName);
      if (fits && !existing) {
        const pod = podFromTemplate(ds, template, `${ds.metadata.name}-`);
        ctx.api.create({
          ...pod,
          metadata: { ...pod.metadata, labels: { ...pod.metadata.labels, 'controller-revision-hash': hash, 'pod-template-generation': '1' } },
          spec: {
            ...spec,
            affinity: {
              ...spec.affinity,
              nodeAffinity: {
                ...spec.affinity?.nodeAffinity,
                requiredDuringSchedulingIgnoredDuringExecution: {
                  nodeSelectorTerms: [{ matchFields: [{ key: 'metadata.name', operator: 'In', values: [nodeName] }] }],
                },
              },
            },
          },
        });
      } else if (!fits && existing) {
        ctx.api.delete('Pod', existing.metadata.namespace, existing.metadata.name);
      }
    }
    // Pods left over belong to nodes that are gone.
    for (const p of byNode.values()) ctx.api.delete('Pod', p.metadata.namespace, p.metadata.name);
  }
}
