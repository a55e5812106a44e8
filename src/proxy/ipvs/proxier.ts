// kube-proxy's IPVS mode (pkg/proxy/ipvs/proxier.go, syncProxyRules and writeIptablesRules) as a pure function:
// Services + EndpointSlices + the node in; the kube-ipvs0 addresses, virtual servers with their real servers,
// ipsets and the iptables-restore text out, in upstream's order and words.
import type { EndpointSlice, Service } from '../../cluster/objects.ts';
import { parseIP, type Family } from '../../cluster/net.ts';
import { SVC_F, type DestinationSpec, type VirtualServiceSpec, type SchedulerName } from '../../netns/ipvs.ts';
import type { IpsetType } from '../../netns/ipset.ts';
import { containsIP, isLoopback, sloppyCIDR } from '../ip.ts';
import { nodeIPsFor, nodePortAddresses } from '../nodeportaddresses.ts';
import { IPSET_INFO, createLine, ipsetName } from './ipsets.ts';
import { servicePorts } from '../serviceport.ts';
import { endpointsByServicePort, sliceService, type EndpointInfo } from '../endpoints.ts';
import { categorizeEndpoints } from '../topology.ts';

export const DUMMY_DEVICE = 'kube-ipvs0';
/** utilipvs.FlagSourceHash, set for the mh scheduler: the kernel's SCHED2, mh-port. */
export const FLAG_SOURCE_HASH = 0x10;

export interface IpvsProxierInput {
  family: Family;
  nodeName: string;
  /** The node's IP of this family (loadBalancerSourceRanges that contain it let the node reach the LB IP). */
  nodeIP?: string;
  nodeLabels: Record<string, string>;
  /** Every local address of this family except kube-ipvs0's (link-local IPv6 left out), loopback included. */
  nodeAddresses: string[];
  services: Service[];
  endpointSlices: EndpointSlice[];
  scheduler: string;
  masqueradeAll: boolean;
  masqueradeBit: number;
  /** LocalTrafficDetector.IfNotLocal(), e.g. ['!', '-s', '10.244.0.0/16']; undefined: no detector. */
  ifNotLocal?: string[];
  /** --nodeport-addresses (CIDRs or "primary"); empty: every local address. */
  nodePortAddresses: string[];
  /** iptables supports MASQUERADE --random-fully (1.6.2 and later). */
  randomFully: boolean;
}

export interface VirtualServer {
  /** The Service port it serves ("ns/name:port"). */
  servicePort: string;
  spec: VirtualServiceSpec;
  realServers: DestinationSpec[];
}

export interface IpsetState {
  name: string;
  type: IpsetType;
  family: Family;
  comment: string;
  /** Entries as utilipset.Entry.String(), sorted. */
  entries: string[];
}

export interface JumpRule {
  table: 'nat' | 'filter';
  chain: string;
  /** The arguments kube-proxy EnsureRule(Prepend)s into the built-in chain. */
  args: string;
}

export interface IpvsProxyState {
  family: Family;
  /** Addresses bound to kube-ipvs0 (each /32 or /128). */
  dummyAddresses: string[];
  virtualServers: VirtualServer[];
  ipsets: IpsetState[];
  /** `ipset restore` text that creates the sets and adds their entries. */
  ipsetRestore: string;
  /** The text kube-proxy hands to iptables-restore --noflush --counters. */
  iptablesRestore: string;
  jumpRules: JumpRule[];
}

/** iptablesJumpChain */
const JUMP_CHAINS: readonly [JumpRule['table'], string, string, string][] = [
  ['nat', 'OUTPUT', 'KUBE-SERVICES', 'kubernetes service portals'],
  ['nat', 'PREROUTING', 'KUBE-SERVICES', 'kubernetes service portals'],
  ['nat', 'POSTROUTING', 'KUBE-POSTROUTING', 'kubernetes postrouting rules'],
  ['filter', 'FORWARD', 'KUBE-FORWARD', 'kubernetes forwarding rules'],
  ['filter', 'INPUT', 'KUBE-NODE-PORT', 'kubernetes health check rules'],
  ['filter', 'INPUT', 'KUBE-PROXY-FIREWALL', 'kube-proxy firewall rules'],
  ['filter', 'FORWARD', 'KUBE-PROXY-FIREWALL', 'kube-proxy firewall rules'],
  ['filter', 'INPUT', 'KUBE-IPVS-FILTER', 'kubernetes ipvs access filter'],
  ['filter', 'OUTPUT', 'KUBE-IPVS-OUT-FILTER', 'kubernetes ipvs access filter'],
];

