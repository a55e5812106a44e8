// iptables-restore's tokenizer (xshared.c add_param_to_argv): words split on blanks; a double quote opens a
// quoted word in which a backslash escapes the next character; a closing quote ends the word. Single quotes
// and backslashes outside quotes are ordinary characters, as they are to iptables-restore.
export function tokenize(line: string): string[] {
  const out: string[] = [];
  let buf = '';
  let open = false;
  let escaped = false;
  let quoted = false;
  for (const ch of line) {
    if (open) {
      if (escaped) {
        buf += ch;
        escaped = false;
        continue;
      }
      if (ch === '\\') {
        escaped = true;
        continue;
      }
      if (ch !== '"') {
        buf += ch;
        continue;
      }
      open = false;
    } else if (ch === '"') {
      open = quoted = true;
      continue;
    } else if (ch !== ' ' && ch !== '\t' && ch !== '\n' && ch !== '\r') {
      buf += ch;
      continue;
    } else if (buf === '') {
      continue;
    }
    out.push(buf);
    buf = '';
    quoted = false;
  }
  if (buf !== '' || quoted) out.push(buf);
  return out;
}

// xtables_save_string: words of these characters are printed bare, anything else in double quotes with
// `"`, `\` and `'` escaped.
const BARE = /^[A-Za-z0-9_-]+$/;
export function saveString(s: string): string {
  return BARE.test(s) ? s : `"${s.replace(/["\\']/g, (c) => `\\${c}`)}"`;
}
