// The StatefulSet controller: pods <set>-<ordinal> with a stable identity (hostname = pod name, subdomain =
// spec.serviceName), so their DNS names under the governing headless Service stay the same when recreated.
import type { Controller, ControllerContext } from './controller.ts';
import { resyncOwnerOfDeletedPods, syncDesiredState } from './controller.ts';
import type { KubeObject, Pod, StatefulSet } from '../objects.ts';
import { computeHash } from '../names.ts';
import { podFromTemplate } from './replicaset.ts';

type STS = StatefulSet & KubeObject;

export class StatefulSetController implements Controller {
  readonly name = 'statefulset';

  start(ctx: ControllerContext): void {
    syncDesiredState<STS>(ctx, 'StatefulSet', (s) => this.sync(ctx, s));
    resyncOwnerOfDeletedPods<STS>(ctx, 'StatefulSet', (owner) => this.sync(ctx, owner));
  }

  private owned(ctx: ControllerContext, s: STS): (Pod & KubeObject)[] {
    return ctx.store.listOwnedBy<Pod & KubeObject>('Pod', s.metadata.uid!);
  }

  sync(ctx: ControllerContext, s: STS): void {
    const name = s.metadata.name;
    const start = s.spec?.ordinals?.start ?? 0;
    const replicas = s.spec?.replicas ?? 1;
    // The revision label carries the ControllerRevision's name, <set>-<hash>.
    const revision = `${name}-${computeHash(s.spec!.template)}`;
    const owned = new Map(this.owned(ctx, s).map((p) => [p.metadata.name, p]));
    for (let i = start; i < start + replicas; i++) {
      const podName = `${name}-${i}`;
      if (owned.has(podName)) continue;
      if (ctx.store.get('Pod', s.metadata.namespace, podName)) {
        ctx.report(s, ['metadata', 'name'], `pod ${podName} exists and is not owned by this StatefulSet; ordinal ${i} is not created`, 'warning');
        continue;
      }
      const pod = podFromTemplate(s, s.spec!.template, '');
      ctx.api.create({
        ...pod,
        metadata: {
          ...pod.metadata,
          name: podName,
          generateName: undefined,
          labels: {
            ...pod.metadata.labels,
            'apps.kubernetes.io/pod-index': String(i),
            'controller-revision-hash': revision,
            'statefulset.kubernetes.io/pod-name': podName,
          },
        },
        spec: { ...pod.spec!, hostname: podName, ...(s.spec?.serviceName ? { subdomain: s.spec.serviceName } : {}) },
      });
    }
    // Scale down removes the highest ordinals first.
    const extra = [...owned.values()]
      .map((p) => ({ p, ord: Number(p.metadata.name.slice(name.length + 1)) }))
      .filter(({ ord }) => ord < start || ord >= start + replicas)
      .sort((a, b) => b.ord - a.ord);
    for (const { p } of extra) ctx.api.delete('Pod', p.metadata.namespace, p.metadata.name);
  }
}
