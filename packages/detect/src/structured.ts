/**
 * Structured data: JSON documents, NDJSON streams and CSV streams. Each value is scanned with its
 * field name as context (a column `手机号` or a key `id_card` raises the score of the matching
 * detector), and each finding carries the path of its field: `$.users[3].phone` (exact) and
 * `$.users[*].phone` (the field, for per-field reports); for CSV the column header.
 */
import { detect } from './detect.js';
import type { Detection, DetectOptions } from './types.js';

export interface FieldFinding extends Detection {
  /** Exact location: `$.users[3].phone`, or the CSV column name. */
  path: string;
  /** The field, array indices replaced by `[*]` (JSON) or the CSV column name. */
  field: string;
  /** 1-based line of the record (NDJSON line, CSV record start) when streaming. */
  line?: number;
  /** 1-based data row (CSV, header excluded) or record number (NDJSON). */
  row?: number;
}

export class StructuredError extends Error {
  readonly line: number;
  readonly column: number;
  constructor(message: string, line: number, column: number) {
    super(message);
    this.name = 'StructuredError';
    this.line = line;
    this.column = column;
  }
}

const IDENT = /^[A-Za-z_$][A-Za-z0-9_$]*$/;

function keyPath(parent: string, key: string): string {
  return IDENT.test(key) ? `${parent}.${key}` : `${parent}[${JSON.stringify(key)}]`;
}

/** Scan every string and number of a parsed JSON value; keys are scanned too (maps keyed by phone). */
export function scanJsonValue(value: unknown, options: DetectOptions = {}, root = '$'): FieldFinding[] {
  const out: FieldFinding[] = [];
  const walk = (v: unknown, path: string, field: string, key: string | undefined): void => {
    if (typeof v === 'string' || (typeof v === 'number' && Number.isFinite(v)) || typeof v === 'bigint') {
      const text = typeof v === 'string' ? v : String(v);
      for (const d of detect(text, { ...options, fieldContext: key ?? options.fieldContext })) out.push({ ...d, path, field });
    } else if (Array.isArray(v)) {
      for (let i = 0; i < v.length; i++) walk(v[i], `${path}[${i}]`, `${field}[*]`, key);
    } else if (v !== null && typeof v === 'object') {
      for (const [k, x] of Object.entries(v as Record<string, unknown>)) {
        const p = keyPath(path, k);
        for (const d of detect(k, options)) out.push({ ...d, path: p, field: `${keyPath(field, k)}(key)` });
        walk(x, p, keyPath(field, k), k);
      }
    }
  };
  walk(value, root, root, undefined);
  return out;
}

function lineCol(text: string, pos: number): { line: number; column: number } {
  let line = 1;
  let last = -1;
  for (let i = text.indexOf('\n'); i >= 0 && i < pos; i = text.indexOf('\n', i + 1)) {
    line++;
    last = i;
  }
  return { line, column: pos - last };
}

/** Parse JSON with a positioned error (line:col) instead of the engine's message. */
export function parseJson(text: string): unknown {
  try {
    return JSON.parse(text);
  } catch (err) {
    const msg = err instanceof Error ? err.message : String(err);
    const m = /position (\d+)/.exec(msg);
    const pos = m ? Number(m[1]) : text.length;
    const { line, column } = lineCol(text, pos);
    throw new StructuredError(`invalid JSON at ${line}:${column}: ${msg.replace(/^JSON\.parse: /, '')}`, line, column);
  }
}

export function scanJson(text: string, options: DetectOptions = {}): FieldFinding[] {
  return scanJsonValue(parseJson(text.charCodeAt(0) === 0xfeff ? text.slice(1) : text), options);
}

export interface RecordScanner<T> {
  push(chunk: string): T[];
  end(): T[];
  /** Problems that did not stop the scan (a bad NDJSON line), with their line. */
  readonly problems: readonly { line: number; message: string }[];
}

/**
 * NDJSON / JSON Lines: one JSON value per line; a line that is not JSON is reported in `problems`
 * and scanned as text, so nothing is missed. Lines longer than `maxLine` are scanned as text.
 */
