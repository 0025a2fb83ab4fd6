/**
 * Lock policy, which decides whether a customer is locked and which lock events a change
 * publishes. Other code applies its results instead of recomputing reasons. It is pure, so
 * callers load the state, apply one change and persist the returned state and transitions.
 */
import { type LockReason, sortLockReasons } from './lock-reason';

/** Largest value of a signed 64-bit integer (PostgreSQL `bigint`), 2^63 − 1. */
export const INT64_MAX = 2n ** 63n - 1n;
const INT64_MIN = -(2n ** 63n);

/** Limit value that means unlimited. */
export const UNLIMITED = -1n;

/**
 * Stored usage, limits and lock reasons of one customer. Storage is in bytes, users are
 * a count, and a limit of -1 means unlimited.
 */
export interface CustomerUsage {
  readonly quotaUsed: bigint;
  readonly quotaMax: bigint;
  readonly userUsed: bigint;
  readonly userMax: bigint;
  /** Reasons in canonical order (see `LOCK_REASONS`). */
  readonly lockReasons: readonly LockReason[];
}

export type UsageAndLimits = Omit<CustomerUsage, 'lockReasons'>;

export type UsageChange =
  /** Bytes added (positive) or released (negative). */
  | { readonly kind: 'storage'; readonly deltaBytes: bigint }
  /** New size of the customer's user set, which the caller computed. */
  | { readonly kind: 'userCount'; readonly userUsed: bigint }
  /** Administrator action. Any combination of fields may be set, and undefined leaves a field unchanged. */
  | {
      readonly kind: 'admin';
      readonly adminLock?: boolean;
      readonly quotaMax?: bigint;
      readonly userMax?: bigint;
    };

export type LockEvent = 'CustomerLocked' | 'CustomerUnlocked';

/** Addition or removal of one reason, with the reason sets on either side of it. */
export interface LockTransition {
  readonly reason: LockReason;
  readonly change: 'added' | 'removed';
  readonly reasonsBefore: readonly LockReason[];
  readonly reasonsAfter: readonly LockReason[];
  /** Event to publish for this transition, or null for a removal that leaves other reasons. */
  readonly publishes: LockEvent | null;
}

export type PolicyResult =
  | {
      readonly ok: true;
      readonly state: CustomerUsage;
      /** Additions first, then removals, each group in canonical order. Empty if no reason changed. */
      readonly transitions: readonly LockTransition[];
      /** Bytes or users cut off because usage would have gone below zero, 0n if none. */
      readonly clamped: bigint;
    }
  | { readonly ok: false; readonly reason: 'OUT_OF_RANGE'; readonly message: string };

type RangeFailure = Extract<PolicyResult, { ok: false }>;

export function isLocked(lockReasons: readonly LockReason[]): boolean {
  return lockReasons.length > 0;
}

/** Computes the reason set, in canonical order, that the given usage, limits and admin flag imply. */
export function deriveLockReasons(usage: UsageAndLimits, adminLocked: boolean): LockReason[] {
  const reasons: LockReason[] = [];
  if (adminLocked) {
    reasons.push('ADMIN');
  }
  if (isOverLimit(usage.quotaUsed, usage.quotaMax)) {
    reasons.push('QUOTA_EXCEEDED');
  }
  if (isOverLimit(usage.userUsed, usage.userMax)) {
    reasons.push('USER_LIMIT_EXCEEDED');
  }
  return reasons;
}

/**
 * Applies one change to a customer's state and returns the new state with the lock
 * transitions it causes. The input is never modified. A change whose usage or limit would
 * leave the signed 64-bit range returns OUT_OF_RANGE, and the caller keeps the old state.
 *
 * The new reason set is derived from the new usage and limits, not from the stored set, so a
 * stored automatic reason that disagrees with the usage is corrected by the next change.
 *
 * @throws RangeError if the given state itself is invalid (usage below zero, a limit below
 *   -1, or a value above 2^63 − 1), because that points to corrupt data and not a bad change.
 */
export function applyUsageChange(state: CustomerUsage, change: UsageChange): PolicyResult {
  assertValidState(state);

  const next = computeNextUsage(state, change);
  if ('ok' in next) {
    return next;
  }

  const adminLocked =
    change.kind === 'admin' && change.adminLock !== undefined
      ? change.adminLock
      : state.lockReasons.includes('ADMIN');
  const reasonsBefore = sortLockReasons(state.lockReasons);
  const reasonsAfter = deriveLockReasons(next.usage, adminLocked);

  return {
    ok: true,
    state: { ...next.usage, lockReasons: reasonsAfter },
    transitions: planTransitions(reasonsBefore, reasonsAfter),
    clamped: next.clamped,
  };
}

/**
 * Builds the state of a new customer: no usage, the given limits and an optional admin
 * lock. Creating a customer with `adminLock: true` yields one ADMIN addition that publishes
 * CustomerLocked. Returns OUT_OF_RANGE if a limit is invalid.
 */
export function createInitialUsage(settings: {
  quotaMax: bigint;
  userMax: bigint;
  adminLock?: boolean;
}): PolicyResult {
  const empty: CustomerUsage = {
    quotaUsed: 0n,
    quotaMax: UNLIMITED,
    userUsed: 0n,
    userMax: UNLIMITED,
    lockReasons: [],
  };
  return applyUsageChange(empty, {
    kind: 'admin',
    adminLock: settings.adminLock ?? false,
    quotaMax: settings.quotaMax,
    userMax: settings.userMax,
  });
}

