// Match modules (-m NAME): their options as iptables parses them, their text as iptables-save 1.8.9
// (nf_tables) prints it, and their test against a packet as the kernel's xt_NAME does it.
import { formatIP } from '../../cluster/net.ts';
import { ADDR_TYPES, type IpSetLookup, type NfEnv, type NfPacket } from './context.ts';
import { RuleError } from './errors.ts';
import { allOnes, PROTO, type Family, type Match, type PortMatch, type PortRange, type Rule } from './model.ts';
import { saveString } from './tokenize.ts';

export interface ParseCtx {
  family: Family;
  ipsets?: IpSetLookup;
}

type Kind = Match['kind'];
type M<K extends Kind> = K extends PortMatch['kind'] ? PortMatch : Extract<Match, { kind: K }>;

interface Module<K extends Kind> {
  /** Long options and whether they take an argument. */
  options: Record<string, boolean>;
  create(ctx: ParseCtx): M<K>;
  parse(m: M<K>, opt: string, arg: string, invert: boolean, next: () => string, ctx: ParseCtx): void;
  /** Checks once the whole rule is read. */
  finish(m: M<K>, rule: Rule, ctx: ParseCtx): void;
  save(m: M<K>, family: Family): string;
  test(m: M<K>, p: NfPacket, env: NfEnv): boolean;
}

const bang = (inv: boolean | undefined) => (inv ? ' !' : '');

export function parsePort(text: string): number {
  if (!/^\d+$/.test(text) || Number(text) > 65535) throw new RuleError(`invalid port/service \`${text}' specified`);
  return Number(text);
}

export function parsePortRange(text: string): PortRange {
  const i = text.indexOf(':');
  if (i < 0) {
    const p = parsePort(text);
    return { lo: p, hi: p };
  }
  const lo = i === 0 ? 0 : parsePort(text.slice(0, i));
  const hi = i === text.length - 1 ? 65535 : parsePort(text.slice(i + 1));
  if (lo > hi) throw new RuleError(`invalid portrange (min > max) \`${text}'`);
  return { lo, hi };
}

const rangeText = (r: PortRange) => (r.lo === r.hi ? `${r.lo}` : `${r.lo}:${r.hi}`);
const inRange = (r: PortRange, port: number | undefined) => port !== undefined && port >= r.lo && port <= r.hi;

const TCP_FLAGS: [string, number][] = [['FIN', 1], ['SYN', 2], ['RST', 4], ['PSH', 8], ['ACK', 16], ['URG', 32]];
function parseTcpFlags(text: string): number {
  let bits = 0;
  for (const f of text.split(',')) {
    const u = f.toUpperCase();
    if (u === 'ALL') bits |= 63;
    else if (u === 'NONE') continue;
    else {
      const hit = TCP_FLAGS.find(([n]) => n === u);
      if (!hit) throw new RuleError(`Unknown TCP flag \`${f}'`);
      bits |= hit[1];
    }
  }
  return bits;
}
const tcpFlagsText = (bits: number) => (bits === 0 ? 'NONE' : TCP_FLAGS.filter(([, b]) => bits & b).map(([n]) => n).join(','));

function portModule<K extends 'tcp' | 'udp' | 'sctp'>(kind: K, num: number): Module<K> {
  const options: Record<string, boolean> = { sport: true, 'source-port': true, dport: true, 'destination-port': true };
  if (kind === 'tcp') Object.assign(options, { 'tcp-flags': true, syn: false });
  return {
    options,
    create: () => ({ kind }) as M<K>,
    parse(m, opt, arg, invert, next) {
      const mm = m;
      if (opt === 'sport' || opt === 'source-port') {
        mm.sport = parsePortRange(arg);
        mm.sportInvert = invert;
      } else if (opt === 'dport' || opt === 'destination-port') {
        mm.dport = parsePortRange(arg);
        mm.dportInvert = invert;
      } else if (opt === 'syn') {
        mm.flags = { mask: 1 | 2 | 4 | 16, comp: 2, invert };
      } else {
        mm.flags = { mask: parseTcpFlags(arg), comp: parseTcpFlags(next()), invert };
      }
    },
    finish(_m, rule) {
      if (rule.proto?.num !== num || rule.proto.invert) throw new RuleError(`${kind} match: needs \`-p ${kind}'`);
    },
    save(m) {
      const mm = m;
      let s = ` -m ${kind}`;
      if (mm.sport) s += `${bang(mm.sportInvert)} --sport ${rangeText(mm.sport)}`;
      if (mm.dport) s += `${bang(mm.dportInvert)} --dport ${rangeText(mm.dport)}`;
      if (mm.flags) s += `${bang(mm.flags.invert)} --tcp-flags ${tcpFlagsText(mm.flags.mask)} ${tcpFlagsText(mm.flags.comp)}`;
      return s;
    },
    test(m, p) {
      const mm = m;
      if (mm.sport && inRange(mm.sport, p.sport) === !!mm.sportInvert) return false;
      if (mm.dport && inRange(mm.dport, p.dport) === !!mm.dportInvert) return false;
      if (mm.flags && (((p.tcpFlags ?? 0) & mm.flags.mask) === mm.flags.comp) === mm.flags.invert) return false;
      return true;
    },
  };
}

