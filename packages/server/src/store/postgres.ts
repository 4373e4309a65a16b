/**
 * PostgreSQL plumbing: the connection settings shared by the pool and the LISTEN connection, the
 * type parsers that make rows read the same as on SQLite, and the LISTEN connection that comes back
 * by itself.
 *
 * Row values as read:
 * - `bigint` (int8) → JS number (sequence numbers and times in ms stay far below 2^53).
 * - `json` / `jsonb` → the JSON text, as SQLite returns it; callers `JSON.parse` on both dialects.
 * - `bytea` → Buffer (as better-sqlite3 returns a blob).
 */

import type { ClientConfig, CustomTypesConfig, Notification } from 'pg';
import pg from 'pg';
import { isIdentifier, type PostgresResolved } from './config.js';
import { StoreError } from './errors.js';

const INT8 = 20;
const JSON_OID = 114;
const JSONB_OID = 3802;

const parseInt8 = (value: string): number => Number(value);
const keepText = (value: string): string => value;

export const pipaPgTypes: CustomTypesConfig = {
  getTypeParser: ((oid: number, format?: 'text' | 'binary') => {
    if (format === undefined || format === 'text') {
      if (oid === INT8) return parseInt8;
      if (oid === JSON_OID || oid === JSONB_OID) return keepText;
    }
    return format === undefined ? pg.types.getTypeParser(oid) : pg.types.getTypeParser(oid, format);
  }) as CustomTypesConfig['getTypeParser'],
};

export function pgClientConfig(config: PostgresResolved): ClientConfig {
  const options: string[] = [];
  if (config.schema !== undefined) options.push(`-c search_path=${config.schema}`);
  return {
    connectionString: config.connectionString,
    application_name: config.applicationName,
    connectionTimeoutMillis: config.connectTimeoutMs,
    ...(config.statementTimeoutMs > 0 ? { statement_timeout: config.statementTimeoutMs } : {}),
    ...(options.length > 0 ? { options: options.join(' ') } : {}),
    keepAlive: true,
    types: pipaPgTypes,
  };
}

/**
 * A notification, or `resync`: the LISTEN connection was lost and is back, so notifications sent in
 * between were missed and whatever they keep current must be reloaded in full.
 */
export type ListenEvent = { kind: 'notify'; channel: string; payload: string } | { kind: 'resync'; channel: string };
export type ListenHandler = (event: ListenEvent) => void;

/** Channel names are SQL identifiers (they are spliced into `LISTEN`). */
export function checkChannel(channel: string): void {
  if (!isIdentifier(channel)) {
    throw new StoreError(
      'invalid_argument',
      `notification channel must be a lower-case SQL identifier (got ${JSON.stringify(channel)})`,
      `通知通道名必须是小写 SQL 标识符（实际为 ${JSON.stringify(channel)}）`,
    );
  }
}

/** NOTIFY payloads are at most 8000 bytes. */
export function checkPayload(payload: string): void {
  if (Buffer.byteLength(payload, 'utf8') >= 8000) {
    throw new StoreError('invalid_argument', 'notification payload must be shorter than 8000 bytes', '通知内容必须少于 8000 字节');
  }
}

export interface PgListenerOptions {
  clientConfig: ClientConfig;
  onError?: ((error: Error, context: string) => void) | undefined;
  /** First reconnect delay; doubles up to `maxDelayMs`. Default 100 ms. */
  minDelayMs?: number;
  /** Default 5000 ms. */
  maxDelayMs?: number;
}

/**
 * One dedicated connection for LISTEN (a pooled connection cannot be used: LISTEN belongs to the
 * session). When it drops, it reconnects with exponential backoff, LISTENs again on every channel and
 * sends `resync` to every handler.
 */
export class PgListener {
  readonly #options: PgListenerOptions;
  readonly #handlers = new Map<string, Set<ListenHandler>>();
  #client: pg.Client | undefined;
  #connecting: Promise<pg.Client> | undefined;
  #closed = false;
  #retryTimer: NodeJS.Timeout | undefined;
  #delay: number;

  constructor(options: PgListenerOptions) {
    this.#options = options;
    this.#delay = options.minDelayMs ?? 100;
  }

  /** The backend process id of the LISTEN connection (tests terminate it to exercise reconnection). */
  get backendPid(): number | undefined {
    const c = this.#client as (pg.Client & { processID?: number }) | undefined;
    return c?.processID;
  }

