// Topology text -> API objects, each with its Origin (file, line). JSON and multi-document YAML are both
// read; a `kind: List` (what `kubectl get -o yaml` prints) is unpacked into its items.
//
// Loading uses js-yaml, which is several times faster than an AST-building parser on the large dumps the
// benchmarks load. Only when a problem must name a line inside an object is the document parsed again with
// the `yaml` package, whose AST keeps source ranges (see locateField). The core schema keeps timestamps
// as strings, as Kubernetes' YAML-to-JSON decoding does.
import jsyaml from 'js-yaml';
import { LineCounter, parseDocument, isNode, isCollection, type Node as YamlNode } from 'yaml';
import type { Origin, Problem } from '../problems.ts';
import type { Source } from './sources.ts';

export interface LoadedDocument {
  object: Record<string, unknown>;
  origin: Origin;
}

interface DocumentText {
  text: string;
  /** 1-based line of the document's first line in the file. */
  firstLine: number;
}

/**
 * Splits a YAML stream at its document markers. A `---` at column 0 always starts a document (it ends a
 * block scalar too), so a line scan finds the same boundaries a YAML parser would.
 */
export function splitDocuments(text: string): DocumentText[] {
  const docs: DocumentText[] = [];
  let start = 0;
  let startLine = 1;
  let line = 1;
  let pos = 0;
  while (pos <= text.length) {
    const nl = text.indexOf('\n', pos);
    const end = nl === -1 ? text.length : nl;
    // Only a line starting with - or . can be a marker; the others are not sliced out at all.
    const first = text.charCodeAt(pos);
    const l = first === 0x2d || first === 0x2e ? text.slice(pos, end) : '';
    if (/^---(\s|$)/.test(l) || /^\.\.\.\s*$/.test(l)) {
      if (pos > start) docs.push({ text: text.slice(start, pos), firstLine: startLine });
      // Content after `--- ` on the marker line belongs to the new document.
      const isEnd = l.startsWith('...');
      start = isEnd ? end + 1 : pos + 3;
      startLine = isEnd ? line + 1 : line;
    }
    if (nl === -1) break;
    pos = nl + 1;
    line++;
  }
  if (start < text.length) docs.push({ text: text.slice(start), firstLine: startLine });
  return docs;
}

function looksLikeJSON(text: string): boolean {
  // The first non-space character, found without trimStart's copy of a whole document.
  const m = /\S/.exec(text);
  return m !== null && (m[0] === '{' || m[0] === '[');
}

export function parseSource(src: Source, problems: Problem[]): LoadedDocument[] {
  const out: LoadedDocument[] = [];
  const pieces = documentsOf(src);
  pieces.forEach((piece, document) => {
    let value: unknown;
    try {
      value = looksLikeJSON(piece.text) ? parseJSON(piece.text) : jsyaml.load(piece.text, { filename: src.file, schema: jsyaml.CORE_SCHEMA });
    } catch (e) {
      const mark = (e as { mark?: { line: number } }).mark;
      const line = (e as { line?: number }).line ?? (mark ? piece.firstLine + mark.line : piece.firstLine);
      const reason = (e as { reason?: string }).reason ?? (e as Error).message.split('\n')[0];
      problems.push({ severity: 'error', file: src.file, line, message: `YAML syntax: ${reason}` });
      return;
    }
    if (value === null || value === undefined) return; // empty document
    const firstLine = piece.firstLine + leadingBlankLines(piece.text);
    const items = Array.isArray(value) ? value : (value as Record<string, unknown>).kind === 'List' || isListKind(value) ? (value as { items?: unknown }).items : undefined;
    if (items !== undefined) {
      if (!Array.isArray(items)) {
        problems.push({ severity: 'error', file: src.file, line: firstLine, object: 'List', field: 'items', message: 'must be a list of API objects' });
        return;
      }
      const base: (string | number)[] = Array.isArray(value) ? [] : ['items'];
      // An item's own line is found only if a problem needs it (locateField): dumps hold thousands of items.
      items.forEach((item, i) => addDocument(out, problems, { file: src.file, line: firstLine, source: src, document, pathInDocument: [...base, i] }, item));
    } else {
      addDocument(out, problems, { file: src.file, line: firstLine, source: src, document, pathInDocument: [] }, value);
    }
  });
  return out;
}

