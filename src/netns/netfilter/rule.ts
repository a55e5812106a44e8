// One rule's arguments -> the rule as data, as iptables' command parser reads them (basic criteria, -m
// modules and the options each owns, an implicit protocol match for `-p tcp --dport`, one target); and the
// rule -> its iptables-save text.
import { RuleError } from './errors.ts';
import { isMatchName, matchModule, saveMatch, type ParseCtx } from './matches.ts';
import { formatAddress, parseAddress, parseProtocol, protocolName, PROTO, type Family, type Match, type Rule, type TableName, type Target } from './model.ts';
import { isTargetName, saveTarget, TARGET_TABLES, targetModule } from './targets.ts';

export interface RuleParseCtx extends ParseCtx {
  table: TableName;
  /** Whether a user chain exists to jump to. */
  chainExists(name: string): boolean;
}

const BASIC: Record<string, 'src' | 'dst' | 'proto' | 'in' | 'out' | 'match' | 'jump' | 'goto' | 'counters'> = {
  '-s': 'src', '--source': 'src', '--src': 'src',
  '-d': 'dst', '--destination': 'dst', '--dst': 'dst',
  '-p': 'proto', '--protocol': 'proto',
  '-i': 'in', '--in-interface': 'in',
  '-o': 'out', '--out-interface': 'out',
  '-m': 'match', '--match': 'match',
  '-j': 'jump', '--jump': 'jump',
  '-g': 'goto', '--goto': 'goto',
  '-c': 'counters', '--set-counters': 'counters',
};

const IFNAMSIZ = 16;
const IMPLICIT: Record<number, 'tcp' | 'udp' | 'sctp' | 'icmp'> = { [PROTO.tcp]: 'tcp', [PROTO.udp]: 'udp', [PROTO.sctp]: 'sctp', [PROTO.icmp]: 'icmp' };
/** Matches nf_tables keeps as native expressions: a repeated -m merges into the first (what iptables-save then prints). */
const MERGED = new Set(['tcp', 'udp']);

