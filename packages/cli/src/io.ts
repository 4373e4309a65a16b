/** Where a command writes and reads: real streams in `bin.ts`, buffers in tests. */
export interface CliIo {
  stdout: (text: string) => void;
  stderr: (text: string) => void;
  cwd: string;
  env: Record<string, string | undefined>;
  /** stdin as a stream, for commands that read it (redact). */
  stdin?: NodeJS.ReadableStream;
  /** True when stdout is a terminal (progress bars, colours). */
  isTTY?: boolean;
}

/** Thrown by a command to end with an exit code and a message (no stack trace for users). */
export class CliExit extends Error {
  readonly code: number;
  constructor(code: number, message = '') {
    super(message);
    this.code = code;
    this.name = 'CliExit';
  }
}

/** Exit codes shared by every command. */
export const EXIT = {
  ok: 0,
  /** findings of severity error, or undeclared PI found (lint, scan) */
  findings: 1,
  /** invalid input: bad file, bad arguments */
  invalid: 2,
  /** diff: re-consent required */
  reconsent: 3,
  /** unexpected internal error */
  internal: 70,
} as const;
