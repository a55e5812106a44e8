// Targets (-j NAME) with options: how iptables parses them and how iptables-save 1.8.9 prints them.
import { formatIP, parseIP } from '../../cluster/net.ts';
import { RuleError } from './errors.ts';
import { hex, parsePort, parseU32, parseValueMask } from './matches.ts';
import { PROTO, type Family, type NatRange, type NatTarget, type PortRange, type Rule, type Target } from './model.ts';

type TargetKind = 'REJECT' | 'DNAT' | 'SNAT' | 'MASQUERADE' | 'MARK';
type T<K extends TargetKind> = K extends NatTarget['kind'] ? NatTarget : Extract<Target, { kind: K }>;

interface TargetModule<K extends TargetKind> {
  options: Record<string, boolean>;
  create(family: Family): T<K>;
  parse(t: T<K>, opt: string, arg: string, family: Family): void;
  finish(t: T<K>, rule: Rule, family: Family): void;
  save(t: T<K>, family: Family): string;
}

const REJECT4: Record<string, string> = {
  'icmp-net-unreachable': 'icmp-net-unreachable', 'net-unreach': 'icmp-net-unreachable',
  'icmp-host-unreachable': 'icmp-host-unreachable', 'host-unreach': 'icmp-host-unreachable',
  'icmp-proto-unreachable': 'icmp-proto-unreachable', 'proto-unreach': 'icmp-proto-unreachable',
  'icmp-port-unreachable': 'icmp-port-unreachable', 'port-unreach': 'icmp-port-unreachable',
  'icmp-net-prohibited': 'icmp-net-prohibited', 'net-prohib': 'icmp-net-prohibited',
  'icmp-host-prohibited': 'icmp-host-prohibited', 'host-prohib': 'icmp-host-prohibited',
  'icmp-admin-prohibited': 'icmp-admin-prohibited', 'admin-prohib': 'icmp-admin-prohibited',
  'tcp-reset': 'tcp-reset', 'tcp-rst': 'tcp-reset',
};
const REJECT6: Record<string, string> = {
  'icmp6-no-route': 'icmp6-no-route', 'no-route': 'icmp6-no-route',
  'icmp6-adm-prohibited': 'icmp6-adm-prohibited', 'adm-prohibited': 'icmp6-adm-prohibited',
  'icmp6-addr-unreachable': 'icmp6-addr-unreachable', 'addr-unreach': 'icmp6-addr-unreachable',
  'icmp6-port-unreachable': 'icmp6-port-unreachable', 'port-unreach': 'icmp6-port-unreachable',
  'icmp6-policy-fail': 'icmp6-policy-fail', 'policy-fail': 'icmp6-policy-fail',
  'icmp6-reject-route': 'icmp6-reject-route', 'reject-route': 'icmp6-reject-route',
  'tcp-reset': 'tcp-reset', 'tcp-rst': 'tcp-reset',
};

const reject: TargetModule<'REJECT'> = {
  options: { 'reject-with': true },
  create: (family) => ({ kind: 'REJECT', with: family === 'IPv4' ? 'icmp-port-unreachable' : 'icmp6-port-unreachable' }),
  parse(t, _o, arg, family) {
    const w = (family === 'IPv4' ? REJECT4 : REJECT6)[arg];
    if (!w) throw new RuleError(`unknown reject type "${arg}"`);
    t.with = w;
  },
  finish() {},
  save: (t) => ` --reject-with ${t.with}`,
};

function parsePortSpec(text: string): PortRange {
  const [a, b] = text.split('-');
  const lo = parsePort(a);
  const hi = b === undefined ? lo : parsePort(b);
  if (lo > hi) throw new RuleError(`Port range \`${text}' is invalid`);
  return { lo, hi };
}

/** "ip[-ip][:port[-port]]", "[ip6]:port", "ip6" */
function parseNatRange(text: string, family: Family): NatRange {
  let addrs = text;
  let ports: string | undefined;
  if (family === 'IPv6') {
    const m = /^\[([^\]]+)\](?::(.+))?$/.exec(text);
    if (m) [addrs, ports] = [m[1], m[2]];
  } else {
    const i = text.indexOf(':');
    if (i >= 0) [addrs, ports] = [text.slice(0, i), text.slice(i + 1)];
  }
  const range: NatRange = {};
  if (addrs !== '') {
    const [a, b] = family === 'IPv6' && !addrs.includes('-') ? [addrs] : addrs.split('-');
    const lo = parseIP(a);
    const hi = b === undefined ? lo : parseIP(b);
    if (!lo || !hi || lo.family !== family || hi.family !== family) throw new RuleError(`Bad IP address "${addrs}"`);
    range.addr = { family, lo: lo.value, hi: hi.value };
  }
  if (ports !== undefined) range.ports = parsePortSpec(ports);
  return range;
}

function natRangeText(r: NatRange, family: Family): string {
  let a = '';
  if (r.addr) a = r.addr.lo === r.addr.hi ? formatIP(family, r.addr.lo) : `${formatIP(family, r.addr.lo)}-${formatIP(family, r.addr.hi)}`;
  if (!r.ports) return a;
  const p = r.ports.lo === r.ports.hi ? `${r.ports.lo}` : `${r.ports.lo}-${r.ports.hi}`;
  return family === 'IPv6' ? `[${a}]:${p}` : `${a}:${p}`;
}

