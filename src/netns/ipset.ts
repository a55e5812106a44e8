// The kernel's ipsets (net/netfilter/ipset) for the types kube-proxy uses: `ipset restore` text in, `ipset list`
// and `ipset save` text out as ipset v7.17 prints them, and the membership test iptables' `-m set` makes.
import { formatIP, parseIP, type Family } from '../cluster/net.ts';
import { HashTable } from './ipset-hash.ts';

export const IPSET_TYPES = ['hash:ip', 'hash:ip,port', 'hash:ip,port,ip', 'hash:ip,port,net', 'hash:net', 'bitmap:port'] as const;
export type IpsetType = (typeof IPSET_TYPES)[number];

/** The highest revision of each type a current kernel and ipset 7.17 agree on (what `Revision:` shows). */
const REVISION: Record<IpsetType, number> = {
  'hash:ip': 6, 'hash:ip,port': 7, 'hash:ip,port,ip': 6, 'hash:ip,port,net': 8, 'hash:net': 7, 'bitmap:port': 3,
};
const PROTOCOLS: Record<string, number> = { tcp: 6, udp: 17, sctp: 132 };
const PROTO_NAME: Record<number, string> = { 6: 'tcp', 17: 'udp', 132: 'sctp' };

export interface IpsetOptions {
  family: 'inet' | 'inet6';
  hashsize: number;
  maxelem: number;
  /** Default timeout of entries (seconds); undefined: the set has no timeout support. */
  timeout?: number;
  counters: boolean;
  comment: boolean;
  /** bitmap:port */
  range?: { from: number; to: number };
  bucketsize: number;
  initval: number;
}

export interface IpsetMember {
  ip?: bigint;
  proto?: number;
  port?: number;
  ip2?: bigint;
  cidr?: number;
  comment?: string;
  /** When the entry expires (ms); undefined: permanent. */
  expires?: number;
  /** The timeout it was given (0 = permanent in a set with timeouts). */
  timeout?: number;
}

export class IpSet {
  readonly members = new Map<string, IpsetMember>();
  /** Hash types: where the kernel keeps each element, which decides list order and memory. */
  readonly table: HashTable<IpsetMember> | undefined;
  /** iptables rules that reference the set (`References:`), kept by whoever loads rules. */
  references = 0;
  constructor(public name: string, readonly type: IpsetType, readonly options: IpsetOptions) {
    if (type !== 'bitmap:port') {
      this.table = new HashTable(Math.log2(options.hashsize), options.bucketsize, options.initval, (m) => elementWords(this, m), memberKey);
    }
  }

  get family(): Family {
    return this.options.family === 'inet' ? 'IPv4' : 'IPv6';
  }

  put(m: IpsetMember): void {
    this.members.set(memberKey(m), m);
    this.table?.put(m);
  }

  remove(key: string): boolean {
    this.table?.remove(key);
    return this.members.delete(key);
  }

  clear(): void {
    this.members.clear();
    this.table?.clear();
  }
}

/** An error of `ipset restore`, naming the line as ipset does. */
export class IpsetError extends Error {
  constructor(readonly line: number | undefined, readonly reason: string) {
    super(line === undefined ? `ipset v7.17: ${reason}` : `ipset v7.17: Error in line ${line}: ${reason}`);
  }
}

export interface IpsetPacket {
  src: string;
  dst: string;
  protocol: string;
  sport?: number;
  dport?: number;
}

const ALIAS: Record<string, string> = {
  create: 'create', n: 'create', add: 'add', a: 'add', del: 'del', d: 'del', flush: 'flush', f: 'flush',
  destroy: 'destroy', x: 'destroy', swap: 'swap', w: 'swap', rename: 'rename', e: 'rename',
};

export class Ipsets {
  private readonly sets = new Map<string, IpSet>();
  private readonly now: () => number;

  constructor(options: { now?: () => number } = {}) {
    this.now = options.now ?? (() => Date.now());
  }

  has(set: string): boolean {
    return this.sets.has(set);
  }

  get(set: string): IpSet | undefined {
    return this.sets.get(set);
  }

  names(): string[] {
    return [...this.sets.keys()];
  }