const ICMP_TYPES: Record<string, [number, number?]> = {
  'echo-reply': [0], pong: [0], 'destination-unreachable': [3], 'network-unreachable': [3, 0], 'host-unreachable': [3, 1],
  'protocol-unreachable': [3, 2], 'port-unreachable': [3, 3], 'fragmentation-needed': [3, 4], redirect: [5],
  'echo-request': [8], ping: [8], 'time-exceeded': [11], 'ttl-exceeded': [11, 0], 'parameter-problem': [12],
};

const icmp: Module<'icmp'> = {
  options: { 'icmp-type': true },
  create: () => ({ kind: 'icmp', type: 255, invert: false }),
  parse(m, _opt, arg, invert) {
    const named = ICMP_TYPES[arg.toLowerCase()];
    const parts = named ? undefined : /^(\d+)(?:\/(\d+))?$/.exec(arg);
    if (!named && !parts && arg !== 'any') throw new RuleError(`Invalid ICMP type \`${arg}'`);
    m.type = arg === 'any' ? 255 : named ? named[0] : Number(parts![1]);
    m.code = named ? named[1] : parts?.[2] !== undefined ? Number(parts[2]) : undefined;
    m.invert = invert;
  },
  finish(_m, rule) {
    if (rule.proto?.num !== PROTO.icmp) throw new RuleError('icmp match: needs `-p icmp\'');
  },
  save: (m) => ` -m icmp${bang(m.invert)} --icmp-type ${m.type === 255 ? 'any' : m.code === undefined ? m.type : `${m.type}/${m.code}`}`,
  test: (m, p) => (m.type === 255 || (p.icmpType === m.type && (m.code === undefined || p.icmpCode === m.code))) !== m.invert,
};

function parseAddrTypes(text: string): number {
  let bits = 0;
  for (const t of text.split(',')) {
    const i = ADDR_TYPES.indexOf(t.toUpperCase() as (typeof ADDR_TYPES)[number]);
    if (i < 0) throw new RuleError(`addrtype: invalid address type \`${t}'`);
    bits |= 1 << i;
  }
  return bits;
}
const addrTypesText = (bits: number) => ADDR_TYPES.filter((_, i) => bits & (1 << i)).join(',');

const addrtype: Module<'addrtype'> = {
  options: { 'src-type': true, 'dst-type': true, 'limit-iface-in': false, 'limit-iface-out': false },
  create: () => ({ kind: 'addrtype', limitIn: false, limitOut: false }),
  parse(m, opt, arg, invert) {
    if (opt === 'src-type') m.src = { types: parseAddrTypes(arg), invert };
    else if (opt === 'dst-type') m.dst = { types: parseAddrTypes(arg), invert };
    else if (opt === 'limit-iface-in') m.limitIn = true;
    else m.limitOut = true;
  },
  finish(m) {
    if (!m.src && !m.dst) throw new RuleError('addrtype: you must specify --src-type or --dst-type');
    if (m.limitIn && m.limitOut) throw new RuleError('addrtype: you can\'t specify both --limit-iface-in and --limit-iface-out');
  },
  save(m) {
    let s = ' -m addrtype';
    if (m.src) s += `${bang(m.src.invert)} --src-type ${addrTypesText(m.src.types)}`;
    if (m.dst) s += `${bang(m.dst.invert)} --dst-type ${addrTypesText(m.dst.types)}`;
    if (m.limitIn) s += ' --limit-iface-in';
    if (m.limitOut) s += ' --limit-iface-out';
    return s;
  },
  test(m, p, env) {
    const dev = m.limitIn ? p.in : m.limitOut ? p.out : undefined;
    const check = (want: { types: number; invert: boolean }, ip: string) =>
      ((want.types & (1 << ADDR_TYPES.indexOf(env.host.addrType(p.family, ip, dev)))) !== 0) !== want.invert;
    if (m.src && !check(m.src, p.srcText)) return false;
    if (m.dst && !check(m.dst, p.dstText)) return false;
    return true;
  },
};

