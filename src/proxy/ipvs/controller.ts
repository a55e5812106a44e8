// kube-proxy in IPVS mode as a node agent: it watches Services, EndpointSlices and its Node in the store and
// re-syncs the node's kernel — the IPVS table, the ipsets, and the kube-ipvs0 dummy device holding the VIPs —
// on every change, as syncProxyRules does (a full resync that only touches what differs).
import type { Cluster } from '../../cluster/cluster.ts';
import { Ipvs } from '../../netns/ipvs.ts';
import { Ipsets } from '../../netns/ipset.ts';
import { macFor } from '../../netns/mac.ts';
import type { Netns } from '../../netns/netns.ts';
import { ipvsadmConnections, ipvsadmList, type IpvsadmOptions } from '../../netns/ipvs/ipvsadm.ts';
import { DUMMY_DEVICE, syncIpvsProxier, type IpvsProxyState } from './proxier.ts';
import { loadIntoKernel, proxierInput, referenceSets, type IpvsRulesOptions } from './rules.ts';

export interface IpvsProxierOptions extends IpvsRulesOptions {
  /** The node's network namespace as a Netns: kube-ipvs0 is created there and given the VIPs. */
  netns?: Netns;
  /**
   * The kernel objects to program: the node's own IPVS table and ipsets (Netns.ipvs, Netns.ipsets). Default:
   * tables of the proxier's own (for `kdp rules`, which only renders).
   */
  kernel?: { ipvs: Ipvs; ipsets: Ipsets };
  /** After each sync: the iptables side (jump rules, iptables-restore --noflush) is the caller's to load. */
  onSync?: (state: IpvsProxyState) => void;
}

export class IpvsProxier {
  readonly ipvs: Ipvs;
  readonly ipsets: Ipsets;
  state: IpvsProxyState | undefined;
  private stops: (() => void)[] = [];

  constructor(private readonly cluster: Cluster, readonly nodeName: string, private readonly options: IpvsProxierOptions = {}) {
    const now = options.now ?? (() => Date.now());
    this.ipvs = options.kernel?.ipvs ?? new Ipvs({ now });
    this.ipsets = options.kernel?.ipsets ?? new Ipsets({ now });
    // kube-proxy sets net.ipv4.vs.conntrack=1 (so iptables' masquerade sees IPVS's connections),
    // expire_quiescent_template=1 (a weight-0 server loses its persistent clients) and
    // expire_nodest_conn=1 (a deleted server's connections are rescheduled).
    this.ipvs.conntrack = true;
    this.ipvs.expireQuiescentTemplate = true;
    this.ipvs.expireNodestConn = true;
  }

  /** One syncProxyRules: computes the node's state and applies it to its kernel objects. */
  sync(): IpvsProxyState {
    const state = syncIpvsProxier(proxierInput(this.cluster, this.nodeName, this.options));
    loadIntoKernel(state, this.ipvs, this.ipsets);
    referenceSets(this.ipsets, state.iptablesRestore);
    if (this.options.netns) bindDummyAddresses(this.options.netns, this.nodeName, state.dummyAddresses);
    this.state = state;
    this.options.onSync?.(state);
    return state;
  }

  /** Watches the objects kube-proxy watches and re-syncs on each change. */
  start(): this {
    for (const kind of ['Service', 'EndpointSlice', 'Node']) {
      this.stops.push(this.cluster.store.watch({ kind }, (e) => {
        if (kind === 'Node' && e.object.metadata.name !== this.nodeName) return;
        this.sync();
      }));
    }
    this.sync();
    return this;
  }

  stop(): void {
    for (const s of this.stops.splice(0)) s();
  }
}

/**
 * EnsureDummyDevice + EnsureAddressBind/UnbindAddress: kube-ipvs0 (a dummy that stays down) holds each VIP as
 * a /32 or /128, so the kernel's local routes accept traffic for them.
 */
export function bindDummyAddresses(netns: Netns, nodeName: string, addresses: string[]): void {
  if (!netns.device(DUMMY_DEVICE)) netns.addDevice({ name: DUMMY_DEVICE, kind: 'dummy', mtu: 1500, mac: macFor(`${nodeName}/${DUMMY_DEVICE}`), up: false });
  const wanted = new Set(addresses);
  for (const a of [...netns.addressesOf(DUMMY_DEVICE)]) if (!wanted.has(a.ip)) netns.removeAddress(DUMMY_DEVICE, a.ip);
  const bound = new Set(netns.addressesOf(DUMMY_DEVICE).map((a) => a.ip));
  for (const ip of addresses) if (!bound.has(ip)) netns.addAddress(DUMMY_DEVICE, ip, ip.includes(':') ? 128 : 32);
}

/** The pure renderers' view of one sync: the state, the kernel it left, and the text a person would see. */
export interface IpvsRules extends IpvsProxyState {
  /** The node's IPVS table and ipsets with this sync loaded. */
  kernel: { ipvs: Ipvs; ipsets: Ipsets };
  /** `ipvsadm -Ln`, or `-Ln --stats` */
  ipvsadm(options?: IpvsadmOptions): string;
  /** `ipset list` */
  ipsetList(): string;
  /** `ipvsadm -Lnc`: the connection table */
  ipvsadmConnections(): string;
}

/** kube-proxy's IPVS-mode output for one node (`kdp rules --format ipvsadm|ipset`), from one sync. */
export function ipvsRules(cluster: Cluster, nodeName: string, options: IpvsProxierOptions = {}): IpvsRules {
  const now = options.now ?? (() => 0);
  const proxier = new IpvsProxier(cluster, nodeName, { ...options, now });
  const state = proxier.sync();
  const { ipvs, ipsets } = proxier;
  return {
    ...state, kernel: { ipvs, ipsets },
    ipvsadm: (o?: IpvsadmOptions) => ipvsadmList(ipvs, o),
    ipsetList: () => ipsets.list(),
    ipvsadmConnections: () => ipvsadmConnections(ipvs, now()),
  };
}
