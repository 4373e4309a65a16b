/**
 * The HTTP connector: for datasets pipa cannot reach with SQL, the operator runs an endpoint that
 * does the work, and pipa sends it signed requests. The wire protocol is in docs/connectors.md.
 *
 *   POST <base>/<operation>          operation: check | locate | collect | correct | erase | collect-rows | erase-rows
 *   X-Pipa-Timestamp: <unix seconds>   X-Pipa-Nonce: <32 hex>   X-Pipa-Dataset: <id>
 *   X-Pipa-Signature: v1=<hex HMAC-SHA256(secret, METHOD \n PATH \n TIMESTAMP \n NONCE \n BODY)>
 *
 * The base URL comes from `connectionEnv`, the secret from `secretEnv` (default
 * `<connectionEnv>_SECRET`). Redirects are not followed; `http://` is accepted for loopback hosts
 * only unless `allowInsecureHttp`. Each request has a timeout that covers reading the body.
 */
import { createHmac, randomBytes } from 'node:crypto';
import { Text } from '@pipa/policy';
import { z } from 'zod';
import { badEnv, type Env, readEnv, schemeOf } from './env.js';
import {
  ConnectorError,
  type ConnectorErrorCode,
  type ConnectorProblem,
  classifyNetworkCode,
  connectorError,
  errorCodeOf,
  q,
} from './errors.js';
import { type DatasetPlan, describePlan } from './plan.js';
import { checkSelections } from './rows.js';
import { resolveSubject } from './subject.js';
import {
  type Change,
  type CheckResult,
  type CollectResult,
  type CollectRowsResult,
  type Connector,
  type CorrectResult,
  type EraseOptions,
  type EraseReport,
  type HttpConnectorOptions,
  type LocateResult,
  type RowSelection,
  SUBJECT_KEY_KINDS,
  type SubjectKeys,
} from './types.js';

export const HTTP_PROTOCOL_VERSION = 1;
export const HTTP_OPERATIONS = ['check', 'locate', 'collect', 'correct', 'erase', 'collect-rows', 'erase-rows'] as const;
export type HttpOperation = (typeof HTTP_OPERATIONS)[number];

export const SIGNATURE_HEADER = 'x-pipa-signature';
export const TIMESTAMP_HEADER = 'x-pipa-timestamp';
export const NONCE_HEADER = 'x-pipa-nonce';
export const DATASET_HEADER = 'x-pipa-dataset';

const MIN_SECRET_LENGTH = 32;
const DEFAULT_TIMEOUT_MS = 10_000;
const DEFAULT_MAX_RESPONSE_BYTES = 64 * 1024 * 1024;

/** The string that is signed: method, path with query, timestamp, nonce and body, separated by LF. */
export function signingInput(method: string, path: string, timestamp: string, nonce: string, body: string): string {
  return `${method.toUpperCase()}\n${path}\n${timestamp}\n${nonce}\n${body}`;
}

/** `v1=<hex HMAC-SHA256(secret, signingInput(...))>`; the secret is used as its UTF-8 bytes. */
export function signRequest(secret: string, method: string, path: string, timestamp: string, nonce: string, body: string): string {
  return `v1=${createHmac('sha256', Buffer.from(secret, 'utf8'))
    .update(signingInput(method, path, timestamp, nonce, body), 'utf8')
    .digest('hex')}`;
}

// ---------------------------------------------------------------- response shapes

const Count = z.number().int().nonnegative();
const Cell = z.union([z.string(), z.number(), z.boolean(), z.null()]);
const Name = z.string().min(1).max(200);
const Day = z.string().regex(/^\d{4}-\d{2}-\d{2}$/);
const Strategy = z.enum(['delete-row', 'set-null', 'mask', 'hash', 'generalise', 'legal-hold', 'keep']);

