/**
 * Connectors to the operator's own datasets (the declaration's `datasets`): PostgreSQL,
 * MySQL/MariaDB, SQLite and the operator's HTTP endpoint. See docs/connectors.md.
 *
 * ```ts
 * const connector = createConnector(declaration.datasets[0]);   // credentials from process.env
 * await connector.check();                                       // schema_mismatch before anything else
 * const report = await connector.erase({ phone: '13812345678' }, { dryRun: true, hashKey });
 * await connector.close();
 * ```
 */
import type { DatasetDecl } from '@pipa/policy';
import { badEnv, readEnv, schemeOf } from './env.js';
import { ConnectorError, q } from './errors.js';
import { createHttpConnector } from './http.js';
import { planDataset } from './plan.js';
import { createSqlConnector } from './sql/connector.js';
import { isMysqlUrl, openMysql } from './sql/mysql.js';
import { isPostgresUrl, openPostgres } from './sql/postgres.js';
import { openSqlite } from './sql/sqlite.js';
import type { Connector, ConnectorOptions } from './types.js';

export * from './errors.js';
export {
  createHttpConnector,
  DATASET_HEADER,
  HTTP_OPERATIONS,
  HTTP_PROTOCOL_VERSION,
  type HttpOperation,
  NONCE_HEADER,
  SIGNATURE_HEADER,
  signingInput,
  signRequest,
  TIMESTAMP_HEADER,
} from './http.js';
export { type DatasetPlan, describePlan, planDataset, type TablePlan } from './plan.js';
export * from './types.js';
export {
  addPeriod,
  type ColumnInfo,
  type ColumnKind,
  generaliseCell,
  HASH_LENGTH,
  hashCell,
  keyCandidates,
  maskCell,
  parsePeriod,
} from './values.js';

const DEFAULT_CONNECT_TIMEOUT_MS = 10_000;
const DEFAULT_STATEMENT_TIMEOUT_MS = 60_000;
const DEFAULT_SQLITE_BUSY_MS = 5_000;

/**
 * A connector for one declared dataset. The declaration is checked at once (`invalid_declaration`);
 * the environment variables are read and the connection opened on first use, so a missing variable
 * or an unreachable database surfaces from `check()` and the operations as a ConnectorError.
 */
export function createConnector(dataset: DatasetDecl, options: ConnectorOptions = {}): Connector {
  const plan = planDataset(dataset);
  const env = options.env ?? process.env;
  const now = options.now ?? (() => new Date());
  const connectTimeoutMs = options.connectTimeoutMs ?? DEFAULT_CONNECT_TIMEOUT_MS;
  const id = plan.id;
  const envName = plan.connectionEnv ?? '';
  const url = () => readEnv(env, plan.connectionEnv, id, { en: 'connection URL', zh: '连接 URL' });
  switch (plan.engine) {
    case 'postgres':
      return createSqlConnector({
        plan,
        now,
        openDriver: async () => {
          const value = url();
          if (!isPostgresUrl(value) || !URL.canParse(value))
            throw badEnv(
              id,
              envName,
              `has scheme ${schemeOf(value) ?? '(none)'}; a postgres dataset needs postgres://user:password@host/db`,
              `的协议为 ${schemeOf(value) ?? '（无）'}；postgres 数据集需要 postgres://user:password@host/db`,
            );
          return openPostgres({
            dataset: id,
            env: envName,
            url: value,
            connectTimeoutMs,
            statementTimeoutMs: options.statementTimeoutMs ?? DEFAULT_STATEMENT_TIMEOUT_MS,
          });
        },
      });
    case 'mysql':
      return createSqlConnector({
        plan,
        now,
        openDriver: async () => {
          const value = url();
          if (!isMysqlUrl(value) || !URL.canParse(value))
            throw badEnv(
              id,
              envName,
              `has scheme ${schemeOf(value) ?? '(none)'}; a mysql dataset needs mysql://user:password@host:3306/db`,
              `的协议为 ${schemeOf(value) ?? '（无）'}；mysql 数据集需要 mysql://user:password@host:3306/db`,
            );
          return openMysql({ dataset: id, env: envName, url: value, connectTimeoutMs });
        },
      });
    case 'sqlite':
      return createSqlConnector({
        plan,
        now,
        openDriver: async () =>
          openSqlite({
            dataset: id,
            env: envName,
            value: url(),
            cwd: options.cwd ?? process.cwd(),
            busyTimeoutMs: options.statementTimeoutMs ?? DEFAULT_SQLITE_BUSY_MS,
          }),
      });
    case 'http':
      return createHttpConnector({ plan, env, now, ...(options.http !== undefined ? { options: options.http } : {}) });
    case 'vault':
      throw new ConnectorError(
        'unsupported',
        `dataset ${q(id)}: the vault engine is pipa's own store and is served by the vault, not by a connector`,
        `数据集 ${q(id)}：vault 引擎是 pipa 自身的存储，由保管库处理，不使用连接器`,
        { dataset: id },
      );
  }
}
