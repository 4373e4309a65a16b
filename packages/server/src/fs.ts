/**
 * File-system helpers shared by the store, the key file and the service context.
 */
import { mkdirSync, statSync } from 'node:fs';
import { dirname, resolve } from 'node:path';

const codeOf = (err: unknown): string | undefined => (err as NodeJS.ErrnoException).code;

/**
 * `mkdir -p`: create `path` and the folders above it that are missing, each with `mode`. Node's own
 * `mkdirSync(path, { recursive: true })` never returns for a path under a pseudo file system that
 * refuses new entries (`/proc/x`: it retries the ENOENT forever); here each missing folder is created
 * alone, from the first existing one down, so such a path fails at once with the error of the folder
 * that could not be made (ENOENT, EACCES, EROFS), and a file in the way fails with ENOTDIR. The
 * error's `path` names the folder. Returns the folders created, outermost first (for a caller that
 * removes them again when what it writes into them fails).
 */
export function makeDirectories(path: string, mode = 0o700): string[] {
  const missing: string[] = [];
  let d = resolve(path);
  for (;;) {
    let isDirectory: boolean | undefined;
    try {
      isDirectory = statSync(d).isDirectory();
    } catch (err) {
      // ENOTDIR: a file above it; the walk up finds it and names it.
      if (codeOf(err) !== 'ENOENT' && codeOf(err) !== 'ENOTDIR') throw err;
    }
    if (isDirectory === false) {
      throw Object.assign(new Error(`ENOTDIR: not a directory, mkdir '${d}'`), { code: 'ENOTDIR', path: d, syscall: 'mkdir' });
    }
    if (isDirectory === true) break;
    missing.unshift(d);
    const parent = dirname(d);
    if (parent === d) break;
    d = parent;
  }
  for (const m of missing) {
    try {
      mkdirSync(m, { mode });
    } catch (err) {
      // Made by another process in between: fine if it is a folder.
      if (codeOf(err) !== 'EEXIST' || !statSync(m).isDirectory()) throw err;
    }
  }
  return missing;
}
