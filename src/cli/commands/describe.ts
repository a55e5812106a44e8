// kdp describe: kubectl describe's layout for the objects a network walkthrough looks at.
import type { Cluster } from '../../cluster/cluster.ts';
import { resolveResource, type EndpointSlice, type KubeObject, type Service } from '../../cluster/objects.ts';
import { UserError, type IO } from '../io.ts';
import { describeService } from '../printers/describe.ts';

export function describe(cluster: Cluster, args: string[], opts: { namespace?: string }, io: IO): number {
  const [typeArg, ...rest] = args;
  if (!typeArg) throw new UserError('You must specify the type of resource to describe (kdp describe svc NAME)');
  const [type, slashName] = typeArg.split('/');
  const names = slashName ? [slashName, ...rest] : rest;
  const kind = resolveResource(type);
  if (!kind) throw new UserError(`the server doesn't have a resource type "${type}"`);
  if (kind.kind !== 'Service') throw new UserError(`kdp describe supports services (svc) so far, not ${kind.resource}`);
  const namespace = opts.namespace ?? 'default';
  const services = names.length
    ? names.map((n) => {
      const s = cluster.store.get<Service & KubeObject>('Service', namespace, n);
      if (!s) throw new UserError(`services "${n}" not found`);
      return s;
    })
    : cluster.store.list<Service & KubeObject>('Service', { namespace });
  const out = services.map((svc) => {
    const slices = cluster.store.list<EndpointSlice & KubeObject>('EndpointSlice', {
      namespace,
      selector: { requirements: [{ key: 'kubernetes.io/service-name', operator: 'Equals', values: [svc.metadata.name] }] },
    });
    return describeService(svc, slices);
  });
  io.stdout(out.join('\n\n'));
  return 0;
}
