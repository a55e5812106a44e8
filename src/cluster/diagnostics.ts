// Warnings about a topology that loads but probably does not do what its author meant: the classic
// "my Service has no endpoints" causes, found before anyone runs curl.
import type { ReportFn } from './apiserver.ts';
import type { KubeObject, Pod, Service } from './objects.ts';
import type { Store } from './store.ts';
import { formatMap, fromMap } from './labels.ts';

export function diagnose(store: Store, report: ReportFn): void {
  for (const svc of store.list<Service & KubeObject>('Service')) {
    const selector = svc.spec?.selector;
    if (!selector || Object.keys(selector).length === 0 || svc.spec?.type === 'ExternalName') continue;
    const pods = store.list<Pod & KubeObject>('Pod', { namespace: svc.metadata.namespace, selector: fromMap(selector) });
    if (pods.length === 0) {
      report(svc, ['spec', 'selector'], `selector ${formatMap(selector)} matches no pod in namespace ${svc.metadata.namespace}; the Service has no endpoints`, 'warning');
      continue;
    }
    (svc.spec?.ports ?? []).forEach((sp, i) => {
      const target = sp.targetPort;
      if (typeof target !== 'string' || /^\d+$/.test(target)) return;
      const declared = pods.some((p) => (p.spec?.containers ?? []).some((c) => (c.ports ?? []).some((cp) => cp.name === target && (cp.protocol ?? 'TCP') === (sp.protocol ?? 'TCP'))));
      if (!declared) {
        report(svc, ['spec', 'ports', i, 'targetPort'], `targetPort "${target}" is not a ${sp.protocol ?? 'TCP'} port name any selected pod declares; port ${sp.port} has no endpoints`, 'warning');
      }
    });
  }
}
