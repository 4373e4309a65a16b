/**
 * Loading a declaration: YAML with exact positions, zod validation, and the cross-reference
 * checks zod cannot express (duplicate ids, references to nothing, unknown taxonomy ids with
 * "did you mean …"). Isomorphic: no Node APIs; the CLI reads the file and passes its text.
 */
import { type Alias, type Document, isMap, isPair, isScalar, isSeq, LineCounter, type Node, parseDocument, visit } from 'yaml';
import type { z } from 'zod';
import { NEC_TYPE_IDS } from './nec.js';
import { type Declaration, Declaration as DeclarationSchema } from './schema.js';
import { isTaxonomyId, TAXONOMY_IDS } from './taxonomy.js';
import { didYouMean } from './util/suggest.js';

export interface SourcePosition {
  line: number;
  column: number;
}

export interface DeclarationIssue {
  path: string;
  line: number;
  column: number;
  message: string;
}

export class DeclarationError extends Error {
  readonly file: string;
  readonly issues: DeclarationIssue[];
  constructor(file: string, issues: DeclarationIssue[]) {
    super(issues.map((i) => `${file}:${i.line}:${i.column}: ${i.message} (at ${i.path})`).join('\n'));
    this.name = 'DeclarationError';
    this.file = file;
    this.issues = issues;
  }
}

export type PathSegment = string | number;

/** `['recipients', 1, 'consent']` -> `$.recipients[1].consent` */
export function formatPath(segments: readonly PathSegment[]): string {
  let out = '$';
  for (const s of segments) {
    if (typeof s === 'number') out += `[${s}]`;
    else if (/^[A-Za-z_][A-Za-z0-9_-]*$/.test(s)) out += `.${s}`;
    else out += `[${JSON.stringify(s)}]`;
  }
  return out;
}

/** Inverse of formatPath for the paths it writes. */
export function parsePath(path: string): PathSegment[] {
  const out: PathSegment[] = [];
  const re = /\.([A-Za-z_][A-Za-z0-9_-]*)|\[(\d+)\]|\[("(?:[^"\\]|\\.)*")\]/g;
  for (const m of path.slice(1).matchAll(re)) {
    if (m[1] !== undefined) out.push(m[1]);
    else if (m[2] !== undefined) out.push(Number(m[2]));
    else if (m[3] !== undefined) out.push(JSON.parse(m[3]) as string);
  }
  return out;
}

export interface PositionMap {
  /** Position of the value at `path`, or of its nearest ancestor that exists. */
  positionOf(path: string | readonly PathSegment[]): SourcePosition;
  /** Position of the key of a mapping entry (or the item for sequences). */
  keyPositionOf(path: string | readonly PathSegment[]): SourcePosition;
}

export interface LoadedDeclaration {
  file: string;
  source: string;
  declaration: Declaration;
  positions: PositionMap;
}

const START: SourcePosition = { line: 1, column: 1 };

function buildPositionMap(root: Node | null, counter: LineCounter): PositionMap {
  const values = new Map<string, SourcePosition>();
  const keys = new Map<string, SourcePosition>();
  const pos = (offset: number | undefined): SourcePosition => {
    if (offset === undefined) return START;
    const p = counter.linePos(offset);
    return { line: p.line, column: p.col };
  };
  const walk = (node: unknown, segs: PathSegment[]): void => {
    const key = formatPath(segs);
    if (node && typeof node === 'object' && 'range' in node) {
      const range = (node as Node).range;
      if (range) values.set(key, pos(range[0]));
    }
    if (isMap(node)) {
      for (const item of node.items) {
        if (!isPair(item)) continue;
        const k = isScalar(item.key) ? String(item.key.value) : String(item.key);
        const childSegs = [...segs, k];
        const childKey = formatPath(childSegs);
        if (isScalar(item.key) && item.key.range) keys.set(childKey, pos(item.key.range[0]));
        if (item.value) walk(item.value, childSegs);
        else if (isScalar(item.key) && item.key.range) values.set(childKey, pos(item.key.range[0]));
      }
    } else if (isSeq(node)) {
      node.items.forEach((item, i) => {
        const childSegs = [...segs, i];
        const r = (item as Node | null)?.range;
        if (r) keys.set(formatPath(childSegs), pos(r[0]));
        walk(item, childSegs);
      });
    }
  };
  walk(root, []);
  const lookup = (map: Map<string, SourcePosition>, path: string | readonly PathSegment[]): SourcePosition => {
    let segs = typeof path === 'string' ? parsePath(path) : [...path];
    for (;;) {
      const hit = map.get(formatPath(segs)) ?? values.get(formatPath(segs));
      if (hit) return hit;
      if (segs.length === 0) return START;
      segs = segs.slice(0, -1);
    }
  };
  return {
    positionOf: (p) => lookup(values, p),
    keyPositionOf: (p) => lookup(keys, p),
  };
}

