// iptables-restore: `*table`, `:CHAIN POLICY [p:b]`, commands (-A -I -D -N -X -F -P), COMMIT. Each table is
// built on a working copy — flushed first unless --noflush — and replaces the live one at its COMMIT.
import { NetfilterError, RuleError } from './errors.ts';
import type { IpSetLookup } from './context.ts';
import { BUILTIN_CHAINS, cloneTable, emptyTable, TABLES, type Chain, type Family, type Rule, type Table, type TableName } from './model.ts';
import { parseRule, ruleText } from './rule.ts';
import { isTargetName } from './targets.ts';
import { tokenize } from './tokenize.ts';

export interface RestoreOptions {
  noflush?: boolean;
  counters?: boolean;
}

const MAX_CHAIN_NAME = 28;

export function checkChainName(name: string): string | undefined {
  if (name.length > MAX_CHAIN_NAME) return `chain name \`${name}' too long (must be under ${MAX_CHAIN_NAME + 1} chars)`;
  if (name === '' || name.startsWith('-') || name.startsWith('!')) return `Invalid chain name \`${name}'`;
  if (isTargetName(name) || name === 'ACCEPT' || name === 'DROP' || name === 'RETURN') return `chain name may not clash with target name`;
  return undefined;
}

export interface RuleSource {
  family: Family;
  ipsets?: IpSetLookup;
}

/** Parses one rule for a chain of a table (the shared step of restore and ensureRule). */
export function ruleFor(table: Table, args: string[], src: RuleSource): Rule {
  return parseRule(args, {
    family: src.family,
    ipsets: src.ipsets,
    table: table.name,
    chainExists: (c) => table.chains.get(c)?.builtin === false,
  });
}

function references(table: Table, chain: string): boolean {
  for (const c of table.chains.values()) for (const r of c.rules) if (r.target?.kind === 'jump' && r.target.chain === chain) return true;
  return false;
}

/** The kernel refuses a ruleset whose jumps loop (ELOOP) where a hook can reach the loop; unreachable chains may loop. */
function findLoop(table: Table): { chain: string; rule?: Rule } | undefined {
  const state = new Map<string, 1 | 2>();
  const visit = (name: string): { chain: string; rule?: Rule } | undefined => {
    state.set(name, 1);
    for (const r of table.chains.get(name)?.rules ?? []) {
      if (r.target?.kind !== 'jump') continue;
      const s = state.get(r.target.chain);
      if (s === 1) return { chain: name, rule: r };
      if (s === undefined) {
        const hit = visit(r.target.chain);
        if (hit) return hit;
      }
    }
    state.set(name, 2);
    return undefined;
  };
  for (const [name, c] of table.chains) {
    if (!c.builtin || state.has(name)) continue;
    const hit = visit(name);
    if (hit) return hit;
  }
  return undefined;
}

/** Applies restore text to `tables` (committing table by table); throws NetfilterError naming the line. */
export function restore(tables: Map<TableName, Table>, text: string, opts: RestoreOptions, src: RuleSource): TableName[] {
  const lines = text.split('\n');
  let work: Table | undefined;
  const committed: TableName[] = [];
  for (let n = 1; n <= lines.length; n++) {
    const line = lines[n - 1].replace(/\r$/, '');
    if (line.trim() === '' || line.startsWith('#')) continue;
    const fail = (msg: string): never => {
      throw new NetfilterError(n, msg);
    };
    if (line.startsWith('*')) {
      if (work) fail(`COMMIT expected before \`${line}' (table ${work.name} is open)`);
      const name = line.slice(1).trim();
      if (!(TABLES as readonly string[]).includes(name)) fail(`table '${name}' does not exist`);
      const live = tables.get(name as TableName);
      work = opts.noflush && live ? cloneTable(live) : emptyTable(name as TableName);
      continue;
    }
    if (!work) fail(`\`${line.split(/\s+/)[0]}' outside a table (no *table line before it)`);
    const table = work!;
    if (line.trim() === 'COMMIT') {
      const loop = findLoop(table);
      if (loop) throw new NetfilterError(loop.rule?.line ?? n, `RULE_APPEND failed (Too many links): rule in chain ${loop.chain}`);
      tables.set(table.name, table);
      committed.push(table.name);
      work = undefined;
      continue;
    }
    if (line.startsWith(':')) {
      const m = /^:(\S+)\s+(\S+)(?:\s+\[(\d+):(\d+)\])?\s*$/.exec(line);
      if (!m) fail(`bad chain line \`${line}'`);
      const [, name, policy, p, b] = m!;
      const counters = opts.counters && p !== undefined ? { packets: Number(p), bytes: Number(b) } : { packets: 0, bytes: 0 };
      const existing = table.chains.get(name);
      if ((BUILTIN_CHAINS[table.name] as readonly string[]).includes(name)) {
        if (policy !== 'ACCEPT' && policy !== 'DROP') fail(`Can't set policy \`${policy}' on built-in chain \`${name}'`);
        existing!.policy = policy as 'ACCEPT' | 'DROP';
        existing!.counters = counters;
      } else {
        if (policy !== '-') fail(`Can't set policy \`${policy}' on user-defined chain \`${name}'`);
        const bad = checkChainName(name);
        if (bad) fail(bad);
        // A user chain line creates the chain, or (with --noflush) empties the existing one.
        table.chains.set(name, { name, builtin: false, counters: { packets: 0, bytes: 0 }, rules: [] });
      }
      continue;
    }
    let body = line;
    let counters: { packets: number; bytes: number } | undefined;
    const cm = /^\[(\d+):(\d+)\]\s+/.exec(body);
    if (cm) {
      body = body.slice(cm[0].length);
      if (opts.counters) counters = { packets: Number(cm[1]), bytes: Number(cm[2]) };
    }
    const args = tokenize(body);
    try {
      command(table, args, src, n, counters);
    } catch (e) {
      if (e instanceof RuleError) fail(e.message);
      throw e;
    }
  }
  if (work) throw new NetfilterError(lines.at(-1) === '' ? lines.length - 1 : lines.length, `COMMIT expected at the end of table ${work.name}`);
  return committed;
}

