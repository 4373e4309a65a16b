/**
 * `pipa audit verify [--db URL] [--data-dir DIR] [--from N] [--to N] [--trusted-key KEY…]`: recompute
 * the audit hash chain (and check the signed checkpoints) and the consent ledger's hash chain. Exit 0
 * when both are intact; exit 1 naming the chain, the first broken sequence number and why. Reads
 * only: no master key is needed.
 */
import {
  createDatabase,
  type Database,
  isAuditError,
  parseCheckpointPublicKey,
  TRUSTED_KEY_FORM,
  verifyAuditChain,
  verifyConsentChain,
} from '@pipa/server';
import type { Command } from 'commander';
import { CliExit, type CliIo, EXIT } from '../io.js';
import {
  addDbOptions,
  type DbCommandOptions,
  databaseConfig,
  describeError,
  isServiceError,
  requireExistingDatabase,
} from './service-options.js';

interface VerifyOptions extends DbCommandOptions {
  from?: string;
  to?: string;
  trustedKey?: string[];
  json: boolean;
}

function seq(name: string, raw: string | undefined): number | undefined {
  if (raw === undefined) return undefined;
  if (!/^\d{1,15}$/.test(raw) || Number(raw) < 1)
    throw new CliExit(EXIT.invalid, `--${name} must be a sequence number from 1 (got "${raw}")`);
  return Number(raw);
}

export async function runAuditVerify(io: CliIo, opts: VerifyOptions): Promise<void> {
  const from = seq('from', opts.from);
  const to = seq('to', opts.to);
  if (from !== undefined && to !== undefined && from > to) throw new CliExit(EXIT.invalid, `--from ${from} must not be after --to ${to}`);
  // Before the database is opened: a value that is not a key would report every checkpoint as untrusted.
  for (const key of opts.trustedKey ?? []) {
    if (parseCheckpointPublicKey(key) === null) {
      const shown = JSON.stringify(key.length > 80 ? `${key.slice(0, 80)}…` : key);
      throw new CliExit(
        EXIT.invalid,
        `--trusted-key ${shown} 不是 Ed25519 公钥：应为${TRUSTED_KEY_FORM.zh} / ` +
          `--trusted-key ${shown} is not an Ed25519 public key: expected ${TRUSTED_KEY_FORM.en}`,
      );
    }
  }
  requireExistingDatabase(io, opts);
  let database: Database;
  try {
    database = await createDatabase(databaseConfig(io, opts));
  } catch (err) {
    if (isServiceError(err)) throw new CliExit(EXIT.invalid, `pipa audit verify: ${describeError(err)}`);
    throw err;
  }
  try {
    const result = await verifyAuditChain(database.db, {
      ...(from !== undefined ? { from } : {}),
      ...(to !== undefined ? { to } : {}),
      ...(opts.trustedKey !== undefined && opts.trustedKey.length > 0 ? { trustedKeys: opts.trustedKey } : {}),
    });
    const consent = await verifyConsentChain(database.db);
    const broken: string[] = [];
    if (!result.ok && result.reason === 'checkpoint_signature') {
      // The events up to it may be intact: what failed is a signature, or whose key made it.
      broken.push(
        `审计检查点在序号 ${result.firstBrokenSeq} 处未通过验证 / audit checkpoint at seq ${result.firstBrokenSeq} failed verification (${result.reason}): ${result.message ?? ''}`,
      );
    } else if (!result.ok) {
      broken.push(
        `审计链在序号 ${result.firstBrokenSeq} 处断裂 / audit chain broken at seq ${result.firstBrokenSeq} (${result.reason}): ${result.message ?? ''}`,
      );
    }
    if (!consent.ok) {
      broken.push(
        `同意记录链在序号 ${consent.firstBrokenSeq} 处断裂 / consent ledger broken at seq ${consent.firstBrokenSeq} (${consent.reason}): ${consent.message ?? ''}`,
      );
    }
    if (opts.json) io.stdout(`${JSON.stringify({ ok: broken.length === 0, audit: result, consent }, null, 2)}\n`);
    else {
      if (result.ok && result.from > result.to) {
        // An empty range: nothing after `to` yet (an incremental check), or an empty log.
        io.stdout(
          result.head.seq === 0
            ? '审计链完整 / audit chain intact: the log is empty\n'
            : `审计链完整 / audit chain intact: no events after seq ${result.to} (the head, ${result.head.seq}, matches its last event)\n`,
        );
      } else if (result.ok) {
        io.stdout(
          `审计链完整 / audit chain intact: ${result.checked} events (seq ${result.from}..${result.to}), ` +
            `${result.checkpoints} signed checkpoint(s) verified${result.signedThrough !== null ? `, signed through seq ${result.signedThrough}` : ''}\n`,
        );
      }
      if (consent.ok) io.stdout(`同意记录链完整 / consent ledger intact: ${consent.checked} events\n`);
    }
    if (broken.length > 0) throw new CliExit(EXIT.findings, opts.json ? '' : broken.join('\n'));
  } catch (err) {
    // An option the log cannot take (a range beyond the head): exit 2 naming the option, never "broken".
    if (isAuditError(err) && err.argument !== undefined) {
      const { name, problem, problemZh } = err.argument;
      const option = name === 'from' ? `--from ${opts.from}` : name === 'to' ? `--to ${opts.to}` : `--${name}`;
      throw new CliExit(EXIT.invalid, `pipa audit verify: ${option} ${problemZh} / ${option} ${problem}`);
    }
    if (isServiceError(err)) throw new CliExit(EXIT.invalid, `pipa audit verify: ${describeError(err)}`);
    throw err;
  } finally {
    await database.close();
  }
}

export function registerAudit(program: Command, io: CliIo): void {
  const audit = program.command('audit').description('审计日志 / the audit log');
  addDbOptions(audit.command('verify'))
    .description('重新计算审计哈希链，指出第一个断裂的序号 / recompute the audit hash chain and name the first broken sequence number')
    .option('--from <seq>', '起始序号 / first sequence number')
    .option('--to <seq>', '结束序号 / last sequence number')
    .option(
      '--trusted-key <base64...>',
      '信任的检查点公钥（32 字节原始公钥的 base64）/ checkpoint public keys to trust (base64 of the raw 32-byte key)',
    )
    .option('--json', '输出 JSON / JSON output', false)
    .addHelpText(
      'after',
      '\n退出码 / exit codes: 0 完整 / intact; 1 断裂 / broken; 2 无法读取或选项无效（如范围超出链头）/ cannot read, or a bad option (e.g. a range beyond the head)\n',
    )
    .action((opts: VerifyOptions) => runAuditVerify(io, opts));
}
