/** The outcome of one request against the limit. */
export type RateDecision = { allowed: true; remaining: number } | { allowed: false; retryAfterMs: number };

interface RequestLog {
  /** Times of the admitted requests, oldest first. Entries before `head` have left the window. */
  stamps: number[];
  head: number;
}

/**
 * A sliding-window limit: a key may make at most `limit` requests in any `windowMs` span. Rejected
 * requests are not recorded, so a client that keeps retrying gets in again once its oldest request
 * leaves the window. Memory per key is at most about twice `limit` timestamps.
 */
export class SlidingWindowRateLimiter {
  private readonly logs = new Map<string, RequestLog>();

  constructor(
    readonly limit: number,
    readonly windowMs: number,
    /** A clock in milliseconds that never goes backwards, injected so tests control time. */
    private readonly now: () => number,
  ) {
    if (!Number.isSafeInteger(limit) || limit < 1) {
      throw new RangeError(`limit must be a whole number of at least 1, got ${limit}`);
    }
    if (!(windowMs > 0)) {
      throw new RangeError(`windowMs must be above 0, got ${windowMs}`);
    }
  }

  take(key: string): RateDecision {
    const now = this.now();
    let log = this.logs.get(key);
    if (!log) {
      log = { stamps: [], head: 0 };
      this.logs.set(key, log);
    }
    const cutoff = now - this.windowMs;
    while (log.head < log.stamps.length && log.stamps[log.head] <= cutoff) {
      log.head++;
    }
    // Drop expired entries once they are the larger part, so the array stays near `limit` long.
    if (log.head > 0 && log.head * 2 >= log.stamps.length) {
      log.stamps = log.stamps.slice(log.head);
      log.head = 0;
    }
    const inWindow = log.stamps.length - log.head;
    if (inWindow >= this.limit) {
      return { allowed: false, retryAfterMs: log.stamps[log.head] + this.windowMs - now };
    }
    log.stamps.push(now);
    return { allowed: true, remaining: this.limit - inWindow - 1 };
  }
}
