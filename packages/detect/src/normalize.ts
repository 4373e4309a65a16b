/**
 * Width normalisation that keeps offsets: every full-width ASCII variant (U+FF01..U+FF5E) becomes
 * its ASCII character and the ideographic space (U+3000) a space. Each is one UTF-16 code unit in
 * and out, so an offset in the normalised text is the same offset in the original.
 */
const FULL_WIDTH = /[\uFF01-\uFF5E\u3000]/;

export function hasFullWidth(text: string): boolean {
  return FULL_WIDTH.test(text);
}

/** Runs of full-width characters (global: for `replace`). */
export const FULL_WIDTH_RUNS = /[\uFF01-\uFF5E\u3000]+/g;

/** A run of full-width characters, narrowed. */
export function narrow(run: string): string {
  let out = '';
  for (let i = 0; i < run.length; i++) {
    const c = run.charCodeAt(i);
    out += c === 0x3000 ? ' ' : String.fromCharCode(c - 0xfee0);
  }
  return out;
}

/** The text with full-width characters narrowed (the same string when it has none). */
export function normalizeWidth(text: string): string {
  // the regular expression engine finds the runs; only they are rebuilt (no run: `text` itself)
  return text.replace(FULL_WIDTH_RUNS, narrow);
}

/** Digits and letters only, upper-case (for canonical forms of identifiers). */
export function alnumUpper(text: string): string {
  return normalizeWidth(text)
    .replace(/[^0-9A-Za-z]/g, '')
    .toUpperCase();
}

/** Digits only. */
export function digitsOnly(text: string): string {
  return normalizeWidth(text).replace(/[^0-9]/g, '');
}
