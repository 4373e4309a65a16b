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

/** The UTF-8 text with every `演示` in GBK (D1DD CABE): how a declaration saved as GBK reads. */
export function asGbk(text: string): Buffer {
  return Buffer.concat(
    text.split('演示').flatMap((part, i) => (i > 0 ? [Buffer.from([0xd1, 0xdd, 0xca, 0xbe]), Buffer.from(part)] : [Buffer.from(part)])),
  );
}
