/**
 * Test helper: the promise rejects with a PipaError of this code; `path` is one of its details' JSON
 * paths, or `paths` (an array) exactly all of them, in order.
 */
import { expect } from 'vitest';
import { PipaError } from './errors.js';

export async function expectPipaError(p: Promise<unknown>, code: string, path?: string | readonly string[]): Promise<PipaError> {
  const err = await p.then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(err).toBeInstanceOf(PipaError);
  const pe = err as PipaError;
  expect(pe.code).toBe(code);
  const paths = pe.details?.map((d) => d.path);
  if (typeof path === 'string') expect(paths).toContain(path);
  else if (path !== undefined) expect(paths).toEqual(path);
  return pe;
}
