/**
 * Chinese postal addresses: a chain of components — administrative divisions (省/市/区/县/镇/街道 …),
 * roads (路/街/巷/弄 …), places (小区/大厦/花园 …) and numbers with units (12号, 3栋, 2单元, 501室) —
 * anchored on a component suffix, started at a known province or city name, at a context word
 * (地址、住址 …) or at the edge of the phrase. Scored by how many components there are, whether it
 * starts at a known place and has a house number, and by context; lower than checksum types.
 */
import { ADMIN_SUFFIXES, type AddressLevel, CITIES, NUMBER_UNITS, PROVINCES } from '../data/places.js';
import { type Env, emit, isCjkCode, isDigitCode, isLetterCode, on, T } from './env.js';

export interface AddressComponent {
  start: number;
  end: number;
  level: AddressLevel;
}

const ADMIN_BY_FIRST = new Map<string, (readonly [string, AddressLevel])[]>();
for (const s of ADMIN_SUFFIXES) ADMIN_BY_FIRST.set(s[0][0] ?? '', [...(ADMIN_BY_FIRST.get(s[0][0] ?? '') ?? []), s]);
for (const l of ADMIN_BY_FIRST.values()) l.sort((a, b) => b[0].length - a[0].length);
const PLACES_BY_FIRST = new Map<string, string[]>();
for (const p of [...PROVINCES, ...CITIES]) PLACES_BY_FIRST.set(p[0] ?? '', [...(PLACES_BY_FIRST.get(p[0] ?? '') ?? []), p]);
for (const l of PLACES_BY_FIRST.values()) l.sort((a, b) => b.length - a.length);

/** Characters that end an address on the left and never occur inside a component name. */
const STOP = new Set(
  '在住于至到是为址往寄送的了与及从去向请把我你他她们它这那个也都就要想会能可以吗呢吧啊着过被给对其所而但或如即每各该本此有无没不很更最已将再又还让由用以及等：:，,。；;！!？?（）()【】「」“”"\'、 \t\n\r|/<>{}[]=',
);
const CN_NUM = '零〇一二三四五六七八九十百';
const ANCHORS = new Set([...ADMIN_SUFFIXES.map((s) => s[0][0] ?? ''), '号']);

function placeAt(t: string, i: number): string | undefined {
  const list = PLACES_BY_FIRST.get(t[i] ?? '');
  return list?.find((p) => t.startsWith(p, i));
}

function adminSuffixAt(t: string, i: number): readonly [string, AddressLevel] | undefined {
  return ADMIN_BY_FIRST.get(t[i] ?? '')?.find((s) => t.startsWith(s[0], i));
}

function nameChar(t: string, i: number): boolean {
  const c = t.charCodeAt(i);
  return (isCjkCode(c) && !STOP.has(t[i] ?? '')) || isDigitCode(c);
}

/** One component at `p`, or undefined. */
export function componentAt(t: string, p: number, limit: number): AddressComponent | undefined {
  const c = t.charCodeAt(p);
  // numbers: 12号, 3栋, 2单元, 501室, 3-2-501, A座, 十二号
  if (isDigitCode(c) || CN_NUM.includes(t[p] ?? '') || (isLetterCode(c) && !isLetterCode(t.charCodeAt(p + 1)))) {
    let e = p;
    if (isLetterCode(c)) e++;
    else {
      while (e < limit && (isDigitCode(t.charCodeAt(e)) || CN_NUM.includes(t[e] ?? ''))) e++;
      // 3-2-501 (building-unit-room)
      let dashes = 0;
      while (t[e] === '-' && isDigitCode(t.charCodeAt(e + 1)) && e < limit) {
        e++;
        while (e < limit && isDigitCode(t.charCodeAt(e))) e++;
        dashes++;
      }
      if (dashes >= 2 && !NUMBER_UNITS.some((u) => t.startsWith(u[0], e))) return { start: p, end: e, level: 'room' };
    }
    for (const [u, level] of NUMBER_UNITS) if (t.startsWith(u, e) && e + u.length <= limit) return { start: p, end: e + u.length, level };
    if (t[e] === '#' && isDigitCode(t.charCodeAt(p))) return { start: p, end: e + 1, level: 'building' };
    // 二七区, 五一路: Chinese numerals that start a name
    if (!isCjkCode(c)) return undefined;
  }
  if (!isCjkCode(c) || STOP.has(t[p] ?? '')) return undefined;
  for (let k = p; k < limit && k - p < 10; k++) {
    const s = adminSuffixAt(t, k);
    if (s && (k > p || s[0].length >= 2)) {
      let end = k + s[0].length;
      let level = s[1];
      // 杭州市, 中关村大街: a suffix right after a suffix extends the component
      for (let x = 0; x < 2; x++) {
        const more = adminSuffixAt(t, end);
        if (!more || end + more[0].length > limit) break;
        end += more[0].length;
        level = more[1];
      }
      return { start: p, end, level };
    }
    if (!nameChar(t, k)) return undefined;
  }
  return undefined;
}

