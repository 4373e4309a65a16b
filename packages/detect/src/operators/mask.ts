/**
 * Display masking by Chinese conventions (GB/T 35273 7.2; JR/T 0171): 138****5678,
 * 4101**********123X, 张*, a***@x.com, ****1234 for bank cards, addresses to district level.
 * Separators of the original are kept where the convention keeps the shape.
 */
import { splitAddress } from '../detectors/address.js';
import { surnameAt } from '../detectors/name.js';
import type { DetectorType } from '../types.js';

/** ASCII or full-width digit or Latin letter (０-９, Ａ-Ｚ, ａ-ｚ count as their ASCII forms). */
function isAlnumCode(c: number): boolean {
  if (c >= 0xff10) c -= 0xfee0; // full-width forms, same layout as ASCII
  return (c >= 48 && c <= 57) || (c >= 65 && c <= 90) || (c >= 97 && c <= 122);
}

function isDigitCode(c: number): boolean {
  return (c >= 48 && c <= 57) || (c >= 0xff10 && c <= 0xff19);
}

/**
 * Replace the alphanumeric characters of `text` whose index (counting alphanumerics only, from
 * `from`) is in [keepStart, count - keepEnd) with `*`; other characters stay.
 */
export function maskMiddle(text: string, keepStart: number, keepEnd: number, from = 0): string {
  let count = 0;
  for (let i = from; i < text.length; i++) if (isAlnumCode(text.charCodeAt(i))) count++;
  // The masked characters are those alphanumerics numbered [keepStart, count - keepEnd): copy the text
  // around and between them in runs rather than character by character.
  let idx = 0;
  let out = '';
  let run = 0;
  for (let i = from; i < text.length; i++) {
    if (!isAlnumCode(text.charCodeAt(i))) continue;
    if (idx >= keepStart && idx < count - keepEnd) {
      out += `${text.slice(run, i)}*`;
      run = i + 1;
    }
    idx++;
  }
  return out + text.slice(run);
}

/** Index in `text` where the last `n` digits begin. */
function lastDigitsStart(text: string, n: number): number {
  let seen = 0;
  for (let i = text.length - 1; i >= 0; i--) {
    if (isDigitCode(text.charCodeAt(i))) {
      seen++;
      if (seen === n) return i;
    }
  }
  return 0;
}

export function maskName(text: string): string {
  const t = text.trim();
  const sl = Math.max(1, surnameAt(t, 0));
  return t.slice(0, sl) + '*'.repeat(Math.max(1, [...t.slice(sl)].length));
}

export function maskEmail(text: string): string {
  const at = text.lastIndexOf('@');
  if (at <= 0) return maskMiddle(text, 1, 0);
  return `${text[0]}***${text.slice(at)}`;
}

export function maskAddress(text: string): string {
  const { districtEnd, components } = splitAddress(text);
  if (districtEnd > 0) return `${text.slice(0, districtEnd)}****`;
  const first = components[0];
  return first && first.level !== 'number' && first.level !== 'room' && first.level !== 'building'
    ? `${text.slice(0, first.end)}****`
    : '****';
}

/** Mask a detected value for display. */
export function maskValue(type: DetectorType, text: string): string {
  switch (type) {
    case 'phone':
      // the mobile number is the last 11 digits (after +86 / 0086)
      return maskMiddle(text, 3, 4, lastDigitsStart(text, 11));
    case 'landline': {
      const m = /^(\+?86[\s-]?|\(?\+?86\)?[\s-]?)?\(?0\d{2,3}\)?[\s-]?/.exec(text);
      const from = m ? m[0].length : 0;
      return maskMiddle(text, 0, 4, from);
    }
    case 'id-card':
    case 'foreign-permanent-residence':
    case 'residence-permit':
      return maskMiddle(text, 4, 4);
    case 'bank-card': {
      const digits = text.replace(/[^0-9\uFF10-\uFF19]/g, '');
      return `****${digits.slice(-4)}`;
    }
    case 'email':
      return maskEmail(text);
    case 'name':
      return maskName(text);
    case 'address':
      return maskAddress(text);
    case 'ipv4': {
      const parts = text.split('.');
      return `${parts[0]}.${parts[1]}.*.*`;
    }
    case 'ipv6': {
      const parts = text.split(':');
      return `${parts.slice(0, 2).join(':')}:****`;
    }
    case 'mac':
      return maskMiddle(text, 6, 0);
    case 'licence-plate':
      return `${text.slice(0, 2)}${text.length > 4 ? '*'.repeat(Math.max(1, text.length - 4)) : '*'}${text.slice(-2)}`;
    case 'url-credentials':
      return text.replace(/(:\/\/[^:/@\s]+:)[^@\s]+@/, '$1****@');
    default: {
      let count = 0;
      for (let i = 0; i < text.length; i++) if (isAlnumCode(text.charCodeAt(i))) count++;
      const keep = Math.min(4, Math.floor(count / 4));
      return maskMiddle(text, keep, keep);
    }
  }
}
