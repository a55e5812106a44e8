// The `kdp` command. Its verbs and flags follow kubectl's, so a person's habits carry over.
import { Command, CommanderError, InvalidArgumentError } from 'commander';
import { readFileSync } from 'node:fs';
import { TopologyError, formatProblem } from '../cluster/problems.ts';
import type { Cluster } from '../cluster/cluster.ts';
import { UserError, type IO } from './io.ts';
import { collect, loadOrReport } from './topology.ts';
import { validate } from './commands/validate.ts';
import { get } from './commands/get.ts';
import { describe } from './commands/describe.ts';
import { up } from './commands/up.ts';
import { bridge, ip } from './commands/ip.ts';
import { trace } from './commands/trace.ts';
import { conntrack } from './commands/conntrack.ts';
import { rules } from './commands/rules.ts';
import { curl } from './commands/curl.ts';
import { dig, resolvconf } from './commands/dig.ts';
import { cni, type CniOptions } from './commands/cni.ts';

export const processIO: IO = {
  stdout: (t) => process.stdout.write(t),
  stderr: (t) => process.stderr.write(t),
  stdin: () => readFileSync(0, 'utf8'),
  now: () => new Date(),
  // What keeps `kdp up` running is its servers; a command that fails before it has any just ends.
  interrupted: () => new Promise((resolve) => {
    process.once('SIGINT', () => resolve());
    process.once('SIGTERM', () => resolve());
  }),
};

function parsePort(v: string): number {
  const n = Number(v);
  if (!/^\d+$/.test(v) || n > 65535) throw new InvalidArgumentError('want a port number from 0 to 65535.');
  return n;
}

function parseWorkers(v: string): number {
  const n = Number(v);
  if (!/^\d+$/.test(v) || n > 64) throw new InvalidArgumentError('want a number of processes from 0 to 64 (0: kdp itself serves the Ingress).');
  return n;
}

function parseLoopback(v: string): number | 'single' {
  if (v === '127.0.0.1') return 'single';
  const m = /^127\.(\d{1,3})$/.exec(v);
  if (!m || Number(m[1]) > 255) throw new InvalidArgumentError('want 127.X, X from 0 to 255 (NodePorts on 127.X.1.N, LoadBalancer IPs on 127.X.2.K, externalIPs on 127.X.3.K), or 127.0.0.1 (each on 127.0.0.1 at a port of its own).');
  return Number(m[1]);
}

const FILES_HELP = 'topology file, directory or - for stdin (repeatable); default: the embedded topologies/default.yaml';

