/**
 * Streaming: text of any size in bounded memory. The text is scanned in windows; a detection is
 * reported by the window in which it starts well before the window's end, and each window keeps a
 * margin of the text before it (for context words and for matches that started earlier), so a
 * match that crosses a chunk boundary is found exactly once and with the same score as in one
 * piece. Offsets are absolute; line and column are 1-based (column in UTF-16 code units).
 */
import { DEFAULT_WINDOW_BEFORE, detect } from './detect.js';
import { applyOperator, operatorFor, type RedactionPlan } from './operators/apply.js';
import type { Detection, DetectOptions } from './types.js';

export interface StreamDetection extends Detection {
  line: number;
  column: number;
}

/** Longest match any detector reports (URL with credentials) plus the window after it. */
const LOOKAHEAD = 1024;
/** Text kept before the undecided region: context window, matches that started there, lookbehind of `://`. */
const LOOKBEHIND = 1024;
/** How far a cut may move left to land on a safe boundary. */
const SAFE_SEARCH = 4096;
/** New text gathered before a window is scanned. */
const BATCH = 64 * 1024;

function isCutSafe(t: string, i: number): boolean {
  if (i <= 0) return true;
  const c = t[i - 1] ?? '';
  if (c === '\n') return true;
  const joiner = /[0-9A-Za-z\-:.@_+/%·•]/;
  if (joiner.test(c)) return false;
  return !joiner.test(t[i] ?? '') && !joiner.test(t[i - 2] ?? '');
}

interface LineTracker {
  pos: number;
  line: number;
  lineStart: number;
}

function advance(tr: LineTracker, buf: string, base: number, to: number): void {
  if (to <= tr.pos) return;
  let i = buf.indexOf('\n', tr.pos - base);
  while (i >= 0 && i + base < to) {
    tr.line++;
    tr.lineStart = i + base + 1;
    i = buf.indexOf('\n', i + 1);
  }
  tr.pos = to;
}

interface WindowState {
  buf: string;
  base: number;
  done: number;
  tracker: LineTracker;
}

/**
 * Run detect() on the buffered window; return detections that start in [done, limit) and move the
 * window. `keepAtLeast` is an absolute offset the caller still needs (the redactor's output position).
 */
function step(st: WindowState, options: DetectOptions, final: boolean, keepAtLeast: number): { found: StreamDetection[]; limit: number } {
  const end = st.base + st.buf.length;
  const limit = final ? end : end - LOOKAHEAD;
  const found: StreamDetection[] = [];
  if (limit > st.done) {
    for (const d of detect(st.buf, options)) {
      const start = d.start + st.base;
      if (start < st.done || start >= limit) continue;
      advance(st.tracker, st.buf, st.base, start);
      found.push({ ...d, start, end: d.end + st.base, line: st.tracker.line, column: start - st.tracker.lineStart + 1 });
    }
    st.done = limit;
  }
  if (!final) {
    let keep = Math.max(st.base, Math.min(st.done - LOOKBEHIND - (options.windowBefore ?? DEFAULT_WINDOW_BEFORE), keepAtLeast));
    const floor = Math.max(st.base, keep - SAFE_SEARCH);
    while (keep > floor && !isCutSafe(st.buf, keep - st.base)) keep--;
    if (keep > st.base) {
      advance(st.tracker, st.buf, st.base, keep);
      st.buf = st.buf.slice(keep - st.base);
      st.base = keep;
    }
  }
  return { found, limit };
}

export interface TextScanner {
  /** Add text; returns the detections decided so far. */
  push(chunk: string): StreamDetection[];
  /** End of text; returns the remaining detections. */
  end(): StreamDetection[];
}

export interface StreamOptions extends DetectOptions {
  /** New characters gathered before a window is scanned (default 65536; smaller = more windows). */
  batch?: number;
}

export function createTextScanner(options: StreamOptions = {}): TextScanner {
  const st: WindowState = { buf: '', base: 0, done: 0, tracker: { pos: 0, line: 1, lineStart: 0 } };
  const batch = options.batch ?? BATCH;
  return {
    push(chunk) {
      st.buf += chunk;
      if (st.base + st.buf.length - st.done < LOOKAHEAD + batch) return [];
      return step(st, options, false, Number.POSITIVE_INFINITY).found;
    },
    end() {
      return step(st, options, true, Number.POSITIVE_INFINITY).found;
    },
  };
}

/** Scan a whole async source of text chunks. */
export async function scanTextChunks(
  source: AsyncIterable<string> | Iterable<string>,
  options: StreamOptions = {},
): Promise<StreamDetection[]> {
  const s = createTextScanner(options);
  const out: StreamDetection[] = [];
  for await (const chunk of source) for (const d of s.push(chunk)) out.push(d);
  for (const d of s.end()) out.push(d);
  return out;
}

export interface Redactor {
  /** Add text; returns the redacted text that is final so far. */
  push(chunk: string): string;
  /** End of text; returns the rest of the redacted text. */
  end(): string;
  /** Detections replaced so far (counts by type, for a summary). */
  readonly counts: ReadonlyMap<string, number>;
}

/** A redaction stream: text in, the same text with each detection replaced by its operator's output. */
export function createRedactor(plan: RedactionPlan, options: StreamOptions = {}): Redactor {
  const batch = options.batch ?? BATCH;
  const st: WindowState = { buf: '', base: 0, done: 0, tracker: { pos: 0, line: 1, lineStart: 0 } };
  let outPos = 0;
  const counts = new Map<string, number>();
  const flush = (final: boolean): string => {
    // the text from outPos on is still needed; read it before the window moves
    const buf = st.buf;
    const base = st.base;
    const { found, limit } = step(st, options, final, outPos);
    let out = '';
    for (const d of found) {
      if (d.start < outPos) continue;
      out += buf.slice(outPos - base, d.start - base) + applyOperator(operatorFor(plan, d), d, plan.context);
      outPos = d.end;
      counts.set(d.type, (counts.get(d.type) ?? 0) + 1);
    }
    if (limit > outPos) {
      out += buf.slice(outPos - base, limit - base);
      outPos = limit;
    }
    return out;
  };
  return {
    push(chunk) {
      st.buf += chunk;
      if (st.base + st.buf.length - st.done < LOOKAHEAD + batch) return '';
      return flush(false);
    },
    end() {
      return flush(true);
    },
    counts,
  };
}
