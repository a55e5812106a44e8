// Upstream's iptables-mode tests that carry expected iptables-restore text, run against kdp's proxier:
// the result, sorted by upstream's own helper, must equal the expected text byte for byte.
import { describe, expect, it } from 'vitest';
import { loadCases, runCase } from './helpers/fixtures.ts';
import { normalizeExpected, sortIPTablesRules } from './helpers/sortrules.ts';

describe('kube-proxy iptables conformance (upstream test cases)', () => {
  for (const c of loadCases()) {
    it(`${c.test} [${c.era}] (${c.file})`, () => {
      const outputs = runCase(c);
      c.steps.forEach((step, i) => {
        if (step.expected !== undefined) expect(sortIPTablesRules(outputs[i]), `step ${i + 1}`).toBe(normalizeExpected(step.expected));
      });
    });
  }
});
