// Typed reads of untrusted YAML values: each read checks the type and reports a problem at the field's
// path, the way the apiserver's validation names `spec.ports[0].port`.

export type Path = readonly (string | number)[];
export type Report = (path: Path, message: string, severity?: 'error' | 'warning') => void;

const DNS1123_LABEL = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?$/;
const DNS1123_SUBDOMAIN = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$/;
const IANA_SVC_NAME = /^[a-z0-9]([a-z0-9-]*[a-z0-9])?$/;
const QUALIFIED_NAME = /^([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9]$/;
const LABEL_VALUE = /^(([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9])?$/;

function show(v: unknown): string {
  return typeof v === 'string' ? JSON.stringify(v) : JSON.stringify(v) ?? String(v);
}

function typeName(v: unknown): string {
  if (v === null) return 'null';
  if (Array.isArray(v)) return 'a list';
  if (typeof v === 'object') return 'a mapping';
  return `${typeof v} ${show(v)}`;
}

export class Fields {
  constructor(readonly report: Report) {}

  /** The object at path, or undefined (reporting when it is there but not a mapping). */
  object(v: unknown, path: Path, required = false): Record<string, unknown> | undefined {
    if (v === undefined || v === null) {
      if (required) this.report(path, 'Required value');
      return undefined;
    }
    if (typeof v !== 'object' || Array.isArray(v)) {
      this.report(path, `must be a mapping, got ${typeName(v)}`);
      return undefined;
    }
    return v as Record<string, unknown>;
  }

  array(v: unknown, path: Path, required = false): unknown[] | undefined {
    if (v === undefined || v === null) {
      if (required) this.report(path, 'Required value');
      return undefined;
    }
    if (!Array.isArray(v)) {
      this.report(path, `must be a list, got ${typeName(v)}`);
      return undefined;
    }
    return v;
  }

  string(v: unknown, path: Path, opts: { required?: boolean; oneOf?: readonly string[] } = {}): string | undefined {
    if (v === undefined || v === null || (opts.required && v === '')) {
      if (opts.required) this.report(path, 'Required value');
      return undefined;
    }
    if (typeof v !== 'string') {
      this.report(path, `must be a string, got ${typeName(v)}`);
      return undefined;
    }
    if (opts.oneOf && !opts.oneOf.includes(v)) {
      this.report(path, `Unsupported value: ${show(v)}: supported values: ${opts.oneOf.map((s) => `"${s}"`).join(', ')}`);
      return undefined;
    }
    return v;
  }

  int(v: unknown, path: Path, opts: { required?: boolean; min?: number; max?: number } = {}): number | undefined {
    if (v === undefined || v === null) {
      if (opts.required) this.report(path, 'Required value');
      return undefined;
    }
    if (typeof v !== 'number' || !Number.isInteger(v)) {
      this.report(path, `must be an integer, got ${typeName(v)}`);
      return undefined;
    }
    if ((opts.min !== undefined && v < opts.min) || (opts.max !== undefined && v > opts.max)) {
      const range = opts.max === undefined ? `must be greater than or equal to ${opts.min}` : `must be between ${opts.min} and ${opts.max}, inclusive`;
      this.report(path, `Invalid value: ${v}: ${range}`);
      return undefined;
    }
    return v;
  }

  bool(v: unknown, path: Path): boolean | undefined {
    if (v === undefined || v === null) return undefined;
    if (typeof v !== 'boolean') {
      this.report(path, `must be a boolean, got ${typeName(v)}`);
      return undefined;
    }
    return v;
  }

  /** A port: a number 1-65535, or (where names are allowed) an IANA service name. */
  intOrString(v: unknown, path: Path, opts: { required?: boolean; allowName?: boolean } = {}): number | string | undefined {
    if (typeof v === 'string' && opts.allowName) {
      // A quoted number is a name to the API (intstr keeps the type), and a name needs a letter.
      if (/^\d+$/.test(v)) {
        this.report(path, `Invalid value: "${v}": must contain at least one letter (a-z); write the number unquoted for a port number`);
        return undefined;
      }
      if (v.length > 15 || !IANA_SVC_NAME.test(v) || !/[a-z]/.test(v) || v.includes('--')) {
        this.report(path, `Invalid value: ${show(v)}: must be a port number or an IANA service name (at most 15 lowercase letters, digits and '-', with a letter)`);
        return undefined;
      }
      return v;
    }
    return this.int(v, path, { required: opts.required, min: 1, max: 65535 });
  }

  /** labels, annotations, selectors: a mapping of strings to strings. */
  stringMap(v: unknown, path: Path, kind: 'labels' | 'annotations' | 'selector' = 'annotations'): Record<string, string> | undefined {
    const o = this.object(v, path);
    if (!o) return undefined;
    for (const [k, val] of Object.entries(o)) {
      if (typeof val !== 'string') {
        // YAML turns `version: 1` or `enabled: true` into numbers and booleans; the apiserver rejects them.
        this.report([...path, k], `must be a string, got ${typeName(val)} (quote it in YAML)`);
        continue;
      }
      if (kind !== 'annotations') {
        if (!validLabelKey(k)) this.report([...path, k], `Invalid value: ${show(k)}: a label key must be a qualified name ([prefix/]name, name at most 63 characters of alphanumerics, '-', '_' or '.', starting and ending with an alphanumeric)`);
        if (val.length > 63 || !LABEL_VALUE.test(val)) this.report([...path, k], `Invalid value: ${show(val)}: a label value must be at most 63 characters of alphanumerics, '-', '_' or '.', starting and ending with an alphanumeric`);
      }
    }
    return o as Record<string, string>;
  }

  /** metadata.name and namespace, as the apiserver requires them for the kind. */
  name(v: unknown, path: Path, rule: 'subdomain' | 'label'): string | undefined {
    const s = this.string(v, path, { required: true });
    if (s === undefined) return undefined;
    const ok = rule === 'label' ? s.length <= 63 && DNS1123_LABEL.test(s) : s.length <= 253 && DNS1123_SUBDOMAIN.test(s);
    if (!ok) {
      this.report(path, rule === 'label'
        ? `Invalid value: ${show(s)}: a lowercase RFC 1123 label must consist of lower case alphanumeric characters or '-', and must start and end with an alphanumeric character (at most 63 characters)`
        : `Invalid value: ${show(s)}: a lowercase RFC 1123 subdomain must consist of lower case alphanumeric characters, '-' or '.', and must start and end with an alphanumeric character`);
    }
    return s;
  }
}

export function validLabelKey(k: string): boolean {
  const slash = k.indexOf('/');
  const prefix = slash >= 0 ? k.slice(0, slash) : undefined;
  const name = slash >= 0 ? k.slice(slash + 1) : k;
  if (prefix !== undefined && (prefix.length === 0 || prefix.length > 253 || !DNS1123_SUBDOMAIN.test(prefix))) return false;
  return name.length > 0 && name.length <= 63 && QUALIFIED_NAME.test(name);
}

export function isDNS1123Label(s: string): boolean {
  return s.length <= 63 && DNS1123_LABEL.test(s);
}