/** Parses a rule's arguments (after `-A CHAIN`). Throws RuleError naming the bad token. */
export function parseRule(args: string[], ctx: RuleParseCtx): Rule {
  const rule: Rule = { matches: [], counters: { packets: 0, bytes: 0 } };
  let target: Target | undefined;
  let targetOptions: Record<string, boolean> | undefined;
  let invert = false;
  let i = 0;
  const next = (what: string): string => {
    if (i >= args.length) throw new RuleError(`option "${what}" requires an argument`);
    return args[i++];
  };
  const noInvert = (what: string) => {
    if (invert) throw new RuleError(`cannot have ! before ${what}`);
  };
  while (i < args.length) {
    const tok = args[i++];
    if (tok === '!') {
      if (invert) throw new RuleError('multiple consecutive ! not allowed');
      invert = true;
      continue;
    }
    const basic = BASIC[tok];
    if (basic) {
      const arg = next(tok);
      switch (basic) {
        case 'src':
        case 'dst': {
          if (arg.includes(',')) throw new RuleError(`${tok} ${arg}: address lists are not supported`);
          const a = parseAddress(arg, ctx.family, invert);
          if (typeof a === 'string') throw new RuleError(a);
          // iptables drops a match-anything address (0.0.0.0/0) unless it is negated.
          if (a.prefix > 0 || a.invert) rule[basic] = a;
          break;
        }
        case 'proto': {
          const num = parseProtocol(arg);
          if (num === undefined) throw new RuleError(`unknown protocol "${arg}" specified`);
          rule.proto = num === 0 && !invert ? undefined : { num, invert };
          break;
        }
        case 'in':
        case 'out':
          if (arg.length >= IFNAMSIZ) throw new RuleError(`interface name \`${arg}' must be shorter than ${IFNAMSIZ} characters`);
          rule[basic] = { name: arg, invert };
          break;
        case 'match': {
          noInvert('-m');
          if (!isMatchName(arg)) throw new RuleError(`Couldn't load match \`${arg}':No such file or directory`);
          if (!(MERGED.has(arg) && rule.matches.some((m) => m.kind === arg))) rule.matches.push(matchModule(arg).create(ctx));
          break;
        }
        case 'jump':
        case 'goto': {
          noInvert(tok);
          if (target) throw new RuleError('multiple -j flags not allowed');
          if (arg === 'ACCEPT' || arg === 'DROP' || arg === 'RETURN') {
            if (basic === 'goto') throw new RuleError(`goto '${arg}' is not a chain`);
            target = { kind: arg };
          } else if (isTargetName(arg) && basic === 'jump') {
            if (!TARGET_TABLES[arg].includes(ctx.table)) throw new RuleError(`target \`${arg}' is not valid in the ${ctx.table} table`);
            target = targetModule(arg).create(ctx.family);
            targetOptions = targetModule(arg).options;
          } else if (ctx.chainExists(arg)) {
            target = { kind: 'jump', chain: arg, goto: basic === 'goto' };
          } else {
            throw new RuleError(`Couldn't load target \`${arg}':No such file or directory`);
          }
          break;
        }
        case 'counters': {
          const bytes = next(tok);
          if (!/^\d+$/.test(arg) || !/^\d+$/.test(bytes)) throw new RuleError(`-c packet counter not numeric`);
          rule.counters = { packets: Number(arg), bytes: Number(bytes) };
          break;
        }
      }
      invert = false;
      continue;
    }
    if (!tok.startsWith('--')) throw new RuleError(`Bad argument \`${tok}'`);
    const opt = tok.slice(2);
    if (target && targetOptions && opt in targetOptions) {
      if (invert) throw new RuleError(`unexpected ! flag before --${opt}`);
      targetModule(target.kind as keyof typeof TARGET_TABLES).parse(target as never, opt, targetOptions[opt] ? next(tok) : '', ctx.family);
      continue;
    }
    let owner: Match | undefined;
    for (let k = rule.matches.length - 1; k >= 0 && !owner; k--) if (opt in matchModule(rule.matches[k].kind).options) owner = rule.matches[k];
    if (!owner && rule.proto && !rule.proto.invert) {
      // `-p tcp --dport 80`: iptables loads the protocol's match by itself, at this point of the rule.
      const implicit = IMPLICIT[rule.proto.num];
      if (implicit && opt in matchModule(implicit).options) {
        owner = rule.matches.find((m) => m.kind === implicit && MERGED.has(implicit));
        if (!owner) rule.matches.push((owner = matchModule(implicit).create(ctx)));
      }
    }
    if (!owner) throw new RuleError(`unknown option "${tok}"`);
    const mod = matchModule(owner.kind);
    mod.parse(owner, opt, mod.options[opt] ? next(tok) : '', invert, () => next(tok), ctx);
    invert = false;
  }
  if (invert) throw new RuleError('! at the end of the rule');
  for (const m of rule.matches) matchModule(m.kind).finish(m, rule, ctx);
  if (target && isTargetName(target.kind)) targetModule(target.kind).finish(target as never, rule, ctx.family);
  rule.target = target;
  return rule;
}

const bang = (inv: boolean) => (inv ? '! ' : '');

/** The rule as iptables-save prints it: `-A CHAIN` then -s, -d, -i, -o, -p, the matches in order, the target. */
export function ruleText(chain: string, r: Rule, family: Family): string {
  let s = `-A ${chain}`;
  if (r.src) s += ` ${bang(r.src.invert)}-s ${formatAddress(r.src)}`;
  if (r.dst) s += ` ${bang(r.dst.invert)}-d ${formatAddress(r.dst)}`;
  if (r.in) s += ` ${bang(r.in.invert)}-i ${r.in.name}`;
  if (r.out) s += ` ${bang(r.out.invert)}-o ${r.out.name}`;
  if (r.proto) s += ` ${bang(r.proto.invert)}-p ${protocolName(r.proto.num)}`;
  for (const m of r.matches) s += saveMatch(m, family);
  if (r.target) s += saveTarget(r.target, family);
  return s;
}
