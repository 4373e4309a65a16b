#!/usr/bin/env node
import { run } from './program.js';

// A reader that stops early (`pipa lint --format json | head`) closes the pipe: that is not an error.
for (const stream of [process.stdout, process.stderr]) {
  stream.on('error', (err: NodeJS.ErrnoException) => {
    if (err.code === 'EPIPE') process.exit(process.exitCode ?? 0);
    throw err;
  });
}

const code = await run(process.argv.slice(2), {
  stdout: (s) => process.stdout.write(s),
  stderr: (s) => process.stderr.write(s),
  cwd: process.cwd(),
  env: process.env,
  stdin: process.stdin,
  isTTY: Boolean(process.stdout.isTTY),
});
// Long-running commands (serve, start) keep the event loop alive and exit on their own.
if (code !== 0 || process.exitCode === undefined) process.exitCode = code;