  /**
   * `ipset restore`: commands applied one line at a time; the first bad line stops it with an error naming the
   * line, and the lines before it stay applied, as with the real command.
   */
  restore(text: string): void {
    const lines = text.split('\n');
    for (let i = 0; i < lines.length; i++) {
      const line = lines[i].trim();
      if (line === '' || line.startsWith('#')) continue;
      if (line === 'COMMIT') continue;
      let tokens: string[];
      try {
        tokens = tokenize(line);
      } catch (e) {
        throw new IpsetError(i + 1, (e as Error).message);
      }
      try {
        this.command(tokens);
      } catch (e) {
        if (e instanceof IpsetError) throw new IpsetError(e.line ?? i + 1, e.reason);
        throw e;
      }
    }
  }

  /** One command, as its tokens (`['add', 'KUBE-CLUSTER-IP', '10.96.0.1,tcp:443']`). */
  command(tokens: string[]): void {
    const exist = tokens.some((t) => t === '-exist' || t === '-!');
    const args = tokens.filter((t) => t !== '-exist' && t !== '-!');
    const cmd = ALIAS[args[0]?.replace(/^-+/, '')];
    if (!cmd) throw new IpsetError(undefined, `No command specified: unknown argument ${args[0]}`);
    const name = args[1];
    if (!name && cmd !== 'flush' && cmd !== 'destroy') throw new IpsetError(undefined, 'Syntax error: set name is missing');
    switch (cmd) {
      case 'create': return this.create(name, args[2], args.slice(3), exist);
      case 'add': return this.add(name, args[2], args.slice(3), exist);
      case 'del': return this.del(name, args[2], exist);
      case 'flush': return this.flush(name);
      case 'destroy': return this.destroy(name);
      case 'swap': return this.swap(name, args[2]);
      case 'rename': return this.rename(name, args[2]);
    }
  }

  create(name: string, typename: string | undefined, opts: string[], exist = false): void {
    if (!typename) throw new IpsetError(undefined, 'Syntax error: typename is missing');
    if (!(IPSET_TYPES as readonly string[]).includes(typename)) throw new IpsetError(undefined, `Syntax error: typename '${typename}' is unknown`);
    if (name.length > 31) throw new IpsetError(undefined, `Syntax error: setname '${name}' is longer than 31 characters`);
    const type = typename as IpsetType;
    const o: IpsetOptions = { family: 'inet', hashsize: 1024, maxelem: 65536, counters: false, comment: false, bucketsize: 12, initval: initvalFor(name) };
    for (let i = 0; i < opts.length; i++) {
      const key = opts[i];
      const value = (): string => {
        const v = opts[++i];
        if (v === undefined) throw new IpsetError(undefined, `Syntax error: option ${key} requires a value`);
        return v;
      };
      switch (key) {
        case 'family': {
          const f = value();
          if (f !== 'inet' && f !== 'inet6') throw new IpsetError(undefined, `Syntax error: unknown family ${f}`);
          o.family = f;
          break;
        }
        case 'hashsize': o.hashsize = hashsize(int(value(), key)); break;
        case 'maxelem': o.maxelem = int(value(), key); break;
        case 'timeout': o.timeout = int(value(), key); break;
        case 'counters': o.counters = true; break;
        case 'comment': o.comment = true; break;
        case 'bucketsize': {
          const b = int(value(), key);
          o.bucketsize = Math.min(12, Math.max(2, b + (b % 2)));
          break;
        }
        case 'initval': o.initval = int(value(), key) >>> 0; break;
        case 'range': {
          const m = /^(\d+)-(\d+)$/.exec(value());
          if (!m || Number(m[2]) > 65535 || Number(m[1]) > Number(m[2])) throw new IpsetError(undefined, `Syntax error: cannot parse range ${opts[i]}`);
          o.range = { from: Number(m[1]), to: Number(m[2]) };
          break;
        }
        default: throw new IpsetError(undefined, `Syntax error: Unknown argument: '${key}'`);
      }
    }
    if (type === 'bitmap:port') {
      if (!o.range) throw new IpsetError(undefined, "Mandatory option `range' is missing");
    } else if (o.range) throw new IpsetError(undefined, "Syntax error: Unknown argument: 'range'");
    const existing = this.sets.get(name);
    if (existing) {
      if (exist && existing.type === type) return;
      throw new IpsetError(undefined, 'Set cannot be created: set with the same name already exists');
    }
    this.sets.set(name, new IpSet(name, type, o));
  }

