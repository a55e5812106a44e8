// A golden check run by hand around an optimisation (not a test, not timed): what `kdp get` prints for a
// set of topologies, one file per (topology, query), into OUT_DIR. Run it before and after a change and
// `diff -r` the two folders; the model's output must be byte-identical, ordering included.
//   npx tsx bench/golden-cluster.ts OUT_DIR
import { mkdirSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { tmpdir } from 'node:os';
import { main } from '../src/cli/main.ts';
import type { IO } from '../src/cli/io.ts';
import { clusterTopology } from './cluster-topology.ts';

const out = process.argv[2];
if (!out) throw new Error('usage: tsx bench/golden-cluster.ts OUT_DIR');
mkdirSync(out, { recursive: true });

const generated = join(tmpdir(), `kdp-golden-${process.pid}.yaml`);
writeFileSync(generated, clusterTopology({ nodes: 60, services: 600, replicas: 5, namespaces: 12 }));
const topologies: Record<string, string[]> = {
  generated: [generated],
  mixed: ['bench/golden-mixed.yaml'],
  default: ['topologies/default.yaml'],
  headless: ['topologies/walkthroughs/headless.yaml'],
  'no-endpoints': ['topologies/walkthroughs/no-endpoints.yaml'],
  nodeport: ['topologies/walkthroughs/nodeport.yaml'],
};
const queries: Record<string, string[]> = {
  yaml: ['get', 'nodes,pods,svc,endpointslices,endpoints,rs,deploy,sts,ds,ns', '-A', '-o', 'yaml'],
  wide: ['get', 'pods,svc,endpointslices,endpoints', '-A', '-o', 'wide'],
  json: ['get', 'pods,svc,ep', '-A', '-o', 'json'],
  validate: ['validate'],
};

const NOW = new Date('2026-11-23T12:00:00Z');
for (const [topo, files] of Object.entries(topologies)) {
  for (const [q, args] of Object.entries(queries)) {
    let text = '';
    const io: IO = { stdout: (t) => { text += t; }, stderr: (t) => { text += t; }, stdin: () => '', now: () => NOW, interrupted: () => Promise.resolve() };
    const code = await main([...args, ...files.flatMap((f) => ['-f', f])], io);
    writeFileSync(join(out, `${topo}.${q}.txt`), `${text}exit ${code}\n`);
  }
}
rmSync(generated);
console.log(`wrote ${Object.keys(topologies).length * Object.keys(queries).length} files to ${out}`);