export function parseU32(text: string, what: string): number {
  const n = /^0x[0-9a-f]+$/i.test(text) ? parseInt(text, 16) : /^\d+$/.test(text) ? Number(text) : NaN;
  if (!Number.isFinite(n) || n > 0xffffffff) throw new RuleError(`Bad ${what} value \`${text}'`);
  return n >>> 0;
}
export const hex = (n: number) => `0x${(n >>> 0).toString(16)}`;

export function parseValueMask(text: string, what: string): { value: number; mask: number } {
  const i = text.indexOf('/');
  if (i < 0) return { value: parseU32(text, what), mask: 0xffffffff };
  return { value: parseU32(text.slice(0, i), what), mask: parseU32(text.slice(i + 1), what) };
}

const mark: Module<'mark'> = {
  options: { mark: true },
  create: () => ({ kind: 'mark', value: 0, mask: 0xffffffff, invert: false }),
  parse(m, _o, arg, invert) {
    Object.assign(m, parseValueMask(arg, 'mark'), { invert });
  },
  finish() {},
  save: (m) => ` -m mark${bang(m.invert)} --mark ${hex(m.value)}${m.mask === 0xffffffff ? '' : `/${hex(m.mask)}`}`,
  test: (m, p) => (((p.mark & m.mask) >>> 0) === ((m.value & m.mask) >>> 0)) !== m.invert,
};

/** --ctstate names in the order conntrack's save prints them. */
const CT_STATES = ['INVALID', 'NEW', 'RELATED', 'ESTABLISHED', 'UNTRACKED', 'SNAT', 'DNAT'] as const;
const ctBit = (s: (typeof CT_STATES)[number]) => 1 << CT_STATES.indexOf(s);

const conntrack: Module<'conntrack'> = {
  options: { ctstate: true },
  create: () => ({ kind: 'conntrack' }),
  parse(m, _o, arg, invert) {
    let bits = 0;
    for (const s of arg.split(',')) {
      const i = CT_STATES.indexOf(s.toUpperCase() as (typeof CT_STATES)[number]);
      if (i < 0) throw new RuleError(`Bad ctstate "${s}"`);
      bits |= 1 << i;
    }
    m.states = { bits, invert };
  },
  finish(m) {
    if (!m.states) throw new RuleError('conntrack: you must specify --ctstate');
  },
  save: (m) => ` -m conntrack${bang(m.states!.invert)} --ctstate ${CT_STATES.filter((_, i) => m.states!.bits & (1 << i)).join(',')}`,
  test(m, _p, env) {
    const ct = env.ct;
    let have = ct ? ctBit(ct.state) : ctBit('UNTRACKED');
    if (ct?.snat) have |= ctBit('SNAT');
    if (ct?.dnat) have |= ctBit('DNAT');
    return ((have & m.states!.bits) !== 0) !== m.states!.invert;
  },
};

const statistic: Module<'statistic'> = {
  options: { mode: true, probability: true },
  create: () => ({ kind: 'statistic', invert: false }),
  parse(m, opt, arg, invert) {
    if (opt === 'mode') {
      if (arg !== 'random') throw new RuleError(`statistic: mode \`${arg}' is not supported (only random)`);
      m.mode = 'random';
      return;
    }
    const p = Number(arg);
    if (!/^[0-9.eE+-]+$/.test(arg) || !(p >= 0 && p <= 1)) throw new RuleError('--probability must be between 0 and 1');
    // The kernel keeps the probability as a 31-bit fraction (lround(0x80000000 * p)).
    m.probability = Math.round(0x80000000 * p);
    m.invert = invert;
  },
  finish(m) {
    if (!m.mode) throw new RuleError('statistic: no mode specified');
    if (m.probability === undefined) throw new RuleError('statistic: --mode random needs --probability');
  },
  save: (m) => ` -m statistic --mode random${bang(m.invert)} --probability ${(m.probability! / 0x80000000).toFixed(11)}`,
  test: (m, _p, env) => env.random.chance(m.probability! / 0x80000000, 'statistic') !== m.invert,
};

