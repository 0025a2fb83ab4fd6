import fc from 'fast-check';

import { SlidingWindowRateLimiter } from './rate-limiter';

const MINUTE = 60_000;

/** Creates a limiter on a hand-driven clock, which `advance` moves forward by the given milliseconds. */
function limiterAt(limit: number, start = 1_000) {
  let now = start;
  const limiter = new SlidingWindowRateLimiter(limit, MINUTE, () => now);
  return {
    limiter,
    advance(ms: number): void {
      now += ms;
    },
  };
}

describe('SlidingWindowRateLimiter', () => {
  it('admits up to the limit', () => {
    const { limiter } = limiterAt(3);

    const allowed = [1, 2, 3].map(() => limiter.take('a').allowed);

    expect(allowed).toEqual([true, true, true]);
  });

  it('rejects the request after the limit', () => {
    const { limiter } = limiterAt(3);
    [1, 2, 3].forEach(() => limiter.take('a'));

    expect(limiter.take('a').allowed).toBe(false);
  });

  it('counts down the remaining requests', () => {
    const { limiter } = limiterAt(3);

    const remaining = [1, 2, 3].map(() => {
      const decision = limiter.take('a');
      return decision.allowed ? decision.remaining : -1;
    });

    expect(remaining).toEqual([2, 1, 0]);
  });

  it('keeps keys apart', () => {
    const { limiter } = limiterAt(1);
    limiter.take('a');

    expect(limiter.take('b').allowed).toBe(true);
  });

  it('retry-after counts to the oldest expiry', () => {
    const { limiter, advance } = limiterAt(2);
    limiter.take('a');
    advance(10_000);
    limiter.take('a');
    advance(5_000);

    // The first request leaves the window 60 s after it was made, 45 s from now.
    expect(limiter.take('a')).toEqual({ allowed: false, retryAfterMs: 45_000 });
  });

  it('admits again once the oldest expires', () => {
    const { limiter, advance } = limiterAt(2);
    limiter.take('a');
    advance(10_000);
    limiter.take('a');
    advance(MINUTE - 10_000);

    expect(limiter.take('a').allowed).toBe(true);
  });

  it('still rejects one millisecond early', () => {
    const { limiter, advance } = limiterAt(1);
    limiter.take('a');
    advance(MINUTE - 1);

    expect(limiter.take('a')).toEqual({ allowed: false, retryAfterMs: 1 });
  });

  it('slides rather than resetting', () => {
    const { limiter, advance } = limiterAt(2);
    limiter.take('a');
    advance(50_000);
    limiter.take('a');
    advance(20_000);

    // A fixed window starting at the first request would have reset by now. The sliding one has
    // room for one request only, because the second is still inside the last 60 s.
    const afterSlide = [limiter.take('a').allowed, limiter.take('a').allowed];

    expect(afterSlide).toEqual([true, false]);
  });

  it('does not record rejected requests', () => {
    const { limiter, advance } = limiterAt(1);
    limiter.take('a');
    for (let index = 0; index < 100; index++) {
      advance(500);
      limiter.take('a');
    }
    advance(MINUTE - 100 * 500);

    expect(limiter.take('a').allowed).toBe(true);
  });

  it.each([0, -1, 1.5, Number.NaN])('rejects limit %p', (limit) => {
    expect(() => new SlidingWindowRateLimiter(limit, MINUTE, () => 0)).toThrow(RangeError);
  });

  it('rejects a window of zero', () => {
    expect(() => new SlidingWindowRateLimiter(1, 0, () => 0)).toThrow(RangeError);
  });

  it('never admits more than limit per window', () => {
    fc.assert(
      fc.property(
        fc.integer({ min: 1, max: 5 }),
        fc.array(fc.integer({ min: 0, max: 30_000 }), { maxLength: 200 }),
        (limit, gaps) => {
          const { limiter, advance } = limiterAt(limit);
          const admitted: number[] = [];
          let now = 0;
          for (const gap of gaps) {
            advance(gap);
            now += gap;
            if (limiter.take('a').allowed) {
              admitted.push(now);
            }
          }
          // Every run of limit + 1 admitted requests must span a full window or more.
          return admitted.every((time, index) => index < limit || time - admitted[index - limit] >= MINUTE);
        },
      ),
    );
  });
});
