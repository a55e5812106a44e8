// Undo records for state the data plane changes while deciding a packet (conntrack entries, the recent
// module's tables, counters), so enumerating a connection's branches can replay it from the same state.
let active: (() => void)[] | undefined;

/** Whether undo records are being kept: callers check first, as making the closure is the cost. */
export function journaling(): boolean {
  return active !== undefined;
}

export function recordUndo(undo: () => void): void {
  active?.push(undo);
}

/** Runs fn, then undoes what it changed through recordUndo. */
export function withUndo<T>(fn: () => T): T {
  const outer = active;
  const mine: (() => void)[] = [];
  active = mine;
  try {
    return fn();
  } finally {
    active = outer;
    for (let i = mine.length - 1; i >= 0; i--) mine[i]();
  }
}
