// kdp validate: every problem in a topology, not only the first.
import { hasErrors, loadCluster } from '../../cluster/cluster.ts';
import { formatProblem } from '../../cluster/problems.ts';
import type { IO } from '../io.ts';
import { DEFAULT_TOPOLOGY } from '../topology.ts';
import { checkCorefile } from '../../dns/service.ts';
import { clusterConflist } from '../../cni/conflist.ts';
import { netConfProblems } from '../../cni/netconf.ts';

export function validate(files: string[], io: IO): number {
  const cluster = loadCluster(files.length ? files : [DEFAULT_TOPOLOGY], { now: io.now, stdin: io.stdin });
  // The Corefile is part of the topology: what CoreDNS would refuse to load is an error here too.
  const dns = checkCorefile(cluster);
  // So is the nodes' CNI conflist: a list the runtime cannot load leaves every pod without a network; and
  // flanneld's net-conf.json, which must say what the Cluster says.
  const cni = [...clusterConflist(cluster).problems, ...netConfProblems(cluster)];
  const problems = [...cluster.problems, ...cni];
  const errors = problems.filter((p) => p.severity === 'error').length + dns.errors.length;
  const warnings = problems.length + dns.errors.length + dns.warnings.length - errors;
  for (const p of problems) io.stderr(`${formatProblem(p)}\n`);
  for (const l of [...dns.errors, ...dns.warnings]) io.stderr(`${l}\n`);
  const s = cluster.store;
  if (hasErrors(problems) || dns.errors.length) {
    io.stderr(`${errors} error${errors === 1 ? '' : 's'}, ${warnings} warning${warnings === 1 ? '' : 's'}\n`);
    return 1;
  }
  io.stdout(`topology is valid: ${s.count('Node')} nodes, ${s.count('Pod')} pods, ${s.count('Service')} services, ${s.count('EndpointSlice')} endpointslices` +
    `${warnings ? ` (${warnings} warning${warnings === 1 ? '' : 's'})` : ''}\n`);
  return 0;
}