/** iptablesChains */
const NAT_CHAINS = ['KUBE-SERVICES', 'KUBE-POSTROUTING', 'KUBE-NODE-PORT', 'KUBE-LOAD-BALANCER', 'KUBE-MARK-MASQ'];
const FILTER_CHAINS = ['KUBE-FORWARD', 'KUBE-NODE-PORT', 'KUBE-PROXY-FIREWALL', 'KUBE-SOURCE-RANGES-FIREWALL', 'KUBE-IPVS-FILTER', 'KUBE-IPVS-OUT-FILTER'];

/** ipsetWithIptablesChain: [set, table, from chain, to, match type, protocol match]. */
const IPSET_JUMPS: readonly [string, 'nat' | 'filter', string, string, string, string][] = [
  ['KUBE-LOOP-BACK', 'nat', 'KUBE-POSTROUTING', 'MASQUERADE', 'dst,dst,src', ''],
  ['KUBE-LOAD-BALANCER', 'nat', 'KUBE-SERVICES', 'KUBE-LOAD-BALANCER', 'dst,dst', ''],
  ['KUBE-LOAD-BALANCER-LOCAL', 'nat', 'KUBE-LOAD-BALANCER', 'RETURN', 'dst,dst', ''],
  ['KUBE-NODE-PORT-LOCAL-TCP', 'nat', 'KUBE-NODE-PORT', 'RETURN', 'dst', 'tcp'],
  ['KUBE-NODE-PORT-TCP', 'nat', 'KUBE-NODE-PORT', 'KUBE-MARK-MASQ', 'dst', 'tcp'],
  ['KUBE-NODE-PORT-LOCAL-UDP', 'nat', 'KUBE-NODE-PORT', 'RETURN', 'dst', 'udp'],
  ['KUBE-NODE-PORT-UDP', 'nat', 'KUBE-NODE-PORT', 'KUBE-MARK-MASQ', 'dst', 'udp'],
  ['KUBE-NODE-PORT-LOCAL-SCTP-HASH', 'nat', 'KUBE-NODE-PORT', 'RETURN', 'dst,dst', 'sctp'],
  ['KUBE-NODE-PORT-SCTP-HASH', 'nat', 'KUBE-NODE-PORT', 'KUBE-MARK-MASQ', 'dst,dst', 'sctp'],
  ['KUBE-LOAD-BALANCER-FW', 'filter', 'KUBE-PROXY-FIREWALL', 'KUBE-SOURCE-RANGES-FIREWALL', 'dst,dst', ''],
  ['KUBE-LOAD-BALANCER-SOURCE-CIDR', 'filter', 'KUBE-SOURCE-RANGES-FIREWALL', 'RETURN', 'dst,dst,src', ''],
  ['KUBE-LOAD-BALANCER-SOURCE-IP', 'filter', 'KUBE-SOURCE-RANGES-FIREWALL', 'RETURN', 'dst,dst,src', ''],
];

const hostPort = (ip: string, port: number): string => (ip.includes(':') ? `[${ip}]:${port}` : `${ip}:${port}`);

