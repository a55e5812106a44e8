// Waiting in tests for something another part of the process does (a server's output, a probe's effect).

/** Resolves once check() holds; throws if it has not within ms. */
export async function until(check: () => boolean, ms = 3000): Promise<void> {
  const end = Date.now() + ms;
  while (!check()) {
    if (Date.now() > end) throw new Error('condition not met in time');
    await new Promise((r) => setTimeout(r, 10));
  }
}
