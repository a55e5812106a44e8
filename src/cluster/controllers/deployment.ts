// The Deployment controller: one ReplicaSet per pod template, named <deployment>-<pod-template-hash>; the
// current template's ReplicaSet gets all replicas, older ones are scaled to zero (a finished rollout).
import type { Controller, ControllerContext } from './controller.ts';
import { ownerReferences, syncDesiredState } from './controller.ts';
import type { Deployment, KubeObject, ReplicaSet } from '../objects.ts';
import { computeHash } from '../names.ts';

type Deploy = Deployment & KubeObject;
type RS = ReplicaSet & KubeObject;

const HASH_LABEL = 'pod-template-hash';
const SKIPPED_ANNOTATIONS = new Set([
  'kubectl.kubernetes.io/last-applied-configuration', 'deployment.kubernetes.io/revision', 'deployment.kubernetes.io/revision-history',
  'deployment.kubernetes.io/desired-replicas', 'deployment.kubernetes.io/max-replicas',
]);

/** maxSurge resolved against replicas, percentages rounded up (deploymentutil.ResolveFenceposts). */
function maxSurge(d: Deployment): number {
  if (d.spec?.strategy?.type === 'Recreate') return 0;
  const v = d.spec?.strategy?.rollingUpdate?.maxSurge ?? '25%';
  const replicas = d.spec?.replicas ?? 1;
  return typeof v === 'number' ? v : Math.ceil((parseInt(v, 10) * replicas) / 100);
}

export class DeploymentController implements Controller {
  readonly name = 'deployment';

  start(ctx: ControllerContext): void {
    syncDesiredState<Deploy>(ctx, 'Deployment', (d) => this.sync(ctx, d));
  }

  private owned(ctx: ControllerContext, d: Deploy): RS[] {
    return ctx.store.listOwnedBy<RS>('ReplicaSet', d.metadata.uid!);
  }

  sync(ctx: ControllerContext, d: Deploy): void {
    const template = d.spec!.template;
    const hash = computeHash(template);
    const name = `${d.metadata.name}-${hash}`;
    const replicas = d.spec?.replicas ?? 1;
    const owned = this.owned(ctx, d);
    for (const rs of owned) {
      if (rs.metadata.name !== name && (rs.spec?.replicas ?? 0) !== 0) ctx.api.update({ ...rs, spec: { ...rs.spec!, replicas: 0 } });
    }
    const current = owned.find((rs) => rs.metadata.name === name);
    if (current) {
      if (current.spec?.replicas !== replicas) ctx.api.update({ ...current, spec: { ...current.spec!, replicas } });
      return;
    }
    const revision = String(1 + Math.max(0, ...owned.map((rs) => Number(rs.metadata.annotations?.['deployment.kubernetes.io/revision'] ?? 0))));
    const labels = { ...template?.metadata?.labels, [HASH_LABEL]: hash };
    const annotations: Record<string, string> = {};
    for (const [k, v] of Object.entries(d.metadata.annotations ?? {})) if (!SKIPPED_ANNOTATIONS.has(k)) annotations[k] = v;
    Object.assign(annotations, {
      'deployment.kubernetes.io/desired-replicas': String(replicas),
      'deployment.kubernetes.io/max-replicas': String(replicas + maxSurge(d)),
      'deployment.kubernetes.io/revision': revision,
    });
    const rs: RS = {
      apiVersion: 'apps/v1',
      kind: 'ReplicaSet',
      metadata: { name, namespace: d.metadata.namespace, labels, annotations, ownerReferences: ownerReferences(d) },
      spec: {
        replicas,
        minReadySeconds: d.spec?.minReadySeconds,
        selector: { ...d.spec!.selector, matchLabels: { ...d.spec!.selector.matchLabels, [HASH_LABEL]: hash } },
        template: { ...template, metadata: { ...template?.metadata, labels } },
      },
    };
    ctx.api.create(rs);
    if (d.metadata.annotations?.['deployment.kubernetes.io/revision'] !== revision) {
      const latest = ctx.store.get<Deploy>('Deployment', d.metadata.namespace, d.metadata.name)!;
      ctx.store.update({ ...latest, metadata: { ...latest.metadata, annotations: { ...latest.metadata.annotations, 'deployment.kubernetes.io/revision': revision } } });
    }
  }
}
