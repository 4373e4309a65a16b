/**
 * Write a set of files into a directory, all or none: every file goes to a temporary name first and
 * is renamed into place only when all of them were written. On a failure the temporary files and the
 * directories this call created are removed, so nothing is left behind.
 */
import { randomBytes } from 'node:crypto';
import { renameSync, rmdirSync, statSync, unlinkSync, writeFileSync } from 'node:fs';
import { dirname, isAbsolute, join, normalize, relative, sep } from 'node:path';
import { makeDirectories } from '@pipa/server';

/** A path relative to `cwd` when it lies inside it, absolute otherwise (for messages). */
export function displayPath(cwd: string, abs: string): string {
  const rel = relative(cwd, abs);
  if (rel === '') return '.';
  return rel === '..' || rel.startsWith(`..${sep}`) || isAbsolute(rel) ? abs : rel;
}

export class WriteFilesError extends Error {
  readonly path: string;
  constructor(path: string, cause: unknown) {
    const code = (cause as NodeJS.ErrnoException | undefined)?.code;
    super(`${path}: cannot write (${code ?? (cause instanceof Error ? cause.message : String(cause))})`);
    this.name = 'WriteFilesError';
    this.path = path;
  }
}

/** Create `dir` and its missing parents; return the directories created, outermost first. */
function makeDirs(dir: string, display: (p: string) => string): string[] {
  try {
    return makeDirectories(dir, 0o777);
  } catch (err) {
    const e = err as NodeJS.ErrnoException;
    const at = e.path ?? dir;
    throw new WriteFilesError(display(at), e.code === 'ENOTDIR' ? new Error('exists and is not a directory') : err);
  }
}

/**
 * Write `files` (relative path -> content) under `dir`. Relative paths use `/` and may not leave
 * `dir`. `display` turns an absolute path into the form error messages show.
 */
export function writeFilesAtomically(
  dir: string,
  files: Readonly<Record<string, string>>,
  display: (p: string) => string = (p) => p,
): string[] {
  const entries = Object.entries(files).map(([rel, content]) => {
    const norm = normalize(rel);
    if (rel === '' || isAbsolute(rel) || norm === '..' || norm.startsWith(`..${sep}`))
      throw new Error(`refusing to write outside the output directory: ${rel}`);
    return { target: join(dir, norm), content };
  });
  const created: string[] = [];
  const temps: { temp: string; target: string }[] = [];
  const tag = `${process.pid}-${randomBytes(4).toString('hex')}`;
  const cleanUp = () => {
    for (const t of temps) {
      try {
        unlinkSync(t.temp);
      } catch {
        // already gone
      }
    }
    for (const d of [...created].reverse()) {
      try {
        rmdirSync(d);
      } catch {
        // not empty (someone else wrote there) or already gone: leave it
      }
    }
  };
  try {
    created.push(...makeDirs(dir, display));
    for (const e of entries) {
      created.push(...makeDirs(dirname(e.target), display));
      let existing: ReturnType<typeof statSync> | undefined;
      try {
        existing = statSync(e.target);
      } catch {
        existing = undefined;
      }
      if (existing && !existing.isFile()) throw new WriteFilesError(display(e.target), new Error('exists and is not a file'));
      const temp = `${e.target}.pipa-tmp-${tag}`;
      try {
        writeFileSync(temp, e.content, { flag: 'wx' });
      } catch (err) {
        throw new WriteFilesError(display(e.target), err);
      }
      temps.push({ temp, target: e.target });
    }
  } catch (err) {
    cleanUp();
    throw err;
  }
  for (let i = 0; i < temps.length; i++) {
    const t = temps[i];
    if (!t) continue;
    try {
      renameSync(t.temp, t.target);
    } catch (err) {
      // Nothing renamed yet is left as a temporary file: remove those (the renamed ones are complete).
      for (const rest of temps.slice(i)) {
        try {
          unlinkSync(rest.temp);
        } catch {
          // already gone
        }
      }
      throw new WriteFilesError(display(t.target), err);
    }
  }
  return entries.map((e) => e.target);
}
