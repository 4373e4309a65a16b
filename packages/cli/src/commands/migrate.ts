/**
 * `pipa migrate [--db URL] [--data-dir DIR] [--status]`: bring the database schema up to date (the
 * service also does it at start), or list every migration and whether it ran. Safe to run from
 * several processes at once.
 */
import { createDatabase, type Database, migrate, migrationStatus } from '@pipa/server';
import type { Command } from 'commander';
import { CliExit, type CliIo, EXIT } from '../io.js';
import { addDbOptions, type DbCommandOptions, databaseConfig, describeError, isServiceError } from './service-options.js';

interface MigrateOptions extends DbCommandOptions {
  status: boolean;
  json: boolean;
}

export async function runMigrate(io: CliIo, opts: MigrateOptions): Promise<void> {
  let database: Database;
  try {
    database = await createDatabase(databaseConfig(io, opts));
  } catch (err) {
    if (isServiceError(err)) throw new CliExit(EXIT.invalid, `pipa migrate: ${describeError(err)}`);
    throw err;
  }
  try {
    if (opts.status) {
      const states = await migrationStatus(database.db);
      if (opts.json) {
        io.stdout(
          `${JSON.stringify({ database: database.description, migrations: states.map((s) => ({ name: s.name, executedAt: s.executedAt?.toISOString() ?? null })) }, null, 2)}\n`,
        );
        return;
      }
      io.stdout(`数据库 / database: ${database.description}\n`);
      for (const s of states)
        io.stdout(
          `  ${s.executedAt === null ? 'pending ' : 'applied '} ${s.name}${s.executedAt ? `  ${s.executedAt.toISOString()}` : ''}\n`,
        );
      const pending = states.filter((s) => s.executedAt === null).length;
      io.stdout(pending === 0 ? '已是最新 / up to date\n' : `${pending} 个待执行 / pending: run pipa migrate\n`);
      return;
    }
    const applied = await migrate(database.db);
    if (opts.json) {
      io.stdout(`${JSON.stringify({ database: database.description, applied }, null, 2)}\n`);
      return;
    }
    io.stdout(`数据库 / database: ${database.description}\n`);
    io.stdout(applied.length === 0 ? '已是最新 / already up to date\n' : applied.map((n) => `  applied  ${n}\n`).join(''));
  } catch (err) {
    if (isServiceError(err)) throw new CliExit(EXIT.invalid, `pipa migrate: ${describeError(err)}`);
    throw err;
  } finally {
    await database.close();
  }
}

export function registerMigrate(program: Command, io: CliIo): void {
  addDbOptions(program.command('migrate'))
    .description('执行数据库迁移 / apply the database migrations')
    .option('--status', '只列出迁移及其状态 / only list the migrations and whether they ran', false)
    .option('--json', '输出 JSON / JSON output', false)
    .addHelpText('after', '\n退出码 / exit codes: 0 成功 / ok; 2 无法连接或迁移失败 / cannot connect or a migration failed\n')
    .action((opts: MigrateOptions) => runMigrate(io, opts));
}