const recent: Module<'recent'> = {
  options: { set: false, rcheck: false, update: false, remove: false, seconds: true, reap: false, hitcount: true, rttl: false, name: true, mask: true, rsource: false, rdest: false },
  create: () => ({ kind: 'recent', reap: false, rttl: false, name: 'DEFAULT', side: 'src', invert: false }),
  parse(m, opt, arg, invert, _next, ctx) {
    switch (opt) {
      case 'set':
      case 'rcheck':
      case 'update':
      case 'remove':
        if (m.command) throw new RuleError('recent: only one of `--set\', `--rcheck\' `--update\' or `--remove\' may be set');
        m.command = opt;
        m.invert = invert;
        return;
      case 'seconds':
      case 'hitcount':
        if (!/^\d+$/.test(arg)) throw new RuleError(`recent: bad --${opt} value \`${arg}'`);
        m[opt] = Number(arg);
        return;
      case 'reap':
        m.reap = true;
        return;
      case 'rttl':
        m.rttl = true;
        return;
      case 'name':
        m.name = arg;
        return;
      case 'mask': {
        const ip = ctx.family === 'IPv4' ? /^\d+\.\d+\.\d+\.\d+$/.test(arg) : arg.includes(':');
        if (!ip) throw new RuleError(`recent: bad --mask \`${arg}'`);
        const parts = ctx.family === 'IPv4' ? arg.split('.').map(Number) : undefined;
        m.mask = parts ? BigInt(((parts[0] << 24) | (parts[1] << 16) | (parts[2] << 8) | parts[3]) >>> 0) : ipv6Mask(arg);
        return;
      }
      default:
        m.side = opt === 'rdest' ? 'dst' : 'src';
    }
  },
  finish(m) {
    if (!m.command) throw new RuleError('recent: you must specify one of `--set\', `--rcheck\' `--update\' or `--remove\'');
    if (m.reap && !m.seconds) throw new RuleError('recent: --reap needs --seconds');
  },
  save(m, family) {
    let s = ` -m recent${bang(m.invert)} --${m.command}`;
    if (m.seconds) s += ` --seconds ${m.seconds}`;
    if (m.reap) s += ' --reap';
    if (m.hitcount) s += ` --hitcount ${m.hitcount}`;
    if (m.rttl) s += ' --rttl';
    s += ` --name ${m.name} --mask ${formatIP(family, m.mask ?? allOnes(family))} --${m.side === 'src' ? 'rsource' : 'rdest'}`;
    return s;
  },
  test(m, p, env) {
    const addr = (m.side === 'src' ? p.src : p.dst) & (m.mask ?? allOnes(p.family));
    const key = addr.toString(16);
    const now = env.now;
    if (m.command === 'set') {
      env.recent.touch(m.name, key, now);
      return !m.invert;
    }
    const e = env.recent.get(m.name, key);
    if (!e) return m.invert;
    if (m.command === 'remove') {
      env.recent.remove(m.name, key);
      return !m.invert;
    }
    const since = m.seconds ? now - m.seconds * 1000 : -Infinity;
    const hits = e.stamps.filter((t) => t >= since).length;
    const hit = hits >= (m.hitcount || 1);
    if (m.reap && m.seconds) env.recent.reap(m.name, key, since);
    if (hit && m.command === 'update') env.recent.touch(m.name, key, now);
    return hit !== m.invert;
  },
};

function ipv6Mask(text: string): bigint {
  const [head, tail] = text.includes('::') ? text.split('::') : [text, undefined];
  const h = head ? head.split(':') : [];
  const t = tail ? tail.split(':') : [];
  const groups = tail === undefined ? h : [...h, ...Array(8 - h.length - t.length).fill('0'), ...t];
  if (groups.length !== 8 || groups.some((g) => !/^[0-9a-f]{1,4}$/i.test(g))) throw new RuleError(`recent: bad --mask \`${text}'`);
  return groups.reduce((acc, g) => (acc << 16n) | BigInt(parseInt(g, 16)), 0n);
}

