// Go's text/tabwriter column algorithm, for the two ways kubectl configures it.
//
// A line is a list of cells; every cell but the last was ended by a tab. Only tab-ended cells belong to a
// column, so the last cell of a line is never padded. A column is aligned over a block of consecutive lines
// that all have a cell in it; a line with fewer cells ends the block, and the next block gets its own width.
// Cell width counts runes (utf8.RuneCount), not display columns.

export interface TabwriterSettings {
  minwidth: number;
  padding: number;
}

/** kubectl get (cli-runtime printers.GetNewTabWriter): minwidth 6, tabwidth 4, padding 3, padchar ' '. */
export const GET_TABWRITER: TabwriterSettings = { minwidth: 6, padding: 3 };

/** kubectl describe (describe.go tabbedString): minwidth 0, tabwidth 8, padding 2, padchar ' '. */
export const DESCRIBE_TABWRITER: TabwriterSettings = { minwidth: 0, padding: 2 };

const runeCount = (s: string): number => [...s].length;

/** Lays out lines of cells; each output line ends with '\n'. */
export function tabwrite(lines: string[][], settings: TabwriterSettings): string {
  let out = '';
  const widths: number[] = [];

  const writeLines = (from: number, to: number): void => {
    for (let i = from; i < to; i++) {
      lines[i].forEach((cell, j) => {
        out += cell;
        if (j < widths.length) out += ' '.repeat(widths[j] - runeCount(cell));
      });
      out += '\n';
    }
  };

  // Mirrors (*Writer).format: find each block of lines that has a cell in the next column, size it, recurse.
  const format = (line0: number, line1: number): void => {
    const column = widths.length;
    for (let line = line0; line < line1; line++) {
      if (column >= lines[line].length - 1) continue;
      writeLines(line0, line);
      line0 = line;
      let width = settings.minwidth;
      for (; line < line1 && column < lines[line].length - 1; line++) {
        width = Math.max(width, runeCount(lines[line][column]) + settings.padding);
      }
      widths.push(width);
      format(line0, line);
      widths.pop();
      line0 = line;
    }
    writeLines(line0, line1);
  };

  format(0, lines.length);
  return out;
}

/** A kubectl get table: header row first, cells already converted to text. */
export function formatTable(rows: string[][]): string {
  return tabwrite(rows, GET_TABWRITER);
}

/** Text written with '\t' and '\n' into a tabwriter, as kubectl's describers do. */
export function formatTabbed(text: string, settings: TabwriterSettings): string {
  const lines = text.split('\n');
  if (lines[lines.length - 1] === '') lines.pop();
  return tabwrite(lines.map((l) => l.split('\t')), settings);
}
