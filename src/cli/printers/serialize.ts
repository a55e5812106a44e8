// `kubectl get -o json|yaml`: cli-runtime's JSONPrinter and YAMLPrinter over unstructured objects.
import yaml from 'js-yaml';
import { byteOrder, yamlKeyOrder } from './order.ts';

/** What printGeneric wraps results in unless exactly one object was asked for by name. */
export function asList(items: unknown[]): { apiVersion: 'v1'; items: unknown[]; kind: 'List'; metadata: { resourceVersion: string } } {
  return { apiVersion: 'v1', items, kind: 'List', metadata: { resourceVersion: '' } };
}

// encoding/json escapes these inside strings by default (HTML safety), JSON.stringify does not.
const GO_JSON_ESCAPES: Record<string, string> = {
  '<': '\\u003c', '>': '\\u003e', '&': '\\u0026', '\u2028': '\\u2028', '\u2029': '\\u2029',
};

function jsonString(s: string): string {
  return JSON.stringify(s).replace(/[<>&\u2028\u2029]/g, (c) => GO_JSON_ESCAPES[c]);
}

// Written by hand rather than with JSON.stringify's indent, which would put integer-like keys ("80") first.
function jsonValue(v: unknown, indent: string): string {
  if (v === null || v === undefined) return 'null';
  if (typeof v === 'string') return jsonString(v);
  if (typeof v !== 'object') return JSON.stringify(v);
  const inner = indent + '    ';
  if (Array.isArray(v)) {
    if (v.length === 0) return '[]';
    return `[\n${v.map((x) => inner + jsonValue(x, inner)).join(',\n')}\n${indent}]`;
  }
  const entries = Object.entries(v).filter(([, x]) => x !== undefined);
  if (entries.length === 0) return '{}';
  entries.sort(([a], [b]) => byteOrder(a, b));
  return `{\n${entries.map(([k, x]) => `${inner}${jsonString(k)}: ${jsonValue(x, inner)}`).join(',\n')}\n${indent}}`;
}

/** json.MarshalIndent(obj, "", "    ") plus the newline the printer appends; map keys in byte order. */
export function toJSON(value: unknown): string {
  return jsonValue(value, '') + '\n';
}

/**
 * sigs.k8s.io/yaml.Marshal (JSON, then gopkg.in/yaml.v2), as far as js-yaml can reproduce it: 2-space indent,
 * sequences flush with their key, yaml.v2's key order, strings that would read back as another type
 * double-quoted. js-yaml cannot wrap long lines the way yaml.v2 does, so it is told not to fold at all.
 */
export function toYAML(value: unknown): string {
  // Round-trip through JSON first, as kubectl does: YAML then sees exactly what -o json would show.
  return yaml.dump(JSON.parse(JSON.stringify(value)), {
    indent: 2,
    noArrayIndent: true,
    sortKeys: yamlKeyOrder,
    lineWidth: -1,
    noRefs: true,
    quotingType: '"',
  });
}
