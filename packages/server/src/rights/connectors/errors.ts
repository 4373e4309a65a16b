/**
 * Errors of the dataset connectors. A job runner branches on `code` and `retryable`, never on
 * message text. `message` is English (logs, tests), `messageZh` the zh-CN text for operators.
 *
 * Messages and fields name the dataset, table, column and environment variable, never a value read
 * from a database, a connection URL, a password or a driver's own message (drivers quote values:
 * `Key (phone)=(138…) already exists`). The driver's error code is kept in `driverCode`.
 */

export const CONNECTOR_ERROR_CODES = [
  /** The database or endpoint cannot be reached now (refused, reset, DNS, server starting or shutting down, 5xx). */
  'connector_unavailable',
  /** The database or endpoint did not answer in time. */
  'connector_timeout',
  /** Lock conflict, deadlock or serialization failure: the same call may succeed later. */
  'transient',
  /** The credentials in the environment variable were refused (wrong password, unknown user, bad signature). */
  'auth_failed',
  /** The credentials are valid but lack a privilege the operation needs. */
  'permission_denied',
  /** A declared environment variable is not set. */
  'env_missing',
  /** The environment variable's value is not a usable URL / path / secret for this engine. */
  'invalid_config',
  /** The dataset declaration cannot be executed (bad identifier, unknown `via` table, cycle, hold without basis). */
  'invalid_declaration',
  /** The database does not match the declaration: a table or column is missing or has an unusable type. */
  'schema_mismatch',
  /** A table's subject column needs a subject key (phone, external id…) that the caller did not give. */
  'subject_key_missing',
  /** A correction names a table or column that is not declared writable. */
  'not_writable',
  /** The database refused a write (constraint, value too long, wrong type); the transaction was rolled back. */
  'write_rejected',
  /** A caller passed an argument outside the documented range (no hash key, a bad value). */
  'invalid_argument',
  /** The HTTP endpoint answered with something that is not the protocol (bad JSON, wrong shape, too large). */
  'bad_response',
  /** The HTTP endpoint refused the request (4xx other than authentication). */
  'remote_rejected',
  /** The engine has no connector here (`vault` is pipa's own store). */
  'unsupported',
  /** The connector was closed. */
  'closed',
  /** Any other failure reported by a database driver. */
  'driver_error',
] as const;

export type ConnectorErrorCode = (typeof CONNECTOR_ERROR_CODES)[number];

/** Whether the same call may succeed later without anybody changing anything. */
export const CONNECTOR_ERROR_RETRYABLE: Readonly<Record<ConnectorErrorCode, boolean>> = {
  connector_unavailable: true,
  connector_timeout: true,
  transient: true,
  auth_failed: false,
  permission_denied: false,
  env_missing: false,
  invalid_config: false,
  invalid_declaration: false,
  schema_mismatch: false,
  subject_key_missing: false,
  not_writable: false,
  write_rejected: false,
  invalid_argument: false,
  bad_response: false,
  remote_rejected: false,
  unsupported: false,
  closed: false,
  driver_error: false,
};

/** Where an error happened: identifiers only. */
export interface ConnectorErrorContext {
  dataset?: string;
  table?: string;
  column?: string;
  /** Name (never value) of the environment variable involved. */
  env?: string;
  /** Operation: check, locate, collect, correct, erase. */
  operation?: string;
  /** The driver's or endpoint's error code (`28P01`, `ER_ACCESS_DENIED_ERROR`, `ECONNREFUSED`, HTTP status). */
  driverCode?: string;
  /** Every problem when there are several (schema_mismatch lists every missing column). */
  problems?: readonly ConnectorProblem[];
  /** Suggested wait before a retry (HTTP `Retry-After`). */
  retryAfterMs?: number;
}

export interface ConnectorProblem {
  table?: string;
  column?: string;
  message: string;
  messageZh: string;
}

export class ConnectorError extends Error {
  readonly code: ConnectorErrorCode;
  /** zh-CN text for operators; `message` is the English text. */
  readonly messageZh: string;
  readonly retryable: boolean;
  readonly dataset: string | undefined;
  readonly table: string | undefined;
  readonly column: string | undefined;
  readonly env: string | undefined;
  readonly operation: string | undefined;
  readonly driverCode: string | undefined;
  readonly problems: readonly ConnectorProblem[];
  readonly retryAfterMs: number | undefined;
  constructor(code: ConnectorErrorCode, message: string, messageZh: string, context: ConnectorErrorContext = {}) {
    super(message);
    this.name = 'ConnectorError';
    this.code = code;
    this.messageZh = messageZh;
    this.retryable = CONNECTOR_ERROR_RETRYABLE[code];
    this.dataset = context.dataset;
    this.table = context.table;
    this.column = context.column;
    this.env = context.env;
    this.operation = context.operation;
    this.driverCode = context.driverCode;
    this.problems = context.problems ?? [];
    this.retryAfterMs = context.retryAfterMs;
  }

  /** A plain object for job records and logs (no stack, no cause). */
  toJSON(): Record<string, unknown> {
    return {
      code: this.code,
      retryable: this.retryable,
      message: this.message,
      messageZh: this.messageZh,
      ...(this.dataset !== undefined ? { dataset: this.dataset } : {}),
      ...(this.table !== undefined ? { table: this.table } : {}),
      ...(this.column !== undefined ? { column: this.column } : {}),
      ...(this.env !== undefined ? { env: this.env } : {}),
      ...(this.operation !== undefined ? { operation: this.operation } : {}),
      ...(this.driverCode !== undefined ? { driverCode: this.driverCode } : {}),
      ...(this.problems.length > 0 ? { problems: this.problems } : {}),
      ...(this.retryAfterMs !== undefined ? { retryAfterMs: this.retryAfterMs } : {}),
    };
  }
}

