// The Corefile: Caddy's configuration syntax as CoreDNS reads it (core/dnsserver/register.go, caddyfile lexer):
// server blocks of addresses (`.:53`, `cluster.local:53`, `dns://example.org`) holding directives, each with
// arguments and an optional `{ ... }` block of sub-directives. `#` starts a comment; quotes group words.

export interface Directive {
  name: string;
  args: string[];
  block: Directive[];
  line: number;
}

export interface ServerBlock {
  /** Zones, lowercase, no trailing dot; '' is the root. */
  zones: string[];
  port: number;
  directives: Directive[];
  line: number;
}

export class CorefileError extends Error {
  constructor(readonly source: string, readonly line: number, message: string) {
    super(`${source}:${line}: ${message}`);
  }
}

interface Token {
  text: string;
  line: number;
  quoted: boolean;
  /** Whether a newline came before this token (directives end at line ends). */
  newline: boolean;
}

function tokenize(text: string, source: string): Token[] {
  const out: Token[] = [];
  let line = 1;
  let i = 0;
  let newline = true;
  while (i < text.length) {
    const c = text[i];
    if (c === '\n') {
      line++;
      i++;
      newline = true;
      continue;
    }
    if (c === ' ' || c === '\t' || c === '\r') {
      i++;
      continue;
    }
    if (c === '#') {
      while (i < text.length && text[i] !== '\n') i++;
      continue;
    }
    if (c === '"') {
      const start = line;
      let s = '';
      i++;
      while (i < text.length && text[i] !== '"') {
        if (text[i] === '\\' && text[i + 1] === '"') {
          s += '"';
          i += 2;
          continue;
        }
        if (text[i] === '\n') line++;
        s += text[i++];
      }
      if (i >= text.length) throw new CorefileError(source, start, 'unterminated quoted string');
      i++;
      out.push({ text: s, line: start, quoted: true, newline });
      newline = false;
      continue;
    }
    let s = '';
    while (i < text.length && !/[\s#]/.test(text[i])) s += text[i++];
    // `{` and `}` are tokens of their own only when they stand alone ("{$ENV}" is a word).
    out.push({ text: s, line, quoted: false, newline });
    newline = false;
  }
  return out;
}

/** Parses an address key (`.:53`, `dns://cluster.local:5353`, `10.0.0.0/24`) into zone and port. */
function parseKey(key: string, source: string, line: number): { zone: string; port: number } {
  let k = key;
  const scheme = /^([a-z0-9+-]+):\/\//i.exec(k);
  if (scheme) {
    if (scheme[1].toLowerCase() !== 'dns') throw new CorefileError(source, line, `${key}: only dns:// servers are supported by kdp (not ${scheme[1]}://)`);
    k = k.slice(scheme[0].length);
  }
  let port = 53;
  const m = /^(.*):(\d+)$/.exec(k);
  if (m) {
    k = m[1];
    port = Number(m[2]);
    if (port > 65535) throw new CorefileError(source, line, `${key}: invalid port ${m[2]}`);
  }
  // A CIDR key stands for its reverse zone (plugin.SplitHostPort); kdp takes the classful cases.
  const cidr = /^(\d+)\.(\d+)\.(\d+)\.(\d+)\/(8|16|24)$/.exec(k);
  if (cidr) {
    const octets = cidr.slice(1, 1 + Number(cidr[5]) / 8).reverse();
    return { zone: `${octets.join('.')}.in-addr.arpa`, port };
  }
  const zone = k === '.' || k === '' ? '' : k.toLowerCase().replace(/\.$/, '');
  return { zone, port };
}

export function parseCorefile(text: string, source = 'Corefile'): ServerBlock[] {
  const tokens = tokenize(text, source);
  let i = 0;
  const blocks: ServerBlock[] = [];

  const directives = (depth: number): Directive[] => {
    const list: Directive[] = [];
    while (i < tokens.length) {
      const t = tokens[i];
      if (!t.quoted && t.text === '}') {
        i++;
        return list;
      }
      const d: Directive = { name: t.text, args: [], block: [], line: t.line };
      i++;
      while (i < tokens.length && !tokens[i].newline) {
        const a = tokens[i];
        if (!a.quoted && a.text === '{') {
          i++;
          d.block = directives(depth + 1);
          break;
        }
        if (!a.quoted && a.text === '}') break;
        d.args.push(a.text);
        i++;
      }
      list.push(d);
    }
    throw new CorefileError(source, tokens[tokens.length - 1]?.line ?? 1, `missing "}" for the block opened at depth ${depth}`);
  };

  while (i < tokens.length) {
    const line = tokens[i].line;
    const keys: string[] = [];
    while (i < tokens.length && !(tokens[i].text === '{' && !tokens[i].quoted)) {
      if (keys.length && tokens[i].newline && !keys[keys.length - 1].endsWith(',')) {
        throw new CorefileError(source, tokens[i].line, `expected "{" after the server block keys ${keys.join(' ')}`);
      }
      keys.push(...tokens[i].text.split(',').filter(Boolean));
      i++;
    }
    if (i >= tokens.length) throw new CorefileError(source, line, `server block ${keys.join(' ')} has no "{"`);
    i++;
    const parsed = keys.map((k) => parseKey(k, source, line));
    const ports = new Set(parsed.map((p) => p.port));
    if (ports.size > 1) throw new CorefileError(source, line, `server block keys ${keys.join(' ')} name different ports`);
    blocks.push({ zones: parsed.map((p) => p.zone), port: parsed[0]?.port ?? 53, directives: directives(1), line });
  }
  return blocks;
}