/** Components of an address that starts at `p`. */
export function parseAddressAt(t: string, p: number, limit = Math.min(t.length, p + 96)): AddressComponent[] {
  const comps: AddressComponent[] = [];
  let i = p;
  while (i < limit) {
    const comp = componentAt(t, i, limit);
    if (!comp) {
      // one space between components
      if (t[i] === ' ' && comps.length > 0 && i + 1 < limit) {
        const nxt = componentAt(t, i + 1, limit);
        if (nxt) {
          comps.push(nxt);
          i = nxt.end;
          continue;
        }
      }
      break;
    }
    comps.push(comp);
    i = comp.end;
  }
  return comps;
}

/** Parse an address string (as detected) into components; the district prefix ends at `district`. */
export function splitAddress(text: string): { components: AddressComponent[]; districtEnd: number } {
  const comps = parseAddressAt(text, 0, text.length);
  let districtEnd = 0;
  for (const c of comps) {
    if (c.level === 'province' || c.level === 'city' || c.level === 'district') districtEnd = c.end;
    else break;
  }
  return { components: comps, districtEnd };
}

const FINE: ReadonlySet<AddressLevel> = new Set(['road', 'poi', 'number', 'building', 'room', 'town']);

export function scanAddresses(env: Env): void {
  if (!on(env, 'address')) return;
  const t = env.t;
  const n = t.length;
  let covered = 0;
  for (let i = 0; i < n; i++) {
    const c = t.charCodeAt(i);
    if (c < 0x4e00 || i < covered || !ANCHORS.has(t[i] ?? '')) continue;
    // walk left to the start of the phrase
    let j = i;
    while (j > covered && i - j < 16 && nameChar(t, j - 1)) j--;
    // prefer a known province or city inside the phrase
    let start = j;
    let known = false;
    for (let k = j; k < i; k++) {
      if (placeAt(t, k)) {
        start = k;
        known = true;
        break;
      }
    }
    if (!known && placeAt(t, i)) known = true;
    let comps = parseAddressAt(t, start);
    if (comps.length === 0 || (comps[comps.length - 1]?.end ?? 0) <= i) {
      // the phrase start did not parse through the anchor: start at the anchor's own component
      if (start === j) continue;
      comps = parseAddressAt(t, j);
      known = false;
      if (comps.length === 0 || (comps[comps.length - 1]?.end ?? 0) <= i) continue;
    }
    const first = comps[0] as AddressComponent;
    const last = comps[comps.length - 1] as AddressComponent;
    const fine = comps.filter((x) => FINE.has(x.level)).length;
    const hasNumber = comps.some((x) => x.level === 'number' || x.level === 'building' || x.level === 'room');
    const reasons = [`components:${comps.length}`];
    let base = 0.2 + 0.1 * Math.min(comps.length, 5);
    if (known || placeAt(t, first.start)) {
      base += 0.15;
      reasons.push('known-place');
    }
    if (hasNumber) {
      base += 0.1;
      reasons.push('house-number');
    }
    if (comps.length >= 2) {
      // administrative divisions alone (北京市海淀区) are a region, not an address
      emit(
        env,
        T.address,
        first.start,
        last.end,
        fine === 0 ? Math.min(base, 0.3) : base,
        reasons,
        t.slice(first.start, last.end),
        fine === 0 ? 0.1 : 0.3,
      );
    }
    covered = last.end;
    i = last.end - 1;
  }
}