const set: Module<'set'> = {
  options: { 'match-set': true },
  create: () => ({ kind: 'set', flags: [], invert: false }),
  parse(m, _o, arg, invert, next, ctx) {
    const flags = next();
    if (!ctx.ipsets?.has(arg)) throw new RuleError(`Set ${arg} doesn't exist.`);
    const fl = flags.split(',');
    if (fl.some((f) => f !== 'src' && f !== 'dst') || fl.length > 6) throw new RuleError(`You must specify (the comma separated list of) 'src' or 'dst'.`);
    m.name = arg;
    m.flags = fl as ('src' | 'dst')[];
    m.invert = invert;
  },
  finish(m) {
    if (!m.name) throw new RuleError('set: you must specify --match-set');
  },
  save: (m) => ` -m set${bang(m.invert)} --match-set ${m.name} ${m.flags.join(',')}`,
  test(m, p, env) {
    const proto = p.proto === PROTO.tcp ? 'tcp' : p.proto === PROTO.udp ? 'udp' : p.proto === PROTO.sctp ? 'sctp' : p.proto === PROTO.icmp ? 'icmp' : String(p.proto);
    const hit = env.ipsets?.test(m.name!, { src: p.srcText, dst: p.dstText, protocol: proto, sport: p.sport, dport: p.dport }, m.flags) ?? false;
    return hit !== m.invert;
  },
};

const multiport: Module<'multiport'> = {
  options: { sports: true, 'source-ports': true, dports: true, 'destination-ports': true, ports: true },
  create: () => ({ kind: 'multiport', ports: [], invert: false }),
  parse(m, opt, arg, invert) {
    if (m.dir) throw new RuleError('multiport can only have one option');
    m.dir = opt.startsWith('s') ? 'sports' : opt.startsWith('d') ? 'dports' : 'ports';
    m.ports = arg.split(',').map(parsePortRange);
    if (m.ports.reduce((n, r) => n + (r.lo === r.hi ? 1 : 2), 0) > 15) throw new RuleError('too many ports specified');
    m.invert = invert;
  },
  finish(m, rule) {
    if (!m.dir) throw new RuleError('multiport expects an option');
    const p = rule.proto?.num;
    if (rule.proto?.invert || (p !== PROTO.tcp && p !== PROTO.udp && p !== PROTO.sctp && p !== 33 && p !== 136)) {
      throw new RuleError('multiport only works with TCP, UDP, UDPLITE, SCTP and DCCP');
    }
  },
  save: (m) => ` -m multiport${bang(m.invert)} --${m.dir} ${m.ports.map(rangeText).join(',')}`,
  test(m, p) {
    const any = (port: number | undefined) => m.ports.some((r) => inRange(r, port));
    const hit = m.dir === 'sports' ? any(p.sport) : m.dir === 'dports' ? any(p.dport) : any(p.sport) || any(p.dport);
    return hit !== m.invert;
  },
};

const nfacct: Module<'nfacct'> = {
  options: { 'nfacct-name': true },
  create: () => ({ kind: 'nfacct' }),
  parse(m, _o, arg) {
    if (arg.length > 31) throw new RuleError('nfacct: name too long');
    m.name = arg;
  },
  finish(m) {
    if (!m.name) throw new RuleError('nfacct: you have to specify --nfacct-name');
  },
  // libxt_nfacct prints its option as " --nfacct-name " and then " %s": iptables-save shows two spaces.
  save: (m) => ` -m nfacct --nfacct-name  ${saveString(m.name!)}`,
  test(m, p, env) {
    let c = env.nfacct.get(m.name!);
    if (!c) env.nfacct.set(m.name!, (c = { packets: 0, bytes: 0 }));
    c.packets++;
    c.bytes += p.length;
    return true;
  },
};

const comment: Module<'comment'> = {
  options: { comment: true },
  create: () => ({ kind: 'comment', comment: '' }),
  parse(m, _o, arg) {
    if (arg.length > 255) throw new RuleError('COMMENT must be shorter than 256 characters');
    m.comment = arg;
  },
  finish() {},
  save: (m) => ` -m comment --comment ${saveString(m.comment)}`,
  test: () => true,
};

export const MATCHES: { [K in Kind]: Module<K> } = {
  comment, tcp: portModule('tcp', PROTO.tcp), udp: portModule('udp', PROTO.udp), sctp: portModule('sctp', PROTO.sctp), icmp,
  addrtype, mark, conntrack, statistic, recent, set, multiport, nfacct,
};

export function isMatchName(name: string): name is Kind {
  return Object.hasOwn(MATCHES, name);
}

export function matchModule(kind: Kind): Module<Kind> {
  return MATCHES[kind] as unknown as Module<Kind>;
}

export const saveMatch = (m: Match, family: Family): string => matchModule(m.kind).save(m, family);
export const testMatch = (m: Match, p: NfPacket, env: NfEnv): boolean => matchModule(m.kind).test(m, p, env);
