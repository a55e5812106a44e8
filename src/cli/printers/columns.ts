// A kind's table as pkg/printers/internalversion/printers.go defines it.

export interface Column {
  /** As printers.go names it ("Cluster-IP", "Nominated Node"); the header is its upper-case form. */
  name: string;
  /** Priority 1: shown only with -o wide. */
  wide?: true;
}

export interface KindTable<T> {
  columns: Column[];
  /**
   * One cell per column, wide ones included: the apiserver always builds the wide row (GenerateOptions{Wide:
   * true}) and kubectl drops the columns it does not show, so cells never depend on -o wide.
   */
  cells(obj: T, now: Date): string[];
}

export const NAME: Column = { name: 'Name' };
export const AGE: Column = { name: 'Age' };

/** layoutContainerCells: container names and images, each joined by ','. */
export function containerCells(containers: { name: string; image?: string }[] | undefined): [string, string] {
  const cs = containers ?? [];
  return [cs.map((c) => c.name).join(','), cs.map((c) => c.image ?? '').join(',')];
}
