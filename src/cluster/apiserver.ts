// The write path every object takes into the store, as through kube-apiserver: defaulting, generateName, and
// the Service registry's allocation of ClusterIPs and NodePorts. A refused write is reported (naming the field)
// and returns undefined; nothing here throws on bad input.
import { applyDefaults } from './defaults.ts';
import { describeObject, patch, type KubeObject, type Service } from './objects.ts';
import { NameGenerator } from './names.ts';
import { ClusterIPAllocator } from './allocators/clusterip.ts';
import { NodePortAllocator } from './allocators/nodeport.ts';
import { canonicalIP, familyOf, type Family } from './net.ts';
import type { Store } from './store.ts';
import type { ClusterConfig } from './config.ts';
import type { Path } from './validation/fields.ts';
import type { Severity } from './problems.ts';

export type ReportFn = (obj: KubeObject, path: Path, message: string, severity?: Severity) => void;

export class ApiServer {
  readonly names = new NameGenerator();
  private readonly clusterIPs: ClusterIPAllocator[];
  private readonly nodePorts: NodePortAllocator;
  /** Written values outside the configured ranges (dumps of real clusters span several): still unique. */
  private readonly outside = new Map<string, string>();

  constructor(readonly store: Store, readonly config: ClusterConfig, private readonly report: ReportFn) {
    this.clusterIPs = config.serviceCIDRs.map((c) => new ClusterIPAllocator(c));
    this.nodePorts = new NodePortAllocator(config.nodePortRange.min, config.nodePortRange.max);
  }

  create<T extends KubeObject>(input: T): T | undefined {
    let obj = applyDefaults(input);
    if (!obj.metadata.name && obj.metadata.generateName) {
      const { kind } = obj;
      const ns = obj.metadata.namespace;
      obj = patch<KubeObject>(obj, { metadata: patch(obj.metadata, { name: this.names.generate(obj.metadata.generateName, (n) => !!this.store.get(kind, ns, n)) }) }) as T;
    } else if (this.store.get(obj.kind, obj.metadata.namespace, obj.metadata.name)) {
      this.report(obj, ['metadata', 'name'], `AlreadyExists: ${describeObject(obj.kind, obj.metadata.namespace, obj.metadata.name)} already exists`);
      return undefined;
    }
    if (obj.kind === 'Service') {
      const allocated = this.allocateService(obj as unknown as Service, undefined);
      if (!allocated) return undefined;
      obj = allocated as unknown as T;
    }
    return this.store.create(obj);
  }

  update<T extends KubeObject>(input: T): T | undefined {
    const old = this.store.get<T>(input.kind, input.metadata.namespace, input.metadata.name);
    if (!old) return this.create(input);
    let obj = applyDefaults(input);
    if (obj.kind === 'Service') {
      const allocated = this.allocateService(obj as unknown as Service, old as unknown as Service);
      if (!allocated) return undefined;
      obj = allocated as unknown as T;
    }
    return this.store.update(obj);
  }

  /** create or update, as `kubectl apply` ends up doing. */
  apply<T extends KubeObject>(obj: T): T | undefined {
    return this.store.get(obj.kind, obj.metadata.namespace, obj.metadata.name) ? this.update(obj) : this.create(obj);
  }

  delete(kind: string, namespace: string | undefined, name: string): KubeObject | undefined {
    const old = this.store.delete(kind, namespace, name);
    if (old?.kind === 'Service') this.releaseService(old as unknown as Service);
    return old;
  }

  // --- the Service registry ------------------------------------------------------------------------

  /**
   * Claims the ClusterIPs and NodePorts a Service writes before any automatic allocation runs, so a value
   * written later in the files is never handed to an earlier Service. Conflicts are reported by create.
   */
  claimWritten(svc: Service): void {
    const owner = this.owner(svc);
    const spec = svc.spec ?? {};
    const ips = spec.clusterIPs?.length ? spec.clusterIPs : spec.clusterIP ? [spec.clusterIP] : [];
    for (const ip of ips) {
      const c = ip === 'None' ? undefined : canonicalIP(ip);
      const fam = c && familyOf(c);
      const a = fam && this.allocatorFor(fam);
      if (a && a.reserve(c, owner) === 'outside' && !this.outside.has(`ip:${c}`)) this.outside.set(`ip:${c}`, owner);
    }
    for (const np of [...(spec.ports ?? []).map((p) => p.nodePort), spec.healthCheckNodePort]) {
      if (np !== undefined && this.nodePorts.reserve(np, owner) === 'outside' && !this.outside.has(`np:${np}`)) this.outside.set(`np:${np}`, owner);
    }
  }

  private owner(svc: Service): string {
    return `${svc.metadata!.namespace}/${svc.metadata!.name}`;
  }

  private allocatorFor(family: Family): ClusterIPAllocator | undefined {
    return this.clusterIPs.find((a) => a.cidr.family === family);
  }

