/**
 * The decisions service: the decision engine (consent/decide.ts) on the context's compiled policies
 * (`ctx.policies`) and consent projection (`ctx.consent`), plus auditing. The answer is the engine's
 * `Decision`, unchanged: `allow`, `reason { code, zh, en }`, `clause` (JSON paths into the declaration),
 * `needs?`, `category?` (docs/decisions.md).
 *
 * No database read on the hot path. A subject the projection does not know is answered as a subject
 * with no consent records (checking that it exists would be a read); an undeclared purpose, category or
 * recipient is a `deny` with its reason, not an error. An unknown app is `unknown_app`.
 *
 * Auditing (`ctx.auditDecisions`, DESIGN.md "Audit"):
 * - `all`: every decision is an audit event (`decision`, outcome `ok` or `denied`, details: reason code,
 *   clause, recipient), written through the group-commit batcher; the answer is returned once the event
 *   is durable, so an audit failure fails the request (fail closed).
 * - `denied`: the same for denials only; allows are not recorded.
 * - `counted`: nothing per decision; counts per minute per (app, purpose, outcome) are written as
 *   `decision.aggregate` events with `count` = the number of decisions and details `{ window: { from,
 *   to }, reasons: { code: n }, actors: { actor: n } }` (audit/types.ts). A window is written when it
 *   ends (checked every few seconds) and at `ctx.close()`; counts of a process that dies are lost (at
 *   most the current minute). Undeclared purposes are counted under purpose null, so callers cannot grow
 *   the table with made-up purposes.
 */
import type { AuditEventInput, JsonValue } from '../audit/types.js';
import { decideBatch as engineBatch, decide as engineDecide } from '../consent/decide.js';
import type { Decision, DecisionRequest } from '../consent/types.js';
import { PipaError } from '../errors.js';
import type { DecisionAuditMode, ServiceContext } from '../service/context.js';

export interface DecisionMeta {
  /** Audit actor: `key_…` (default `system`). */
  actor?: string;
  requestId?: string | null;
}

export interface DecisionsService {
  decide(appId: string, request: DecisionRequest, meta?: DecisionMeta): Promise<Decision>;
  /** Many requests for one app, answered in order. */
  decideBatch(appId: string, requests: readonly DecisionRequest[], meta?: DecisionMeta): Promise<Decision[]>;
  /** Write the counted windows now (all of them, the current one included). */
  flushCounts(): Promise<void>;
  readonly mode: DecisionAuditMode;
}

export const MAX_DECISION_BATCH = 1000;
const WINDOW_MS = 60_000;
/** Aggregation keys kept per window; beyond it decisions are counted under the window's overflow key. */
const MAX_KEYS = 10_000;
const MAX_ACTORS = 100;
const MAX_CATEGORIES = 64;

interface Counter {
  appId: string;
  purpose: string | null;
  outcome: 'ok' | 'denied';
  from: number;
  count: number;
  reasons: Record<string, number>;
  actors: Record<string, number>;
  actorCount: number;
  categories: Set<string>;
}