  add(name: string, element: string | undefined, opts: string[], exist = false): void {
    const set = this.mustGet(name);
    if (!element) throw new IpsetError(undefined, 'Syntax error: element is missing');
    const m = parseElement(set, element);
    for (let i = 0; i < opts.length; i++) {
      if (opts[i] === 'timeout') {
        if (set.options.timeout === undefined) throw new IpsetError(undefined, 'Timeout cannot be used: set was created without timeout support');
        m.timeout = int(opts[++i], 'timeout');
      } else if (opts[i] === 'comment') {
        if (!set.options.comment) throw new IpsetError(undefined, 'Comment cannot be used: set was created without comment support');
        const c = opts[++i];
        if (c === undefined) throw new IpsetError(undefined, 'Syntax error: comment requires a value');
        m.comment = c;
      } else throw new IpsetError(undefined, `Syntax error: Unknown argument: '${opts[i]}'`);
    }
    if (set.options.timeout !== undefined) {
      m.timeout ??= set.options.timeout;
      if (m.timeout > 0) m.expires = this.now() + m.timeout * 1000;
    }
    const key = memberKey(m);
    this.expire(set);
    if (set.members.has(key) && !exist) throw new IpsetError(undefined, "Element cannot be added to the set: it's already added");
    if (!set.members.has(key) && set.type !== 'bitmap:port' && set.members.size >= set.options.maxelem) {
      throw new IpsetError(undefined, 'Hash is full, cannot add more elements');
    }
    set.put(m);
  }

  del(name: string, element: string | undefined, exist = false): void {
    const set = this.mustGet(name);
    if (!element) throw new IpsetError(undefined, 'Syntax error: element is missing');
    const key = memberKey(parseElement(set, element));
    this.expire(set);
    if (!set.remove(key) && !exist) throw new IpsetError(undefined, "Element cannot be deleted from the set: it's not added");
  }

  /** An element as the set prints it back (`1.2.3.4/32` in a hash:net is `1.2.3.4`). */
  canonical(name: string, element: string): string {
    const set = this.mustGet(name);
    return elementText(set, parseElement(set, element));
  }

  /** flush [NAME]: all sets without a name. */
  flush(name?: string): void {
    for (const s of name ? [this.mustGet(name)] : this.sets.values()) s.clear();
  }

  /** destroy [NAME]: a referenced set cannot go. */
  destroy(name?: string): void {
    for (const s of name ? [this.mustGet(name)] : [...this.sets.values()]) {
      if (s.references > 0) throw new IpsetError(undefined, 'Set cannot be destroyed: it is in use by a kernel component');
      this.sets.delete(s.name);
    }
  }

  /** swap FROM TO: the two exchange contents (and so names); both must be of the same type and family. */
  swap(from: string, to: string | undefined): void {
    const a = this.mustGet(from);
    const b = this.mustGet(to ?? '');
    if (a.type !== b.type) throw new IpsetError(undefined, 'Sets cannot be swapped: their type does not match');
    if (a.family !== b.family) throw new IpsetError(undefined, 'Sets cannot be swapped: their family does not match');
    if (a === b) return;
    const entries = [...this.sets.entries()].map(([k, s]) => [k, s === a ? b : s === b ? a : s] as [string, IpSet]);
    [a.name, b.name] = [b.name, a.name];
    [a.references, b.references] = [b.references, a.references];
    this.sets.clear();
    for (const [k, s] of entries) this.sets.set(k, s);
  }

  rename(from: string, to: string | undefined): void {
    const s = this.mustGet(from);
    if (!to) throw new IpsetError(undefined, 'Syntax error: new set name is missing');
    if (this.sets.has(to)) throw new IpsetError(undefined, 'Set cannot be renamed: a set with the new name already exists');
    const entries = [...this.sets.entries()].map(([k, v]) => [k === from ? to : k, v] as [string, IpSet]);
    s.name = to;
    this.sets.clear();
    for (const [k, v] of entries) this.sets.set(k, v);
  }

