/**
 * Files: walking directories, telling text from binary and SQLite, and scanning a file as a
 * stream (text, CSV, NDJSON) or as a document (JSON), in bounded memory except for JSON documents
 * (parsed whole up to `maxJsonBytes`, scanned as text beyond).
 */
import { closeSync, createReadStream, type Dirent, openSync, readdirSync, readSync, statSync } from 'node:fs';
import { extname, join, relative } from 'node:path';
import { TextDecoder } from 'node:util';
import {
  createCsvScanner,
  createNdjsonScanner,
  createTextScanner,
  type DetectOptions,
  maskValue,
  parseJson,
  StructuredError,
  scanJsonValue,
} from '@pipa/detect';
import { GroupBuilder, type TargetKind, type TargetResult } from './types.js';

export interface FileEntry {
  path: string;
  display: string;
  size: number;
}

const SKIP_DIRS = new Set(['.git', 'node_modules', '.hg', '.svn']);

/** Every regular file under `root` (a file or a directory); hidden directories are skipped unless `hidden`. */
export function walk(root: string, cwd: string, hidden: boolean, out: FileEntry[], problems: string[]): void {
  let st: ReturnType<typeof statSync>;
  try {
    st = statSync(root);
  } catch (err) {
    problems.push(`${relative(cwd, root) || root}: ${describeFsError(err)}`);
    return;
  }
  if (st.isFile()) {
    out.push({ path: root, display: relative(cwd, root) || root, size: st.size });
    return;
  }
  if (!st.isDirectory()) return;
  let entries: Dirent[];
  try {
    entries = readdirSync(root, { withFileTypes: true });
  } catch (err) {
    problems.push(`${relative(cwd, root) || root}: ${describeFsError(err)}`);
    return;
  }
  entries.sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
  for (const e of entries) {
    if (e.isSymbolicLink()) continue;
    if (e.isDirectory()) {
      if (SKIP_DIRS.has(e.name) || (!hidden && e.name.startsWith('.'))) continue;
      walk(join(root, e.name), cwd, hidden, out, problems);
    } else if (e.isFile()) {
      if (!hidden && e.name.startsWith('.')) continue;
      const p = join(root, e.name);
      try {
        out.push({ path: p, display: relative(cwd, p) || p, size: statSync(p).size });
      } catch (err) {
        problems.push(`${relative(cwd, p)}: ${describeFsError(err)}`);
      }
    }
  }
}

export function describeFsError(err: unknown): string {
  const code = (err as NodeJS.ErrnoException).code;
  if (code === 'ENOENT') return '文件不存在 / no such file or directory';
  if (code === 'EACCES' || code === 'EPERM') return '无权读取 / permission denied';
  if (code === 'EISDIR') return '是目录 / is a directory';
  return `无法读取 / cannot read (${code ?? (err instanceof Error ? err.message : String(err))})`;
}

const SQLITE_MAGIC = 'SQLite format 3\u0000';

/** What a file holds, from its first bytes and its extension. */
export function sniff(path: string): TargetKind | 'binary' {
  const buf = Buffer.alloc(8192);
  const fd = openSync(path, 'r');
  let n: number;
  try {
    n = readSync(fd, buf, 0, buf.length, 0);
  } finally {
    closeSync(fd);
  }
  const head = buf.subarray(0, n);
  if (head.subarray(0, 16).toString('latin1') === SQLITE_MAGIC) return 'sqlite';
  // UTF-16 with BOM is text we do not decode here: treat as binary
  let control = 0;
  for (const b of head) {
    if (b === 0) return 'binary';
    if (b < 9 || (b > 13 && b < 32)) control++;
  }
  if (n > 0 && control / n > 0.1) return 'binary';
  const ext = extname(path).toLowerCase();
  if (ext === '.csv' || ext === '.tsv') return 'csv';
  if (ext === '.json') return 'json';
  if (ext === '.ndjson' || ext === '.jsonl') return 'ndjson';
  return 'text';
}

/** A UTF-8 decoder that reports the first invalid sequence and then goes on with U+FFFD. */
class Utf8 {
  private fatal = new TextDecoder('utf-8', { fatal: true });
  private lenient: TextDecoder | undefined;
  private offset = 0;
  invalidAt: number | undefined;
  decode(chunk: Uint8Array, stream = true): string {
    const at = this.offset;
    this.offset += chunk.length;
    if (this.lenient) return this.lenient.decode(chunk, { stream });
    try {
      return this.fatal.decode(chunk, { stream });
    } catch {
      this.invalidAt = at + firstInvalid(chunk);
      this.lenient = new TextDecoder('utf-8', { fatal: false });
      return this.lenient.decode(chunk, { stream });
    }
  }
  end(): string {
    return this.lenient ? this.lenient.decode() : this.fatalEnd();
  }
  private fatalEnd(): string {
    try {
      return this.fatal.decode();
    } catch {
      this.invalidAt = this.offset;
      return '\uFFFD';
    }
  }
}

