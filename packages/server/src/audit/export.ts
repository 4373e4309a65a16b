/**
 * Export a range of the audit chain with its checkpoints as JSON lines, verify such a file offline,
 * and import it into another database (an archive, an auditor's copy).
 *
 * Format (one JSON object per line, UTF-8):
 *
 *   {"type":"pipa-audit-export","version":1,"hashFormat":"pipa-audit-v1","checkpointFormat":"pipa-audit-checkpoint-v1",
 *    "from":1,"to":5000,"anchor":{"seq":0,"hash":"000…"},"exportedAt":1718000000000}
 *   {"type":"checkpoint","seq":5000,"hash":"…","at":…,"keyId":"ed25519:…","publicKey":"<base64>","signature":"<base64>"}
 *   {"type":"event","seq":1,"at":…,"actor":"key_x","action":"vault.read","app_id":"app","subject_pseudonym":"psn_…",
 *    "categories":"[\"phone\"]","purpose":"support","outcome":"ok","count":1,"request_id":"req_…","details":null,
 *    "prev_hash":"000…","hash":"…"}
 *   …
 *
 * Event lines carry exactly the fields the hash covers, under the same names, with `categories` and
 * `details` as the stored JSON text (strings), so a verifier in any language needs no JSON
 * canonicalisation: it concatenates the fields as chain.ts describes. Checkpoints come before the
 * events so a file can be verified in one streaming pass. `anchor` is the event before `from` (64
 * zeros when `from` is 1): an export that does not start at 1 is anchored by the auditor's previous
 * export or by a checkpoint.
 */
import type { Kysely } from 'kysely';
import { capabilitiesOfKysely } from '../store/capabilities.js';
import type { Schema } from '../store/schema.js';
import { withTransaction } from '../store/transaction.js';
import { AUDIT_HASH_FORMAT, GENESIS_HASH } from './chain.js';
import { CHECKPOINT_FORMAT, type Checkpoint, parseTrustedKeys } from './checkpoint.js';
import { AuditError } from './errors.js';
import { AUDIT_CHAIN, AUDIT_COLUMNS, type ChainHead, moveHead, readHead } from './records.js';
import type { AuditRecord } from './types.js';
import { ChainChecker, type VerifyProblem } from './verify.js';

export const AUDIT_EXPORT_TYPE = 'pipa-audit-export';
export const AUDIT_EXPORT_VERSION = 1;

export interface AuditExportHeader {
  type: typeof AUDIT_EXPORT_TYPE;
  version: typeof AUDIT_EXPORT_VERSION;
  hashFormat: typeof AUDIT_HASH_FORMAT;
  checkpointFormat: typeof CHECKPOINT_FORMAT;
  from: number;
  to: number;
  anchor: { seq: number; hash: string };
  exportedAt: number;
}

export interface AuditExportOptions {
  /** Default 1. */
  from?: number;
  /** Default: the head. */
  to?: number;
  /** Rows read per query. Default 2000. */
  pageSize?: number;
  /** `exportedAt`. Default `Date.now()`. */
  now?: () => number;
}

/** An optional integer option of at least `min`. */
function integerOption(name: string, value: number | undefined, min: number): number | undefined {
  if (value === undefined) return undefined;
  if (typeof value !== 'number' || !Number.isSafeInteger(value) || value < min) {
    throw new AuditError(
      'invalid_argument',
      `export: ${name} must be an integer >= ${min} (got ${String(value)})`,
      `导出：${name} 必须是不小于 ${min} 的整数（实际为 ${String(value)}）`,
    );
  }
  return value;
}

