/**
 * Lets the first of a run of identical log lines through and suppresses its repeats for a window.
 * kafkajs logs the same error many times a second while the broker is down, and this keeps that
 * from flooding the logs. The next line let through reports how many were suppressed before it.
 */
export class RepeatLimiter {
  private readonly windows = new Map<string, { startedAt: number; suppressed: number }>();

  constructor(
    private readonly windowMs: number,
    private readonly maxKeys = 1000,
    private readonly now: () => number = Date.now,
  ) {}

  /** Returns `null` to suppress the line, or the number of repeats suppressed since the last one let through. */
  admit(key: string): number | null {
    const now = this.now();
    const window = this.windows.get(key);
    if (window !== undefined && now - window.startedAt < this.windowMs) {
      window.suppressed++;
      return null;
    }
    if (window === undefined && this.windows.size >= this.maxKeys) {
      // The oldest key goes first; forgetting it only means its next line is let through.
      const oldest = this.windows.keys().next();
      if (oldest.done !== true) {
        this.windows.delete(oldest.value);
      }
    }
    this.windows.delete(key);
    this.windows.set(key, { startedAt: now, suppressed: 0 });
    return window?.suppressed ?? 0;
  }
}