const CheckResponse = z.object({ protocol: z.literal(HTTP_PROTOCOL_VERSION), categories: z.array(Name) });
const LocateResponse = z.object({ tables: z.array(z.object({ table: Name, rows: Count })) });
const CollectResponse = z.object({
  tables: z.array(z.object({ table: Name, categories: z.record(z.string(), Name), rows: z.array(z.record(z.string(), Cell)) })),
});
const CorrectResponse = z.object({ tables: z.array(z.object({ table: Name, columns: z.array(Name), rows: Count })) });
const EraseAction = z
  .object({
    strategy: Strategy,
    columns: z.array(Name),
    rows: Count,
    legalHold: z.object({ basis: Text, period: z.string().min(1), firstUntil: Day, until: Day }).optional(),
    reason: z.literal('row-held').optional(),
  })
  .refine((a) => a.strategy !== 'legal-hold' || a.legalHold !== undefined, {
    message: 'a legal-hold action needs legalHold',
    path: ['legalHold'],
  });
const Key = z.union([z.string().max(200), z.number().finite()]);
const HeldRowShape = z.object({ key: Key, until: Day });
const EraseResponse = z.object({
  tables: z.array(z.object({ table: Name, rows: Count, actions: z.array(EraseAction), heldRows: z.array(HeldRowShape).optional() })),
});
const CollectRowsResponse = z.object({
  tables: z.array(
    z
      .object({ table: Name, categories: z.record(z.string(), Name), keys: z.array(Key), rows: z.array(z.record(z.string(), Cell)) })
      .refine((t) => t.keys.length === t.rows.length, { message: 'keys and rows differ in length', path: ['keys'] }),
  ),
});
const ErrorBody = z.object({ error: z.object({ code: z.string().max(100) }) });

const LOOPBACK = /^(?:localhost|127(?:\.\d{1,3}){3}|\[::1\])$/i;

export interface HttpConnectorDeps {
  plan: DatasetPlan;
  env: Env;
  now: () => Date;
  options?: HttpConnectorOptions;
}

