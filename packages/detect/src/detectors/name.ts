/**
 * Chinese person names, by dictionary and context: a surname of the dictionary followed by one or
 * two given-name characters, found after a context word (姓名、联系人、收货人 …), before a title
 * (先生、女士 …), right before a phone or ID number of the same record, or as the whole value of a
 * field named like a name. A surname alone is never enough: the score stays below the default
 * threshold without context, and below the checksum-validated types with it.
 */
import { CONTEXT_WORDS, NAME_AFTER_WORDS } from '../context.js';
import { COMPOUND_SURNAMES, NAME_FOLLOWERS, NOT_IN_NAME, SINGLE_SURNAMES } from '../data/surnames.js';
import { type Candidate, type Env, emit, isCjkCode, on, T } from './env.js';

const SINGLE: ReadonlySet<string> = new Set(SINGLE_SURNAMES);
const COMPOUND: ReadonlySet<string> = new Set(COMPOUND_SURNAMES);
const NOT_IN: ReadonlySet<string> = new Set(NOT_IN_NAME);
const FOLLOWERS: ReadonlySet<string> = new Set(NAME_FOLLOWERS);
const CN_WORDS = CONTEXT_WORDS.name.filter((w) => isCjkCode(w.charCodeAt(0)));
const LATIN_WORDS = CONTEXT_WORDS.name.filter((w) => !isCjkCode(w.charCodeAt(0)));
const WORDS_BY_FIRST = new Map<string, string[]>();
for (const w of [...CN_WORDS, ...NAME_AFTER_WORDS]) {
  const f = w[0] ?? '';
  WORDS_BY_FIRST.set(f, [...(WORDS_BY_FIRST.get(f) ?? []), w]);
}
for (const list of WORDS_BY_FIRST.values()) list.sort((a, b) => b.length - a.length);
const AFTER: ReadonlySet<string> = new Set(NAME_AFTER_WORDS);

export function surnameAt(t: string, i: number): number {
  if (COMPOUND.has(t.slice(i, i + 2))) return 2;
  return SINGLE.has(t[i] ?? '') ? 1 : 0;
}

function givenChar(t: string, i: number): boolean {
  const c = t.charCodeAt(i);
  return isCjkCode(c) && !NOT_IN.has(t[i] ?? '');
}

/** A name starting at `p`: [end, boundaryAfter] or undefined. */
export function parseName(t: string, p: number, limit = t.length): { end: number; boundary: boolean } | undefined {
  const sl = surnameAt(t, p);
  if (sl === 0) return undefined;
  let e = p + sl;
  let g = 0;
  while (g < 2 && e < limit && givenChar(t, e)) {
    e++;
    g++;
  }
  if (g === 0) return undefined;
  // 张伟说… → 张伟; 王小明 stays
  if (g === 2 && FOLLOWERS.has(t[e - 1] ?? '')) {
    e--;
    g--;
  }
  const inner = t.slice(p + sl, e);
  for (const w of NAME_AFTER_WORDS) {
    const i = inner.indexOf(w);
    if (i > 0) {
      e = p + sl + i;
      break;
    }
  }
  const next = t.charCodeAt(e);
  const boundary = e >= limit || !isCjkCode(next) || AFTER.has(t.slice(e, e + 2)) || FOLLOWERS.has(t[e] ?? '');
  return { end: e, boundary };
}

const SKIP = new Set([' ', ':', '：', '\t', '"', "'", '“', '”', '「', '」', '【', '】', '[', ']', '=', '是', '为']);

