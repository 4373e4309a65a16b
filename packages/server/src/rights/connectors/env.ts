/** Connector credentials come from environment variables only; the declaration names the variable. */
import { ConnectorError, q } from './errors.js';

export type Env = Readonly<Record<string, string | undefined>>;

/** The value of `name`, or `env_missing` naming the variable (never a value). */
export function readEnv(env: Env, name: string | undefined, dataset: string, what: { en: string; zh: string }): string {
  if (name === undefined) {
    throw new ConnectorError(
      'invalid_declaration',
      `dataset ${q(dataset)}: connectionEnv is not declared, so there is no ${what.en}`,
      `数据集 ${q(dataset)}：未声明 connectionEnv，因此没有${what.zh}`,
      { dataset },
    );
  }
  const value = env[name];
  if (value === undefined || value.trim() === '') {
    throw new ConnectorError(
      'env_missing',
      `dataset ${q(dataset)}: environment variable ${name} is not set (it should hold the ${what.en})`,
      `数据集 ${q(dataset)}：环境变量 ${name} 未设置（应为${what.zh}）`,
      { dataset, env: name },
    );
  }
  return value.trim();
}

/** `invalid_config` for an environment variable whose value is unusable; the value itself is never shown. */
export function badEnv(dataset: string, name: string, en: string, zh: string): ConnectorError {
  return new ConnectorError(
    'invalid_config',
    `dataset ${q(dataset)}: environment variable ${name} ${en}`,
    `数据集 ${q(dataset)}：环境变量 ${name} ${zh}`,
    {
      dataset,
      env: name,
    },
  );
}

/** The URL scheme of a value, lower-case with the colon (`postgres:`), or undefined. Safe to show. */
export function schemeOf(value: string): string | undefined {
  const m = /^([A-Za-z][A-Za-z0-9+.-]*):/.exec(value);
  return m?.[1] !== undefined ? `${m[1].toLowerCase()}:` : undefined;
}