  private releaseService(svc: Service, keep: { ips?: Set<string>; ports?: Set<number> } = {}): void {
    const owner = this.owner(svc);
    for (const ip of svc.spec?.clusterIPs ?? []) {
      if (ip === 'None' || keep.ips?.has(ip)) continue;
      const fam = familyOf(ip);
      const a = fam && this.allocatorFor(fam);
      if (a?.contains(ip)) a.release(ip, owner);
      if (this.outside.get(`ip:${ip}`) === owner) this.outside.delete(`ip:${ip}`);
    }
    const ports = [...(svc.spec?.ports ?? []).map((p) => p.nodePort), svc.spec?.healthCheckNodePort];
    for (const np of ports) {
      if (np === undefined || keep.ports?.has(np)) continue;
      this.nodePorts.release(np, owner);
      if (this.outside.get(`np:${np}`) === owner) this.outside.delete(`np:${np}`);
    }
  }

  /**
   * Fills spec.clusterIP(s), ipFamilies, ipFamilyPolicy and nodePorts (pkg/registry/core/service/storage/alloc.go).
   * Returns undefined, having reported why, when the apiserver would refuse the Service.
   */
  private allocateService(svc: Service, old: Service | undefined): Service | undefined {
    const spec = { ...svc.spec! };
    const owner = this.owner(svc);
    const type = spec.type ?? 'ClusterIP';
    // What this call holds so far; a refused Service gives it all back (except what it held before an update).
    const planned: { ips: string[]; ports: (number | undefined)[]; hc?: number } = { ips: [], ports: [] };
    const fail = (path: Path, message: string) => {
      this.report(svc as unknown as KubeObject, path, message);
      const before = { ips: new Set(old?.spec?.clusterIPs ?? []), ports: new Set([...(old?.spec?.ports ?? []).map((p) => p.nodePort), old?.spec?.healthCheckNodePort].filter((p): p is number => p !== undefined)) };
      // Owner-aware: values another Service holds (the conflicts being reported) are left alone.
      const written = svc.spec ?? {};
      this.releaseService({
        ...svc,
        spec: {
          clusterIPs: [...planned.ips, ...(written.clusterIPs ?? []), ...(written.clusterIP ? [written.clusterIP] : [])],
          ports: [...planned.ports.map((nodePort) => ({ port: 0, nodePort })), ...(written.ports ?? [])],
          healthCheckNodePort: planned.hc ?? written.healthCheckNodePort,
        },
      }, before);
      return undefined;
    };

    // Values kept from before an update (ClusterIPs are immutable; the file may just not repeat them).
    if (old && type !== 'ExternalName' && !spec.clusterIP && !spec.clusterIPs && old.spec?.clusterIPs) {
      spec.clusterIP = old.spec.clusterIP;
      spec.clusterIPs = old.spec.clusterIPs;
    }
    const oldNodePorts = new Map((old?.spec?.ports ?? []).map((p) => [`${p.port}/${p.protocol}`, p.nodePort]));

    if (type === 'ExternalName') {
      delete spec.clusterIP;
      delete spec.clusterIPs;
      delete spec.ipFamilies;
      delete spec.ipFamilyPolicy;
    } else {
      const headless = spec.clusterIP === 'None' || spec.clusterIPs?.[0] === 'None';
      const written = headless ? [] : (spec.clusterIPs?.length ? spec.clusterIPs : spec.clusterIP ? [spec.clusterIP] : []);
      if (spec.clusterIP && spec.clusterIPs?.length && spec.clusterIP !== spec.clusterIPs[0]) {
        return fail(['spec', 'clusterIPs'], `Invalid value: ${JSON.stringify(spec.clusterIPs)}: first value must match \`clusterIP\``);
      }
      const clusterFamilies = this.config.serviceCIDRs.map((c) => c.family);
      const selectorless = !spec.selector || Object.keys(spec.selector).length === 0;
      const policy = spec.ipFamilyPolicy ?? old?.spec?.ipFamilyPolicy ?? (headless && selectorless ? 'RequireDualStack' : 'SingleStack');
      const families: Family[] = [...((spec.ipFamilies as Family[] | undefined) ?? written.map((ip) => familyOf(ip)!).filter(Boolean))];
      if (families.length === 0) families.push(clusterFamilies[0]);
      const other: Family = families[0] === 'IPv4' ? 'IPv6' : 'IPv4';
      if (policy !== 'SingleStack' && families.length < 2 && (clusterFamilies.includes(other) || (headless && selectorless))) families.push(other);
      if (policy === 'RequireDualStack' && !headless && clusterFamilies.length < 2) {
        return fail(['spec', 'ipFamilyPolicy'], `Invalid value: "RequireDualStack": this cluster is not configured for dual-stack services`);
      }
      if (policy === 'SingleStack' && families.length > 1) {
        return fail(['spec', 'ipFamilies'], 'Invalid value: when spec.ipFamilyPolicy is SingleStack, only one ipFamily may be given');
      }
      spec.ipFamilyPolicy = policy;
      spec.ipFamilies = families;
      if (headless) {
        spec.clusterIP = 'None';
        spec.clusterIPs = ['None'];
      } else {
        const ips = planned.ips;
        for (let i = 0; i < families.length; i++) {
          const fam = families[i];
          const alloc = this.allocatorFor(fam);
          if (!alloc) return fail(['spec', 'ipFamilies', i], `Invalid value: "${fam}": not configured on this cluster (serviceCIDR ${this.config.serviceCIDRs.map((c) => c.text).join(',')})`);
          const want = written[i];
          const path = ['spec', written.length > 1 || spec.clusterIPs ? 'clusterIPs' : 'clusterIP', ...(written.length > 1 || spec.clusterIPs ? [i] : [])];
          if (want) {
            const ip = canonicalIP(want)!;
            if (familyOf(ip) !== fam) return fail(path, `Invalid value: "${want}": expected an ${fam} address`);
            const held = alloc.reserve(ip, owner);
            if (held === 'outside') {
              const prev = this.outside.get(`ip:${ip}`);
              if (prev && prev !== owner) return fail(path, `Invalid value: "${want}": provided IP is already allocated (to Service ${prev})`);
              this.outside.set(`ip:${ip}`, owner);
              this.report(svc as unknown as KubeObject, path, `"${want}" is outside the service CIDR ${alloc.cidr.text}; kept as written`, 'warning');
            } else if (held) {
              return fail(path, `Invalid value: "${want}": provided IP is already allocated (to Service ${held})`);
            }
            ips.push(ip);
          } else {
            const ip = alloc.allocate(owner);
            if (!ip) return fail(['spec', 'clusterIP'], `Internal error: failed to allocate a serviceIP: range is full (${alloc.cidr.text})`);
            ips.push(ip);
          }
        }
        spec.clusterIP = ips[0];
        spec.clusterIPs = ips;
      }
    }

    const needsNodePorts = type === 'NodePort' || (type === 'LoadBalancer' && spec.allocateLoadBalancerNodePorts !== false);
    if (needsNodePorts) {
      const byPort = new Map<number, number>();
      const ports = [...(spec.ports ?? [])];
      for (let i = 0; i < ports.length; i++) {
        const p = { ...ports[i] };
        const path = ['spec', 'ports', i, 'nodePort'];
        const want = p.nodePort ?? oldNodePorts.get(`${p.port}/${p.protocol}`);
        if (want !== undefined) {
          const held = byPort.get(p.port) === want ? undefined : this.nodePorts.reserve(want, owner);
          if (held === 'outside') {
            const prev = this.outside.get(`np:${want}`);
            if (prev && prev !== owner) return fail(path, `Invalid value: ${want}: provided port is already allocated (to Service ${prev})`);
            this.outside.set(`np:${want}`, owner);
            this.report(svc as unknown as KubeObject, path, `${want} is outside the node port range ${this.config.nodePortRange.min}-${this.config.nodePortRange.max}; kept as written`, 'warning');
          } else if (held) {
            return fail(path, `Invalid value: ${want}: provided port is already allocated (to Service ${held})`);
          }
          p.nodePort = want;
          planned.ports.push(want);
        } else {
          // Ports that share a number (53/UDP and 53/TCP) share a NodePort.
          const np = byPort.get(p.port) ?? this.nodePorts.allocate(owner, `${owner}:${p.port}`);
          if (np === undefined) return fail(path, 'Internal error: failed to allocate a nodePort: range is full');
          p.nodePort = np;
          planned.ports.push(np);
        }
        byPort.set(p.port, p.nodePort);
        ports[i] = p;
      }
      spec.ports = ports;
    } else if (type === 'ClusterIP' || type === 'ExternalName') {
      spec.ports = spec.ports?.map(({ nodePort: _drop, ...p }) => p);
    }

    if (type === 'LoadBalancer' && spec.externalTrafficPolicy === 'Local') {
      const want = spec.healthCheckNodePort ?? old?.spec?.healthCheckNodePort;
      if (want !== undefined) {
        const held = this.nodePorts.reserve(want, owner);
        if (held && held !== 'outside') return fail(['spec', 'healthCheckNodePort'], `Invalid value: ${want}: provided port is already allocated (to Service ${held})`);
        spec.healthCheckNodePort = want;
      } else {
        spec.healthCheckNodePort = this.nodePorts.allocate(owner, `${owner}:healthcheck`);
      }
      planned.hc = spec.healthCheckNodePort;
    } else {
      delete spec.healthCheckNodePort;
    }

    if (old) {
      this.releaseService(old, {
        ips: new Set(planned.ips),
        ports: new Set([...planned.ports, planned.hc].filter((p): p is number => p !== undefined)),
      });
    }
    return { ...svc, spec };
  }
}