/** syncProxyRules for one family. */
export function syncIpvsProxier(input: IpvsProxierInput): IpvsProxyState {
  const { family } = input;
  const sets = new Map(IPSET_INFO.map((i) => [i.name, new Set<string>()]));
  const entry = (set: string, e: string) => sets.get(set)!.add(e);
  const ports = input.services.flatMap((svc) => servicePorts(svc, family)).sort((a, b) => (a.nameString < b.nameString ? -1 : a.nameString > b.nameString ? 1 : 0));
  const endpoints = endpointsOf(input.endpointSlices, family, input.nodeName);
  const nodeAddressSet = new Set(input.nodeAddresses);
  const nodeIPs = ports.some((p) => p.nodePort !== 0) ? nodePortIPs(input) : [];
  const servers = new Map<string, VirtualServer>();
  const bindAddrs = new Set<string>();
  const lbNoNodeAccess: { ip: string; protocol: string; port: number }[] = [];
  const scheduler = (input.scheduler || 'rr') as SchedulerName;

  for (const sp of ports) {
    const protocol = sp.protocol.toLowerCase();
    const eps = endpoints.get(sp.key) ?? [];
    const { clusterEndpoints, localEndpoints } = categorizeEndpoints(eps, sp, input.nodeName, input.nodeLabels);
    // syncEndpoint: node-local endpoints when asked for and present, else the cluster's (PR #97081).
    const realServers = (onlyLocal: boolean): DestinationSpec[] =>
      (onlyLocal && localEndpoints.length > 0 ? localEndpoints : clusterEndpoints)
        .map((ep) => ({ address: ep.ip, port: ep.port, weight: 1, forward: 'Masq' as const }));
    const virtualServer = (address: string, port: number, onlyLocal: boolean) => {
      const spec: VirtualServiceSpec = {
        address, protocol: protocol as VirtualServiceSpec['protocol'], port, scheduler,
        flags: (sp.sessionAffinityClientIP ? SVC_F.PERSISTENT : 0) | (scheduler === 'mh' ? FLAG_SOURCE_HASH : 0),
        timeout: sp.stickyMaxAgeSeconds,
        netmask: family === 'IPv4' ? 32 : 128,
      };
      servers.set(`${hostPort(address, port)}/${protocol}`, { servicePort: sp.nameString, spec, realServers: realServers(onlyLocal) });
    };

    for (const ep of eps) if (ep.isLocal) entry('KUBE-LOOP-BACK', `${ep.ip},${protocol}:${ep.port},${ep.ip}`);

    entry('KUBE-CLUSTER-IP', `${sp.clusterIP},${protocol}:${sp.port}`);
    virtualServer(sp.clusterIP, sp.port, sp.internalPolicyLocal);
    bindAddrs.add(sp.clusterIP);

    for (const ip of sp.externalIPs) {
      entry(sp.externalPolicyLocal ? 'KUBE-EXTERNAL-IP-LOCAL' : 'KUBE-EXTERNAL-IP', `${ip},${protocol}:${sp.port}`);
      virtualServer(ip, sp.port, sp.externalPolicyLocal);
      if (!nodeAddressSet.has(ip)) bindAddrs.add(ip);
    }

    for (const ip of sp.loadBalancerVIPs) {
      const e = `${ip},${protocol}:${sp.port}`;
      entry('KUBE-LOAD-BALANCER', e);
      if (sp.externalPolicyLocal) entry('KUBE-LOAD-BALANCER-LOCAL', e);
      if (sp.loadBalancerSourceRanges.length) {
        entry('KUBE-LOAD-BALANCER-FW', e);
        let allowFromNode = false;
        // servicePorts kept only this family's valid ranges, in canonical text.
        for (const r of sp.loadBalancerSourceRanges) {
          entry('KUBE-LOAD-BALANCER-SOURCE-CIDR', `${ip},${protocol}:${sp.port},${r}`);
          if (input.nodeIP && containsIP(sloppyCIDR(r)!, input.nodeIP)) allowFromNode = true;
        }
        if (allowFromNode) entry('KUBE-LOAD-BALANCER-SOURCE-IP', `${ip},${protocol}:${sp.port},${ip}`);
        else lbNoNodeAccess.push({ ip, protocol, port: sp.port });
      }
      virtualServer(ip, sp.port, sp.externalPolicyLocal);
      if (!nodeAddressSet.has(ip)) bindAddrs.add(ip);
    }

    if (sp.nodePort !== 0 && nodeIPs.length > 0) {
      const entries = protocol === 'sctp' ? nodeIPs.map((ip) => `${ip},${protocol}:${sp.nodePort}`) : [String(sp.nodePort)];
      const set = { tcp: 'KUBE-NODE-PORT-TCP', udp: 'KUBE-NODE-PORT-UDP', sctp: 'KUBE-NODE-PORT-SCTP-HASH' }[protocol]!;
      const localSet = { tcp: 'KUBE-NODE-PORT-LOCAL-TCP', udp: 'KUBE-NODE-PORT-LOCAL-UDP', sctp: 'KUBE-NODE-PORT-LOCAL-SCTP-HASH' }[protocol]!;
      for (const e of entries) entry(set, e);
      if (sp.externalPolicyLocal) for (const e of entries) entry(localSet, e);
      for (const ip of nodeIPs) virtualServer(ip, sp.nodePort, sp.externalPolicyLocal);
    }

    if (sp.healthCheckNodePort !== 0) entry('KUBE-HEALTH-CHECK-NODE-PORT', String(sp.healthCheckNodePort));
  }
  for (const a of bindAddrs) entry('KUBE-IPVS-IPS', a);

  const ipsets: IpsetState[] = IPSET_INFO.map((i) => ({
    name: ipsetName(i.name, family), type: i.type, family, comment: i.comment, entries: [...sets.get(i.name)!].sort(),
  }));
  return {
    family,
    dummyAddresses: [...bindAddrs].sort(compareIPs),
    virtualServers: [...servers.values()],
    ipsets,
    ipsetRestore: ipsets.map((s) => [createLine(s.name, s.type, family), ...s.entries.map((e) => `add ${s.name} ${e}`)].join('\n') + '\n').join(''),
    iptablesRestore: iptablesRules(input, ipsets, lbNoNodeAccess),
    jumpRules: JUMP_CHAINS.map(([table, chain, to, comment]) => ({ table, chain, args: `-m comment --comment "${comment}" -j ${to}` })),
  };
}

