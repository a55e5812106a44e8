// The CNI portmap plugin (iptables backend, plugins/meta/portmap/portmap_iptables.go): a pod's hostPorts
// become DNAT rules in the node's nat table — CNI-HOSTPORT-DNAT (entered from PREROUTING and OUTPUT for
// local destinations) jumps per container to CNI-DN-<hash>, which marks hairpin and localhost traffic for
// masquerade (CNI-HOSTPORT-SETMARK, masqueraded by CNI-HOSTPORT-MASQ) and DNATs to the pod.
import { createHash } from 'node:crypto';
import type { Netns } from '../netns/netns.ts';

export interface PortMapEntry {
  hostPort: number;
  containerPort: number;
  /** "tcp" | "udp" | "sctp", as the runtime passes it. */
  protocol: string;
  hostIP?: string;
}

export interface PortMapOptions {
  snat?: boolean;
  /** The mark bit for masquerade (default 13: 0x2000). */
  markMasqBit?: number;
}

/** The options of a portmap entry in a conflist. */
export const portmapOptions = (conf: Record<string, unknown>): PortMapOptions => ({ snat: conf.snat as boolean | undefined, markMasqBit: conf.markMasqBit as number | undefined });

const TOP = 'CNI-HOSTPORT-DNAT';
const SETMARK = 'CNI-HOSTPORT-SETMARK';
const MASQ = 'CNI-HOSTPORT-MASQ';
const MAX_CHAIN = 28;
const MAX_COMMENT = 256;

/** utils.MustFormatChainNameWithPrefix: "CNI-" + prefix + sha512(name + id) in hex, cut to 28 characters. */
export function dnatChainName(netName: string, containerId: string): string {
  const prefix = 'CNI-DN-';
  return prefix + createHash('sha512').update(netName + containerId).digest('hex').slice(0, MAX_CHAIN - prefix.length);
}

const hex = (n: number) => `0x${n.toString(16)}`;

/** ADD: the rules for one container's port mappings (idempotent, as the plugin's InsertUnique is). */
export function portmapAdd(host: Netns, netName: string, containerId: string, containerNet: string, entries: PortMapEntry[], opts: PortMapOptions = {}): void {
  if (entries.length === 0) return;
  // containerNet is the result's address with its prefix ("10.244.1.5/24"): the hairpin rule matches that network.
  const containerIP = containerNet.split('/')[0];
  const v6 = containerIP.includes(':');
  const ipt = v6 ? host.netfilter.ip6tables : host.netfilter.iptables;
  const snat = opts.snat ?? true;
  const bit = 1 << (opts.markMasqBit ?? 13);
  const mark = `${hex(bit)}/${hex(bit)}`;
  if (snat) {
    ipt.ensureChain('nat', SETMARK);
    ipt.ensureRule('append', 'nat', SETMARK, ['-m', 'comment', '--comment', 'CNI portfwd masquerade mark', '-j', 'MARK', '--set-xmark', mark]);
    ipt.ensureChain('nat', MASQ);
    ipt.ensureRule('append', 'nat', MASQ, ['-m', 'mark', '--mark', mark, '-j', 'MASQUERADE']);
    ipt.ensureRule('prepend', 'nat', 'POSTROUTING', ['-m', 'comment', '--comment', 'CNI portfwd requiring masquerade', '-j', MASQ]);
  }
  ipt.ensureChain('nat', TOP);
  for (const entry of ['PREROUTING', 'OUTPUT']) ipt.ensureRule('append', 'nat', entry, ['-m', 'addrtype', '--dst-type', 'LOCAL', '-j', TOP]);

  const chain = dnatChainName(netName, containerId);
  const comment = `dnat name: "${netName}" id: "${containerId}"`.slice(0, MAX_COMMENT - 1);
  ipt.ensureChain('nat', chain);
  for (const entry of entries) {
    if (entry.hostIP && entry.hostIP.includes(':') !== v6) continue;
    const base = ['-p', entry.protocol, '--dport', String(entry.hostPort)];
    if (entry.hostIP && entry.hostIP !== '0.0.0.0' && entry.hostIP !== '::') base.push('-d', entry.hostIP);
    if (snat) {
      ipt.ensureRule('append', 'nat', chain, [...base, '-s', containerNet, '-j', SETMARK]);
      if (!v6) ipt.ensureRule('append', 'nat', chain, [...base, '-s', '127.0.0.1', '-j', SETMARK]);
    }
    ipt.ensureRule('append', 'nat', chain, [...base, '-j', 'DNAT', '--to-destination', v6 ? `[${containerIP}]:${entry.containerPort}` : `${containerIP}:${entry.containerPort}`]);
  }
  // The entry rules, per protocol in sorted order, at most 15 ports a multiport rule; prepended so the
  // newest container using a host port wins.
  const byProto = new Map<string, number[]>();
  for (const e of entries) byProto.set(e.protocol, [...(byProto.get(e.protocol) ?? []), e.hostPort]);
  for (const proto of [...byProto.keys()].sort()) {
    const ports = byProto.get(proto)!;
    for (let i = 0; i < ports.length; i += 15) {
      ipt.ensureRule('prepend', 'nat', TOP, ['-m', 'comment', '--comment', comment, '-m', 'multiport', '-p', proto, '--destination-ports', ports.slice(i, i + 15).join(','), '-j', chain]);
    }
  }
}

/** DEL: the container's chain and the jumps to it go; the shared chains stay. */
export function portmapDel(host: Netns, netName: string, containerId: string): void {
  const chain = dnatChainName(netName, containerId);
  for (const ipt of [host.netfilter.iptables, host.netfilter.ip6tables]) {
    const top = ipt.tables.get('nat')?.chains.get(TOP);
    if (!top) continue;
    top.rules = top.rules.filter((r) => !(r.target?.kind === 'jump' && r.target.chain === chain));
    ipt.deleteChain('nat', chain);
  }
}
