#!/usr/bin/env node
// Runs the TypeScript sources directly through tsx, so `npx kdp` works right after `npm install`
// with no build step, and what runs is always what is in src/.
import { register } from 'tsx/esm/api';

register();
// A reader that stops early (`kdp ... | head`) closes the pipe: that ends the output, not in a stack trace.
process.stdout.on('error', (e) => {
  if (e.code === 'EPIPE') process.exit(process.exitCode ?? 0);
  throw e;
});
const { main } = await import('../src/cli/main.ts');
process.exitCode = await main(process.argv.slice(2));