  /**
   * iptables' `-m set --match-set NAME FLAGS`: each flag names the packet field for the set's next dimension —
   * an address dimension takes the address, a port dimension the port (and the packet's protocol).
   */
  test(set: string, pkt: IpsetPacket, flags: ('src' | 'dst')[]): boolean {
    const s = this.sets.get(set);
    if (!s) return false;
    this.expire(s);
    const addr = (i: number) => parseIP(flags[i] === 'src' ? pkt.src : pkt.dst);
    const port = (i: number) => (flags[i] === 'src' ? pkt.sport : pkt.dport);
    const proto = PROTOCOLS[pkt.protocol.toLowerCase()];
    const inFamily = (ip: ReturnType<typeof parseIP>) => ip !== undefined && ip.family === s.family;
    switch (s.type) {
      case 'bitmap:port': {
        const p = port(0);
        return proto !== undefined && p !== undefined && s.members.has(memberKey({ port: p }));
      }
      case 'hash:ip': {
        const ip = addr(0);
        return inFamily(ip) && s.members.has(memberKey({ ip: ip!.value }));
      }
      case 'hash:net': {
        const ip = addr(0);
        if (!inFamily(ip)) return false;
        return [...s.members.values()].some((m) => inNet(s.family, ip!.value, m.ip!, m.cidr!));
      }
      default: {
        const ip = addr(0);
        const p = port(1);
        if (!inFamily(ip) || p === undefined || proto === undefined || flags.length < 2) return false;
        if (s.type === 'hash:ip,port') return s.members.has(memberKey({ ip: ip!.value, proto, port: p }));
        const ip2 = addr(2);
        if (!inFamily(ip2) || flags.length < 3) return false;
        if (s.type === 'hash:ip,port,ip') return s.members.has(memberKey({ ip: ip!.value, proto, port: p, ip2: ip2!.value }));
        return [...s.members.values()].some((m) => m.ip === ip!.value && m.proto === proto && m.port === p && inNet(s.family, ip2!.value, m.ip2!, m.cidr!));
      }
    }
  }

  /** `ipset list [NAME]` */
  list(name?: string): string {
    const sets = name ? [this.mustGet(name)] : [...this.sets.values()];
    return sets.map((s) => this.render(s)).join('\n');
  }

  /** `ipset save [NAME]` */
  save(name?: string): string {
    const sets = name ? [this.mustGet(name)] : [...this.sets.values()];
    let out = '';
    for (const s of sets) {
      this.expire(s);
      out += `create ${s.name} ${s.type} ${header(s)}\n`;
      for (const m of listOrder(s)) out += `add ${s.name} ${this.memberText(s, m)}\n`;
    }
    return out;
  }

  private render(s: IpSet): string {
    this.expire(s);
    const members = listOrder(s);
    let out = `Name: ${s.name}\nType: ${s.type}\nRevision: ${REVISION[s.type]}\nHeader: ${header(s)}\n`;
    out += `Size in memory: ${memsize(s)}\nReferences: ${s.references}\nNumber of entries: ${members.length}\nMembers:\n`;
    for (const m of members) out += `${this.memberText(s, m)}\n`;
    return out;
  }

  private memberText(s: IpSet, m: IpsetMember): string {
    let t = elementText(s, m);
    if (s.options.timeout !== undefined) {
      const left = m.expires === undefined ? 0 : Math.max(1, Math.floor((m.expires - this.now()) / 1000));
      t += ` timeout ${left}`;
    }
    if (s.options.counters) t += ' packets 0 bytes 0';
    if (m.comment !== undefined) t += ` comment "${m.comment}"`;
    return t;
  }

  private expire(s: IpSet): void {
    if (s.options.timeout === undefined) return;
    const now = this.now();
    for (const [k, m] of s.members) if (m.expires !== undefined && m.expires <= now) s.remove(k);
  }

  private mustGet(name: string): IpSet {
    const s = this.sets.get(name);
    if (!s) throw new IpsetError(undefined, 'The set with the given name does not exist');
    return s;
  }
}

function header(s: IpSet): string {
  const o = s.options;
  let h = s.type === 'bitmap:port' ? `range ${o.range!.from}-${o.range!.to}` : `family ${o.family} hashsize ${s.table!.hashsize} maxelem ${o.maxelem}`;
  if (o.timeout !== undefined) h += ` timeout ${o.timeout}`;
  if (o.counters) h += ' counters';
  if (o.comment) h += ' comment';
  if (s.type !== 'bitmap:port') h += ` bucketsize ${o.bucketsize} initval 0x${o.initval.toString(16).padStart(8, '0')}`;
  return h;
}

/**
 * "Size in memory" as the kernel computes it: the set's head and its buckets (hash types: a 32-byte header and
 * room for two elements more each time one fills) or, for bitmap:port, the bitmap and an extension slot per
 * port; comments are allocated apart (16 + length + 1).
 */
