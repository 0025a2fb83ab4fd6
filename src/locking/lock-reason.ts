/**
 * Reasons a customer can be locked for, in canonical order. Every reason list that the
 * lock policy returns or stores follows this order and contains no duplicates.
 */
export const LOCK_REASONS = ['ADMIN', 'QUOTA_EXCEEDED', 'USER_LIMIT_EXCEEDED'] as const;

export type LockReason = (typeof LOCK_REASONS)[number];

const KNOWN_REASONS: ReadonlySet<string> = new Set(LOCK_REASONS);

export function isLockReason(value: string): value is LockReason {
  return KNOWN_REASONS.has(value);
}

/** Sorts reasons into canonical order and drops duplicates. */
export function sortLockReasons(reasons: Iterable<LockReason>): LockReason[] {
  const present = new Set(reasons);
  return LOCK_REASONS.filter((reason) => present.has(reason));
}

/**
 * Validates stored reason strings, such as the database column, and returns them in
 * canonical order without duplicates.
 *
 * @throws RangeError naming the first value that is not a known lock reason.
 */
export function parseLockReasons(values: readonly string[]): LockReason[] {
  const reasons: LockReason[] = [];
  for (const value of values) {
    if (!isLockReason(value)) {
      throw new RangeError(
        `Invalid lock reason ${JSON.stringify(value)}: expected one of ${LOCK_REASONS.join(', ')}.`,
      );
    }
    reasons.push(value);
  }
  return sortLockReasons(reasons);
}
