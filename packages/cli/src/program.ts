import { Command, CommanderError } from 'commander';
import { registerCommands } from './commands/index.js';
import { CliExit, type CliIo, EXIT } from './io.js';

export const VERSION = '0.1.0';

/** Build the commander program; every command writes through `io`. */
export function buildProgram(io: CliIo): Command {
  const program = new Command('pipa')
    .description('pipa — privacy policy as code, consent, encrypted vault and rights requests (PIPL, GB/T 35273)')
    .version(VERSION)
    .exitOverride()
    .configureOutput({ writeOut: (s) => io.stdout(s), writeErr: (s) => io.stderr(s) })
    .showHelpAfterError(false);
  registerCommands(program, io);
  return program;
}

/** Run the CLI in-process and return the exit code. Never throws, never prints a stack trace. */
export async function run(argv: readonly string[], io: CliIo): Promise<number> {
  const program = buildProgram(io);
  try {
    await program.parseAsync([...argv], { from: 'user' });
    return process.exitCode === undefined ? EXIT.ok : Number(process.exitCode);
  } catch (err) {
    if (err instanceof CliExit) {
      if (err.message) io.stderr(err.message.endsWith('\n') ? err.message : `${err.message}\n`);
      return err.code;
    }
    if (err instanceof CommanderError) {
      // help and version exit 0; usage errors exit 2 (commander already printed the message)
      return err.exitCode === 0 ? EXIT.ok : EXIT.invalid;
    }
    const message = err instanceof Error ? err.message : String(err);
    io.stderr(`pipa: internal error: ${message}\n`);
    if (io.env.PIPA_DEBUG) io.stderr(`${err instanceof Error ? (err.stack ?? '') : ''}\n`);
    return EXIT.internal;
  }
}