export function createHttpConnector(deps: HttpConnectorDeps): Connector {
  const { plan } = deps;
  const dataset = plan.id;
  const timeoutMs = deps.options?.timeoutMs ?? DEFAULT_TIMEOUT_MS;
  const maxBytes = deps.options?.maxResponseBytes ?? DEFAULT_MAX_RESPONSE_BYTES;
  const doFetch = deps.options?.fetch ?? globalThis.fetch;
  let closed = false;

  /** Base URL and secret, read from the environment at each call (a rotated secret is picked up). */
  function config(): { base: URL; secret: string } {
    const envName = plan.connectionEnv;
    const value = readEnv(deps.env, envName, dataset, { en: 'endpoint URL', zh: '端点 URL' });
    const name = envName ?? '';
    let base: URL;
    try {
      base = new URL(value);
    } catch {
      throw badEnv(dataset, name, 'is not a URL (https://host/path)', '不是 URL（https://host/path）');
    }
    const scheme = schemeOf(value);
    if (scheme !== 'https:' && scheme !== 'http:')
      throw badEnv(
        dataset,
        name,
        `has scheme ${scheme ?? '(none)'}; the HTTP connector needs https://`,
        `的协议为 ${scheme ?? '（无）'}；HTTP 连接器需要 https://`,
      );
    if (scheme === 'http:' && !LOOPBACK.test(base.hostname) && deps.options?.allowInsecureHttp !== true)
      throw badEnv(
        dataset,
        name,
        'uses http:// to a host that is not loopback; use https:// (personal information travels in the responses)',
        '对非本机地址使用了 http://；请使用 https://（响应中含个人信息）',
      );
    if (base.username !== '' || base.password !== '')
      throw badEnv(dataset, name, 'contains credentials; requests are authenticated by the signature', '包含凭据；请求以签名认证');
    const secretName = plan.secretEnv;
    const secret = readEnv(deps.env, secretName, dataset, { en: 'signing secret', zh: '签名密钥' });
    if (secret.length < MIN_SECRET_LENGTH)
      throw badEnv(
        dataset,
        secretName ?? '',
        `is shorter than ${MIN_SECRET_LENGTH} characters; use 32 random bytes (openssl rand -hex 32)`,
        `短于 ${MIN_SECRET_LENGTH} 个字符；请使用 32 个随机字节（openssl rand -hex 32）`,
      );
    return { base, secret };
  }

  function fail(
    code: ConnectorErrorCode,
    operation: string,
    extra?: { en: string; zh: string },
    more: { driverCode?: string; retryAfterMs?: number } = {},
  ): ConnectorError {
    return connectorError(code, { dataset, operation, ...more }, extra);
  }

  function retryAfter(h: string | null, now: Date): number | undefined {
    if (h === null) return undefined;
    if (/^\d+$/.test(h.trim())) return Number(h.trim()) * 1000;
    const at = Date.parse(h);
    return Number.isNaN(at) ? undefined : Math.max(0, at - now.getTime());
  }

  async function readBody(res: Response, operation: string): Promise<string> {
    const reader = res.body?.getReader();
    if (reader === undefined) return '';
    const parts: Uint8Array[] = [];
    let size = 0;
    for (;;) {
      const { done, value } = await reader.read();
      if (done) break;
      size += value.byteLength;
      if (size > maxBytes) {
        await reader.cancel().catch(() => {});
        throw fail('bad_response', operation, { en: `the response is larger than ${maxBytes} bytes`, zh: `响应超过 ${maxBytes} 字节` });
      }
      parts.push(value);
    }
    return Buffer.concat(parts).toString('utf8');
  }

  async function call<S extends z.ZodType>(operation: HttpOperation, payload: Record<string, unknown>, schema: S): Promise<z.infer<S>> {
    if (closed) throw fail('closed', operation);
    const { base, secret } = config();
    const url = new URL(base.href);
    url.pathname = `${url.pathname.replace(/\/+$/, '')}/${operation}`;
    const path = `${url.pathname}${url.search}`;
    const body = JSON.stringify({ protocol: HTTP_PROTOCOL_VERSION, dataset, operation, ...payload });
    const now = deps.now();
    const timestamp = String(Math.floor(now.getTime() / 1000));
    const nonce = randomBytes(16).toString('hex');
    const controller = new AbortController();
    let timedOut = false;
    const timer = setTimeout(() => {
      timedOut = true;
      controller.abort();
    }, timeoutMs);
    let status = 0;
    let text: string;
    let retryAfterMs: number | undefined;
    try {
      const res = await doFetch(url, {
        method: 'POST',
        redirect: 'manual',
        signal: controller.signal,
        headers: {
          'content-type': 'application/json; charset=utf-8',
          accept: 'application/json',
          'user-agent': `pipa-connector/${HTTP_PROTOCOL_VERSION}`,
          [DATASET_HEADER]: dataset,
          [TIMESTAMP_HEADER]: timestamp,
          [NONCE_HEADER]: nonce,
          [SIGNATURE_HEADER]: signRequest(secret, 'POST', path, timestamp, nonce, body),
        },
        body,
      });
      status = res.status;
      retryAfterMs = retryAfter(res.headers.get('retry-after'), now);
      text = await readBody(res, operation);
    } catch (err) {
      if (err instanceof ConnectorError) throw err;
      if (timedOut)
        throw fail('connector_timeout', operation, {
          en: `no complete answer within ${timeoutMs} ms`,
          zh: `${timeoutMs} 毫秒内未完整响应`,
        });
      const code = errorCodeOf(err);
      throw fail(
        classifyNetworkCode(code) ?? 'connector_unavailable',
        operation,
        undefined,
        code !== undefined ? { driverCode: code } : {},
      );
    } finally {
      clearTimeout(timer);
    }
    const statusText = { driverCode: `HTTP ${status}` };
    if (status < 200 || status >= 300) {
      const remote = (() => {
        try {
          const parsed = ErrorBody.safeParse(JSON.parse(text));
          return parsed.success ? parsed.data.error.code : undefined;
        } catch {
          return undefined;
        }
      })();
      const detail = {
        en: `HTTP ${status}${remote !== undefined ? `, error ${remote}` : ''}`,
        zh: `HTTP ${status}${remote !== undefined ? `，错误 ${remote}` : ''}`,
      };
      if (status === 401 || status === 403) throw fail('auth_failed', operation, detail, statusText);
      if (status === 504) throw fail('connector_timeout', operation, detail, statusText);
      if (status === 408 || status === 425 || status === 429 || status >= 500)
        throw fail('connector_unavailable', operation, detail, { ...statusText, ...(retryAfterMs !== undefined ? { retryAfterMs } : {}) });
      if (status >= 300 && status < 400)
        throw fail(
          'remote_rejected',
          operation,
          { en: `HTTP ${status}: redirects are not followed; set the final URL`, zh: `HTTP ${status}：不跟随重定向，请配置最终 URL` },
          statusText,
        );
      if (remote === 'not_writable') throw fail('not_writable', operation, detail, statusText);
      if (remote === 'schema_mismatch') throw fail('schema_mismatch', operation, detail, statusText);
      throw fail('remote_rejected', operation, detail, statusText);
    }
    let json: unknown;
    try {
      json = JSON.parse(text);
    } catch {
      throw fail('bad_response', operation, { en: 'the body is not JSON', zh: '响应体不是 JSON' }, statusText);
    }
    const parsed = schema.safeParse(json);
    if (!parsed.success) {
      const issue = parsed.error.issues[0];
      const at = `$${(issue?.path ?? []).map((p) => (typeof p === 'number' ? `[${p}]` : `.${String(p)}`)).join('')}`;
      throw fail('bad_response', operation, { en: `unexpected shape at ${at}`, zh: `${at} 处结构不符` }, statusText);
    }
    return parsed.data;
  }

  const declaredTables = new Set(plan.tables.map((t) => t.name));
  const declaredCategories = new Set(plan.categories);

  function mismatch(operation: string, problems: ConnectorProblem[]): ConnectorError {
    const first = problems[0] as ConnectorProblem;
    const more =
      problems.length > 1 ? { en: ` (and ${problems.length - 1} more)`, zh: `（另有 ${problems.length - 1} 处）` } : { en: '', zh: '' };
    return new ConnectorError(
      'schema_mismatch',
      `dataset ${q(dataset)} does not match the declaration: ${first.message}${more.en}`,
      `数据集 ${q(dataset)} 与声明不一致：${first.messageZh}${more.zh}`,
      {
        dataset,
        operation,
        ...(first.table !== undefined ? { table: first.table } : {}),
        ...(first.column !== undefined ? { column: first.column } : {}),
        problems,
      },
    );
  }

  function checkTables(operation: string, tables: readonly { table: string }[]): void {
    if (declaredTables.size === 0) return;
    const problems = tables
      .filter((t) => !declaredTables.has(t.table))
      .map((t) => ({
        table: t.table,
        message: `the endpoint answered for undeclared table ${q(t.table)}`,
        messageZh: `端点返回了未声明的表 ${q(t.table)}`,
      }));
    if (problems.length > 0) throw mismatch(operation, problems);
  }

  /** Only declared categories, and a category for every column returned. */
  function checkCollected(
    operation: string,
    tables: readonly { table: string; categories: Record<string, string>; rows: Record<string, unknown>[] }[],
  ): void {
    const problems: ConnectorProblem[] = [];
    for (const t of tables) {
      for (const [column, category] of Object.entries(t.categories)) {
        if (!declaredCategories.has(category))
          problems.push({
            table: t.table,
            column,
            message: `the endpoint returned column ${q(column)} of table ${q(t.table)} as category ${q(category)}, which is not declared`,
            messageZh: `端点返回的表 ${q(t.table)} 列 ${q(column)} 的类别 ${q(category)} 未声明`,
          });
      }
      for (const row of t.rows) {
        for (const column of Object.keys(row)) {
          if (!(column in t.categories))
            problems.push({
              table: t.table,
              column,
              message: `the endpoint returned column ${q(column)} of table ${q(t.table)} without a category`,
              messageZh: `端点返回的表 ${q(t.table)} 列 ${q(column)} 没有类别`,
            });
        }
      }
    }
    if (problems.length > 0)
      throw mismatch(operation, [...new Map(problems.map((p) => [`${p.table}/${p.column}/${p.message}`, p])).values()]);
  }

  /** Selections on the wire: declared tables, keys, the hold's start as ms. */
  function rowsPayload(selections: readonly RowSelection[], operation: string, held: boolean) {
    const groups = checkSelections(plan, selections, operation, held);
    return [...groups.values()].flat().map((sel) => ({
      table: sel.table,
      keys: [...sel.keys],
      ...(sel.heldSince !== undefined ? { heldSince: sel.heldSince instanceof Date ? sel.heldSince.getTime() : sel.heldSince } : {}),
    }));
  }

  function eraseReport(dryRun: boolean, tables: z.infer<typeof EraseResponse>['tables'], heldRows: boolean): EraseReport {
    return {
      dataset,
      dryRun,
      at: deps.now().toISOString(),
      tables: tables.map((t) => ({
        table: t.table,
        rows: t.rows,
        actions: t.actions.map((a) => ({
          strategy: a.strategy,
          columns: a.columns,
          rows: a.rows,
          ...(a.legalHold !== undefined ? { legalHold: a.legalHold } : {}),
          ...(a.reason !== undefined ? { reason: a.reason } : {}),
        })),
        ...(heldRows && t.heldRows !== undefined ? { heldRows: t.heldRows } : {}),
      })),
    };
  }

  /** The keys as given (trimmed); the endpoint does its own matching. */
  function subjectPayload(subject: SubjectKeys, operation: string): Record<string, string[]> {
    resolveSubject(plan, subject, operation);
    const keys: Record<string, string[]> = {};
    for (const kind of SUBJECT_KEY_KINDS) {
      const raw = subject[kind];
      if (raw === undefined) continue;
      const list = (typeof raw === 'string' ? [raw] : [...raw]).map((v) => v.trim()).filter((v) => v !== '');
      if (list.length > 0) keys[kind] = list;
    }
    if (Object.keys(keys).length === 0)
      throw new ConnectorError(
        'subject_key_missing',
        `dataset ${q(dataset)}: no subject key given`,
        `数据集 ${q(dataset)}：未提供主体标识`,
        { dataset, operation },
      );
    return keys;
  }

  return {
    dataset,
    engine: plan.engine,
    describe: () => describePlan(plan),

    async check(): Promise<CheckResult> {
      const r = await call('check', {}, CheckResponse);
      const held = new Set(r.categories);
      const problems: ConnectorProblem[] = [];
      for (const c of held)
        if (!declaredCategories.has(c))
          problems.push({
            message: `the endpoint holds category ${q(c)}, which is not declared`,
            messageZh: `端点持有未声明的类别 ${q(c)}`,
          });
      for (const c of declaredCategories)
        if (!held.has(c))
          problems.push({
            message: `category ${q(c)} is declared but the endpoint does not hold it`,
            messageZh: `声明了类别 ${q(c)}，但端点未持有`,
          });
      if (problems.length > 0) throw mismatch('check', problems);
      return { dataset, engine: plan.engine, tables: plan.tables.map((t) => ({ table: t.name, columns: t.fields.map(([c]) => c) })) };
    },

    async locate(subject: SubjectKeys): Promise<LocateResult> {
      const r = await call('locate', { subject: { keys: subjectPayload(subject, 'locate') } }, LocateResponse);
      checkTables('locate', r.tables);
      return { dataset, found: r.tables.some((t) => t.rows > 0), tables: r.tables };
    },

    async collect(subject: SubjectKeys): Promise<CollectResult> {
      const r = await call('collect', { subject: { keys: subjectPayload(subject, 'collect') } }, CollectResponse);
      checkTables('collect', r.tables);
      checkCollected('collect', r.tables);
      return { dataset, tables: r.tables };
    },

    async correct(subject: SubjectKeys, changes: readonly Change[]): Promise<CorrectResult> {
      if (!Array.isArray(changes) || changes.length === 0)
        throw new ConnectorError(
          'invalid_argument',
          `dataset ${q(dataset)}: correct needs at least one change`,
          `数据集 ${q(dataset)}：更正至少需要一项修改`,
          {
            dataset,
            operation: 'correct',
          },
        );
      for (const ch of changes) {
        const v: unknown = ch.value;
        if (
          typeof ch.table !== 'string' ||
          typeof ch.column !== 'string' ||
          !(v === null || typeof v === 'string' || (typeof v === 'number' && Number.isFinite(v)))
        )
          throw new ConnectorError(
            'invalid_argument',
            `dataset ${q(dataset)}: each change needs a table, a column and a text, number or null value`,
            `数据集 ${q(dataset)}：每项修改都需要表、列以及文本、数值或 null 值`,
            { dataset, operation: 'correct' },
          );
        const t = plan.byName.get(ch.table);
        if (declaredTables.size > 0 && (t === undefined || !t.writable.has(ch.column)))
          throw new ConnectorError(
            'not_writable',
            `dataset ${q(dataset)}, table ${q(ch.table)}: column ${q(ch.column)} is not declared writable; nothing was sent`,
            `数据集 ${q(dataset)}，表 ${q(ch.table)}：列 ${q(ch.column)} 未声明为可修改；未发送请求`,
            { dataset, operation: 'correct', table: ch.table, column: ch.column },
          );
      }
      const r = await call('correct', { subject: { keys: subjectPayload(subject, 'correct') }, changes }, CorrectResponse);
      checkTables('correct', r.tables);
      return { dataset, tables: r.tables };
    },

    async erase(subject: SubjectKeys, options: EraseOptions = {}): Promise<EraseReport> {
      const dryRun = options.dryRun === true;
      const heldRows = options.heldRows === true;
      const r = await call(
        'erase',
        {
          subject: { keys: subjectPayload(subject, 'erase') },
          dryRun,
          ...(options.requestId !== undefined ? { requestId: options.requestId } : {}),
          ...(heldRows ? { heldRows: true } : {}),
        },
        EraseResponse,
      );
      checkTables('erase', r.tables);
      return eraseReport(dryRun, r.tables, heldRows);
    },

    async collectRows(selections: readonly RowSelection[]): Promise<CollectRowsResult> {
      const rows = rowsPayload(selections, 'collect-rows', false);
      const r = await call('collect-rows', { rows }, CollectRowsResponse);
      checkTables('collect-rows', r.tables);
      checkCollected('collect-rows', r.tables);
      return { dataset, tables: r.tables };
    },

    async eraseRows(selections: readonly RowSelection[], options: EraseOptions = {}): Promise<EraseReport> {
      const dryRun = options.dryRun === true;
      const heldRows = options.heldRows === true;
      const rows = rowsPayload(selections, 'erase-rows', true);
      const r = await call(
        'erase-rows',
        {
          rows,
          dryRun,
          ...(options.requestId !== undefined ? { requestId: options.requestId } : {}),
          ...(heldRows ? { heldRows: true } : {}),
        },
        EraseResponse,
      );
      checkTables('erase-rows', r.tables);
      return eraseReport(dryRun, r.tables, heldRows);
    },

    async close() {
      closed = true;
    },
  };
}
