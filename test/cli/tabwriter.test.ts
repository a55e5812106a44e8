import { describe, expect, it } from 'vitest';
import { DESCRIBE_TABWRITER, formatTabbed, formatTable, tabwrite } from '../../src/cli/printers/tabwriter.ts';

describe('tabwriter', () => {
  it('lays out the research worked example for kubectl get pods', () => {
    expect(formatTable([
      ['NAME', 'READY', 'STATUS', 'RESTARTS', 'AGE'],
      ['nginx', '1/1', 'Running', '0', '5m'],
    ])).toBe(
      'NAME    READY   STATUS    RESTARTS   AGE\n' +
      'nginx   1/1     Running   0          5m\n',
    );
  });

  it('applies minwidth 6 to narrow columns and never pads the last cell', () => {
    expect(formatTable([['A', 'B'], ['a', 'bbbbbbbbbbbbbbbbbbbb']])).toBe('A     B\na     bbbbbbbbbbbbbbbbbbbb\n');
  });

  // Go's Example_elastic, left-aligned with ' ' padding: a line with fewer cells ends a column block.
  it('sizes each block of consecutive lines separately; a trailing empty cell still pads', () => {
    const lines = [['a', 'b', 'c'], ['aa', 'bb', 'cc'], ['aaa', ''], ['aaaa', 'dddd', 'eeee']];
    expect(tabwrite(lines, { minwidth: 0, padding: 1 })).toBe(
      'a    b  c\n' +
      'aa   bb cc\n' +
      'aaa  \n' +
      'aaaa dddd eeee\n',
    );
  });

  it('counts runes, not UTF-16 units or bytes', () => {
    expect(tabwrite([['日本', 'x'], ['ab', 'y']], { minwidth: 0, padding: 1 })).toBe('日本 x\nab y\n');
    expect(tabwrite([['🚀', 'x'], ['ab', 'y']], { minwidth: 0, padding: 1 })).toBe('🚀  x\nab y\n');
  });

  it('splits describe text into cells at tabs, with a line of no tab breaking the block', () => {
    expect(formatTabbed('Name:\tweb\nEvents:\n  Type\tReason\n', DESCRIBE_TABWRITER)).toBe(
      'Name:  web\n' +
      'Events:\n' +
      '  Type  Reason\n',
    );
  });
});
