/**
 * Test helper: run the `pipa` command in a child process from the TypeScript sources (no build
 * needed). `@pipa/*` are resolved to the workspace's `src/index.ts` by a small module hook, as
 * vitest.config.ts does for in-process tests; tsx compiles the TypeScript.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';

export const REPO_ROOT = fileURLToPath(new URL('../../../', import.meta.url));
const BIN = join(REPO_ROOT, 'packages', 'cli', 'src', 'bin.ts');

function hooksFile(): string {
  const dir = join(REPO_ROOT, 'node_modules', '.cache', 'pipa-test');
  mkdirSync(dir, { recursive: true });
  const file = join(dir, 'alias-hooks.mjs');
  const map = Object.fromEntries(
    ['policy', 'detect', 'server'].map((p) => [`@pipa/${p}`, pathToFileURL(join(REPO_ROOT, 'packages', p, 'src', 'index.ts')).href]),
  );
  const hooks = `const map = ${JSON.stringify(map)};
export async function resolve(specifier, context, next) {
  const target = map[specifier];
  return next(target ?? specifier, context);
}`;
  writeFileSync(
    file,
    `import { register } from 'node:module';\nregister('data:text/javascript,' + encodeURIComponent(${JSON.stringify(hooks)}));\n`,
  );
  return file;
}

export interface PipaChildOptions {
  cwd: string;
  env?: Record<string, string | undefined>;
}

/** `pipa <args>` in a child process (stdout and stderr piped). */
export function spawnPipa(args: readonly string[], options: PipaChildOptions): ChildProcess {
  const env: Record<string, string> = {};
  for (const [k, v] of Object.entries({ ...process.env, ...options.env })) if (v !== undefined) env[k] = v;
  // tsx by absolute path: the child runs in the caller's folder, outside the workspace.
  const tsx = pathToFileURL(join(REPO_ROOT, 'node_modules', 'tsx', 'dist', 'loader.mjs')).href;
  return spawn(process.execPath, ['--import', tsx, '--import', pathToFileURL(hooksFile()).href, BIN, ...args], {
    cwd: options.cwd,
    env,
    stdio: ['ignore', 'pipe', 'pipe'],
  });
}

export interface PipaResult {
  code: number | null;
  signal: NodeJS.Signals | null;
  stdout: string;
  stderr: string;
}

/** Collect a child's output until it exits (killed after `timeoutMs`). */
export function collectChild(child: ChildProcess, timeoutMs = 60_000): Promise<PipaResult> {
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
      // Let the pipes drain.
      setImmediate(() => resolve({ code, signal, stdout, stderr }));
    });
  });
}

export function runPipa(args: readonly string[], options: PipaChildOptions, timeoutMs = 60_000): Promise<PipaResult> {
  return collectChild(spawnPipa(args, options), timeoutMs);
}

/** A started `pipa serve`: its URL, the admin token when printed, and everything it wrote so far. */
export interface StartedPipa {
  child: ChildProcess;
  url: string;
  adminKey: string | null;
  output(): string;
  /** Resolves when the child exits. */
  exited: Promise<PipaResult>;
}

/** Spawn `pipa <args>` (serve or start) and wait for the "press Ctrl+C" line. */
export async function startPipa(args: readonly string[], options: PipaChildOptions, timeoutMs = 60_000): Promise<StartedPipa> {
  const child = spawnPipa(args, options);
  const exited = collectChild(child, 10 * 60_000);
  let out = '';
  let err = '';
  child.stdout?.on('data', (d: Buffer) => {
    out += d.toString('utf8');
  });
  child.stderr?.on('data', (d: Buffer) => {
    err += d.toString('utf8');
  });
  await new Promise<void>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`pipa did not start within ${timeoutMs} ms:\n${out}\n${err}`)), timeoutMs);
    const check = () => {
      if (out.includes('press Ctrl+C to stop')) {
        clearTimeout(timer);
        resolve();
      }
    };
    child.stdout?.on('data', check);
    child.once('exit', (code) => {
      clearTimeout(timer);
      reject(new Error(`pipa exited (${code}) before it started:\n${out}\n${err}`));
    });
  });
  const url = /running: (http:\/\/\S+)/.exec(out)?.[1];
  if (url === undefined) throw new Error(`no URL in the output:\n${out}`);
  return {
    child,
    url,
    adminKey: /^\s+(pipa_[a-z2-7]{12}_[A-Za-z0-9_-]{43})\s*$/m.exec(out)?.[1] ?? null,
    output: () => out + err,
    exited,
  };
}