function memsize(s: IpSet): number {
  const o = s.options;
  const ext = (o.timeout !== undefined ? 8 : 0) + (o.counters ? 16 : 0) + (o.comment ? 8 : 0);
  const comments = [...s.members.values()].reduce((n, m) => n + (m.comment !== undefined ? 16 + Buffer.byteLength(m.comment) + 1 : 0), 0);
  if (s.type === 'bitmap:port') {
    const elements = o.range!.to - o.range!.from + 1;
    return 72 + Math.ceil(elements / 64) * 8 + (ext ? elements * ext : 0) + comments;
  }
  const v6 = o.family === 'inet6';
  const [base, elem] = HASH_SIZES[s.type][v6 ? 1 : 0];
  const dsize = ext ? Math.ceil(elem / 8) * 8 + ext : elem;
  return base + s.table!.regionBytes() + s.table!.bucketBytes(dsize) + comments;
}

/** [head bytes, element bytes] per type for IPv4 and IPv6, measured on the kernel (Debian 12's 6.1). */
const HASH_SIZES: Record<Exclude<IpsetType, 'bitmap:port'>, [[number, number], [number, number]]> = {
  'hash:ip': [[216, 4], [224, 16]],
  'hash:ip,port': [[216, 8], [232, 20]],
  'hash:ip,port,ip': [[208, 12], [232, 36]],
  'hash:ip,port,net': [[464, 12], [1256, 36]],
  'hash:net': [[456, 8], [1240, 20]],
};

function elementText(s: IpSet, m: IpsetMember): string {
  const ip = (v: bigint) => formatIP(s.family, v);
  const pp = () => `${PROTO_NAME[m.proto!]}:${m.port}`;
  // A host-length prefix is printed as the bare address.
  const net = (v: bigint) => (m.cidr === (s.family === 'IPv4' ? 32 : 128) ? ip(v) : `${ip(v)}/${m.cidr}`);
  switch (s.type) {
    case 'bitmap:port': return String(m.port);
    case 'hash:ip': return ip(m.ip!);
    case 'hash:net': return net(m.ip!);
    case 'hash:ip,port': return `${ip(m.ip!)},${pp()}`;
    case 'hash:ip,port,ip': return `${ip(m.ip!)},${pp()},${ip(m.ip2!)}`;
    case 'hash:ip,port,net': return `${ip(m.ip!)},${pp()},${net(m.ip2!)}`;
  }
}

/** Members in the order `ipset list` prints them: the hash table's walk, or a bitmap's port order. */
function listOrder(s: IpSet): IpsetMember[] {
  if (s.table) return s.table.ordered();
  return [...s.members.values()].sort((a, b) => a.port! - b.port!);
}

const bswap32 = (x: number): number => (((x & 0xff) << 24) | ((x & 0xff00) << 8) | ((x >>> 8) & 0xff00) | (x >>> 24)) >>> 0;

/**
 * The element struct as the kernel hashes it: u32 words read (little-endian) from the network-order fields —
 * e.g. hash_ipport4_elem is { __be32 ip; __be16 port; u8 proto; u8 padding; }, and hash:ip,port,net keeps
 * cidr - 1 in a 7-bit field beside a nomatch bit.
 */
function elementWords(s: IpSet, m: IpsetMember): number[] {
  const addr = (v: bigint): number[] => (s.family === 'IPv4'
    ? [bswap32(Number(v))]
    : [96n, 64n, 32n, 0n].map((sh) => bswap32(Number((v >> sh) & 0xffffffffn))));
  const port = (m.port ?? 0);
  const portBytes = ((port >> 8) & 0xff) | ((port & 0xff) << 8);
  switch (s.type) {
    case 'hash:ip': return addr(m.ip!);
    case 'hash:net': return [...addr(m.ip!), (m.cidr! << 24) >>> 0];
    case 'hash:ip,port': return [...addr(m.ip!), (portBytes | (m.proto! << 16)) >>> 0];
    case 'hash:ip,port,ip': return [...addr(m.ip!), ...addr(m.ip2!), (portBytes | (m.proto! << 16)) >>> 0];
    case 'hash:ip,port,net': return [...addr(m.ip!), ...addr(m.ip2!), (portBytes | (((m.cidr! - 1) & 0x7f) << 16) | (m.proto! << 24)) >>> 0];
    case 'bitmap:port': return [port];
  }
}

