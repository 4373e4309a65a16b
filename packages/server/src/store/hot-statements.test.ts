import { CompiledQuery, sql } from 'kysely';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { hotStatementName, markHot } from './hot-statements.js';
import { createTestDatabase, dialects, type TestDatabase } from './test-dialects.js';

describe('hot statements', () => {
  it('names each registered text once, and nothing else', () => {
    const text = 'select 41 + 1 as "registry_test"';
    expect(hotStatementName(text)).toBeUndefined();
    markHot(text);
    const name = hotStatementName(text);
    expect(name).toMatch(/^pipa_hot_\d+$/);
    markHot(text);
    expect(hotStatementName(text)).toBe(name);
    expect(hotStatementName(`${text} `)).toBeUndefined();
  });
});

// PostgreSQL only: SQLite statements are prepared once per text by the dialect's cache already.
if (dialects().some((d) => d.dialect === 'postgres')) {
  describe('hot statements on PostgreSQL', () => {
    let t: TestDatabase;
    beforeAll(async () => {
      t = await createTestDatabase('postgres', { config: { poolSize: 1 } });
    });
    afterAll(async () => {
      await t.dispose();
    });

    it('run as named prepared statements of the connection, with the same results; other statements do not', async () => {
      const hot = 'select $1::int * 2 as "doubled"';
      const cold = 'select $1::int * 3 as "tripled"';
      markHot(hot);
      const run = async (text: string, n: number) =>
        (await t.database.db.executeQuery<Record<string, number>>(CompiledQuery.raw(text, [n]))).rows[0];
      expect(await run(hot, 4)).toEqual({ doubled: 8 });
      expect(await run(hot, 5)).toEqual({ doubled: 10 });
      expect(await run(cold, 5)).toEqual({ tripled: 15 });
      const prepared = (
        await sql<{ name: string; statement: string }>`select name, statement from pg_prepared_statements`.execute(t.database.db)
      ).rows;
      expect(prepared).toContainEqual({ name: hotStatementName(hot), statement: hot });
      expect(prepared.some((p) => p.statement === cold)).toBe(false);
    });
  });
}