/** A position map for a declaration given as an object (HTTP): every position is 1:1. */
export const NO_POSITIONS: PositionMap = { positionOf: () => START, keyPositionOf: () => START };

/** Parse YAML text into a validated declaration. Throws DeclarationError with file:line:col. */
export function loadDeclaration(source: string, file = '<input>'): LoadedDeclaration {
  const counter = new LineCounter();
  const doc = parseDocument(source, { lineCounter: counter, prettyErrors: false, uniqueKeys: true, version: '1.2' });
  if (doc.errors.length > 0) {
    throw new DeclarationError(
      file,
      doc.errors.map((e) => {
        const p = counter.linePos(e.pos[0]);
        return { path: '$', line: p.line, column: p.col, message: `YAML: ${firstLine(e.message)}` };
      }),
    );
  }
  const { data, positions } = convert(doc, counter, file);
  const declaration = validateDeclaration(data, file, positions);
  return { file, source, declaration, positions };
}

/** The WHATWG TextDecoder, global in Node and browsers (this package is compiled without their types). */
declare const TextDecoder: new (label?: string, options?: { fatal?: boolean }) => { decode(input?: Uint8Array): string };

const UTF8 = new TextDecoder('utf-8', { fatal: true });

/**
 * The text of a declaration file's bytes, which must be UTF-8 (a UTF-8 byte-order mark is
 * skipped). Anything else is a DeclarationError at the line and column of the first byte that is
 * not UTF-8, naming the byte and its offset: a GBK or Latin-1 file is refused, never loaded as
 * mojibake, and a UTF-16 file is named as such rather than reported as not a mapping.
 */
export function decodeDeclaration(bytes: Uint8Array, file = '<input>'): string {
  const utf16 = utf16Bom(bytes);
  if (utf16) {
    throw new DeclarationError(file, [
      {
        path: '$',
        ...START,
        message: `not UTF-8: it looks like ${utf16.name} (it starts with the byte-order mark ${utf16.bom}); save it as UTF-8`,
      },
    ]);
  }
  let text: string;
  try {
    text = UTF8.decode(bytes);
  } catch {
    const at = firstInvalidUtf8(bytes);
    const byte = (bytes[at] ?? 0).toString(16).toUpperCase().padStart(2, '0');
    const hint = looksLikeUtf16(bytes) ? ' (it looks like UTF-16)' : '';
    throw new DeclarationError(file, [
      {
        path: '$',
        ...positionAt(bytes, at),
        message: `not UTF-8: byte 0x${byte} at byte offset ${String(at)} is not valid UTF-8${hint}; save the file as UTF-8`,
      },
    ]);
  }
  // ASCII saved as UTF-16 without a mark is valid UTF-8, with a zero byte after every character.
  const nul = bytes.indexOf(0);
  if (nul >= 0 && looksLikeUtf16(bytes)) {
    throw new DeclarationError(file, [
      {
        path: '$',
        ...positionAt(bytes, nul),
        message: `not UTF-8: it looks like UTF-16 (a zero byte at byte offset ${String(nul)}); save it as UTF-8`,
      },
    ]);
  }
  return text;
}

