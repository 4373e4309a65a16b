import type { CliIo } from './io.js';
import { run } from './program.js';

/** Run the CLI in-process with captured output (tests only). */
export async function runCli(argv: string[], opts: Partial<CliIo> = {}): Promise<{ code: number; stdout: string; stderr: string }> {
  let stdout = '';
  let stderr = '';
  const code = await run(argv, {
    stdout: (s) => {
      stdout += s;
    },
    stderr: (s) => {
      stderr += s;
    },
    cwd: opts.cwd ?? process.cwd(),
    env: opts.env ?? {},
    ...(opts.stdin ? { stdin: opts.stdin } : {}),
    isTTY: false,
  });
  return { code, stdout, stderr };
}
