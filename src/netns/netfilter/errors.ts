// Errors from loading rules, named by the line of the restore text (0: not from a restore text) and what
// iptables would complain about there.
export class NetfilterError extends Error {
  constructor(readonly line: number, readonly detail: string) {
    super(line > 0 ? `line ${line}: ${detail}` : detail);
    this.name = 'NetfilterError';
  }
}

/** A problem found while parsing one rule; the restore parser adds the line. */
export class RuleError extends Error {}