/** Line and column (UTF-16 units, as the YAML positions count) of a byte offset in valid UTF-8 up to it. */
function positionAt(bytes: Uint8Array, at: number): SourcePosition {
  const before = new TextDecoder('utf-8').decode(bytes.subarray(0, at));
  const line = before.split('\n').length;
  return { line, column: before.length - (before.lastIndexOf('\n') + 1) + 1 };
}

function utf16Bom(b: Uint8Array): { name: string; bom: string } | undefined {
  if (b[0] === 0xff && b[1] === 0xfe) return { name: 'UTF-16LE', bom: 'FF FE' };
  if (b[0] === 0xfe && b[1] === 0xff) return { name: 'UTF-16BE', bom: 'FE FF' };
  return undefined;
}

/** UTF-16 without a mark: ASCII text in it has a zero byte in every other position. */
function looksLikeUtf16(b: Uint8Array): boolean {
  const n = Math.min(b.length, 64) & ~1;
  let zeros = 0;
  for (let i = 0; i < n; i++) if (b[i] === 0) zeros++;
  return n >= 4 && zeros >= n / 4;
}

/** Offset of the first byte that does not start or continue a well-formed UTF-8 sequence (RFC 3629). */
export function firstInvalidUtf8(b: Uint8Array): number {
  let i = 0;
  const cont = (k: number, lo = 0x80, hi = 0xbf) => {
    const x = b[k];
    return x !== undefined && x >= lo && x <= hi;
  };
  while (i < b.length) {
    const c = b[i] ?? 0;
    let n: number;
    if (c < 0x80) n = 1;
    else if (c >= 0xc2 && c <= 0xdf) n = cont(i + 1) ? 2 : 0;
    else if (c === 0xe0) n = cont(i + 1, 0xa0) && cont(i + 2) ? 3 : 0;
    else if (c === 0xed) n = cont(i + 1, 0x80, 0x9f) && cont(i + 2) ? 3 : 0;
    else if (c >= 0xe1 && c <= 0xef) n = cont(i + 1) && cont(i + 2) ? 3 : 0;
    else if (c === 0xf0) n = cont(i + 1, 0x90) && cont(i + 2) && cont(i + 3) ? 4 : 0;
    else if (c >= 0xf1 && c <= 0xf3) n = cont(i + 1) && cont(i + 2) && cont(i + 3) ? 4 : 0;
    else if (c === 0xf4) n = cont(i + 1, 0x80, 0x8f) && cont(i + 2) && cont(i + 3) ? 4 : 0;
    else n = 0;
    if (n === 0) return i;
    i += n;
  }
  return b.length;
}

/**
 * How many alias expansions a document may make, counted as the yaml library counts them (an
 * alias's uses times the aliases nested in its anchor). A declaration needs a few; a "billion
 * laughs" document needs exponentially many, and is refused before it is expanded.
 */
const MAX_ALIAS_COUNT = 100;

/**
 * The parsed document as plain data, with the positions of its nodes. The yaml library reports
 * syntax problems in `doc.errors`, but it throws while it converts the document to JS: too many
 * alias expansions (`maxAliasCount`), an alias before its anchor, a nesting deep enough to
 * overflow the stack. Each becomes a DeclarationError like any other load error, at the alias
 * being resolved when it threw, or at the document start when no alias was.
 */