function userChain(table: Table, name: string | undefined, what: string): Chain {
  if (name === undefined) throw new RuleError(`${what} needs a chain name`);
  const c = table.chains.get(name);
  if (!c) throw new RuleError(`Chain '${name}' does not exist`);
  return c;
}

/** One command line of restore text (or of ensureRule). */
export function command(table: Table, args: string[], src: RuleSource, line: number, counters?: { packets: number; bytes: number }): void {
  const [cmd, name, ...rest] = args;
  switch (cmd) {
    case '-A':
    case '--append': {
      const c = userChain(table, name, cmd);
      const r = ruleFor(table, rest, src);
      r.line = line;
      if (counters) r.counters = counters;
      // `table` is restore's working copy, whose rule arrays are its own (and not indexed yet).
      c.rules.push(r);
      return;
    }
    case '-I':
    case '--insert': {
      const c = userChain(table, name, cmd);
      let pos = 1;
      let spec = rest;
      if (rest.length && /^\d+$/.test(rest[0])) {
        pos = Number(rest[0]);
        spec = rest.slice(1);
      }
      if (pos < 1 || pos > c.rules.length + 1) throw new RuleError(`Index of insertion too big`);
      const r = ruleFor(table, spec, src);
      r.line = line;
      if (counters) r.counters = counters;
      c.rules = [...c.rules.slice(0, pos - 1), r, ...c.rules.slice(pos - 1)];
      return;
    }
    case '-D':
    case '--delete': {
      const c = userChain(table, name, cmd);
      let i: number;
      if (rest.length === 1 && /^\d+$/.test(rest[0])) {
        i = Number(rest[0]) - 1;
        if (i < 0 || i >= c.rules.length) throw new RuleError('Index of deletion too big');
      } else {
        const want = ruleText(c.name, ruleFor(table, rest, src), src.family);
        i = c.rules.findIndex((r) => ruleText(c.name, r, src.family) === want);
        if (i < 0) throw new RuleError('Bad rule (does a matching rule exist in that chain?)');
      }
      c.rules = c.rules.filter((_, k) => k !== i);
      return;
    }
    case '-N':
    case '--new-chain': {
      if (name === undefined) throw new RuleError('-N needs a chain name');
      const bad = checkChainName(name);
      if (bad) throw new RuleError(bad);
      if (table.chains.has(name)) throw new RuleError('Chain already exists');
      table.chains.set(name, { name, builtin: false, counters: { packets: 0, bytes: 0 }, rules: [] });
      return;
    }
    case '-X':
    case '--delete-chain': {
      if (name === undefined) {
        for (const c of [...table.chains.values()]) if (!c.builtin) table.chains.delete(c.name);
        return;
      }
      const c = userChain(table, name, cmd);
      if (c.builtin) throw new RuleError(`Can't delete built-in chain \`${name}'`);
      if (references(table, name)) throw new RuleError(`CHAIN_USER_DEL failed (Device or resource busy): chain ${name}`);
      table.chains.delete(name);
      return;
    }
    case '-F':
    case '--flush':
      if (name === undefined) for (const c of table.chains.values()) c.rules = [];
      else userChain(table, name, cmd).rules = [];
      return;
    case '-P':
    case '--policy': {
      const c = userChain(table, name, cmd);
      const policy = rest[0];
      if (!c.builtin) throw new RuleError(`Can't set policy on user-defined chain \`${name}'`);
      if (policy !== 'ACCEPT' && policy !== 'DROP') throw new RuleError(`Bad policy name \`${policy}'`);
      c.policy = policy;
      return;
    }
    default:
      throw new RuleError(cmd === undefined ? 'no command specified' : `unknown command \`${cmd}'`);
  }
}