  async listen(channel: string, handler: ListenHandler): Promise<() => Promise<void>> {
    checkChannel(channel);
    if (this.#closed) throw new StoreError('closed', 'the database is closed', '数据库已关闭');
    let set = this.#handlers.get(channel);
    const first = set === undefined;
    if (set === undefined) {
      set = new Set();
      this.#handlers.set(channel, set);
    }
    set.add(handler);
    if (first) {
      const client = await this.#connect();
      // A reconnect that happened in between has already LISTENed on every channel in the map.
      if (client === this.#client) await client.query(`LISTEN "${channel}"`);
    } else {
      await this.#connect();
    }
    return async () => {
      const handlers = this.#handlers.get(channel);
      if (handlers === undefined || !handlers.delete(handler) || handlers.size > 0) return;
      this.#handlers.delete(channel);
      const client = this.#client;
      if (client !== undefined && !this.#closed) {
        try {
          await client.query(`UNLISTEN "${channel}"`);
        } catch (err) {
          this.#report(err, 'unlisten');
        }
      }
    };
  }

  async close(): Promise<void> {
    this.#closed = true;
    if (this.#retryTimer !== undefined) clearTimeout(this.#retryTimer);
    const client = this.#client;
    this.#client = undefined;
    this.#handlers.clear();
    if (client !== undefined) await client.end().catch(() => {});
  }

  #connect(): Promise<pg.Client> {
    if (this.#client !== undefined) return Promise.resolve(this.#client);
    if (this.#connecting !== undefined) return this.#connecting;
    const attempt = (async () => {
      const client = new pg.Client(this.#options.clientConfig);
      client.on('notification', (msg: Notification) => this.#dispatch(msg));
      client.on('error', (err) => this.#lost(client, err));
      client.on('end', () => this.#lost(client, new Error('LISTEN connection ended')));
      try {
        await client.connect();
        for (const channel of this.#handlers.keys()) await client.query(`LISTEN "${channel}"`);
      } catch (err) {
        client.removeAllListeners('end');
        await client.end().catch(() => {});
        throw err;
      }
      if (this.#closed) {
        await client.end().catch(() => {});
        throw new StoreError('closed', 'the database is closed', '数据库已关闭');
      }
      this.#client = client;
      this.#delay = this.#options.minDelayMs ?? 100;
      return client;
    })();
    this.#connecting = attempt;
    const clear = () => {
      if (this.#connecting === attempt) this.#connecting = undefined;
    };
    attempt.then(clear, clear);
    return attempt;
  }

  #dispatch(msg: Notification): void {
    const handlers = this.#handlers.get(msg.channel);
    if (handlers === undefined) return;
    const event: ListenEvent = { kind: 'notify', channel: msg.channel, payload: msg.payload ?? '' };
    for (const handler of [...handlers]) this.#call(handler, event);
  }

  #call(handler: ListenHandler, event: ListenEvent): void {
    try {
      handler(event);
    } catch (err) {
      this.#report(err, `listen handler for ${event.channel}`);
    }
  }

  #lost(client: pg.Client, err: Error): void {
    if (this.#client !== client) return;
    this.#client = undefined;
    client.removeAllListeners();
    client.on('error', () => {});
    client.end().catch(() => {});
    if (this.#closed) return;
    this.#report(err, 'LISTEN connection lost; reconnecting');
    this.#scheduleReconnect();
  }

  #scheduleReconnect(): void {
    if (this.#closed || this.#retryTimer !== undefined) return;
    const delay = this.#delay;
    this.#delay = Math.min(this.#delay * 2, this.#options.maxDelayMs ?? 5000);
    this.#retryTimer = setTimeout(() => {
      this.#retryTimer = undefined;
      if (this.#closed || this.#handlers.size === 0) return;
      this.#connect().then(
        () => {
          for (const [channel, handlers] of this.#handlers) {
            for (const handler of [...handlers]) this.#call(handler, { kind: 'resync', channel });
          }
        },
        (error: unknown) => {
          this.#report(error, 'LISTEN reconnect failed; retrying');
          this.#scheduleReconnect();
        },
      );
    }, delay);
    this.#retryTimer.unref();
  }

  #report(err: unknown, context: string): void {
    this.#options.onError?.(err instanceof Error ? err : new Error(String(err)), context);
  }
}