function convert(doc: Document.Parsed, counter: LineCounter, file: string): { data: unknown; positions: PositionMap } {
  // The library's errors name no node: note the innermost alias whose resolution threw.
  let culprit: Alias | undefined;
  visit(doc, {
    Alias(_key, alias) {
      const toJSON = alias.toJSON;
      alias.toJSON = function (this: Alias, ...args: Parameters<Alias['toJSON']>) {
        try {
          return toJSON.apply(this, args);
        } catch (err) {
          culprit ??= alias;
          throw err;
        }
      };
    },
  });
  try {
    const positions = buildPositionMap(doc.contents as Node | null, counter);
    const data: unknown = doc.toJS({ maxAliasCount: MAX_ALIAS_COUNT });
    return { data, positions };
  } catch (err) {
    let at = START;
    const offset = culprit?.range?.[0];
    if (offset !== undefined) {
      const p = counter.linePos(offset);
      at = { line: p.line, column: p.col };
    }
    throw new DeclarationError(file, [{ path: '$', ...at, message: conversionMessage(err, culprit) }]);
  }
}

function conversionMessage(err: unknown, alias: Alias | undefined): string {
  const text = err instanceof Error ? err.message : String(err);
  if (/excessive alias count/i.test(text)) {
    return `YAML: too many alias expansions${alias ? ` at *${alias.source}` : ''} (more than ${String(MAX_ALIAS_COUNT)}, counting the aliases nested in anchors); a declaration needs only a few aliases`;
  }
  if (alias && /unresolved alias/i.test(text)) {
    return `YAML: alias *${alias.source} comes before any anchor &${alias.source} (an anchor must be set before its aliases)`;
  }
  return `YAML: ${firstLine(text)}`;
}

/** Validate an already-parsed object (JSON body, tests). */
export function validateDeclaration(data: unknown, file = '<input>', positions: PositionMap = NO_POSITIONS): Declaration {
  if (data === null || typeof data !== 'object' || Array.isArray(data)) {
    throw new DeclarationError(file, [{ path: '$', ...START, message: 'a declaration must be a mapping that starts with "pipa: 1"' }]);
  }
  const parsed = DeclarationSchema.safeParse(data);
  if (!parsed.success) {
    throw new DeclarationError(file, zodIssues(parsed.error, positions, data));
  }
  const refIssues = checkReferences(parsed.data).map((r) => {
    const p = positions.positionOf(r.path);
    return { path: formatPath(r.path), line: p.line, column: p.column, message: r.message };
  });
  if (refIssues.length > 0) throw new DeclarationError(file, refIssues);
  return parsed.data;
}

function firstLine(s: string): string {
  return s.split('\n')[0] ?? s;
}

function zodIssues(error: z.ZodError, positions: PositionMap, data: unknown): DeclarationIssue[] {
  return error.issues.flatMap((issue) => issuesOf(issue, positions, data, []));
}

/**
 * The messages of one zod issue, at the position of the value (or of the key, for an unknown
 * field). Whether a value is missing or has the wrong type is decided by looking at the data,
 * since zod leaves the input out of its issues: `reaskAfterHours: "abc"` is "must be a number
 * (got a string)", never "required field is missing". A union that fails is reported through the
 * branch that fits the value's type (`name: { zh: 1 }` is at `$.name.zh`), or as the forms it
 * takes when none does.
 */
function issuesOf(issue: z.core.$ZodIssue, positions: PositionMap, data: unknown, prefix: readonly PathSegment[]): DeclarationIssue[] {
  const segs = [...prefix, ...issue.path.filter((s): s is string | number => typeof s !== 'symbol')];
  if (issue.code === 'unrecognized_keys') {
    return issue.keys.map((k) => {
      const keySegs = [...segs, k];
      const p = positions.keyPositionOf(keySegs);
      return { path: formatPath(keySegs), line: p.line, column: p.column, message: `unknown field "${k}"` };
    });
  }
  const value = valueAt(data, segs);
  if (issue.code === 'invalid_union' && value !== undefined) {
    const branch = closestBranch(issue.errors);
    if (branch) return branch.flatMap((i) => issuesOf(i, positions, data, segs));
  }
  const p = positions.positionOf(segs);
  return [{ path: formatPath(segs), line: p.line, column: p.column, message: describeZodIssue(issue, value) }];
}

