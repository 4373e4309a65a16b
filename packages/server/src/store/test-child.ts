/**
 * Child processes for tests that need a second *process* (SQLite's locks are per process and its
 * busy wait blocks the whole event loop, so two connections in one test process cannot stand in for
 * two nodes), or a process to SIGKILL.
 *
 * ```ts
 * const child = spawnTs(`
 *   import { createDatabase } from '${SERVER_SRC}/store/index.ts';
 *   const database = await createDatabase(JSON.parse(process.argv[2]));
 *   …
 * `, [JSON.stringify(config)]);
 * ```
 *
 * The source is written to a temp `.mts` file and run with `node --import tsx` from the repository
 * root, so it can import the workspace's TypeScript sources by absolute path and its dependencies.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

/** The repository root (from src/store or dist/store alike). */
export const REPO_ROOT = fileURLToPath(new URL('../../../../', import.meta.url));
/** Absolute path of packages/server/src, for imports in child sources. */
export const SERVER_SRC = join(REPO_ROOT, 'packages', 'server', 'src');

export function spawnTs(source: string, args: readonly string[] = []): ChildProcess {
  // Inside the repository, so bare imports ('kysely', 'pg') resolve from its node_modules.
  const base = join(REPO_ROOT, 'node_modules', '.cache');
  mkdirSync(base, { recursive: true });
  const dir = mkdtempSync(join(base, 'pipa-child-'));
  const file = join(dir, 'child.mts');
  writeFileSync(file, source);
  const child = spawn(process.execPath, ['--import', 'tsx', file, ...args], { cwd: REPO_ROOT, stdio: ['ignore', 'pipe', 'pipe'] });
  child.once('exit', () => rmSync(dir, { recursive: true, force: true }));
  return child;
}

export interface ChildResult {
  code: number | null;
  signal: NodeJS.Signals | null;
  stdout: string;
  stderr: string;
}

/** Run to the end (or kill after `timeoutMs`). */
export function runTs(source: string, args: readonly string[] = [], timeoutMs = 60_000): Promise<ChildResult> {
  const child = spawnTs(source, args);
  return collect(child, timeoutMs);
}

export function collect(child: ChildProcess, timeoutMs = 60_000): Promise<ChildResult> {
  let stdout = '';
  let stderr = '';
  child.stdout?.on('data', (d: Buffer) => {
    stdout += d.toString('utf8');
  });
  child.stderr?.on('data', (d: Buffer) => {
    stderr += d.toString('utf8');
  });
  return new Promise((resolve) => {
    const timer = setTimeout(() => child.kill('SIGKILL'), timeoutMs);
    child.once('exit', (code, signal) => {
      clearTimeout(timer);
      resolve({ code, signal, stdout, stderr });
    });
  });
}

/** Resolves with the first stdout line matching `pattern` (rejects if the child exits first). */
export function waitForLine(child: ChildProcess, pattern: RegExp, timeoutMs = 30_000): Promise<string> {
  return new Promise((resolve, reject) => {
    let buffer = '';
    let stderr = '';
    const onData = (d: Buffer) => {
      buffer += d.toString('utf8');
      for (const line of buffer.split('\n')) {
        if (pattern.test(line)) {
          cleanup();
          resolve(line);
          return;
        }
      }
    };
    const onErr = (d: Buffer) => {
      stderr += d.toString('utf8');
    };
    const onExit = (code: number | null) => {
      cleanup();
      reject(new Error(`child exited (${code}) before printing ${pattern}: ${stderr}`));
    };
    const timer = setTimeout(() => {
      cleanup();
      reject(new Error(`no line matching ${pattern} within ${timeoutMs} ms: ${stderr}`));
    }, timeoutMs);
    const cleanup = () => {
      clearTimeout(timer);
      child.stdout?.off('data', onData);
      child.stderr?.off('data', onErr);
      child.off('exit', onExit);
    };
    child.stdout?.on('data', onData);
    child.stderr?.on('data', onErr);
    child.once('exit', onExit);
  });
}