export function createNdjsonScanner(options: DetectOptions & { maxLine?: number } = {}): RecordScanner<FieldFinding> {
  let rest = '';
  let line = 0;
  const problems: { line: number; message: string }[] = [];
  const maxLine = options.maxLine ?? 16 * 1024 * 1024;
  const doLine = (raw: string, out: FieldFinding[]): void => {
    line++;
    const text = raw.endsWith('\r') ? raw.slice(0, -1) : raw;
    if (text.trim() === '') return;
    let value: unknown;
    let parsed = false;
    if (text.length <= maxLine) {
      try {
        value = JSON.parse(text);
        parsed = true;
      } catch (err) {
        problems.push({ line, message: `invalid JSON: ${err instanceof Error ? err.message : String(err)}` });
      }
    } else problems.push({ line, message: `line longer than ${maxLine} characters: scanned as text` });
    const found = parsed ? scanJsonValue(value, options) : detect(text, options).map((d) => ({ ...d, path: '$', field: '(text)' }));
    for (const f of found) out.push({ ...f, line, row: line });
  };
  return {
    push(chunk) {
      const out: FieldFinding[] = [];
      rest += chunk;
      let nl = rest.indexOf('\n');
      let from = 0;
      while (nl >= 0) {
        doLine(rest.slice(from, nl), out);
        from = nl + 1;
        nl = rest.indexOf('\n', from);
      }
      rest = rest.slice(from);
      return out;
    },
    end() {
      const out: FieldFinding[] = [];
      if (rest.length > 0) doLine(rest, out);
      rest = '';
      return out;
    },
    problems,
  };
}

export interface CsvOptions extends DetectOptions {
  /** Field delimiter; default `,` (`\t` for TSV). */
  delimiter?: string;
  /** First record is a header (default true); otherwise columns are `column 1`, `column 2`, … */
  header?: boolean;
}

/**
 * CSV (RFC 4180: quoted fields, doubled quotes, CRLF or LF, newlines inside quotes) as a stream.
 * Each cell is scanned with its column header as context.
 */
export function createCsvScanner(options: CsvOptions = {}): RecordScanner<FieldFinding> {
  const delim = options.delimiter ?? ',';
  const useHeader = options.header ?? true;
  let header: string[] | undefined;
  let row: string[] = [];
  let cell = '';
  let inQuotes = false;
  let quotePending = false;
  let line = 1;
  let recordLine = 1;
  let dataRow = 0;
  let started = false;
  const problems: { line: number; message: string }[] = [];

  const column = (i: number): string => header?.[i] ?? `column ${i + 1}`;
  const endRecord = (out: FieldFinding[]): void => {
    row.push(cell);
    cell = '';
    const record = row;
    row = [];
    if (record.length === 1 && record[0] === '') return; // blank line
    if (useHeader && !header) {
      header = record.map((h, i) => (i === 0 ? h.replace(/^\uFEFF/, '') : h).trim());
      return;
    }
    dataRow++;
    record.forEach((value, i) => {
      if (value === '') return;
      const col = column(i);
      for (const d of detect(value, { ...options, fieldContext: col }))
        out.push({ ...d, path: col, field: col, line: recordLine, row: dataRow });
    });
  };
  const feed = (text: string, out: FieldFinding[]): void => {
    for (let i = 0; i < text.length; i++) {
      const ch = text[i] as string;
      if (!started) {
        started = true;
        recordLine = line;
      }
      if (quotePending) {
        quotePending = false;
        if (ch === '"') {
          cell += '"';
          continue;
        }
        inQuotes = false;
      }
      if (inQuotes) {
        if (ch === '"') quotePending = true;
        else {
          if (ch === '\n') line++;
          cell += ch;
        }
        continue;
      }
      if (ch === '"' && cell === '') inQuotes = true;
      else if (ch === delim) {
        row.push(cell);
        cell = '';
      } else if (ch === '\n') {
        if (cell.endsWith('\r')) cell = cell.slice(0, -1);
        endRecord(out);
        line++;
        started = false;
      } else cell += ch;
    }
  };
  return {
    push(chunk) {
      const out: FieldFinding[] = [];
      feed(chunk, out);
      return out;
    },
    end() {
      const out: FieldFinding[] = [];
      if (quotePending) {
        quotePending = false;
        inQuotes = false;
      }
      if (inQuotes) problems.push({ line: recordLine, message: 'unterminated quoted field at end of file' });
      if (cell !== '' || row.length > 0) endRecord(out);
      return out;
    },
    problems,
  };
}