/** A union branch fails "at its root" when the value is not of its type (or not one of its values). */
function failsAtRoot(branch: readonly z.core.$ZodIssue[]): boolean {
  return branch.some((i) => i.path.length === 0 && (i.code === 'invalid_type' || i.code === 'invalid_value'));
}

/** The union branch whose type the value has, with the fewest problems; none when no branch fits. */
function closestBranch(errors: readonly (readonly z.core.$ZodIssue[])[]): readonly z.core.$ZodIssue[] | undefined {
  let best: readonly z.core.$ZodIssue[] | undefined;
  for (const branch of errors) {
    if (branch.length === 0 || failsAtRoot(branch)) continue;
    if (!best || branch.length < best.length) best = branch;
  }
  return best;
}

function valueAt(data: unknown, segs: readonly PathSegment[]): unknown {
  let cur: unknown = data;
  for (const s of segs) {
    if (cur === null || typeof cur !== 'object') return undefined;
    cur = (cur as Record<string | number, unknown>)[s];
  }
  return cur;
}

const EXPECTED: Record<string, string> = {
  string: 'a string',
  number: 'a number',
  int: 'a whole number',
  boolean: 'true or false',
  object: 'a mapping',
  array: 'a list',
  date: 'a date',
};

function expectedName(expected: string): string {
  return EXPECTED[expected] ?? `${/^[aeiou]/.test(expected) ? 'an' : 'a'} ${expected}`;
}

function valuesText(values: readonly unknown[]): string {
  return values.map((v) => JSON.stringify(v)).join(', ');
}

/** zod's default messages ("Too small: expected number to be >=0") are replaced; a schema's own message is kept. */
function describeZodIssue(issue: z.core.$ZodIssue, value: unknown): string {
  if (value === undefined && (issue.code === 'invalid_type' || issue.code === 'invalid_value' || issue.code === 'invalid_union')) {
    return 'required field is missing';
  }
  switch (issue.code) {
    case 'invalid_type':
      if (issue.expected === 'int' && typeof value === 'number') return 'must be a whole number';
      if (issue.expected === 'number' && typeof value === 'number') return 'must be a finite number';
      return `must be ${expectedName(issue.expected)} (got ${typeOf(value)})`;
    case 'invalid_value':
      return issue.values.length === 1 ? `must be ${valuesText(issue.values)}` : `must be one of: ${valuesText(issue.values)}`;
    case 'invalid_union':
      return unionMessage(issue.errors, value);
    case 'too_small':
    case 'too_big':
      return rangeMessage(issue);
    case 'invalid_format':
      if (!issue.message.startsWith('Invalid')) return issue.message;
      if (issue.format === 'email') return 'must be an email address';
      if (issue.format === 'url') return 'must be a URL such as https://example.com/privacy';
      if (issue.format === 'regex' && issue.pattern) return `must match ${issue.pattern}`;
      return `must be a valid ${issue.format}`;
    case 'not_multiple_of':
      return `must be a multiple of ${String(issue.divisor)}`;
    case 'invalid_key':
      return 'has a key that is not allowed';
    case 'invalid_element':
      return 'has a value that is not allowed';
    default:
      return issue.message;
  }
}

/** No branch of a union takes the value's type: name the forms it takes. */
function unionMessage(errors: readonly (readonly z.core.$ZodIssue[])[], value: unknown): string {
  const forms: string[] = [];
  let typed = true;
  for (const branch of errors) {
    const root = branch.find((i) => i.path.length === 0 && (i.code === 'invalid_type' || i.code === 'invalid_value'));
    if (root?.code === 'invalid_type') forms.push(expectedName(root.expected));
    else if (root?.code === 'invalid_value') {
      typed = false;
      forms.push(root.values.length === 1 ? valuesText(root.values) : `one of ${valuesText(root.values)}`);
    }
  }
  if (forms.length === 0) return 'is not in any of the accepted forms';
  const text = forms.join(' or ');
  if (text === 'a string or a mapping') return `must be a text: a string or { zh, en } (got ${typeOf(value)})`;
  return typed ? `must be ${text} (got ${typeOf(value)})` : `must be ${text}`;
}