export function scanNames(env: Env, structured: readonly Candidate[]): void {
  if (!on(env, 'name')) return;
  const t = env.t;
  const n = t.length;
  // Whole-value names: a field called 姓名 / name holding 2-4 CJK characters.
  if (env.field && (CN_WORDS.some((w) => env.field?.includes(w)) || LATIN_WORDS.some((w) => env.field?.includes(w)))) {
    const trimmed = t.trim();
    const off = t.indexOf(trimmed);
    if (/^[\u4e00-\u9fff]{2,4}$/.test(trimmed)) {
      const sl = surnameAt(trimmed, 0);
      emit(env, T.name, off, off + trimmed.length, sl ? 0.6 : 0.35, sl ? ['surname', 'whole-field'] : ['whole-field'], trimmed, 0.3);
      return;
    }
  }
  for (let i = 0; i < n; i++) {
    const c = t.charCodeAt(i);
    if (c < 0x4e00) {
      if ((c === 110 || c === 78) && LATIN_WORDS.length) latinContext(env, i);
      continue;
    }
    const list = WORDS_BY_FIRST.get(t[i] ?? '');
    if (!list) continue;
    for (const w of list) {
      if (!t.startsWith(w, i)) continue;
      if (AFTER.has(w)) {
        nameBefore(env, i, w);
      } else {
        let p = i + w.length;
        while (p < n && p - i - w.length < 3 && SKIP.has(t[p] ?? '')) p++;
        const r = parseName(t, p);
        if (r) {
          const reasons = ['surname', `context:${w}`];
          if (r.boundary) reasons.push('boundary');
          emit(env, T.name, p, r.end, 0.45 + (r.boundary ? 0.35 : 0.1), reasons, t.slice(p, r.end), 0);
        }
      }
      i += w.length - 1;
      break;
    }
  }
  // 张三 13812345678 / 张三，身份证 …: a name right before a phone or ID number of the same record.
  for (const d of structured) {
    if (d.type !== 'phone' && d.type !== 'id-card' && d.type !== 'landline') continue;
    let e = d.start;
    let gap = 0;
    while (e > 0 && gap < 3 && /[\s,，:：、|/;；(（]/.test(t[e - 1] ?? '')) {
      e--;
      gap++;
    }
    for (const len of [2, 3, 4]) {
      const p = e - len;
      if (p < 0) break;
      if (p > 0 && isCjkCode(t.charCodeAt(p - 1)) && !/[的是为叫和与及：:]/.test(t[p - 1] ?? '')) continue;
      const r = parseName(t, p, e);
      if (r && r.end === e) {
        emit(env, T.name, p, e, 0.55, ['surname', `next-to:${d.type}`], t.slice(p, e), 0.3);
        break;
      }
    }
  }
}

function latinContext(env: Env, i: number): void {
  const t = env.t;
  const lower = t.slice(i, i + 9).toLowerCase();
  const w = lower.startsWith('realname') ? 'realname' : lower.startsWith('name') ? 'name' : undefined;
  if (!w) return;
  if (/[a-z]/i.test(t[i - 1] ?? '') && !(t[i - 1] === 'l' && w === 'name')) return;
  let p = i + w.length;
  let k = 0;
  while (p < t.length && k < 4 && SKIP.has(t[p] ?? '')) {
    p++;
    k++;
  }
  if (k === 0) return;
  const r = parseName(t, p);
  if (r) emit(env, T.name, p, r.end, 0.45 + (r.boundary ? 0.35 : 0.1), ['surname', `context:${w}`], t.slice(p, r.end), 0);
}

/** 张三先生: look back from the title for surname + given name. */
function nameBefore(env: Env, i: number, w: string): void {
  const t = env.t;
  let fallback = -1;
  for (const len of [3, 2, 4]) {
    const p = i - len;
    if (p < 0) continue;
    const r = parseName(t, p, i);
    if (!r || r.end !== i) continue;
    if (p > 0 && isCjkCode(t.charCodeAt(p - 1)) && !/[的是为叫和与及给向对请致位]/.test(t[p - 1] ?? '')) {
      if (fallback < 0) fallback = p;
      continue;
    }
    emit(env, T.name, p, i, 0.75, ['surname', `title:${w}`], t.slice(p, i), 0);
    return;
  }
  if (fallback >= 0) emit(env, T.name, fallback, i, 0.6, ['surname', `title:${w}`], t.slice(fallback, i), 0);
}