function memberKey(m: IpsetMember): string {
  return `${m.ip ?? ''}|${m.proto ?? ''}|${m.port ?? ''}|${m.ip2 ?? ''}|${m.cidr ?? ''}`;
}

function parseElement(s: IpSet, text: string): IpsetMember {
  const parts = text.split(',');
  const want: Record<IpsetType, number> = { 'bitmap:port': 1, 'hash:ip': 1, 'hash:net': 1, 'hash:ip,port': 2, 'hash:ip,port,ip': 3, 'hash:ip,port,net': 3 };
  if (parts.length !== want[s.type]) throw new IpsetError(undefined, `Syntax error: cannot parse ${text}: the ${s.type} type takes ${want[s.type]} part(s)`);
  const family = s.family;
  const addr = (t: string): bigint => {
    const ip = parseIP(t);
    if (!ip || ip.family !== family) throw new IpsetError(undefined, `Syntax error: cannot parse ${t}: resolving to ${family} address failed`);
    return ip.value;
  };
  const net = (t: string): { ip: bigint; cidr: number } => {
    const [a, p] = t.split('/');
    const max = family === 'IPv4' ? 32 : 128;
    const cidr = p === undefined ? max : Number(p);
    if (!Number.isInteger(cidr) || cidr < 1 || cidr > max || (p !== undefined && !/^\d+$/.test(p))) throw new IpsetError(undefined, `Syntax error: cannot parse ${t}: invalid CIDR`);
    const host = BigInt(max - cidr);
    return { ip: (addr(a) >> host) << host, cidr };
  };
  const protoPort = (t: string): { proto: number; port: number } => {
    const [a, b] = t.includes(':') ? t.split(':') : ['tcp', t];
    const proto = PROTOCOLS[a.toLowerCase()];
    if (proto === undefined) throw new IpsetError(undefined, `Syntax error: cannot parse ${t}: unknown protocol ${a}`);
    if (!/^\d+$/.test(b) || Number(b) > 65535) throw new IpsetError(undefined, `Syntax error: cannot parse '${b}' as a port number`);
    return { proto, port: Number(b) };
  };
  switch (s.type) {
    case 'bitmap:port': {
      const port = text.includes(':') ? protoPort(text).port : Number(text);
      if (!/^\d+$/.test(text.split(':').pop()!)) throw new IpsetError(undefined, `Syntax error: cannot parse '${text}' as a port number`);
      if (port < s.options.range!.from || port > s.options.range!.to) throw new IpsetError(undefined, 'Element is out of the range of the set');
      return { port };
    }
    case 'hash:ip': return { ip: addr(parts[0]) };
    case 'hash:net': return net(parts[0]);
    case 'hash:ip,port': return { ip: addr(parts[0]), ...protoPort(parts[1]) };
    case 'hash:ip,port,ip': return { ip: addr(parts[0]), ...protoPort(parts[1]), ip2: addr(parts[2]) };
    case 'hash:ip,port,net': {
      const n = net(parts[2]);
      return { ip: addr(parts[0]), ...protoPort(parts[1]), ip2: n.ip, cidr: n.cidr };
    }
  }
}

function inNet(family: Family, ip: bigint, base: bigint, cidr: number): boolean {
  const host = BigInt((family === 'IPv4' ? 32 : 128) - cidr);
  return ip >> host === base >> host;
}

/** Words split on blanks, a double-quoted word kept whole (comments). */
function tokenize(line: string): string[] {
  const out: string[] = [];
  const re = /"([^"]*)"|(\S+)/g;
  let m: RegExpExecArray | null;
  while ((m = re.exec(line))) out.push(m[1] ?? m[2]);
  if ((line.match(/"/g)?.length ?? 0) % 2) throw new Error('Syntax error: unterminated quoted string');
  return out;
}

function int(text: string | undefined, option: string): number {
  if (text === undefined || !/^(0x[0-9a-f]+|\d+)$/i.test(text)) throw new IpsetError(undefined, `Syntax error: '${text}' is invalid as number for option ${option}`);
  return Number(text);
}

/** The kernel rounds hashsize up to a power of two, at least 64. */
function hashsize(n: number): number {
  let h = 64;
  while (h < n) h *= 2;
  return h;
}

/** A fixed initval per set name (the kernel's is random), so output is reproducible. */
function initvalFor(name: string): number {
  let h = 0x811c9dc5;
  for (const c of Buffer.from(name)) h = Math.imul(h ^ c, 0x01000193) >>> 0;
  return h;
}