/** The lines of an export (without line terminators). */
export async function* exportAuditRange(db: Kysely<Schema>, options: AuditExportOptions = {}): AsyncGenerator<string> {
  const pageSize = integerOption('pageSize', options.pageSize, 1) ?? 2000;
  const fromOption = integerOption('from', options.from, 1);
  const toOption = integerOption('to', options.to, 0);
  const head = await readHead(db, capabilitiesOfKysely(db), AUDIT_CHAIN, false);
  const from = fromOption ?? 1;
  const to = Math.min(toOption ?? head.seq, head.seq);
  if (to < from - 1) {
    throw new AuditError('invalid_argument', `export: to (${to}) is before from (${from})`, `导出：to（${to}）小于 from（${from}）`);
  }
  let anchorHash = GENESIS_HASH;
  if (from > 1) {
    const before = await db
      .selectFrom('audit_events')
      .select('hash')
      .where('seq', '=', from - 1)
      .executeTakeFirst();
    const first =
      before === undefined ? await db.selectFrom('audit_events').select('prev_hash').where('seq', '=', from).executeTakeFirst() : undefined;
    anchorHash = before?.hash ?? first?.prev_hash ?? GENESIS_HASH;
  }
  const header: AuditExportHeader = {
    type: AUDIT_EXPORT_TYPE,
    version: AUDIT_EXPORT_VERSION,
    hashFormat: AUDIT_HASH_FORMAT,
    checkpointFormat: CHECKPOINT_FORMAT,
    from,
    to,
    anchor: { seq: from - 1, hash: anchorHash },
    exportedAt: (options.now ?? Date.now)(),
  };
  yield JSON.stringify(header);
  const checkpoints = await db
    .selectFrom('audit_checkpoints')
    .selectAll()
    .where('seq', '>=', from)
    .where('seq', '<=', to)
    .orderBy('seq')
    .execute();
  for (const c of checkpoints) {
    yield JSON.stringify({
      type: 'checkpoint',
      seq: Number(c.seq),
      hash: c.hash,
      at: Number(c.at),
      keyId: c.key_id,
      publicKey: c.public_key,
      signature: c.signature,
    });
  }
  let cursor = from;
  while (cursor <= to) {
    // A window of sequence numbers (see verify.ts: a LIMIT alone can make PostgreSQL read the whole range per page).
    const end = Math.min(to, cursor + pageSize - 1);
    const rows = (await db
      .selectFrom('audit_events')
      .select(AUDIT_COLUMNS)
      .where('seq', '>=', cursor)
      .where('seq', '<=', end)
      .orderBy('seq')
      .execute()) as AuditRecord[];
    for (const r of rows) {
      yield JSON.stringify({ type: 'event', ...r, seq: Number(r.seq), at: Number(r.at), count: Number(r.count) });
    }
    // Rows missing from the log (deleted) leave gaps; the export goes on and its verifier names them.
    cursor = end + 1;
  }
}

export type ExportInput = string | Iterable<string> | AsyncIterable<string>;

/** Lines of a string, or of an iterable of lines (e.g. `readline`), with their 1-based numbers. */
async function* numberedLines(input: ExportInput): AsyncGenerator<[number, string]> {
  const source: Iterable<string> | AsyncIterable<string> = typeof input === 'string' ? input.split('\n') : input;
  let n = 0;
  for await (const raw of source) {
    for (const line of raw.split('\n')) {
      n++;
      const trimmed = line.trim();
      if (trimmed !== '') yield [n, trimmed];
    }
  }
}

function invalid(line: number, what: string, whatZh: string): AuditError {
  return new AuditError('invalid_export', `audit export line ${line}: ${what}`, `审计导出文件第 ${line} 行：${whatZh}`);
}

type Obj = Record<string, unknown>;

function parseLine(line: number, text: string): Obj {
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch {
    throw invalid(line, 'not JSON', '不是 JSON');
  }
  if (typeof value !== 'object' || value === null || Array.isArray(value)) throw invalid(line, 'not a JSON object', '不是 JSON 对象');
  return value as Obj;
}

function int(o: Obj, key: string, line: number, min = 0): number {
  const v = o[key];
  if (typeof v !== 'number' || !Number.isSafeInteger(v) || v < min)
    throw invalid(line, `"${key}" must be an integer >= ${min}`, `「${key}」必须是不小于 ${min} 的整数`);
  return v;
}

function str(o: Obj, key: string, line: number, nullable: boolean): string | null {
  const v = o[key];
  if (v === null && nullable) return null;
  if (typeof v !== 'string')
    throw invalid(line, `"${key}" must be a string${nullable ? ' or null' : ''}`, `「${key}」必须是字符串${nullable ? '或 null' : ''}`);
  return v;
}

const HASH = /^[0-9a-f]{64}$/;

function hash(o: Obj, key: string, line: number): string {
  const v = str(o, key, line, false) as string;
  if (!HASH.test(v)) throw invalid(line, `"${key}" must be 64 lower-case hex digits`, `「${key}」必须是 64 位小写十六进制数`);
  return v;
}