export function createDecisionsService(ctx: ServiceContext, options: { flushIntervalMs?: number } = {}): DecisionsService {
  const mode = ctx.auditDecisions;
  const counters = new Map<string, Counter>();
  let lastError: unknown;

  const eventOf = (appId: string, req: DecisionRequest, d: Decision, meta: DecisionMeta | undefined): AuditEventInput => {
    const details: { [key: string]: JsonValue } = { reason: d.reason.code, clause: [...d.clause] };
    if (req.recipient !== undefined) details.recipient = req.recipient;
    if (d.needs !== undefined) details.needs = d.needs;
    if (d.category !== undefined) details.category = d.category;
    return {
      actor: meta?.actor ?? 'system',
      action: 'decision',
      appId,
      subject: req.subject,
      categories: req.categories,
      purpose: req.purpose,
      outcome: d.allow ? 'ok' : 'denied',
      requestId: meta?.requestId ?? null,
      details,
    };
  };

  const count = (appId: string, req: DecisionRequest, d: Decision, meta: DecisionMeta | undefined, now: number): void => {
    const from = now - (now % WINDOW_MS);
    const declared = ctx.policies.get(appId)?.compiled.purposeById.has(req.purpose) === true;
    const purpose = declared ? req.purpose : null;
    const outcome = d.allow ? 'ok' : 'denied';
    let key = `${from}\u0000${appId}\u0000${purpose ?? ''}\u0000${outcome}`;
    let c = counters.get(key);
    if (c === undefined) {
      if (counters.size >= MAX_KEYS) key = `${from}\u0000${appId}\u0000\u0000${outcome}`;
      c = counters.get(key);
      if (c === undefined) {
        c = {
          appId,
          purpose: counters.size >= MAX_KEYS ? null : purpose,
          outcome,
          from,
          count: 0,
          reasons: {},
          actors: {},
          actorCount: 0,
          categories: new Set(),
        };
        counters.set(key, c);
      }
    }
    c.count++;
    const code = d.reason.code;
    c.reasons[code] = (c.reasons[code] ?? 0) + 1;
    const actor = meta?.actor ?? 'system';
    if (c.actors[actor] !== undefined) c.actors[actor]++;
    else if (c.actorCount < MAX_ACTORS) {
      c.actors[actor] = 1;
      c.actorCount++;
    } else c.actors.other = (c.actors.other ?? 0) + 1;
    if (declared && c.categories.size < MAX_CATEGORIES)
      for (const cat of req.categories) if (c.categories.size < MAX_CATEGORIES) c.categories.add(cat);
  };

  /** Write the windows that ended before `before` (all when undefined). */
  const flush = async (before?: number): Promise<void> => {
    const due: Counter[] = [];
    for (const [key, c] of counters) {
      if (before !== undefined && c.from + WINDOW_MS > before) continue;
      due.push(c);
      counters.delete(key);
    }
    if (due.length === 0) return;
    const results = await Promise.allSettled(
      due.map((c) => {
        const actors = Object.keys(c.actors);
        return ctx.auditBatcher.record({
          actor: actors.length === 1 ? (actors[0] ?? 'system') : 'several',
          action: 'decision.aggregate',
          appId: c.appId,
          purpose: c.purpose,
          categories: [...c.categories],
          outcome: c.outcome,
          count: c.count,
          details: { window: { from: c.from, to: c.from + WINDOW_MS }, reasons: c.reasons, actors: c.actors },
        });
      }),
    );
    for (const r of results) if (r.status === 'rejected') lastError = r.reason;
  };

  if (mode === 'counted') {
    const timer = setInterval(() => {
      void flush(ctx.clock());
    }, options.flushIntervalMs ?? 5_000);
    timer.unref();
    ctx.onClose(async () => {
      clearInterval(timer);
      await flush();
    });
  }

  const audited = (d: Decision): boolean => mode === 'all' || (mode === 'denied' && !d.allow);

  return {
    mode,
    async decide(appId, request, meta) {
      const policy = ctx.policies.require(appId);
      const now = ctx.clock();
      const d = engineDecide(policy.compiled, ctx.consent, request, now);
      if (mode === 'counted') count(appId, request, d, meta, now);
      else if (audited(d)) await ctx.auditBatcher.record(eventOf(appId, request, d, meta));
      return d;
    },
    async decideBatch(appId, requests, meta) {
      const policy = ctx.policies.require(appId);
      if (requests.length > MAX_DECISION_BATCH) {
        throw new PipaError('validation_failed', `a batch holds at most ${MAX_DECISION_BATCH} requests, not ${requests.length}`, [
          { path: '$.requests', message: `每批最多 ${MAX_DECISION_BATCH} 个请求 / at most ${MAX_DECISION_BATCH} requests per batch` },
        ]);
      }
      const now = ctx.clock();
      const out = engineBatch(policy.compiled, ctx.consent, requests, now);
      if (mode === 'counted') {
        for (let i = 0; i < out.length; i++) count(appId, requests[i] as DecisionRequest, out[i] as Decision, meta, now);
        return out;
      }
      const writes: Promise<number>[] = [];
      for (let i = 0; i < out.length; i++) {
        const d = out[i] as Decision;
        if (audited(d)) writes.push(ctx.auditBatcher.record(eventOf(appId, requests[i] as DecisionRequest, d, meta)));
      }
      if (writes.length > 0) await Promise.all(writes);
      return out;
    },
    async flushCounts() {
      await flush();
      if (lastError !== undefined) {
        const err = lastError;
        lastError = undefined;
        throw err;
      }
    },
  };
}
