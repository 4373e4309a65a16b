/**
 * Width normalisation that keeps offsets: every full-width ASCII variant (U+FF01..U+FF5E) becomes
 * its ASCII character and the ideographic space (U+3000) a space. Each is one UTF-16 code unit in
 * and out, so an offset in the normalised text is the same offset in the original.
 */
const FULL_WIDTH = /[\uFF01-\uFF5E\u3000]/;

export function hasFullWidth(text: string): boolean {
  return FULL_WIDTH.test(text);
}

export function normalizeWidth(text: string): string {
  if (!FULL_WIDTH.test(text)) return text;
  let out = '';
  let from = 0;
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    if (c >= 0xff01 && c <= 0xff5e) {
      out += text.slice(from, i) + String.fromCharCode(c - 0xfee0);
      from = i + 1;
    } else if (c === 0x3000) {
      out += `${text.slice(from, i)} `;
      from = i + 1;
    }
  }
  return out + text.slice(from);
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