function parseHeader(line: number, o: Obj): AuditExportHeader {
  if (o.type !== AUDIT_EXPORT_TYPE)
    throw invalid(line, `the first line must be the ${AUDIT_EXPORT_TYPE} header`, `第一行必须是 ${AUDIT_EXPORT_TYPE} 文件头`);
  if (o.version !== AUDIT_EXPORT_VERSION)
    throw invalid(line, `unsupported export version ${String(o.version)}`, `不支持的导出版本 ${String(o.version)}`);
  if (o.hashFormat !== AUDIT_HASH_FORMAT)
    throw invalid(line, `unsupported hash format ${String(o.hashFormat)}`, `不支持的哈希格式 ${String(o.hashFormat)}`);
  if (o.checkpointFormat !== CHECKPOINT_FORMAT) {
    throw invalid(line, `unsupported checkpoint format ${String(o.checkpointFormat)}`, `不支持的检查点格式 ${String(o.checkpointFormat)}`);
  }
  const anchor = o.anchor;
  if (typeof anchor !== 'object' || anchor === null) throw invalid(line, '"anchor" must be an object', '「anchor」必须是对象');
  const from = int(o, 'from', line, 1);
  const to = int(o, 'to', line, 0);
  if (to < from - 1) throw invalid(line, '"to" must not be before "from" - 1', '「to」不能小于「from」- 1');
  const a = anchor as Obj;
  const anchorSeq = int(a, 'seq', line, 0);
  if (anchorSeq !== from - 1) throw invalid(line, '"anchor.seq" must be from - 1', '「anchor.seq」必须等于 from - 1');
  return {
    type: AUDIT_EXPORT_TYPE,
    version: AUDIT_EXPORT_VERSION,
    hashFormat: AUDIT_HASH_FORMAT,
    checkpointFormat: CHECKPOINT_FORMAT,
    from,
    to,
    anchor: { seq: anchorSeq, hash: hash(a, 'hash', line) },
    exportedAt: int(o, 'exportedAt', line, 0),
  };
}

function parseCheckpoint(line: number, o: Obj): Checkpoint {
  return {
    seq: int(o, 'seq', line, 1),
    hash: hash(o, 'hash', line),
    at: int(o, 'at', line, 0),
    keyId: str(o, 'keyId', line, false) as string,
    publicKey: str(o, 'publicKey', line, false) as string,
    signature: str(o, 'signature', line, false) as string,
  };
}

function parseEvent(line: number, o: Obj): AuditRecord {
  return {
    seq: int(o, 'seq', line, 1),
    at: int(o, 'at', line, 0),
    actor: str(o, 'actor', line, false) as string,
    action: str(o, 'action', line, false) as string,
    app_id: str(o, 'app_id', line, true),
    subject_pseudonym: str(o, 'subject_pseudonym', line, true),
    categories: str(o, 'categories', line, false) as string,
    purpose: str(o, 'purpose', line, true),
    outcome: str(o, 'outcome', line, false) as string,
    count: int(o, 'count', line, 1),
    request_id: str(o, 'request_id', line, true),
    details: str(o, 'details', line, true),
    prev_hash: hash(o, 'prev_hash', line),
    hash: hash(o, 'hash', line),
  };
}

export interface ExportVerifyOptions {
  /** Checkpoint public keys (base64) the auditor trusts; see `VerifyOptions.trustedKeys`. */
  trustedKeys?: readonly string[];
}

export interface ExportVerifyResult {
  ok: boolean;
  header: AuditExportHeader;
  checked: number;
  checkpoints: number;
  /** Highest verified checkpoint: the range up to it is vouched for by a signature. Null: nothing is signed. */
  signedThrough: number | null;
  firstBrokenSeq?: number;
  reason?: VerifyProblem;
  message?: string;
}

/**
 * Read an export in one pass; `onEvent` sees each event once the chain up to it has verified.
 * Structural errors (not JSON, missing fields, lines out of place) throw `invalid_export` with the
 * line number; chain breaks are reported in the result.
 */