function program(io: IO, result: { code: number | Promise<number> }): Command {
  const p = new Command('kdp')
    .description('A Kubernetes networking data-plane emulator: topology YAML in, a cluster network that behaves like the real one out.')
    .configureOutput({ writeOut: io.stdout, writeErr: io.stderr })
    .exitOverride()
    .showHelpAfterError('(run "kdp --help" for usage)');

  const files = (o: { file?: string[] }, args: string[] = []) => [...(o.file ?? []), ...args];
  // Most verbs read the topology, then answer from the model; a topology with errors prints them and exits 1.
  const withCluster = (file: string[] | undefined, verb: (cluster: Cluster) => number | Promise<number>) => {
    const cluster = loadOrReport(file ?? [], io, { warnings: false });
    result.code = cluster ? verb(cluster) : 1;
  };

  p.command('up')
    .description('load a topology and run the cluster until Ctrl-C')
    .argument('[files...]', 'topology files (same as -f)')
    .option('-f, --file <file>', FILES_HELP, collect)
    .option('--dns-port <port>', 'cluster DNS port, UDP and TCP (default: any free port)', parsePort)
    .option('--dns-host <address>', 'cluster DNS address', '127.0.0.1')
    .option('--dns-metrics-port <port>', 'port for /health, /ready and /metrics of the cluster DNS', parsePort)
    .option('--http-port <port>', 'the Ingress controller\'s HTTP port on 127.0.0.1 (0: any free port)', parsePort, 0)
    .option('--https-port <port>', 'the Ingress controller\'s HTTPS port on 127.0.0.1 (0: any free port)', parsePort, 0)
    .option('--ingress-workers <n>', 'worker processes serving the Ingress controller\'s connections (0: none, kdp serves them; default: two, or none with one CPU)', parseWorkers)
    .option('--loopback <127.X>', 'where NodePorts (127.X.1.N for node N), LoadBalancer IPs (127.X.2.K) and externalIPs (127.X.3.K) listen; 127.0.0.1: each there at a port of its own (the default where only 127.0.0.1 exists)', parseLoopback, 0)
    .action((args: string[], o: { file?: string[]; dnsPort?: number; dnsHost: string; dnsMetricsPort?: number; httpPort: number; httpsPort: number; ingressWorkers?: number; loopback: number | 'single' }) => {
      const fs = files(o, args);
      const cluster = loadOrReport(fs, io, { warnings: true });
      result.code = cluster ? up(cluster, fs, io, { dnsPort: o.dnsPort, dnsHost: o.dnsHost, dnsMetricsPort: o.dnsMetricsPort, httpPort: o.httpPort, httpsPort: o.httpsPort, ingressWorkers: o.ingressWorkers, loopback: o.loopback }) : 1;
    });

  p.command('validate')
    .description('check topology files and report every problem, not only the first')
    .argument('[files...]', 'topology files (same as -f)')
    .option('-f, --file <file>', FILES_HELP, collect)
    .action((args: string[], o: { file?: string[] }) => {
      result.code = validate(files(o, args), io);
    });

  p.command('get')
    .description('list objects of the model as kubectl get does: nodes, pods, services (svc), endpoints (ep), endpointslices, ingresses (ing), ...')
    .argument('<type>', 'what to list: pods, svc, pods,svc or pod/NAME')
    .argument('[names...]', 'object names')
    .option('-f, --file <file>', FILES_HELP, collect)
    .option('-n, --namespace <ns>', 'namespace', 'default')
    .option('-A, --all-namespaces', 'list across all namespaces')
    .option('-o, --output <format>', 'wide | yaml | json | name')
    .option('-l, --selector <selector>', 'label selector, e.g. app=web,tier!=db')
    .action((type: string, names: string[], o: { file?: string[]; namespace: string; allNamespaces?: boolean; output?: string; selector?: string }) => {
      withCluster(o.file, (cluster) => get(cluster, [type, ...names], o, io));
    });

  p.command('describe')
    .description('show an object in kubectl describe\'s layout (services so far)')
    .argument('<type>', 'what to describe: svc or svc/NAME')
    .argument('[names...]', 'object names')
    .option('-f, --file <file>', FILES_HELP, collect)
    .option('-n, --namespace <ns>', 'namespace', 'default')
    .action((type: string, names: string[], o: { file?: string[]; namespace: string }) => {
      withCluster(o.file, (cluster) => describe(cluster, [type, ...names], o, io));
    });

  p.command('ip')
    .description("a node's or pod's network namespace as iproute2 shows it: route [table local], addr, link, neigh")
    .argument('<object>', 'route | addr | link | neigh')
    .argument('[args...]', 'e.g. show table local')
    .option('-f, --file <file>', FILES_HELP, collect)
    .option('--node <name>', "the node's host namespace")
    .option('--pod <ns/name>', "the pod's namespace")
    .action((object: string, args: string[], o: { file?: string[]; node?: string; pod?: string }) => {
      withCluster(o.file, (cluster) => ip(cluster, [object, ...args], o, io));
    });

  p.command('trace')
    .description('the hop-by-hop path of a flow\'s first packet and its answer through the emulated kernels')
    .option('-f, --file <file>', FILES_HELP, collect)
    .requiredOption('--from <src>', 'a pod (NAMESPACE/NAME or NAME), node/NAME, or an address outside the cluster')
    .requiredOption('--to <dst>', 'IP:PORT, IP (ICMP), or a URL')
    .option('--proto <proto>', 'tcp | udp | icmp (default: tcp with a port, icmp without)')
    .option('-o, --output <format>', 'text | json', 'text')
    .option('--size <bytes>', 'payload size, for MTU questions (default: a bare SYN, 32-byte datagram, 56-byte ping)')
    .option('--pcap <file>', 'also write the frames, VXLAN-encapsulated between nodes, as a pcap file')
    .option('--seed <n>', 'seed of the random rule choices (statistic --mode random, --random-fully); default 1')
    .option('--branches', 'every path through the random rules with its probability, instead of one trace')
    .action((o: { file?: string[]; from: string; to: string; proto?: string; output: string; size?: string; pcap?: string; seed?: string; branches?: boolean }) => {
      withCluster(o.file, (cluster) => trace(cluster, o, io));
    });

  p.command('conntrack')
    .description("a node's connection-tracking table as `conntrack -L` prints it, after the connections --from/--to make")
    .option('-f, --file <file>', FILES_HELP, collect)
    .option('-L, --list', 'list the entries')
    .option('--node <name>', 'the node (default: the first)')
    .option('--pod <ns/name>', "a pod's own namespace instead")
    .option('--from <src>', 'make connections from here first (a pod, node/NAME or an outside address)')
    .option('--to <dst>', 'IP:PORT to connect to (repeatable)', collect)
    .option('--proto <proto>', 'tcp | udp | icmp')
    .option('--seed <n>', 'seed of the random rule choices')
    .action((o: { file?: string[]; list?: boolean; node?: string; pod?: string; from?: string; to?: string[]; proto?: string; seed?: string }) => {
      withCluster(o.file, (cluster) => conntrack(cluster, o, io));
    });

  p.command('dig')
    .description("look a name up from a pod: its resolv.conf, each query its resolver sends, then the answer as dig shows it")
    .argument('<name>', 'the name, as the pod would look it up')
    .argument('[type]', 'record type (default: an address lookup, A and AAAA, as getaddrinfo does)')
    .option('-f, --file <file>', FILES_HELP, collect)
    .requiredOption('--from <pod>', 'the pod asking: NAMESPACE/NAME or NAME')
    .action((name: string, type: string | undefined, o: { file?: string[]; from: string }) => {
      withCluster(o.file, (cluster) => dig(cluster, name, type, o, io));
    });

  p.command('curl')
    .description('an HTTP request from inside a pod: its resolver, the data plane\'s decision, the real listener\'s answer')
    .argument('<url>', 'http://NAME-OR-IP[:PORT]/PATH')
    .option('-f, --file <file>', FILES_HELP, collect)
    .requiredOption('--from <pod>', 'the pod the request comes from: NAMESPACE/NAME or NAME')
    .option('-v, --verbose', "curl's verbose lines, with the trace of the connection's first packet")
    .option('-H, --header <header>', 'an extra request header "Name: value" (repeatable)', collect)
    .option('-X, --request <method>', 'the request method')
    .option('-d, --data <data>', 'a request body (POST unless -X says otherwise)')
    .option('-i, --include', 'print the response headers too')
    .option('-m, --max-time <seconds>', 'give up after this long (default 30)')
    .action((url: string, o: { file?: string[]; from: string; verbose?: boolean; header?: string[]; request?: string; data?: string; include?: boolean; maxTime?: string }) => {
      withCluster(o.file, (cluster) => curl(cluster, url, o, io));
    });

  p.command('resolvconf')
    .description("the /etc/resolv.conf kubelet writes for a pod (dnsPolicy and dnsConfig honoured)")
    .option('-f, --file <file>', FILES_HELP, collect)
    .requiredOption('--pod <pod>', 'NAMESPACE/NAME or NAME')
    .action((o: { file?: string[]; pod: string }) => {
      withCluster(o.file, (cluster) => resolvconf(cluster, o, io));
    });

  p.command('bridge')
    .description("a node's bridge and vxlan forwarding databases as `bridge fdb` shows them")
    .argument('<object>', 'fdb')
    .argument('[args...]', 'show')
    .option('-f, --file <file>', FILES_HELP, collect)
    .option('--node <name>', "the node's host namespace")
    .action((object: string, _args: string[], o: { file?: string[]; node?: string }) => {
      withCluster(o.file, (cluster) => bridge(cluster, [object], o, io));
    });

  p.command('cni')
    .description("run the node's CNI network configuration list for a network namespace, as cnitool does (add prints the Result JSON)")
    .argument('<verb>', 'add | check | del')
    .argument('<network>', "the conflist's name (cbr0 for flannel's)")
    .argument('<netns>', 'NAME or /var/run/netns/NAME: one of the node\'s pod sandboxes, or a new namespace')
    .option('-f, --file <file>', FILES_HELP, collect)
    .option('--node <name>', 'the node whose runtime runs it (default: the only node)')
    .option('--container-id <id>', "CNI_CONTAINERID (default: the sandbox's, else cnitool's from the netns path)")
    .option('--ifname <name>', 'CNI_IFNAME (default: eth0)')
    .option('--args <pairs>', 'CNI_ARGS, e.g. IP=10.244.1.50')
    .option('--cap-args <json>', 'CAP_ARGS, e.g. \'{"portMappings":[{"hostPort":8080,"containerPort":80,"protocol":"tcp"}]}\'')
    .action((verb: string, network: string, netns: string, o: CniOptions & { file?: string[] }) => {
      withCluster(o.file, (cluster) => cni(cluster, verb, network, netns, o, io));
    });

  p.command('rules')
    .description("what kube-proxy writes on a node: --format iptables-restore (kube-proxy's own iptables-restore input)")
    .option('-f, --file <file>', FILES_HELP, collect)
    .option('--node <name>', 'the node whose kube-proxy to ask (default: the only node)')
    .option('--format <format>', 'output format', 'iptables-restore')
    .option('--ip-family <family>', 'IPv4 | IPv6 (default: IPv4 when the cluster has it)')
    .action((o: { file?: string[]; node?: string; format: string; ipFamily?: string }) => {
      withCluster(o.file, (cluster) => rules(cluster, o, io));
    });

  return p;
}

/** Runs the command line; returns the exit code. Never throws for bad input: it prints and returns 1. */
export async function main(argv: string[], io: IO = processIO): Promise<number> {
  const result: { code: number | Promise<number> } = { code: 0 };
  try {
    await program(io, result).parseAsync(argv, { from: 'user' });
    return await result.code;
  } catch (e) {
    if (e instanceof CommanderError) return e.exitCode === 0 ? 0 : 1;
    if (e instanceof TopologyError) {
      for (const p of e.problems) io.stderr(`${formatProblem(p)}\n`);
      return 1;
    }
    if (e instanceof UserError) {
      io.stderr(`error: ${e.message}\n`);
      return 1;
    }
    // Anything else is a kdp bug; still no stack trace unless asked for.
    io.stderr(`error: ${(e as Error).message ?? String(e)}\n`);
    if (process.env.KDP_DEBUG) io.stderr(`${(e as Error).stack}\n`);
    return 1;
  }
}
