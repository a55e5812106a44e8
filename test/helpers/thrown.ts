// The error a call throws, when a test reads its fields (code, message) rather than only its message.

/** What `fn` throws, when it is an `E`; anything else thrown, or nothing, fails the test. */
export function thrown<E extends Error>(fn: () => unknown, kind: abstract new (...args: never[]) => E): E {
  try {
    fn();
  } catch (e) {
    if (e instanceof kind) return e;
    throw e;
  }
  throw new Error(`no ${kind.name} thrown`);
}
