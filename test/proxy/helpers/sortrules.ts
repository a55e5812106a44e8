// Ports of upstream's test helpers: pkg/util/iptables/testing/parse.go (ParseIPTablesDump, ParseRule's
// word splitting) and pkg/proxy/iptables/proxier_test.go (sortIPTablesRules, orderByCommentServiceName,
// assertIPTablesRulesEqual's comparison).

interface Rule {
  raw: string;
  comment: string | undefined;
}

interface Chain {
  name: string;
  packets: string;
  bytes: string;
  rules: Rule[];
  deleted: boolean;
}

interface Table {
  name: string;
  chains: Chain[];
}

const declareTable = /^\*(.*)$/;
const declareChain = /^:([^ ]*) - \[([0-9]*):([0-9]*)\]$/;
const addRule = /^-A ([^ ]*) (.*)$/;
const deleteChain = /^-X (.*)$/;
const word = /(?:^|\s)("[^"]*"|[^"]\S*)/g;

/** ParseRule's words (a quoted string is one word, quotes trimmed), kept only for --comment. */
function ruleComment(raw: string): string | undefined {
  const words = [...raw.matchAll(word)].map((m) => m[1].replace(/^"+|"+$/g, ''));
  for (let w = 0; w < words.length;) {
    if (words[w] === '-m' && w < words.length - 1) {
      w += 2;
      continue;
    }
    if (words[w] === '--comment' && w < words.length - 1) return words[w + 1];
    w++;
  }
  return undefined;
}

export function parseIPTablesDump(data: string): Table[] {
  const tables: Table[] = [];
  let state: 'table' | 'chains' | 'rules' = 'table';
  let t: Table | undefined;
  const chainOf = (name: string, line: string): Chain => {
    const c = t!.chains.find((x) => x.name === name);
    if (!c) throw new Error(`error parsing rule "${line}": no such chain "${name}"`);
    return c;
  };
  for (let line of data.replace(/^\n+|\n+$/g, '').split('\n')) {
    line = line.trim();
    if (line === '' || line[0] === '#') continue;
    if (state === 'chains') {
      const m = declareChain.exec(line);
      if (m) {
        t!.chains.push({ name: m[1], packets: m[2] || '0', bytes: m[3] || '0', rules: [], deleted: false });
        continue;
      }
      state = 'rules';
    }
    if (state === 'table') {
      const m = declareTable.exec(line);
      if (!m) throw new Error(`could not parse iptables data (table ${tables.length + 1} starts with "${line}" not a table name)`);
      tables.push((t = { name: m[1], chains: [] }));
      state = 'chains';
    } else {
      let m: RegExpExecArray | null;
      if ((m = addRule.exec(line))) {
        const c = chainOf(m[1], line);
        if (c.deleted) throw new Error(`cannot add rules to deleted chain "${m[1]}"`);
        c.rules.push({ raw: line, comment: ruleComment(line) });
      } else if ((m = deleteChain.exec(line))) {
        const c = chainOf(m[1], line);
        if (c.rules.length) throw new Error(`cannot delete chain "${m[1]}" after adding rules`);
        c.deleted = true;
      } else if (line === 'COMMIT') {
        state = 'table';
      } else {
        throw new Error(`error parsing rule "${line}"`);
      }
    }
  }
  if (state !== 'table') throw new Error('could not parse iptables data (no COMMIT line?)');
  return tables;
}

export function dumpString(tables: readonly Table[]): string {
  let out = '';
  for (const t of tables) {
    out += `*${t.name}\n`;
    for (const c of t.chains) out += `:${c.name} - [${c.packets}:${c.bytes}]\n`;
    for (const c of t.chains) for (const r of c.rules) out += `${r.raw}\n`;
    for (const c of t.chains) if (c.deleted) out += `-X ${c.name}\n`;
    out += 'COMMIT\n';
  }
  return out;
}

/** The service name is the comment up to the first space or colon; rules without a comment are unordered. */
function orderByCommentServiceName(a: Rule, b: Rule): boolean {
  if (a.comment === undefined || b.comment === undefined) return false;
  const name = (c: string) => {
    const i = c.search(/[ :]/);
    return i === -1 ? c : c.slice(0, i);
  };
  return name(a.comment) < name(b.comment);
}

const cmpOf = <T>(less: (a: T, b: T) => boolean) => (a: T, b: T) => (less(a, b) ? -1 : less(b, a) ? 1 : 0);

function chainLess(a: Chain, b: Chain): boolean {
  const kube = (c: Chain) => c.name.startsWith('KUBE-');
  if (a.name === 'KUBE-NODEPORTS') return true;
  if (b.name === 'KUBE-NODEPORTS') return false;
  if (a.name === 'KUBE-SERVICES') return true;
  if (b.name === 'KUBE-SERVICES') return false;
  if (kube(a) && !kube(b)) return true;
  if (!kube(a) && kube(b)) return false;
  return a.name < b.name;
}

const isLastRule = (r: Rule) => r.comment !== undefined && r.comment.includes('must be the last rule');

/** sortIPTablesRules: independent of the order Services are processed in, keeping related rules' order. */
export function sortIPTablesRules(ruleData: string): string {
  const tables = parseIPTablesDump(ruleData);
  tables.sort(cmpOf((a: Table, b: Table) => a.name < b.name));
  for (const t of tables) t.chains.sort(cmpOf(chainLess));
  const chain = (table: string, name: string) => tables.find((t) => t.name === table)?.chains.find((c) => c.name === name);
  for (const table of ['filter', 'nat']) chain(table, 'KUBE-NODEPORTS')?.rules.sort(cmpOf(orderByCommentServiceName));
  chain('filter', 'KUBE-SERVICES')?.rules.sort(cmpOf(orderByCommentServiceName));
  chain('nat', 'KUBE-SERVICES')?.rules.sort(cmpOf((a: Rule, b: Rule) => {
    if (isLastRule(a)) return false;
    if (isLastRule(b)) return true;
    return orderByCommentServiceName(a, b);
  }));
  return dumpString(tables);
}

/** assertIPTablesRulesEqual: the expected text as written, against the sorted result. */
export function normalizeExpected(expected: string): string {
  return expected.replace(/^[ \t\n]+/, '');
}
