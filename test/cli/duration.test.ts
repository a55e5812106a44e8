import { describe, expect, it } from 'vitest';
import { age, humanDuration } from '../../src/cli/printers/duration.ts';

const s = 1000;
const m = 60 * s;
const h = 60 * m;
const d = 24 * h;

describe('humanDuration', () => {
  // Boundary cases of apimachinery's duration_test.go.
  it.each([
    [119.999 * s, '119s'],
    [2 * m, '2m'],
    [2 * m + s, '2m1s'],
    [9 * m + 59 * s, '9m59s'],
    [10 * m + s, '10m'],
    [3 * h, '3h'],
    [3 * h + m, '3h1m'],
    [8 * h + 59 * m, '8h'],
    [48 * h, '2d'],
    [49 * h, '2d1h'],
    [8 * d + 23 * h, '8d'],
    [367 * d, '367d'],
    [2 * 365 * d + 25 * h, '2y1d'],
    [8 * 365 * d, '8y'],
  ])('%d ms -> %s', (ms, want) => {
    expect(humanDuration(ms)).toBe(want);
  });

  it('truncates toward zero and calls anything over a second in the future invalid', () => {
    expect(humanDuration(1.9 * s)).toBe('1s');
    expect(humanDuration(-1.9 * s)).toBe('0s');
    expect(humanDuration(-0.5 * s)).toBe('0s');
    expect(humanDuration(-2.1 * s)).toBe('<invalid>');
  });
});

describe('age (translateTimestampSince)', () => {
  const now = new Date('2024-06-01T12:00:00Z');
  const before = (ms: number) => new Date(now.getTime() - ms).toISOString();

  // TestTranslateTimestampSince in printers_test.go.
  it.each([
    ['a while from now', before(-2.1 * s), '<invalid>'],
    ['almost now', before(-1.9 * s), '0s'],
    ['now', before(0), '0s'],
    ['30 seconds ago', before(30 * s), '30s'],
    ['5 minutes ago', before(5 * m), '5m'],
    ['an hour ago', before(100 * m), '100m'],
    ['2 days ago', before(2 * d), '2d'],
    ['months ago', before(90 * d), '90d'],
    ['10 years ago', before(10 * 365 * d), '10y'],
  ])('%s', (_name, ts, want) => {
    expect(age(ts, now)).toBe(want);
  });

  it('is <unknown> without a timestamp or with Go\'s zero time', () => {
    expect(age(undefined, now)).toBe('<unknown>');
    expect(age('0001-01-01T00:00:00Z', now)).toBe('<unknown>');
  });
});
