// Problems found in a topology: every one names the file, line, object and field it is about,
// so a person can go straight to it. Errors stop `kdp up`; warnings are reported and loading goes on.

/** Where an object came from: a file and the line its document (or List item) starts on. */
export interface Origin {
  file: string;
  line: number;
  /** The file's text, kept so a later problem can be placed on a field's own line. */
  source: { file: string; text: string };
  /** Index of the YAML document in the file, and the path to the object inside it (List items). */
  document: number;
  pathInDocument: (string | number)[];
}

export type Severity = 'error' | 'warning';

export interface Problem {
  severity: Severity;
  message: string;
  file?: string;
  line?: number;
  /** "Service default/web" */
  object?: string;
  /** "spec.ports[0].port" */
  field?: string;
}

/** Field paths as Kubernetes prints them: spec.ports[0].port */
export function fieldPath(path: readonly (string | number)[]): string {
  let out = '';
  for (const p of path) {
    if (typeof p === 'number') out += `[${p}]`;
    else out += out ? `.${p}` : p;
  }
  return out;
}

export function formatProblem(p: Problem): string {
  const where = p.file ? `${p.file}${p.line ? `:${p.line}` : ''}: ` : '';
  const what = p.object ? `${p.object}: ` : '';
  const field = p.field ? `${p.field}: ` : '';
  return `${p.severity}: ${where}${what}${field}${p.message}`;
}

/** Thrown for input kdp cannot use at all; the CLI prints it without a stack trace. */
export class TopologyError extends Error {
  constructor(readonly problems: Problem[]) {
    super(problems.map(formatProblem).join('\n'));
    this.name = 'TopologyError';
  }
}
