/** Generalisation: keep a coarser value (birth year, age band, district). */
import { maskAddress } from './mask.js';

/** 1990-03-07, 19900307, 1990/3/7, 1990年3月7日 -> 1990; undefined when no year is found. */
export function generaliseBirthDate(value: string): string | undefined {
  const m = /(19|20)\d{2}/.exec(value);
  return m ? m[0] : undefined;
}

/** 34 -> "30-39" (band width 10 by default); 17 with width 5 -> "15-19". */
export function generaliseAge(age: number, width = 10): string {
  if (!Number.isFinite(age) || age < 0) throw new Error(`age must be a non-negative number (got ${age})`);
  const lo = Math.floor(age / width) * width;
  return `${lo}-${lo + width - 1}`;
}

/** 辽宁省沈阳市和平区南京北街123号 -> 辽宁省沈阳市和平区 */
export function generaliseAddress(value: string): string {
  const masked = maskAddress(value);
  return masked.endsWith('****') ? masked.slice(0, -4) : masked;
}
