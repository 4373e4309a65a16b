/**
 * Test helper: the `$ref`s of an OpenAPI document that do not resolve. A local reference (`#/…`) is
 * a JSON pointer into the document itself (OpenAPI 3.1: a schema without `$id` has the document as
 * its base); the document refers to nothing outside itself, so any other reference is unresolved too.
 */
export function unresolvedRefs(doc: unknown): { at: string; ref: string }[] {
  const bad: { at: string; ref: string }[] = [];
  const walk = (v: unknown, at: string): void => {
    if (Array.isArray(v)) {
      for (const [i, x] of v.entries()) walk(x, `${at}/${i}`);
    } else if (v !== null && typeof v === 'object') {
      for (const [k, x] of Object.entries(v)) {
        const here = `${at}/${k.replace(/~/g, '~0').replace(/\//g, '~1')}`;
        if (k === '$ref' && (typeof x !== 'string' || resolvePointer(doc, x) === undefined)) bad.push({ at: here, ref: String(x) });
        else walk(x, here);
      }
    }
  };
  walk(doc, '#');
  return bad;
}

/** The value at `#/a/b~1c` in `doc`, or undefined (also for a reference that is not local). */
export function resolvePointer(doc: unknown, ref: string): unknown {
  if (!ref.startsWith('#')) return undefined;
  if (ref === '#') return doc;
  if (!ref.startsWith('#/')) return undefined;
  let v: unknown = doc;
  for (const raw of ref.slice(2).split('/')) {
    const key = decodeURIComponent(raw).replace(/~1/g, '/').replace(/~0/g, '~');
    if (v === null || typeof v !== 'object' || !Object.hasOwn(v, key)) return undefined;
    v = (v as Record<string, unknown>)[key];
  }
  return v;
}
