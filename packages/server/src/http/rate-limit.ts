/**
 * In-memory token-bucket rate limiter (per node). Keys are API key ids or client addresses.
 * Buckets refill continuously; idle buckets are swept so memory stays bounded.
 */
export interface RateLimiter {
  /** Take one token from `key`'s bucket of `perMinute`; returns seconds to wait when empty. */
  take(key: string, perMinute: number, now?: number): { ok: true } | { ok: false; retryAfter: number };
  size(): number;
}

export function createRateLimiter(opts: { maxKeys?: number } = {}): RateLimiter {
  const maxKeys = opts.maxKeys ?? 100_000;
  const buckets = new Map<string, { tokens: number; at: number }>();
  return {
    take(key, perMinute, now = Date.now()) {
      const rate = perMinute / 60_000;
      let b = buckets.get(key);
      if (!b) {
        if (buckets.size >= maxKeys) {
          // Drop the oldest entries (Map keeps insertion order).
          for (const k of buckets.keys()) {
            buckets.delete(k);
            if (buckets.size < maxKeys * 0.9) break;
          }
        }
        b = { tokens: perMinute, at: now };
        buckets.set(key, b);
      } else {
        b.tokens = Math.min(perMinute, b.tokens + (now - b.at) * rate);
        b.at = now;
      }
      if (b.tokens >= 1) {
        b.tokens -= 1;
        return { ok: true };
      }
      return { ok: false, retryAfter: Math.max(1, Math.ceil((1 - b.tokens) / rate / 1000)) };
    },
    size: () => buckets.size,
  };
}
