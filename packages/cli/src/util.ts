import { readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { DeclarationError, decodeDeclaration, type LoadedDeclaration, loadDeclaration } from '@pipa/policy';
import { CliExit, type CliIo, EXIT } from './io.js';

/**
 * Read and load a declaration file; bad input ends the command with exit 2 and file:line:col. A file
 * that is not UTF-8 is refused at its first invalid byte, never loaded as mojibake.
 */
export function readDeclaration(file: string, io: CliIo): LoadedDeclaration {
  const path = resolve(io.cwd, file);
  let bytes: Uint8Array;
  try {
    bytes = readFileSync(path);
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    throw new CliExit(EXIT.invalid, `${file}: cannot read (${code === 'ENOENT' ? 'no such file' : (code ?? 'error')})`);
  }
  try {
    return loadDeclaration(decodeDeclaration(bytes, file), file);
  } catch (err) {
    if (err instanceof DeclarationError) throw new CliExit(EXIT.invalid, err.message);
    throw err;
  }
}

/** Validate a choice option (commander's .choices() is used where possible). */
export function oneOf<T extends string>(name: string, value: string, allowed: readonly T[]): T {
  if ((allowed as readonly string[]).includes(value)) return value as T;
  throw new CliExit(EXIT.invalid, `--${name} must be one of ${allowed.join(', ')} (got "${value}")`);
}
