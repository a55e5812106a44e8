// The kdp side of bench/dns.ts in its own process (so it can be pinned to a CPU): loads a topology and serves
// its cluster DNS on 127.0.0.1:PORT until SIGTERM.   tsx bench/dns-serve.ts TOPOLOGY.yaml PORT
import { loadCluster } from '../src/cluster/cluster.ts';
import { startDns } from '../src/dns/service.ts';

const [file, port] = process.argv.slice(2);
const cluster = loadCluster([file]);
const dns = await startDns(cluster, { port: Number(port), resolvConf: () => 'nameserver 127.0.0.1\n' });
process.stdout.write(`ready ${dns.port}\n`);
process.once('SIGTERM', () => void dns.close().then(() => process.exit(0)));
