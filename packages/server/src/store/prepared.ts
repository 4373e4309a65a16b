/**
 * Queries compiled once and run many times with new parameters: building and compiling a Kysely
 * query costs more than running a small SQLite statement, and the hot paths (the vault's reads and
 * writes, the audit and consent chains' heads) run the same few statements over and over. A query is
 * built with sentinel parameter values; the compiled parameter list is then mapped back to names, so
 * binding is an array copy. On PostgreSQL such a statement also runs as a named prepared statement
 * (store/hot-statements.ts).
 */
import type { Compilable, CompiledQuery, Kysely } from 'kysely';
import { markHot } from './hot-statements.js';
import type { Schema } from './schema.js';

const SENTINEL = '\u0001pipa-param:';

/** The sentinel value to build a prepared query with, for parameter `name`. */
export function param(name: string): string {
  return `${SENTINEL}${name}`;
}

export interface Prepared<K extends string> {
  bind(values: Readonly<Record<K, unknown>>): CompiledQuery;
}

/**
 * Map a query compiled with `param(name)` values back to its names. Throws if a compiled parameter
 * is not one of the sentinels (the query would then not be reusable).
 */
export function prepare<K extends string>(compiled: CompiledQuery, names: readonly K[]): Prepared<K> {
  const order: K[] = compiled.parameters.map((p) => {
    const name = typeof p === 'string' && p.startsWith(SENTINEL) ? (p.slice(SENTINEL.length) as K) : undefined;
    if (name === undefined || !names.includes(name)) throw new Error(`prepared query: unexpected parameter ${String(p)}`);
    return name;
  });
  markHot(compiled.sql);
  return {
    bind(values) {
      const parameters = new Array<unknown>(order.length);
      for (let i = 0; i < order.length; i++) parameters[i] = values[order[i] as K];
      return { ...compiled, parameters };
    },
  };
}

/** Most rows in one multi-row statement (`rowsInStatement`). */
export const MULTI_ROW_CHUNK = 256;
/** Up to this many rows, a multi-row statement has exactly as many rows as are left. */
const EXACT_ROWS = 32;

/**
 * How many of `left` rows (at least 1) the next multi-row statement takes: all of them up to 32, so that
 * a group commit of a usual size is one statement per table (on PostgreSQL each statement is a round
 * trip, and a batch of 23 rows split into 16 + 4 + 2 + 1 took four); above that 256-row chunks, then
 * powers of two down to at most 32 left. So a multi-row statement has one of at most 35 shapes, each
 * compiled and prepared once (on PostgreSQL, as a named statement of each connection).
 */
export function rowsInStatement(left: number): number {
  if (left >= MULTI_ROW_CHUNK) return MULTI_ROW_CHUNK;
  if (left <= EXACT_ROWS) return left;
  return 2 ** Math.floor(Math.log2(left));
}

/** Ids in one statement of `preparedIn` (more are run in several). */
const IN_CHUNK = 256;

/**
 * `… where <column> in (n ids)` compiled once per n, a power of two up to IN_CHUNK (the ids padded by
 * repeating the last; more ids run in chunks), so that batches of any size run one of a few prepared
 * statements. `build` receives the ids as sentinels and may use `param(name)` for each of `extra`
 * (bound from the call's `values`).
 */
export function preparedIn<R, E extends string = never>(
  build: (ids: string[]) => Compilable,
  extra: readonly E[] = [],
): (db: Kysely<Schema>, ids: readonly string[], values?: Readonly<Record<E, unknown>>) => Promise<R[]> {
  const queries = new Map<number, Prepared<string>>();
  const run = async (db: Kysely<Schema>, ids: readonly string[], values: Readonly<Record<E, unknown>> | undefined): Promise<R[]> => {
    const n = 2 ** Math.ceil(Math.log2(Math.max(1, ids.length)));
    let q = queries.get(n);
    if (q === undefined) {
      const names = Array.from({ length: n }, (_, i) => `s${i}`);
      q = prepare(build(names.map(param)).compile(), [...names, ...extra]);
      queries.set(n, q);
    }
    const bound: Record<string, unknown> = { ...values };
    for (let i = 0; i < n; i++) bound[`s${i}`] = ids[Math.min(i, ids.length - 1)];
    return (await db.executeQuery<R>(q.bind(bound))).rows;
  };
  return async (db, ids, values) => {
    if (ids.length <= IN_CHUNK) return run(db, ids, values);
    const out: R[] = [];
    for (let i = 0; i < ids.length; i += IN_CHUNK) out.push(...(await run(db, ids.slice(i, i + IN_CHUNK), values)));
    return out;
  };
}
