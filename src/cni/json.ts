// The JSON of CNI and flannel configuration as Go's encoding/json takes it: strict (no comments, no trailing
// commas), a syntax error told by its line and column in the text.
import { parse, printParseErrorCode, type ParseError } from 'jsonc-parser';

export function parseStrictJSON(text: string): { value: unknown } | { error: string; line: number } {
  const syntax: ParseError[] = [];
  const value: unknown = parse(text, syntax, { disallowComments: true, allowTrailingComma: false, allowEmptyContent: false });
  if (!syntax.length) return { value };
  const { error, offset } = syntax[0];
  const before = text.slice(0, offset).split('\n');
  // ColonExpected -> "colon expected"
  const what = printParseErrorCode(error).replace(/([a-z])([A-Z])/g, '$1 $2').toLowerCase();
  return { error: `invalid JSON: ${what} at line ${before.length} column ${before.at(-1)!.length + 1}`, line: before.length };
}
