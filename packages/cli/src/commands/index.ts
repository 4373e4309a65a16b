import type { Command } from 'commander';
import type { CliIo } from '../io.js';
import { registerAudit } from './audit.js';
import { registerDiff } from './diff.js';
import { registerInit } from './init.js';
import { registerKeys } from './keys.js';
import { registerLint } from './lint.js';
import { registerMigrate } from './migrate.js';
import { registerRedact } from './redact.js';
import { registerRender } from './render.js';
import { registerRequests } from './requests.js';
import { registerRetention } from './retention.js';
import { registerScan } from './scan.js';
import { registerServe } from './serve.js';
import { registerSite } from './site.js';
import { registerStart } from './start.js';

/**
 * Every command lives in its own file and exports `register(program, io)`.
 * Add the import and the call here when a command lands.
 */
export function registerCommands(program: Command, io: CliIo): void {
  registerInit(program, io);
  registerDiff(program, io);
  registerScan(program, io);
  registerRedact(program, io);
  registerLint(program, io);
  registerRender(program, io);
  registerSite(program, io);
  registerStart(program, io);
  registerServe(program, io);
  registerMigrate(program, io);
  registerKeys(program, io);
  registerAudit(program, io);
  registerRetention(program, io);
  registerRequests(program, io);
}