const portProtos = new Set<number>([PROTO.tcp, PROTO.udp, PROTO.sctp, 33, 136]);
function needPortProto(rule: Rule): void {
  if (!rule.proto || rule.proto.invert || !portProtos.has(rule.proto.num)) throw new RuleError('Need TCP, UDP, SCTP or DCCP with port specification');
}

function natModule<K extends 'DNAT' | 'SNAT'>(kind: K): TargetModule<K> {
  const toOpt = kind === 'DNAT' ? 'to-destination' : 'to-source';
  return {
    options: { [toOpt]: true, random: false, persistent: false, ...(kind === 'SNAT' ? { 'random-fully': false } : {}) },
    create: () => ({ kind, random: false, randomFully: false, persistent: false }) as T<K>,
    parse(t, opt, arg, family) {
      if (opt === toOpt) {
        if (t.range) throw new RuleError(`${kind}: Multiple --${toOpt} not supported`);
        t.range = parseNatRange(arg, family);
      } else if (opt === 'random') t.random = true;
      else if (opt === 'random-fully') t.randomFully = true;
      else t.persistent = true;
    },
    finish(t, rule) {
      if (!t.range) throw new RuleError(`${kind}: you must specify --${toOpt}`);
      if (t.range.ports) needPortProto(rule);
    },
    save(t, family) {
      let s = ` --${toOpt} ${natRangeText(t.range!, family)}`;
      if (t.random) s += ' --random';
      if (t.randomFully) s += ' --random-fully';
      if (t.persistent) s += ' --persistent';
      return s;
    },
  };
}

const masquerade: TargetModule<'MASQUERADE'> = {
  options: { 'to-ports': true, random: false, 'random-fully': false },
  create: () => ({ kind: 'MASQUERADE', random: false, randomFully: false }),
  parse(t, opt, arg) {
    if (opt === 'to-ports') t.ports = parsePortSpec(arg);
    else if (opt === 'random') t.random = true;
    else t.randomFully = true;
  },
  finish(t, rule) {
    if (t.ports) needPortProto(rule);
  },
  save(t) {
    let s = '';
    if (t.ports) s += ` --to-ports ${t.ports.lo === t.ports.hi ? t.ports.lo : `${t.ports.lo}-${t.ports.hi}`}`;
    if (t.random) s += ' --random';
    if (t.randomFully) s += ' --random-fully';
    return s;
  },
};

// MARK keeps one operation: mark = (mark & ~mask) ^ value; the other options are spellings of it.
const markTarget: TargetModule<'MARK'> = {
  options: { 'set-xmark': true, 'set-mark': true, 'and-mark': true, 'or-mark': true, 'xor-mark': true },
  create: () => ({ kind: 'MARK' }),
  parse(t, opt, arg) {
    if (t.value !== undefined) throw new RuleError('MARK target: Can\'t specify --set-mark twice');
    if (opt === 'set-xmark') {
      const vm = parseValueMask(arg, 'mark');
      Object.assign(t, { value: vm.value, mask: arg.includes('/') ? vm.mask : 0xffffffff });
    } else if (opt === 'set-mark') {
      const vm = parseValueMask(arg, 'mark');
      // --set-mark value/mask zeroes the mask bits then ORs the value: xmark value with that mask.
      Object.assign(t, { value: vm.value, mask: vm.mask });
    } else {
      const v = parseU32(arg, 'mark');
      if (opt === 'and-mark') Object.assign(t, { value: 0, mask: ~v >>> 0 });
      else if (opt === 'or-mark') Object.assign(t, { value: v, mask: v });
      else Object.assign(t, { value: v, mask: 0 });
    }
  },
  finish(t) {
    if (t.value === undefined) throw new RuleError('MARK target: Parameter --set/and/or/xor-mark is required');
  },
  save: (t) => ` --set-xmark ${hex(t.value!)}/${hex(t.mask!)}`,
};

export const TARGETS: { [K in TargetKind]: TargetModule<K> } = {
  REJECT: reject, DNAT: natModule('DNAT'), SNAT: natModule('SNAT'), MASQUERADE: masquerade, MARK: markTarget,
};

export function isTargetName(name: string): name is TargetKind {
  return Object.hasOwn(TARGETS, name);
}

export function targetModule(kind: TargetKind): TargetModule<TargetKind> {
  return TARGETS[kind] as unknown as TargetModule<TargetKind>;
}

/** The tables and hooks each target may be used in (the kernel refuses others). */
export const TARGET_TABLES: Record<TargetKind, readonly string[]> = {
  REJECT: ['filter', 'mangle', 'raw'],
  DNAT: ['nat'],
  SNAT: ['nat'],
  MASQUERADE: ['nat'],
  MARK: ['raw', 'mangle', 'nat', 'filter'],
};

export function saveTarget(t: Target, family: Family): string {
  switch (t.kind) {
    case 'ACCEPT':
    case 'DROP':
    case 'RETURN':
      return ` -j ${t.kind}`;
    case 'jump':
      return ` ${t.goto ? '-g' : '-j'} ${t.chain}`;
    default:
      return ` -j ${t.kind}${targetModule(t.kind).save(t, family)}`;
  }
}
