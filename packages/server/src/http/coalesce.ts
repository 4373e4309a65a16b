/**
 * Reply coalescing: the replies computed in the event-loop turn that read their requests leave
 * together at the end of that turn.
 *
 * Under load, one turn's poll phase hands the server every socket that has a request ready. A route
 * that answers from memory or from SQLite (which answers synchronously) computes its reply within
 * that same turn; written at once, each reply wakes the client that waits for it, one wake-up per
 * reply, and on a virtual machine a wake-up (an interrupt to the other core) can cost more than
 * the small reply itself. Held until the turn ends (`setImmediate`, the check phase right after the
 * poll phase), the turn's replies are written back to back, and a client waiting on several
 * connections wakes once for the burst. `npm run bench -- service` measures the masked read over
 * HTTP, where this matters most (docs/api.md, "Replies under load").
 *
 * A reply completed in a later turn (a group commit acknowledged in the check phase, a PostgreSQL
 * round trip) goes out at once: holding it would only delay the batch after it. The cost when idle
 * is one `setImmediate` per turn and per reply, microseconds.
 */
export interface ReplyCoalescer {
  /** A request has been read: the current turn is open until its check phase. */
  mark(): void;
  /** Send now, or at the end of the turn while one is open. */
  release<A, B>(send: (a: A, b: B) => void, a: A, b: B): void;
}

export function createReplyCoalescer(): ReplyCoalescer {
  let open = false;
  // Queued at the turn's first request, so it runs before any release of that turn.
  const close = () => {
    open = false;
  };
  return {
    mark() {
      if (open) return;
      open = true;
      setImmediate(close);
    },
    release(send, a, b) {
      if (open) setImmediate(send, a, b);
      else send(a, b);
    },
  };
}