/** Every service port's endpoints (keyed by ServicePortInfo.key), read from the slices kube-proxy's informer lists. */
function endpointsOf(slices: readonly EndpointSlice[], family: Family, nodeName: string): Map<string, EndpointInfo[]> {
  const byService = new Map<string, EndpointSlice[]>();
  for (const slice of slices) {
    const nn = sliceService(slice);
    if (!nn) continue;
    const group = byService.get(nn);
    if (group) group.push(slice);
    else byService.set(nn, [slice]);
  }
  const out = new Map<string, EndpointInfo[]>();
  for (const group of byService.values()) for (const [key, eps] of endpointsByServicePort(group, family, nodeName)) out.set(key, eps);
  return out;
}

/** The NodePort virtual servers' addresses: every local address, or those --nodeport-addresses selects (no loopback). */
function nodePortIPs(input: IpvsProxierInput): string[] {
  const npa = nodePortAddresses(input.family, input.nodePortAddresses, input.nodeIP);
  if (npa.matchAll) return [...input.nodeAddresses];
  return nodeIPsFor(npa, input.nodeAddresses).filter((a) => !isLoopback(a));
}

function compareIPs(a: string, b: string): number {
  const x = parseIP(a)!;
  const y = parseIP(b)!;
  if (x.family !== y.family) return x.family === 'IPv4' ? -1 : 1;
  return x.value < y.value ? -1 : x.value > y.value ? 1 : 0;
}