function isOverLimit(used: bigint, max: bigint): boolean {
  return max >= 0n && used > max;
}

function outOfRange(message: string): RangeFailure {
  return { ok: false, reason: 'OUT_OF_RANGE', message };
}

function computeNextUsage(
  state: CustomerUsage,
  change: UsageChange,
): { usage: UsageAndLimits; clamped: bigint } | RangeFailure {
  const usage: UsageAndLimits = {
    quotaUsed: state.quotaUsed,
    quotaMax: state.quotaMax,
    userUsed: state.userUsed,
    userMax: state.userMax,
  };

  switch (change.kind) {
    case 'storage': {
      const { deltaBytes } = change;
      if (deltaBytes < INT64_MIN || deltaBytes > INT64_MAX) {
        return outOfRange(
          `Storage change rejected: deltaBytes ${deltaBytes} is not a signed 64-bit integer.`,
        );
      }
      const quotaUsed = state.quotaUsed + deltaBytes;
      if (quotaUsed > INT64_MAX) {
        return outOfRange(
          `Storage change rejected: quotaUsed ${state.quotaUsed} + deltaBytes ${deltaBytes} = ${quotaUsed} ` +
            `exceeds the signed 64-bit maximum ${INT64_MAX}. The state is unchanged.`,
        );
      }
      if (quotaUsed < 0n) {
        return { usage: { ...usage, quotaUsed: 0n }, clamped: -quotaUsed };
      }
      return { usage: { ...usage, quotaUsed }, clamped: 0n };
    }

    case 'userCount': {
      const { userUsed } = change;
      if (userUsed > INT64_MAX) {
        return outOfRange(
          `User count change rejected: userUsed ${userUsed} exceeds the signed 64-bit maximum ${INT64_MAX}. ` +
            'The state is unchanged.',
        );
      }
      // The caller sends a set size, so a negative count is its own bug. It is clamped like
      // a storage release so that usage never goes below zero.
      if (userUsed < 0n) {
        return { usage: { ...usage, userUsed: 0n }, clamped: -userUsed };
      }
      return { usage: { ...usage, userUsed }, clamped: 0n };
    }

    case 'admin': {
      for (const [field, value] of [
        ['quotaMax', change.quotaMax],
        ['userMax', change.userMax],
      ] as const) {
        if (value !== undefined && !isValidLimit(value)) {
          return outOfRange(
            `Admin change rejected: ${field} ${value} is out of range. ` +
              `Expected -1 (unlimited) or 0 to ${INT64_MAX}. The state is unchanged.`,
          );
        }
      }
      return {
        usage: {
          ...usage,
          quotaMax: change.quotaMax ?? state.quotaMax,
          userMax: change.userMax ?? state.userMax,
        },
        clamped: 0n,
      };
    }
  }
}

// NOTE: This checks only the signed 64-bit range. The customers table is stricter
// (quota_max is -1 or at least 1048576, user_max at most 2147483647), so callers must check those.
function isValidLimit(value: bigint): boolean {
  return value >= UNLIMITED && value <= INT64_MAX;
}

function isValidUsage(value: bigint): boolean {
  return value >= 0n && value <= INT64_MAX;
}

function assertValidState(state: CustomerUsage): void {
  const problems: string[] = [];
  if (!isValidUsage(state.quotaUsed)) {
    problems.push(`quotaUsed ${state.quotaUsed}`);
  }
  if (!isValidUsage(state.userUsed)) {
    problems.push(`userUsed ${state.userUsed}`);
  }
  if (!isValidLimit(state.quotaMax)) {
    problems.push(`quotaMax ${state.quotaMax}`);
  }
  if (!isValidLimit(state.userMax)) {
    problems.push(`userMax ${state.userMax}`);
  }
  if (problems.length > 0) {
    throw new RangeError(
      `Invalid customer state: ${problems.join(', ')} out of range. Usage must be 0 to ${INT64_MAX}, ` +
        `and limits -1 (unlimited) or 0 to ${INT64_MAX}.`,
    );
  }
}

/**
 * Splits the move from one reason set to another into single-reason steps. Additions come
 * before removals, so a customer that stays locked never passes through an empty set.
 */
function planTransitions(before: readonly LockReason[], after: readonly LockReason[]): LockTransition[] {
  const transitions: LockTransition[] = [];
  let current: readonly LockReason[] = before;

  for (const reason of after) {
    if (current.includes(reason)) {
      continue;
    }
    const next = sortLockReasons([...current, reason]);
    transitions.push({
      reason,
      change: 'added',
      reasonsBefore: [...current],
      reasonsAfter: next,
      publishes: 'CustomerLocked',
    });
    current = next;
  }

  for (const reason of before) {
    if (after.includes(reason)) {
      continue;
    }
    const next = current.filter((present) => present !== reason);
    transitions.push({
      reason,
      change: 'removed',
      reasonsBefore: [...current],
      reasonsAfter: next,
      publishes: next.length === 0 ? 'CustomerUnlocked' : null,
    });
    current = next;
  }

  return transitions;
}
