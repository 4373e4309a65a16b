import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';

const ROOT = fileURLToPath(new URL('../../../', import.meta.url));

describe('pipa (the executable)', () => {
  it('stops quietly when its reader closes the pipe early', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'pipa-bin-'));
    const file = join(dir, 'big.log');
    // Far more than a pipe holds (64 KiB), so the writer is still writing when the reader leaves.
    writeFileSync(file, 'order 1234 from 13812345678 ok\n'.repeat(100_000));
    const child = spawn(process.execPath, ['--import', 'tsx', 'packages/cli/src/bin.ts', 'redact', file], {
      cwd: ROOT,
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    const closed = new Promise<number | null>((resolve) => child.once('close', (c) => resolve(c)));
    let stderr = '';
    child.stderr.on('data', (d: Buffer) => {
      stderr += d.toString();
    });
    // Read one chunk, then close our end, as `| head -1` does.
    await new Promise<void>((resolve) => child.stdout.once('data', () => resolve()));
    child.stdout.destroy();
    const code = await closed;
    rmSync(dir, { recursive: true, force: true });
    expect(stderr).not.toMatch(/EPIPE|Error|at /);
    expect(code).toBe(0);
  }, 30_000);
});