/** writeIptablesRules with createAndLinkKubeChain's chain lines: natChains, natRules, filterChains, filterRules. */
function iptablesRules(input: IpvsProxierInput, ipsets: IpsetState[], lbNoNodeAccess: { ip: string; protocol: string; port: number }[]): string {
  const set = new Map(IPSET_INFO.map((info, i) => [info.name, ipsets[i]]));
  const name = (s: string) => set.get(s)!.name;
  const comment = (s: string) => `"${set.get(s)!.comment}"`;
  const empty = (s: string) => set.get(s)!.entries.length === 0;
  const mark = `0x${(1 << input.masqueradeBit).toString(16).padStart(8, '0')}`;
  const nat: string[] = [];
  const filter: string[] = [];

  nat.push(`-A KUBE-SERVICES -s ${input.family === 'IPv6' ? '::1/128' : '127.0.0.0/8'} -j RETURN`);
  for (const [s, table, from, to, matchType, proto] of IPSET_JUMPS) {
    if (empty(s)) continue;
    const rule = `-A ${from}${proto ? ` -p ${proto}` : ''} -m comment --comment ${comment(s)} -m set --match-set ${name(s)} ${matchType} -j ${to}`;
    (table === 'filter' ? filter : nat).push(rule);
  }
  if (!empty('KUBE-CLUSTER-IP')) {
    const args = `-A KUBE-SERVICES -m comment --comment ${comment('KUBE-CLUSTER-IP')} -m set --match-set ${name('KUBE-CLUSTER-IP')}`;
    if (input.masqueradeAll) nat.push(`${args} dst,dst -j KUBE-MARK-MASQ`);
    else if (input.ifNotLocal) nat.push(`${args} dst,dst ${input.ifNotLocal.join(' ')} -j KUBE-MARK-MASQ`);
    // Without a local-traffic detector: masquerade node-originated traffic whose source is a VIP on kube-ipvs0.
    else nat.push(`${args} src,dst -j KUBE-MARK-MASQ`);
  }
  const externalIPRules = (args: string) => {
    nat.push(`${args} -m physdev ! --physdev-is-in -m addrtype ! --src-type LOCAL -j ACCEPT`);
    nat.push(`${args} -m addrtype --dst-type LOCAL -j ACCEPT`);
  };
  if (!empty('KUBE-EXTERNAL-IP')) {
    const args = `-A KUBE-SERVICES -m comment --comment ${comment('KUBE-EXTERNAL-IP')} -m set --match-set ${name('KUBE-EXTERNAL-IP')} dst,dst`;
    nat.push(`${args} -j KUBE-MARK-MASQ`);
    externalIPRules(args);
  }
  if (!empty('KUBE-EXTERNAL-IP-LOCAL')) {
    externalIPRules(`-A KUBE-SERVICES -m comment --comment ${comment('KUBE-EXTERNAL-IP-LOCAL')} -m set --match-set ${name('KUBE-EXTERNAL-IP-LOCAL')} dst,dst`);
  }
  nat.push('-A KUBE-SERVICES -m addrtype --dst-type LOCAL -j KUBE-NODE-PORT');
  nat.push('-A KUBE-LOAD-BALANCER -j KUBE-MARK-MASQ');
  filter.push('-A KUBE-SOURCE-RANGES-FIREWALL -j DROP');
  for (const e of lbNoNodeAccess) filter.push(`-A KUBE-IPVS-OUT-FILTER -s ${e.ip} -m ipvs --vaddr ${e.ip} --vproto ${e.protocol} --vport ${e.port} -j DROP`);
  // acceptIPVSTraffic: the end of KUBE-SERVICES accepts what IPVS will take, whatever other rules say.
  for (const s of ['KUBE-CLUSTER-IP', 'KUBE-LOAD-BALANCER']) if (!empty(s)) nat.push(`-A KUBE-SERVICES -m set --match-set ${name(s)} dst,dst -j ACCEPT`);
  filter.push(`-A KUBE-FORWARD -m comment --comment "kubernetes forwarding rules" -m mark --mark ${mark}/${mark} -j ACCEPT`);
  filter.push('-A KUBE-FORWARD -m comment --comment "kubernetes forwarding conntrack rule" -m conntrack --ctstate RELATED,ESTABLISHED -j ACCEPT');
  filter.push(`-A KUBE-NODE-PORT -m comment --comment ${comment('KUBE-HEALTH-CHECK-NODE-PORT')} -m set --match-set ${name('KUBE-HEALTH-CHECK-NODE-PORT')} dst -j ACCEPT`);
  for (const s of ['KUBE-LOAD-BALANCER', 'KUBE-CLUSTER-IP', 'KUBE-EXTERNAL-IP', 'KUBE-EXTERNAL-IP-LOCAL']) filter.push(`-A KUBE-IPVS-FILTER -m set --match-set ${name(s)} dst,dst -j RETURN`);
  filter.push(`-A KUBE-IPVS-FILTER -m set --match-set ${name('KUBE-HEALTH-CHECK-NODE-PORT')} dst -j RETURN`);
  filter.push(`-A KUBE-IPVS-FILTER -m conntrack --ctstate NEW -m set --match-set ${name('KUBE-IPVS-IPS')} dst -j REJECT`);
  nat.push(`-A KUBE-POSTROUTING -m mark ! --mark ${mark}/${mark} -j RETURN`);
  nat.push(`-A KUBE-POSTROUTING -j MARK --xor-mark ${mark}`);
  nat.push(`-A KUBE-POSTROUTING -m comment --comment "kubernetes service traffic requiring SNAT" -j MASQUERADE${input.randomFully ? ' --random-fully' : ''}`);
  nat.push(`-A KUBE-MARK-MASQ -j MARK --or-mark ${mark}`);
  filter.push('COMMIT');
  nat.push('COMMIT');
  return [
    '*nat', ...NAT_CHAINS.map((c) => `:${c} - [0:0]`), ...nat,
    '*filter', ...FILTER_CHAINS.map((c) => `:${c} - [0:0]`), ...filter,
  ].join('\n') + '\n';
}