function addDocument(out: LoadedDocument[], problems: Problem[], origin: Origin, object: unknown): void {
  if (typeof object !== 'object' || object === null || Array.isArray(object)) {
    problems.push({ severity: 'error', file: origin.file, line: locateField(origin, []), message: 'a document must be an API object (a mapping with apiVersion and kind)' });
    return;
  }
  out.push({ object: object as Record<string, unknown>, origin });
}

/** `kind: PodList`, `kind: ServiceList` ... (what `kubectl get pods -o yaml` printed before v1.x) */
function isListKind(value: unknown): boolean {
  const v = value as { kind?: unknown; items?: unknown };
  return typeof v.kind === 'string' && v.kind.endsWith('List') && Array.isArray(v.items);
}

function leadingBlankLines(text: string): number {
  let n = 0;
  let pos = 0;
  // Line by line from the top, without splitting the whole document into lines first.
  for (;;) {
    const nl = text.indexOf('\n', pos);
    const l = text.slice(pos, nl === -1 ? text.length : nl);
    if (l.trim() === '' || l.trimStart().startsWith('#')) n++;
    else break;
    if (nl === -1) break;
    pos = nl + 1;
  }
  return n;
}

function parseJSON(text: string): unknown {
  try {
    return JSON.parse(text);
  } catch {
    // JSON is YAML, and kubectl's decoder takes either: what JSON.parse refuses, js-yaml reads or refuses
    // with the line number V8's message lacks.
    return jsyaml.load(text, { schema: jsyaml.CORE_SCHEMA });
  }
}

// --- locating fields, on demand -------------------------------------------------------------------

/**
 * The 1-based line of a field inside an object, e.g. ['spec', 'ports', 0, 'port'] of the object at `origin`.
 * Falls back to the deepest existing ancestor, then to the object's own line.
 */
export function locateField(origin: Origin, field: readonly (string | number)[]): number {
  const src = origin.source;
  const piece = documentsOf(src)[origin.document];
  if (!piece) return origin.line;
  return locate(src, piece, [...origin.pathInDocument, ...field]) ?? origin.line;
}

// A file's documents, split once: a dump with thousands of warnings would otherwise rescan the whole file for
// each (10,000 Services that select nothing took minutes in a 5 MB file).
const documentCache = new WeakMap<Source, DocumentText[]>();

function documentsOf(src: Source): DocumentText[] {
  let pieces = documentCache.get(src);
  if (!pieces) documentCache.set(src, (pieces = looksLikeJSON(src.text) ? [{ text: src.text, firstLine: 1 }] : splitDocuments(src.text)));
  return pieces;
}

type Ast = { doc: ReturnType<typeof parseDocument>; lc: LineCounter };
const astCache = new WeakMap<Source, Map<number, Ast>>();

function locate(src: Source, piece: DocumentText, path: readonly (string | number)[]): number | undefined {
  let perSource = astCache.get(src);
  if (!perSource) astCache.set(src, (perSource = new Map()));
  let entry = perSource.get(piece.firstLine);
  if (!entry) {
    const lc = new LineCounter();
    entry = { doc: parseDocument(piece.text, { lineCounter: lc, uniqueKeys: false }), lc };
    perSource.set(piece.firstLine, entry);
  }
  // Walk down as far as the path exists, so a missing field is reported at its parent.
  for (let n = path.length; n >= 0; n--) {
    const node = entry.doc.getIn(path.slice(0, n), true) as YamlNode | undefined;
    if (isNode(node) && node.range) {
      let offset = node.range[0];
      // A block collection's range starts at its first entry; point at the key that holds it instead.
      if (n > 0 && isCollection(node)) offset = keyOffset(entry.doc, path.slice(0, n)) ?? offset;
      return piece.firstLine + entry.lc.linePos(offset).line - 1;
    }
  }
  return undefined;
}
function keyOffset(doc: ReturnType<typeof parseDocument>, path: readonly (string | number)[]): number | undefined {
  const parent = doc.getIn(path.slice(0, -1), true) as { items?: { key?: { range?: number[] } }[] } | undefined;
  const last = path[path.length - 1];
  if (!parent || !Array.isArray(parent.items) || typeof last !== 'string') return undefined;
  const pair = parent.items.find((p) => (p.key as { value?: unknown } | undefined)?.value === last);
  return pair?.key?.range?.[0];
}