function rangeMessage(issue: z.core.$ZodIssueTooSmall | z.core.$ZodIssueTooBig): string {
  const small = issue.code === 'too_small';
  const limit = Number(small ? issue.minimum : issue.maximum);
  const bound = small ? (issue.inclusive === false ? 'more than' : 'at least') : issue.inclusive === false ? 'less than' : 'at most';
  const plural = (n: number, word: string) => `${String(n)} ${word}${n === 1 ? '' : 's'}`;
  switch (issue.origin) {
    case 'number':
    case 'int':
    case 'bigint':
      return `must be ${bound} ${String(limit)}`;
    case 'array':
    case 'set':
      return small && limit === 1 && issue.inclusive !== false ? 'must not be empty' : `must have ${bound} ${plural(limit, 'item')}`;
    case 'string':
      return small && limit === 1 && issue.inclusive !== false
        ? 'must not be empty'
        : `must be ${bound} ${plural(limit, 'character')} long`;
    default:
      return `must be ${bound} ${String(limit)}`;
  }
}

function typeOf(v: unknown): string {
  if (v === null) return 'null';
  if (Array.isArray(v)) return 'a list';
  if (v instanceof Date) return 'a date';
  if (typeof v === 'object') return 'a mapping';
  return `${/^[aeiou]/.test(typeof v) ? 'an' : 'a'} ${typeof v}`;
}

interface RefIssue {
  path: PathSegment[];
  message: string;
}