export function isConnectorError(err: unknown, code?: ConnectorErrorCode): err is ConnectorError {
  return err instanceof ConnectorError && (code === undefined || err.code === code);
}

/** Quote an identifier for a message. */
export const q = (s: string): string => `"${s}"`;

/** `dataset "x"`, `dataset "x", table "t"`, `dataset "x", table "t", column "c"`. */
export function where(ctx: { dataset?: string; table?: string; column?: string }): { en: string; zh: string } {
  const en: string[] = [];
  const zh: string[] = [];
  if (ctx.dataset !== undefined) {
    en.push(`dataset ${q(ctx.dataset)}`);
    zh.push(`数据集 ${q(ctx.dataset)}`);
  }
  if (ctx.table !== undefined) {
    en.push(`table ${q(ctx.table)}`);
    zh.push(`表 ${q(ctx.table)}`);
  }
  if (ctx.column !== undefined) {
    en.push(`column ${q(ctx.column)}`);
    zh.push(`列 ${q(ctx.column)}`);
  }
  return { en: en.join(', '), zh: zh.join('，') };
}

const NETWORK_UNAVAILABLE = new Set([
  'ECONNREFUSED',
  'ECONNRESET',
  'ENOTFOUND',
  'EAI_AGAIN',
  'EHOSTUNREACH',
  'ENETUNREACH',
  'EHOSTDOWN',
  'ENETDOWN',
  'EPIPE',
  'ECONNABORTED',
  'EADDRNOTAVAIL',
  'PROTOCOL_CONNECTION_LOST',
  'UND_ERR_SOCKET',
  'UND_ERR_CONNECT',
]);
const NETWORK_TIMEOUT = new Set([
  'ETIMEDOUT',
  'ESOCKETTIMEDOUT',
  'UND_ERR_CONNECT_TIMEOUT',
  'UND_ERR_HEADERS_TIMEOUT',
  'UND_ERR_BODY_TIMEOUT',
]);

/** The error code of a driver or Node network error (`code`, or the first code of an AggregateError). */
export function errorCodeOf(err: unknown): string | undefined {
  if (typeof err !== 'object' || err === null) return undefined;
  const e = err as { code?: unknown; errno?: unknown; errors?: unknown; cause?: unknown };
  if (typeof e.code === 'string' && e.code !== '') return e.code;
  if (typeof e.code === 'number') return String(e.code);
  if (Array.isArray(e.errors)) {
    for (const inner of e.errors) {
      const c = errorCodeOf(inner);
      if (c !== undefined) return c;
    }
  }
  if (e.cause !== undefined && e.cause !== err) return errorCodeOf(e.cause);
  return undefined;
}

/** Network-level classification shared by every engine; undefined when the code is not a network one. */
export function classifyNetworkCode(code: string | undefined): 'connector_unavailable' | 'connector_timeout' | undefined {
  if (code === undefined) return undefined;
  if (NETWORK_TIMEOUT.has(code)) return 'connector_timeout';
  if (NETWORK_UNAVAILABLE.has(code)) return 'connector_unavailable';
  return undefined;
}

const TEXT: Record<ConnectorErrorCode, { en: string; zh: string }> = {
  connector_unavailable: { en: 'cannot be reached', zh: '无法连接' },
  connector_timeout: { en: 'did not answer in time', zh: '响应超时' },
  transient: {
    en: 'hit a lock conflict or deadlock; the operation was rolled back and may be retried',
    zh: '遇到锁冲突或死锁，操作已回滚，可重试',
  },
  auth_failed: { en: 'refused the credentials', zh: '拒绝了凭据' },
  permission_denied: { en: 'refused the operation: the account lacks a privilege', zh: '拒绝了操作：账号缺少所需权限' },
  env_missing: { en: 'environment variable is not set', zh: '环境变量未设置' },
  invalid_config: { en: 'has an unusable connection setting', zh: '连接配置不可用' },
  invalid_declaration: { en: 'has a declaration that cannot be executed', zh: '声明无法执行' },
  schema_mismatch: { en: 'does not match the declaration', zh: '与声明不一致' },
  subject_key_missing: { en: 'needs a subject key that was not given', zh: '缺少所需的主体标识' },
  not_writable: { en: 'is not declared writable', zh: '未声明为可修改' },
  write_rejected: { en: 'refused the write; the transaction was rolled back', zh: '拒绝了写入，事务已回滚' },
  invalid_argument: { en: 'was called with an invalid argument', zh: '调用参数无效' },
  bad_response: { en: 'answered with a response that is not the connector protocol', zh: '返回的响应不符合连接器协议' },
  remote_rejected: { en: 'rejected the request', zh: '拒绝了请求' },
  unsupported: { en: 'has no connector', zh: '没有可用的连接器' },
  closed: { en: 'connector is closed', zh: '连接器已关闭' },
  driver_error: { en: 'failed in the database driver; the transaction was rolled back', zh: '数据库驱动出错，事务已回滚' },
};

/** An error with the generic text of its code, placed at `ctx` (`dataset "x", table "t": cannot be reached`). */
export function connectorError(code: ConnectorErrorCode, ctx: ConnectorErrorContext, extra?: { en: string; zh: string }): ConnectorError {
  const w = where(ctx);
  const t = TEXT[code];
  const en = `${w.en !== '' ? `${w.en}: ` : ''}${t.en}${extra ? ` (${extra.en})` : ''}`;
  const zh = `${w.zh !== '' ? `${w.zh}：` : ''}${t.zh}${extra ? `（${extra.zh}）` : ''}`;
  return new ConnectorError(code, en, zh, ctx);
}