function firstInvalid(b: Uint8Array): number {
  let i = 0;
  while (i < b.length) {
    const c = b[i] ?? 0;
    const need = c < 0x80 ? 0 : c >= 0xc2 && c < 0xe0 ? 1 : c >= 0xe0 && c < 0xf0 ? 2 : c >= 0xf0 && c < 0xf5 ? 3 : -1;
    if (need < 0) return i;
    for (let k = 1; k <= need; k++) {
      const x = b[i + k];
      if (x === undefined) return i;
      if ((x & 0xc0) !== 0x80) return i;
    }
    i += need + 1;
  }
  return b.length;
}

export interface FileScanOptions {
  detect: DetectOptions;
  maxJsonBytes: number;
}

/** Scan one file of a known kind. Never throws for bad content: problems become warnings. */
export async function scanFile(entry: FileEntry, kind: TargetKind, opts: FileScanOptions): Promise<TargetResult> {
  const groups = new GroupBuilder();
  const warnings: string[] = [];
  const dec = new Utf8();
  const result: TargetResult = { target: entry.display, kind, status: 'scanned', warnings, groups: [], bytes: entry.size };
  let effective: TargetKind = kind;
  if (kind === 'json' && entry.size > opts.maxJsonBytes) {
    warnings.push(`JSON 文件过大，按文本扫描 / JSON larger than ${opts.maxJsonBytes} bytes: scanned as text`);
    effective = 'text';
  }
  const stream = createReadStream(entry.path, { highWaterMark: 256 * 1024 });
  if (effective === 'json') {
    let text = '';
    for await (const chunk of stream) text += dec.decode(chunk as Buffer);
    text += dec.end();
    try {
      const value = parseJson(text.charCodeAt(0) === 0xfeff ? text.slice(1) : text);
      for (const f of scanJsonValue(value, opts.detect)) groups.add(f, () => maskValue(f.type, f.text), f.field);
    } catch (err) {
      if (!(err instanceof StructuredError)) throw err;
      warnings.push(`${entry.display}:${err.line}:${err.column}: JSON 无效，按文本扫描 / ${err.message}; scanned as text`);
      const s = createTextScanner(opts.detect);
      for (const d of [...s.push(text), ...s.end()]) groups.add(d, () => maskValue(d.type, d.text), undefined, d);
    }
  } else if (effective === 'csv' || effective === 'ndjson') {
    const sc =
      effective === 'csv'
        ? createCsvScanner({ ...opts.detect, delimiter: entry.path.toLowerCase().endsWith('.tsv') ? '\t' : ',' })
        : createNdjsonScanner(opts.detect);
    let rows = 0;
    const take = (fs: ReturnType<typeof sc.push>) => {
      for (const f of fs) {
        groups.add(f, () => maskValue(f.type, f.text), f.field, { line: f.line });
        rows = Math.max(rows, f.row ?? 0);
      }
    };
    for await (const chunk of stream) take(sc.push(dec.decode(chunk as Buffer)));
    take(sc.push(dec.end()));
    take(sc.end());
    for (const p of sc.problems.slice(0, 20)) warnings.push(`${entry.display}:${p.line}: ${p.message}`);
    if (sc.problems.length > 20) warnings.push(`${entry.display}: … ${sc.problems.length - 20} more`);
  } else {
    const sc = createTextScanner(opts.detect);
    const take = (ds: ReturnType<typeof sc.push>) => {
      for (const d of ds) groups.add(d, () => maskValue(d.type, d.text), undefined, d);
    };
    for await (const chunk of stream) take(sc.push(dec.decode(chunk as Buffer)));
    take(sc.push(dec.end()));
    take(sc.end());
  }
  if (dec.invalidAt !== undefined)
    warnings.push(
      `${entry.display}: 无效的 UTF-8，位于字节 ${dec.invalidAt} / invalid UTF-8 at byte ${dec.invalidAt} (replaced with U+FFFD)`,
    );
  result.groups = groups.groups();
  return result;
}