async function readExport(
  input: ExportInput,
  options: ExportVerifyOptions,
  onEvent?: (record: AuditRecord) => Promise<void>,
  onHeader?: (header: AuditExportHeader) => Promise<void>,
): Promise<{ result: ExportVerifyResult; checkpoints: Checkpoint[] }> {
  // Before the first line: a trusted key that is not one is a bad argument, not a finding.
  if (options.trustedKeys !== undefined) parseTrustedKeys(options.trustedKeys);
  let header: AuditExportHeader | undefined;
  const checkpoints: Checkpoint[] = [];
  let checker: ChainChecker | undefined;
  let lastLine = 0;
  for await (const [line, text] of numberedLines(input)) {
    lastLine = line;
    const o = parseLine(line, text);
    if (header === undefined) {
      header = parseHeader(line, o);
      await onHeader?.(header);
      continue;
    }
    if (o.type === 'checkpoint') {
      if (checker !== undefined) throw invalid(line, 'checkpoints must come before the events', '检查点必须位于事件之前');
      const cp = parseCheckpoint(line, o);
      if (cp.seq < header.from || cp.seq > header.to)
        throw invalid(line, `checkpoint ${cp.seq} lies outside the exported range`, `检查点 ${cp.seq} 不在导出范围内`);
      checkpoints.push(cp);
      continue;
    }
    if (o.type !== 'event') throw invalid(line, `unknown line type ${JSON.stringify(o.type)}`, `未知的行类型 ${JSON.stringify(o.type)}`);
    checker ??= new ChainChecker(header.from, header.anchor.hash, checkpoints, options.trustedKeys);
    const record = parseEvent(line, o);
    if (record.seq > header.to)
      throw invalid(line, `event ${record.seq} lies beyond the exported range`, `事件 ${record.seq} 超出导出范围`);
    // After a break, events before it are still checked (a bad checkpoint at 20 leaves 1..19 to verify).
    if (checker.problem !== null && checker.problem.seq <= record.seq) continue;
    if (checker.push(record)) await onEvent?.(record);
  }
  if (header === undefined) throw invalid(lastLine + 1, 'the file is empty', '文件为空');
  checker ??= new ChainChecker(header.from, header.anchor.hash, checkpoints, options.trustedKeys);
  checker.finish(header.to);
  const problem = checker.problem;
  const result: ExportVerifyResult = {
    ok: problem === null,
    header,
    checked: checker.checked,
    checkpoints: checker.checkpointsVerified,
    signedThrough: checker.signedThrough,
  };
  if (problem !== null) {
    result.firstBrokenSeq = problem.seq;
    result.reason = problem.reason;
    result.message = problem.message;
  }
  return { result, checkpoints };
}

/** Verify an export offline (no database): the chain from its anchor, and every checkpoint in it. */
export async function verifyAuditExport(input: ExportInput, options: ExportVerifyOptions = {}): Promise<ExportVerifyResult> {
  return (await readExport(input, options)).result;
}

export interface ImportResult extends ExportVerifyResult {
  /** Events written. */
  imported: number;
  head: ChainHead;
}

/**
 * Import an export into `db`, where it must continue the chain: the target's head must be the
 * export's anchor (an empty log for an export from seq 1). Everything is verified while it is read
 * and written in one transaction; any break or conflict rolls the whole import back.
 */
export async function importAuditExport(db: Kysely<Schema>, input: ExportInput, options: ExportVerifyOptions = {}): Promise<ImportResult> {
  const caps = capabilitiesOfKysely(db);
  return withTransaction(db, async (trx) => {
    const head = await readHead(trx, caps, AUDIT_CHAIN, true);
    let batch: AuditRecord[] = [];
    let imported = 0;
    const flush = async () => {
      if (batch.length === 0) return;
      await trx.insertInto('audit_events').values(batch).execute();
      imported += batch.length;
      batch = [];
    };
    const { result, checkpoints } = await readExport(
      input,
      options,
      async (record) => {
        batch.push(record);
        if (batch.length >= 200) await flush();
      },
      async (header) => {
        if (header.anchor.seq !== head.seq || header.anchor.hash !== head.hash) {
          throw new AuditError(
            'import_conflict',
            `the export continues the chain after event ${header.anchor.seq}, but this log's head is event ${head.seq}${head.seq === header.anchor.seq ? ' with another hash' : ''}`,
            `导出内容接续事件 ${header.anchor.seq} 之后的链，但本日志的链头是事件 ${head.seq}${head.seq === header.anchor.seq ? '（哈希不同）' : ''}`,
          );
        }
      },
    );
    if (!result.ok) {
      throw new AuditError(
        'invalid_export',
        `the export does not verify at event ${result.firstBrokenSeq}: ${result.message}`,
        `导出内容在事件 ${result.firstBrokenSeq} 处校验失败：${result.message}`,
      );
    }
    await flush();
    const header = result.header;
    const last = await trx.selectFrom('audit_events').select(['seq', 'hash', 'at']).where('seq', '=', header.to).executeTakeFirst();
    const newHead: ChainHead = last === undefined ? head : { seq: Number(last.seq), hash: last.hash };
    if (last !== undefined) {
      await moveHead(trx, caps, AUDIT_CHAIN, newHead, Number(last.at));
    }
    for (const cp of checkpoints) {
      await trx
        .insertInto('audit_checkpoints')
        .values({ seq: cp.seq, hash: cp.hash, at: cp.at, key_id: cp.keyId, public_key: cp.publicKey, signature: cp.signature })
        .onConflict((oc) => oc.column('seq').doNothing())
        .execute();
    }
    return { ...result, imported, head: newHead };
  });
}
