/**
 * Statements run over and over on the hot paths (the vault's read and write, compiled once by
 * store/prepared.ts) are registered here. On PostgreSQL each pooled connection then runs them as
 * named prepared statements: parsed and planned once per connection instead of on every execution.
 * For the vault's read (a union of two primary-key joins) planning cost more than executing; a plain
 * statement sent by text is planned every time.
 *
 * Bounded by the code: only statements compiled once at start-up are registered (a few dozen), never
 * ad-hoc query text. A migration that changes a registered statement's result columns while
 * connections are open makes PostgreSQL refuse the cached plan; restart the service after such a
 * migration (pipa migrate runs before the service starts).
 */
const names = new Map<string, string>();

/** Register a statement's SQL text as hot. Idempotent. */
export function markHot(sql: string): void {
  if (!names.has(sql)) names.set(sql, `pipa_hot_${names.size}`);
}

/** The prepared-statement name of a hot statement, or undefined. */
export function hotStatementName(sql: string): string | undefined {
  return names.get(sql);
}