/** Cross-reference checks. Exported for the server, which validates JSON bodies the same way. */
export function checkReferences(d: Declaration): RefIssue[] {
  const issues: RefIssue[] = [];
  const dupes = (list: readonly { id: string }[] | undefined, section: string) => {
    const seen = new Map<string, number>();
    list?.forEach((item, i) => {
      const first = seen.get(item.id);
      if (first !== undefined) {
        issues.push({ path: [section, i, 'id'], message: `duplicate id "${item.id}" (first declared at ${formatPath([section, first])})` });
      } else seen.set(item.id, i);
    });
    return new Set(seen.keys());
  };
  const categories = dupes(d.categories, 'categories');
  const sources = dupes(d.sources, 'sources');
  const purposes = dupes(d.purposes, 'purposes');
  dupes(d.permissions, 'permissions');
  const recipients = dupes(d.recipients, 'recipients');
  dupes(d.datasets, 'datasets');

  d.categories.forEach((cat, i) => {
    if (cat.id.startsWith('custom.')) {
      if (!cat.label) issues.push({ path: ['categories', i, 'label'], message: `custom category "${cat.id}" needs a label` });
      if (cat.sensitive === undefined)
        issues.push({ path: ['categories', i], message: `custom category "${cat.id}" must say whether it is sensitive` });
    } else if (!isTaxonomyId(cat.id)) {
      issues.push({
        path: ['categories', i, 'id'],
        message: unknownMessage('category', cat.id, TAXONOMY_IDS, ' (custom categories start with "custom.")'),
      });
    }
  });

  const ref = (kind: string, set: Set<string>, ids: readonly string[] | undefined, path: PathSegment[]) => {
    ids?.forEach((id, j) => {
      if (!set.has(id)) issues.push({ path: [...path, j], message: unknownMessage(kind, id, [...set]) });
    });
  };
  const cat = (ids: readonly string[] | undefined, path: PathSegment[]) => {
    ids?.forEach((id, j) => {
      if (categories.has(id)) return;
      const where = isTaxonomyId(id) ? ` ("${id}" is in the taxonomy: add it to categories first)` : '';
      issues.push({ path: [...path, j], message: unknownMessage('category', id, [...categories]) + where });
    });
  };

  d.sources?.forEach((s, i) => {
    cat(s.categories, ['sources', i, 'categories']);
  });
  d.purposes.forEach((p, i) => {
    cat(p.categories, ['purposes', i, 'categories']);
    ref('source', sources, p.sources, ['purposes', i, 'sources']);
    p.retention?.forEach((r, k) => {
      r.categories?.forEach((id, j) => {
        if (!p.categories.includes(id)) {
          issues.push({
            path: ['purposes', i, 'retention', k, 'categories', j],
            message: unknownMessage(`category of purpose "${p.id}"`, id, p.categories),
          });
        }
      });
    });
  });
  d.permissions?.forEach((p, i) => {
    ref('purpose', purposes, p.purposes, ['permissions', i, 'purposes']);
    cat(p.categories, ['permissions', i, 'categories']);
  });
  d.recipients?.forEach((r, i) => {
    ref('purpose', purposes, r.purposes, ['recipients', i, 'purposes']);
    cat(r.categories, ['recipients', i, 'categories']);
    cat(r.background?.categories, ['recipients', i, 'background', 'categories']);
  });
  if (d.cookies) {
    cat(d.cookies.categories, ['cookies', 'categories']);
    ref('purpose', purposes, d.cookies.purposes, ['cookies', 'purposes']);
  }
  d.storage?.crossBorder?.forEach((x, i) => {
    if (x.recipient) ref('recipient', recipients, [x.recipient], ['storage', 'crossBorder', i, 'recipient']);
    cat(x.categories, ['storage', 'crossBorder', i, 'categories']);
  });
  d.rights?.list.forEach((r, i) => {
    cat(r.verification, ['rights', 'list', i, 'verification']);
  });
  cat(d.rights?.cancellation?.verification, ['rights', 'cancellation', 'verification']);
  if (Array.isArray(d.security?.encryptionAtRest?.scope)) cat(d.security.encryptionAtRest.scope, ['security', 'encryptionAtRest', 'scope']);
  d.datasets?.forEach((ds, i) => {
    cat(ds.categories, ['datasets', i, 'categories']);
    ds.tables?.forEach((t, k) => {
      for (const [col, id] of Object.entries(t.fields)) {
        if (!categories.has(id))
          issues.push({ path: ['datasets', i, 'tables', k, 'fields', col], message: unknownMessage('category', id, [...categories]) });
      }
      for (const col of Object.keys(t.erasure.columns ?? {})) {
        if (!(col in t.fields))
          issues.push({
            path: ['datasets', i, 'tables', k, 'erasure', 'columns', col],
            message: unknownMessage(`column of table "${t.name}"`, col, Object.keys(t.fields)),
          });
      }
      t.writable?.forEach((col, j) => {
        if (!(col in t.fields))
          issues.push({
            path: ['datasets', i, 'tables', k, 'writable', j],
            message: unknownMessage(`column of table "${t.name}"`, col, Object.keys(t.fields)),
          });
      });
    });
    if (ds.engine !== 'vault' && !ds.connectionEnv) {
      issues.push({
        path: ['datasets', i],
        message: `dataset "${ds.id}" (${ds.engine}) needs connectionEnv: the name of the environment variable with its connection URL`,
      });
    }
  });
  if (d.app.type !== undefined && d.app.type !== 'none' && !NEC_TYPE_IDS.includes(d.app.type)) {
    issues.push({
      path: ['app', 'type'],
      message: unknownMessage('app type', d.app.type, [...NEC_TYPE_IDS, 'none'], ' (one of the 39 NEC types, or "none")'),
    });
  }
  return issues;
}

function unknownMessage(kind: string, id: string, candidates: readonly string[], extra = ''): string {
  const hint = didYouMean(id, candidates);
  return `unknown ${kind} "${id}"${hint ? ` — did you mean "${hint}"?` : ''}${extra}`;
}
