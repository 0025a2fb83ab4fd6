import fc from 'fast-check';

import {
  applyUsageChange,
  createInitialUsage,
  type CustomerUsage,
  deriveLockReasons,
  INT64_MAX,
  isLocked,
  type LockTransition,
  type PolicyResult,
  UNLIMITED,
  type UsageChange,
} from './lock-policy';
import { LOCK_REASONS, type LockReason, parseLockReasons, sortLockReasons } from './lock-reason';

const INT64_MIN = -(2n ** 63n);
// 2^53 + 1 is the smallest integer that a JavaScript number cannot represent exactly.
const BEYOND_SAFE_INTEGER = 9007199254740993n;

function customer(overrides: Partial<CustomerUsage> = {}): CustomerUsage {
  return {
    quotaUsed: 0n,
    quotaMax: 100n,
    userUsed: 0n,
    userMax: 10n,
    lockReasons: [],
    ...overrides,
  };
}

type Success = Extract<PolicyResult, { ok: true }>;

function applyOk(state: CustomerUsage, change: UsageChange): Success {
  const result = applyUsageChange(state, change);
  if (!result.ok) {
    throw new Error(`Expected the change to succeed, but it was rejected: ${result.message}`);
  }
  return result;
}

function expectRejected(result: PolicyResult): string {
  if (result.ok) {
    throw new Error('Expected the change to be rejected, but it succeeded.');
  }
  expect(result.reason).toBe('OUT_OF_RANGE');
  return result.message;
}

function summarize(transitions: readonly LockTransition[]): string[] {
  return transitions.map((t) => `${t.change} ${t.reason} -> ${t.publishes ?? 'none'}`);
}

describe('lock reasons', () => {
  it('sort gives canonical order', () => {
    expect(sortLockReasons(['USER_LIMIT_EXCEEDED', 'ADMIN', 'QUOTA_EXCEEDED'])).toEqual([...LOCK_REASONS]);
  });

  it('sort drops duplicates', () => {
    expect(sortLockReasons(['QUOTA_EXCEEDED', 'ADMIN', 'QUOTA_EXCEEDED'])).toEqual([
      'ADMIN',
      'QUOTA_EXCEEDED',
    ]);
  });

  it('parse accepts stored values', () => {
    expect(parseLockReasons(['USER_LIMIT_EXCEEDED', 'ADMIN'])).toEqual(['ADMIN', 'USER_LIMIT_EXCEEDED']);
    expect(parseLockReasons([])).toEqual([]);
  });

  it('parse rejects unknown value', () => {
    expect(() => parseLockReasons(['ADMIN', 'admin'])).toThrow(RangeError);
    expect(() => parseLockReasons(['ADMIN', 'admin'])).toThrow(/"admin"/);
  });
});

describe('deriveLockReasons', () => {
  it('exactly at limits is unlocked', () => {
    expect(deriveLockReasons(customer({ quotaUsed: 100n, userUsed: 10n }), false)).toEqual([]);
  });

  it('one over each limit', () => {
    expect(deriveLockReasons(customer({ quotaUsed: 101n }), false)).toEqual(['QUOTA_EXCEEDED']);
    expect(deriveLockReasons(customer({ userUsed: 11n }), false)).toEqual(['USER_LIMIT_EXCEEDED']);
  });

  it('unlimited ignores maximum usage', () => {
    const usage = customer({
      quotaUsed: INT64_MAX,
      quotaMax: UNLIMITED,
      userUsed: INT64_MAX,
      userMax: UNLIMITED,
    });
    expect(deriveLockReasons(usage, false)).toEqual([]);
  });

  it('all reasons in canonical order', () => {
    expect(deriveLockReasons(customer({ quotaUsed: 101n, userUsed: 11n }), true)).toEqual([...LOCK_REASONS]);
  });

  it('compares beyond safe integers exactly', () => {
    const quotaMax = BEYOND_SAFE_INTEGER - 1n;
    expect(deriveLockReasons(customer({ quotaUsed: BEYOND_SAFE_INTEGER, quotaMax }), false)).toEqual([
      'QUOTA_EXCEEDED',
    ]);
    expect(deriveLockReasons(customer({ quotaUsed: quotaMax, quotaMax }), false)).toEqual([]);
  });
});

describe('isLocked', () => {
  it('follows reason set emptiness', () => {
    expect(isLocked([])).toBe(false);
    expect(isLocked(['QUOTA_EXCEEDED'])).toBe(true);
  });
});

describe('storage change', () => {
  it('exactly at limit stays unlocked', () => {
    const result = applyOk(customer({ quotaUsed: 60n }), { kind: 'storage', deltaBytes: 40n });

    expect(result.state.quotaUsed).toBe(100n);
    expect(result.state.lockReasons).toEqual([]);
    expect(result.transitions).toEqual([]);
    expect(result.clamped).toBe(0n);
  });

  it('one byte over locks', () => {
    const result = applyOk(customer({ quotaUsed: 100n }), { kind: 'storage', deltaBytes: 1n });

    expect(result.state.quotaUsed).toBe(101n);
    expect(result.state.lockReasons).toEqual(['QUOTA_EXCEEDED']);
    expect(result.transitions).toEqual([
      {
        reason: 'QUOTA_EXCEEDED',
        change: 'added',
        reasonsBefore: [],
        reasonsAfter: ['QUOTA_EXCEEDED'],
        publishes: 'CustomerLocked',
      },
    ]);
  });

  it('unlimited quota allows int64 maximum', () => {
    const result = applyOk(customer({ quotaUsed: 1n, quotaMax: UNLIMITED }), {
      kind: 'storage',
      deltaBytes: INT64_MAX - 1n,
    });

    expect(result.state.quotaUsed).toBe(INT64_MAX);
    expect(result.state.lockReasons).toEqual([]);
    expect(result.transitions).toEqual([]);
  });

  it('release to exactly limit unlocks', () => {
    const state = customer({ quotaUsed: 150n, lockReasons: ['QUOTA_EXCEEDED'] });
    const result = applyOk(state, { kind: 'storage', deltaBytes: -50n });

    expect(result.state.quotaUsed).toBe(100n);
    expect(result.state.lockReasons).toEqual([]);
    expect(result.transitions).toEqual([
      {
        reason: 'QUOTA_EXCEEDED',
        change: 'removed',
        reasonsBefore: ['QUOTA_EXCEEDED'],
        reasonsAfter: [],
        publishes: 'CustomerUnlocked',
      },
    ]);
  });

  it('release below zero clamps', () => {
    const result = applyOk(customer({ quotaUsed: 30n }), { kind: 'storage', deltaBytes: -45n });

    expect(result.state.quotaUsed).toBe(0n);
    expect(result.clamped).toBe(15n);
    expect(result.transitions).toEqual([]);
  });

  it('minimum delta clamps exactly', () => {
    const result = applyOk(customer({ quotaUsed: BEYOND_SAFE_INTEGER }), {
      kind: 'storage',
      deltaBytes: INT64_MIN,
    });

    expect(result.state.quotaUsed).toBe(0n);
    expect(result.clamped).toBe(2n ** 63n - BEYOND_SAFE_INTEGER);
  });

  it('release while over quota unlocks', () => {
    const state = customer({ quotaUsed: 500n, lockReasons: ['QUOTA_EXCEEDED'] });
    const result = applyOk(state, { kind: 'storage', deltaBytes: -600n });

    expect(result.state.quotaUsed).toBe(0n);
    expect(result.clamped).toBe(100n);
    expect(summarize(result.transitions)).toEqual(['removed QUOTA_EXCEEDED -> CustomerUnlocked']);
  });

  it('reaching int64 maximum is allowed', () => {
    const result = applyOk(customer({ quotaUsed: INT64_MAX - 5n, quotaMax: INT64_MAX }), {
      kind: 'storage',
      deltaBytes: 5n,
    });

    expect(result.state.quotaUsed).toBe(INT64_MAX);
    expect(result.state.lockReasons).toEqual([]);
  });

  it('overflow rejected, state unchanged', () => {
    const state = Object.freeze(customer({ quotaUsed: INT64_MAX - 5n, quotaMax: UNLIMITED }));
    const snapshot = structuredClone(state);

    const message = expectRejected(applyUsageChange(state, { kind: 'storage', deltaBytes: 6n }));

    expect(message).toContain('9223372036854775807');
    expect(state).toEqual(snapshot);
  });

  it('overflow from maximum delta', () => {
    const result = applyUsageChange(customer({ quotaUsed: 1n }), { kind: 'storage', deltaBytes: INT64_MAX });

    expect(result).toMatchObject({ ok: false, reason: 'OUT_OF_RANGE' });
  });

  it('delta outside int64 rejected', () => {
    expect(applyUsageChange(customer(), { kind: 'storage', deltaBytes: INT64_MAX + 1n })).toMatchObject({
      ok: false,
      reason: 'OUT_OF_RANGE',
    });
    expect(applyUsageChange(customer(), { kind: 'storage', deltaBytes: INT64_MIN - 1n })).toMatchObject({
      ok: false,
      reason: 'OUT_OF_RANGE',
    });
  });

  it('precision beyond safe integers', () => {
    const state = customer({ quotaUsed: BEYOND_SAFE_INTEGER - 2n, quotaMax: BEYOND_SAFE_INTEGER - 1n });

    const atLimit = applyOk(state, { kind: 'storage', deltaBytes: 1n });
    expect(atLimit.state.quotaUsed).toBe(BEYOND_SAFE_INTEGER - 1n);
    expect(atLimit.state.lockReasons).toEqual([]);

    const overLimit = applyOk(atLimit.state, { kind: 'storage', deltaBytes: 1n });
    expect(overLimit.state.quotaUsed).toBe(BEYOND_SAFE_INTEGER);
    expect(overLimit.state.lockReasons).toEqual(['QUOTA_EXCEEDED']);
  });

  it('zero delta changes nothing', () => {
    const state = customer({ quotaUsed: 200n, lockReasons: ['QUOTA_EXCEEDED'] });
    const result = applyOk(state, { kind: 'storage', deltaBytes: 0n });

    expect(result.state).toEqual(state);
    expect(result.transitions).toEqual([]);
  });

  it('growth while locked adds nothing', () => {
    const state = customer({ quotaUsed: 200n, lockReasons: ['QUOTA_EXCEEDED'] });
    const result = applyOk(state, { kind: 'storage', deltaBytes: 50n });

    expect(result.state.lockReasons).toEqual(['QUOTA_EXCEEDED']);
    expect(result.transitions).toEqual([]);
  });
});

describe('user count change', () => {
  it('userMax zero, one user locks', () => {
    const result = applyOk(customer({ userMax: 0n }), { kind: 'userCount', userUsed: 1n });

    expect(result.state.userUsed).toBe(1n);
    expect(result.state.lockReasons).toEqual(['USER_LIMIT_EXCEEDED']);
    expect(summarize(result.transitions)).toEqual(['added USER_LIMIT_EXCEEDED -> CustomerLocked']);
  });

  it('exactly at limit stays unlocked', () => {
    const result = applyOk(customer({ userMax: 10n }), { kind: 'userCount', userUsed: 10n });

    expect(result.state.lockReasons).toEqual([]);
    expect(result.transitions).toEqual([]);
  });

  it('drop to limit unlocks', () => {
    const state = customer({ userUsed: 11n, userMax: 10n, lockReasons: ['USER_LIMIT_EXCEEDED'] });
    const result = applyOk(state, { kind: 'userCount', userUsed: 10n });

    expect(result.state.lockReasons).toEqual([]);
    expect(summarize(result.transitions)).toEqual(['removed USER_LIMIT_EXCEEDED -> CustomerUnlocked']);
  });

  it('second reason publishes CustomerLocked', () => {
    const state = customer({ quotaUsed: 101n, lockReasons: ['QUOTA_EXCEEDED'] });
    const result = applyOk(state, { kind: 'userCount', userUsed: 11n });

    expect(result.state.lockReasons).toEqual(['QUOTA_EXCEEDED', 'USER_LIMIT_EXCEEDED']);
    expect(result.transitions).toEqual([
      {
        reason: 'USER_LIMIT_EXCEEDED',
        change: 'added',
        reasonsBefore: ['QUOTA_EXCEEDED'],
        reasonsAfter: ['QUOTA_EXCEEDED', 'USER_LIMIT_EXCEEDED'],
        publishes: 'CustomerLocked',
      },
    ]);
  });

  it('negative count clamps to zero', () => {
    const result = applyOk(customer({ userUsed: 3n }), { kind: 'userCount', userUsed: -2n });

    expect(result.state.userUsed).toBe(0n);
    expect(result.clamped).toBe(2n);
  });

  it('count above int64 rejected', () => {
    const result = applyUsageChange(customer(), { kind: 'userCount', userUsed: INT64_MAX + 1n });

    expect(result).toMatchObject({ ok: false, reason: 'OUT_OF_RANGE' });
  });

  it('count at int64 maximum allowed', () => {
    const result = applyOk(customer({ userMax: UNLIMITED }), { kind: 'userCount', userUsed: INT64_MAX });

    expect(result.state.userUsed).toBe(INT64_MAX);
    expect(result.state.lockReasons).toEqual([]);
  });
});

describe('admin change', () => {
  it('lock while over quota', () => {
    const state = customer({ quotaUsed: 101n, lockReasons: ['QUOTA_EXCEEDED'] });
    const result = applyOk(state, { kind: 'admin', adminLock: true });

    expect(result.state.lockReasons).toEqual(['ADMIN', 'QUOTA_EXCEEDED']);
    expect(result.transitions).toEqual([
      {
        reason: 'ADMIN',
        change: 'added',
        reasonsBefore: ['QUOTA_EXCEEDED'],
        reasonsAfter: ['ADMIN', 'QUOTA_EXCEEDED'],
        publishes: 'CustomerLocked',
      },
    ]);
  });

  it('unlock while over quota', () => {
    const state = customer({ quotaUsed: 101n, lockReasons: ['ADMIN', 'QUOTA_EXCEEDED'] });
    const result = applyOk(state, { kind: 'admin', adminLock: false });

    expect(result.state.lockReasons).toEqual(['QUOTA_EXCEEDED']);
    expect(isLocked(result.state.lockReasons)).toBe(true);
    expect(result.transitions).toEqual([
      {
        reason: 'ADMIN',
        change: 'removed',
        reasonsBefore: ['ADMIN', 'QUOTA_EXCEEDED'],
        reasonsAfter: ['QUOTA_EXCEEDED'],
        publishes: null,
      },
    ]);
  });

  it('unlock of last reason', () => {
    const result = applyOk(customer({ lockReasons: ['ADMIN'] }), { kind: 'admin', adminLock: false });

    expect(result.state.lockReasons).toEqual([]);
    expect(isLocked(result.state.lockReasons)).toBe(false);
    expect(result.transitions).toEqual([
      {
        reason: 'ADMIN',
        change: 'removed',
        reasonsBefore: ['ADMIN'],
        reasonsAfter: [],
        publishes: 'CustomerUnlocked',
      },
    ]);
  });

  it('lock while already locked', () => {
    const result = applyOk(customer({ lockReasons: ['ADMIN'] }), { kind: 'admin', adminLock: true });

    expect(result.state.lockReasons).toEqual(['ADMIN']);
    expect(result.transitions).toEqual([]);
  });

  it('unlock while not locked', () => {
    const result = applyOk(customer(), { kind: 'admin', adminLock: false });

    expect(result.transitions).toEqual([]);
  });

  it('unlock keeps automatic reasons', () => {
    const state = customer({
      quotaUsed: 101n,
      userUsed: 11n,
      lockReasons: ['ADMIN', 'QUOTA_EXCEEDED', 'USER_LIMIT_EXCEEDED'],
    });
    const result = applyOk(state, { kind: 'admin', adminLock: false });

    expect(result.state.lockReasons).toEqual(['QUOTA_EXCEEDED', 'USER_LIMIT_EXCEEDED']);
    expect(summarize(result.transitions)).toEqual(['removed ADMIN -> none']);
  });

  it('limits set to current values', () => {
    const state = customer({
      quotaUsed: 101n,
      quotaMax: 100n,
      userMax: 10n,
      lockReasons: ['QUOTA_EXCEEDED'],
    });
    const result = applyOk(state, { kind: 'admin', quotaMax: 100n, userMax: 10n });

    expect(result.state).toEqual(state);
    expect(result.transitions).toEqual([]);
  });

  it('empty admin change does nothing', () => {
    const state = customer({ lockReasons: ['ADMIN'] });
    const result = applyOk(state, { kind: 'admin' });

    expect(result.state).toEqual(state);
    expect(result.transitions).toEqual([]);
  });

  it('raising limit removes reason', () => {
    const state = customer({ quotaUsed: 150n, lockReasons: ['QUOTA_EXCEEDED'] });
    const result = applyOk(state, { kind: 'admin', quotaMax: 150n });

    expect(result.state.quotaMax).toBe(150n);
    expect(result.state.lockReasons).toEqual([]);
    expect(summarize(result.transitions)).toEqual(['removed QUOTA_EXCEEDED -> CustomerUnlocked']);
  });

  it('unlimited limit removes reason', () => {
    const state = customer({ userUsed: 11n, lockReasons: ['ADMIN', 'USER_LIMIT_EXCEEDED'] });
    const result = applyOk(state, { kind: 'admin', userMax: UNLIMITED });

    expect(result.state.lockReasons).toEqual(['ADMIN']);
    expect(summarize(result.transitions)).toEqual(['removed USER_LIMIT_EXCEEDED -> none']);
  });

  it('lowering limit adds reason', () => {
    const state = customer({ quotaUsed: 50n });
    const result = applyOk(state, { kind: 'admin', quotaMax: 49n });

    expect(result.state.lockReasons).toEqual(['QUOTA_EXCEEDED']);
    expect(summarize(result.transitions)).toEqual(['added QUOTA_EXCEEDED -> CustomerLocked']);
  });

  it('lock plus raised limit', () => {
    // The addition comes first, so the customer is never shown as unlocked in between.
    const state = customer({ quotaUsed: 150n, lockReasons: ['QUOTA_EXCEEDED'] });
    const result = applyOk(state, { kind: 'admin', adminLock: true, quotaMax: 200n });

    expect(result.state.lockReasons).toEqual(['ADMIN']);
    expect(result.transitions).toEqual([
      {
        reason: 'ADMIN',
        change: 'added',
        reasonsBefore: ['QUOTA_EXCEEDED'],
        reasonsAfter: ['ADMIN', 'QUOTA_EXCEEDED'],
        publishes: 'CustomerLocked',
      },
      {
        reason: 'QUOTA_EXCEEDED',
        change: 'removed',
        reasonsBefore: ['ADMIN', 'QUOTA_EXCEEDED'],
        reasonsAfter: ['ADMIN'],
        publishes: null,
      },
    ]);
  });

  it('unlock plus lowered limit', () => {
    const state = customer({ userUsed: 5n, lockReasons: ['ADMIN'] });
    const result = applyOk(state, { kind: 'admin', adminLock: false, userMax: 4n });

    expect(result.state.lockReasons).toEqual(['USER_LIMIT_EXCEEDED']);
    expect(result.transitions).toEqual([
      {
        reason: 'USER_LIMIT_EXCEEDED',
        change: 'added',
        reasonsBefore: ['ADMIN'],
        reasonsAfter: ['ADMIN', 'USER_LIMIT_EXCEEDED'],
        publishes: 'CustomerLocked',
      },
      {
        reason: 'ADMIN',
        change: 'removed',
        reasonsBefore: ['ADMIN', 'USER_LIMIT_EXCEEDED'],
        reasonsAfter: ['USER_LIMIT_EXCEEDED'],
        publishes: null,
      },
    ]);
  });

  it('three additions in canonical order', () => {
    const state = customer({ quotaUsed: 50n, userUsed: 5n });
    const result = applyOk(state, { kind: 'admin', userMax: 4n, adminLock: true, quotaMax: 49n });

    expect(result.state.lockReasons).toEqual(['ADMIN', 'QUOTA_EXCEEDED', 'USER_LIMIT_EXCEEDED']);
    expect(summarize(result.transitions)).toEqual([
      'added ADMIN -> CustomerLocked',
      'added QUOTA_EXCEEDED -> CustomerLocked',
      'added USER_LIMIT_EXCEEDED -> CustomerLocked',
    ]);
    expect(result.transitions.map((t) => t.reasonsAfter)).toEqual([
      ['ADMIN'],
      ['ADMIN', 'QUOTA_EXCEEDED'],
      ['ADMIN', 'QUOTA_EXCEEDED', 'USER_LIMIT_EXCEEDED'],
    ]);
  });

  it('three removals in canonical order', () => {
    const state = customer({
      quotaUsed: 101n,
      userUsed: 11n,
      lockReasons: ['ADMIN', 'QUOTA_EXCEEDED', 'USER_LIMIT_EXCEEDED'],
    });
    const result = applyOk(state, { kind: 'admin', adminLock: false, quotaMax: UNLIMITED, userMax: 11n });

    expect(result.state.lockReasons).toEqual([]);
    expect(summarize(result.transitions)).toEqual([
      'removed ADMIN -> none',
      'removed QUOTA_EXCEEDED -> none',
      'removed USER_LIMIT_EXCEEDED -> CustomerUnlocked',
    ]);
    expect(result.transitions.map((t) => t.reasonsAfter)).toEqual([
      ['QUOTA_EXCEEDED', 'USER_LIMIT_EXCEEDED'],
      ['USER_LIMIT_EXCEEDED'],
      [],
    ]);
  });

  it('additions precede removals, chained', () => {
    const state = customer({
      quotaUsed: 101n,
      userUsed: 11n,
      lockReasons: ['QUOTA_EXCEEDED', 'USER_LIMIT_EXCEEDED'],
    });
    const result = applyOk(state, { kind: 'admin', adminLock: true, quotaMax: 101n, userMax: 11n });

    expect(summarize(result.transitions)).toEqual([
      'added ADMIN -> CustomerLocked',
      'removed QUOTA_EXCEEDED -> none',
      'removed USER_LIMIT_EXCEEDED -> none',
    ]);
    expect(result.transitions[0].reasonsBefore).toEqual(state.lockReasons);
    for (let i = 1; i < result.transitions.length; i++) {
      expect(result.transitions[i].reasonsBefore).toEqual(result.transitions[i - 1].reasonsAfter);
    }
    expect(result.transitions.at(-1)?.reasonsAfter).toEqual(result.state.lockReasons);
    expect(result.state.lockReasons).toEqual(['ADMIN']);
  });

  it('invalid limits rejected', () => {
    const state = Object.freeze(customer());
    for (const change of [
      { kind: 'admin', quotaMax: -2n },
      { kind: 'admin', userMax: INT64_MIN },
      { kind: 'admin', adminLock: true, quotaMax: INT64_MAX + 1n },
    ] as const) {
      const result = applyUsageChange(state, change);
      expect(result).toMatchObject({ ok: false, reason: 'OUT_OF_RANGE' });
    }
  });

  it('int64 maximum limit accepted', () => {
    const result = applyOk(customer({ quotaUsed: INT64_MAX }), { kind: 'admin', quotaMax: INT64_MAX });

    expect(result.state.quotaMax).toBe(INT64_MAX);
    expect(result.state.lockReasons).toEqual([]);
  });
});

describe('applyUsageChange input handling', () => {
  it('invalid stored state throws', () => {
    expect(() => applyUsageChange(customer({ quotaUsed: -1n }), { kind: 'storage', deltaBytes: 0n })).toThrow(
      RangeError,
    );
    expect(() => applyUsageChange(customer({ userMax: -2n }), { kind: 'storage', deltaBytes: 0n })).toThrow(
      /userMax -2/,
    );
  });

  it('unsorted stored reasons normalized', () => {
    const state = customer({
      quotaUsed: 101n,
      lockReasons: ['QUOTA_EXCEEDED', 'ADMIN', 'QUOTA_EXCEEDED'],
    });
    const result = applyOk(state, { kind: 'storage', deltaBytes: 0n });

    expect(result.state.lockReasons).toEqual(['ADMIN', 'QUOTA_EXCEEDED']);
    expect(result.transitions).toEqual([]);
  });

  it('stale automatic reason corrected', () => {
    const state = customer({ quotaUsed: 10n, lockReasons: ['QUOTA_EXCEEDED'] });
    const result = applyOk(state, { kind: 'storage', deltaBytes: 0n });

    expect(result.state.lockReasons).toEqual([]);
    expect(summarize(result.transitions)).toEqual(['removed QUOTA_EXCEEDED -> CustomerUnlocked']);
  });
});

describe('createInitialUsage', () => {
  it('new customer starts unlocked', () => {
    const result = createInitialUsage({ quotaMax: 1000n, userMax: 0n });

    expect(result).toEqual({
      ok: true,
      state: { quotaUsed: 0n, quotaMax: 1000n, userUsed: 0n, userMax: 0n, lockReasons: [] },
      transitions: [],
      clamped: 0n,
    });
  });

  it('admin lock publishes CustomerLocked', () => {
    const result = createInitialUsage({ quotaMax: UNLIMITED, userMax: UNLIMITED, adminLock: true });
    if (!result.ok) {
      throw new Error(`Expected the customer to be created, but it was rejected: ${result.message}`);
    }

    expect(result.state.lockReasons).toEqual(['ADMIN']);
    expect(result.transitions).toEqual([
      {
        reason: 'ADMIN',
        change: 'added',
        reasonsBefore: [],
        reasonsAfter: ['ADMIN'],
        publishes: 'CustomerLocked',
      },
    ]);
  });

  it('invalid limit rejected', () => {
    expect(createInitialUsage({ quotaMax: -5n, userMax: 1n })).toMatchObject({
      ok: false,
      reason: 'OUT_OF_RANGE',
    });
  });
});

// Property tests compare the policy with a deliberately naive model that keeps the admin
// flag separately and recomputes the reason set from scratch after every change.

interface ModelState {
  quotaUsed: bigint;
  quotaMax: bigint;
  userUsed: bigint;
  userMax: bigint;
  adminLocked: boolean;
}

function modelReasons(model: ModelState): LockReason[] {
  const isActive: Record<LockReason, boolean> = {
    ADMIN: model.adminLocked,
    QUOTA_EXCEEDED: model.quotaMax !== UNLIMITED && model.quotaUsed > model.quotaMax,
    USER_LIMIT_EXCEEDED: model.userMax !== UNLIMITED && model.userUsed > model.userMax,
  };
  return LOCK_REASONS.filter((reason) => isActive[reason]);
}

/** Returns the model after the change, or null when the change must be rejected. */
function modelStep(model: ModelState, change: UsageChange): ModelState | null {
  const fitsLimit = (value: bigint | undefined): boolean =>
    value === undefined || value === UNLIMITED || (value >= 0n && value <= INT64_MAX);

  switch (change.kind) {
    case 'storage': {
      const total = model.quotaUsed + change.deltaBytes;
      if (total > INT64_MAX) {
        return null;
      }
      return { ...model, quotaUsed: total < 0n ? 0n : total };
    }
    case 'userCount': {
      if (change.userUsed > INT64_MAX) {
        return null;
      }
      return { ...model, userUsed: change.userUsed < 0n ? 0n : change.userUsed };
    }
    case 'admin': {
      if (!fitsLimit(change.quotaMax) || !fitsLimit(change.userMax)) {
        return null;
      }
      return {
        quotaUsed: model.quotaUsed,
        userUsed: model.userUsed,
        quotaMax: change.quotaMax === undefined ? model.quotaMax : change.quotaMax,
        userMax: change.userMax === undefined ? model.userMax : change.userMax,
        adminLocked: change.adminLock === undefined ? model.adminLocked : change.adminLock,
      };
    }
  }
}

const smallUsage = fc.bigInt({ min: 0n, max: 30n });
const usageValue = fc.oneof(
  smallUsage,
  fc.bigInt({ min: INT64_MAX - 30n, max: INT64_MAX }),
  fc.bigInt({ min: 0n, max: INT64_MAX }),
);
const validLimit = fc.oneof(
  fc.constant(UNLIMITED),
  fc.bigInt({ min: 0n, max: 30n }),
  fc.bigInt({ min: INT64_MAX - 30n, max: INT64_MAX }),
);
// Invalid values are rare so that most sequences run long enough to reach interesting states.
const limitValue = fc.oneof(
  { arbitrary: validLimit, weight: 20 },
  { arbitrary: fc.constantFrom(-2n, INT64_MIN, INT64_MAX + 1n), weight: 1 },
);
const deltaValue = fc.oneof(
  { arbitrary: fc.bigInt({ min: -30n, max: 30n }), weight: 6 },
  { arbitrary: fc.bigInt({ min: INT64_MIN, max: INT64_MAX }), weight: 1 },
  { arbitrary: fc.constantFrom(INT64_MIN, INT64_MAX, BEYOND_SAFE_INTEGER, -BEYOND_SAFE_INTEGER), weight: 1 },
);
const optional = <T>(arbitrary: fc.Arbitrary<T>) => fc.option(arbitrary, { nil: undefined });

const changeArbitrary: fc.Arbitrary<UsageChange> = fc.oneof(
  fc.record({ kind: fc.constant('storage' as const), deltaBytes: deltaValue }),
  fc.record({
    kind: fc.constant('userCount' as const),
    userUsed: fc.oneof(
      { arbitrary: usageValue, weight: 20 },
      { arbitrary: fc.constantFrom(-1n, INT64_MAX + 1n), weight: 1 },
    ),
  }),
  fc.record({
    kind: fc.constant('admin' as const),
    adminLock: optional(fc.boolean()),
    quotaMax: optional(limitValue),
    userMax: optional(limitValue),
  }),
);

const initialModelArbitrary: fc.Arbitrary<ModelState> = fc.record({
  quotaUsed: fc.oneof(smallUsage, usageValue),
  quotaMax: validLimit,
  userUsed: fc.oneof(smallUsage, usageValue),
  userMax: validLimit,
  adminLocked: fc.boolean(),
});

interface Step {
  before: CustomerUsage;
  change: UsageChange;
  result: PolicyResult;
  model: ModelState;
  modelRejected: boolean;
}

/** Runs the changes through the policy and the model side by side, and records every step. */
function runSequence(
  initial: ModelState,
  changes: readonly UsageChange[],
): { first: CustomerUsage; steps: Step[] } {
  const first: CustomerUsage = {
    quotaUsed: initial.quotaUsed,
    quotaMax: initial.quotaMax,
    userUsed: initial.userUsed,
    userMax: initial.userMax,
    lockReasons: modelReasons(initial),
  };
  const steps: Step[] = [];
  let state = first;
  let model = initial;

  for (const change of changes) {
    const result = applyUsageChange(state, change);
    const nextModel = modelStep(model, change);
    steps.push({
      before: state,
      change,
      result,
      model: nextModel ?? model,
      modelRejected: nextModel === null,
    });
    if (result.ok) {
      state = result.state;
    }
    model = nextModel ?? model;
  }
  return { first, steps };
}

const sequenceArbitrary = fc.tuple(initialModelArbitrary, fc.array(changeArbitrary, { maxLength: 30 }));
const PROPERTY_RUNS = { numRuns: 1000 };

describe('lock policy properties', () => {
  it('reason set matches model', () => {
    fc.assert(
      fc.property(sequenceArbitrary, ([initial, changes]) => {
        for (const step of runSequence(initial, changes).steps) {
          expect(step.result.ok).toBe(!step.modelRejected);
          if (step.result.ok) {
            expect(step.result.state.lockReasons).toEqual(modelReasons(step.model));
            expect(step.result.state.quotaUsed).toBe(step.model.quotaUsed);
            expect(step.result.state.userUsed).toBe(step.model.userUsed);
            expect(step.result.state.quotaMax).toBe(step.model.quotaMax);
            expect(step.result.state.userMax).toBe(step.model.userMax);
          }
        }
      }),
      PROPERTY_RUNS,
    );
  });

  it('isLocked matches model', () => {
    fc.assert(
      fc.property(sequenceArbitrary, ([initial, changes]) => {
        for (const step of runSequence(initial, changes).steps) {
          if (step.result.ok) {
            const model = step.model;
            const modelLocked =
              model.adminLocked ||
              (model.quotaMax !== UNLIMITED && model.quotaUsed > model.quotaMax) ||
              (model.userMax !== UNLIMITED && model.userUsed > model.userMax);
            expect(isLocked(step.result.state.lockReasons)).toBe(modelLocked);
          }
        }
      }),
      PROPERTY_RUNS,
    );
  });

  it('published events alternate consistently', () => {
    fc.assert(
      fc.property(sequenceArbitrary, ([initial, changes]) => {
        const { first, steps } = runSequence(initial, changes);
        let publishedLocked = isLocked(first.lockReasons);
        let additions = 0;
        let lockedEvents = 0;

        for (const step of steps) {
          if (!step.result.ok) {
            continue;
          }
          const { transitions } = step.result;
          transitions.forEach((transition, index) => {
            const isLast = index === transitions.length - 1;
            if (transition.change === 'added') {
              additions++;
            }
            switch (transition.publishes) {
              case 'CustomerLocked':
                expect(transition.change).toBe('added');
                lockedEvents++;
                publishedLocked = true;
                break;
              case 'CustomerUnlocked':
                expect(publishedLocked).toBe(true);
                expect(transition.change).toBe('removed');
                expect(transition.reasonsAfter).toEqual([]);
                expect(isLast).toBe(true);
                publishedLocked = false;
                break;
              case null:
                expect(transition.change).toBe('removed');
                expect(transition.reasonsAfter.length).toBeGreaterThan(0);
                break;
            }
          });
          expect(publishedLocked).toBe(isLocked(step.result.state.lockReasons));
        }
        expect(lockedEvents).toBe(additions);
      }),
      PROPERTY_RUNS,
    );
  });

  it('usage stays within int64', () => {
    fc.assert(
      fc.property(sequenceArbitrary, ([initial, changes]) => {
        for (const step of runSequence(initial, changes).steps) {
          if (!step.result.ok) {
            continue;
          }
          const { state, clamped } = step.result;
          expect(state.quotaUsed).toBeGreaterThanOrEqual(0n);
          expect(state.quotaUsed).toBeLessThanOrEqual(INT64_MAX);
          expect(state.userUsed).toBeGreaterThanOrEqual(0n);
          expect(state.userUsed).toBeLessThanOrEqual(INT64_MAX);
          expect(clamped).toBeGreaterThanOrEqual(0n);
          if (step.change.kind === 'storage') {
            expect(state.quotaUsed).toBe(step.before.quotaUsed + step.change.deltaBytes + clamped);
          }
        }
      }),
      PROPERTY_RUNS,
    );
  });

  it('transition chain reproduces reasons', () => {
    fc.assert(
      fc.property(sequenceArbitrary, ([initial, changes]) => {
        const { first, steps } = runSequence(initial, changes);
        let reasons: LockReason[] = [...first.lockReasons];
        let finalReasons: readonly LockReason[] = first.lockReasons;

        for (const step of steps) {
          if (!step.result.ok) {
            continue;
          }
          for (const transition of step.result.transitions) {
            expect(transition.reasonsBefore).toEqual(reasons);
            reasons =
              transition.change === 'added'
                ? sortLockReasons([...reasons, transition.reason])
                : reasons.filter((reason) => reason !== transition.reason);
            expect(transition.reasonsAfter).toEqual(reasons);
          }
          finalReasons = step.result.state.lockReasons;
        }
        expect(reasons).toEqual(finalReasons);
      }),
      PROPERTY_RUNS,
    );
  });

  it('transitions ordered and minimal', () => {
    fc.assert(
      fc.property(sequenceArbitrary, ([initial, changes]) => {
        for (const step of runSequence(initial, changes).steps) {
          if (!step.result.ok) {
            continue;
          }
          const before = step.before.lockReasons;
          const after = step.result.state.lockReasons;
          const added = after.filter((reason) => !before.includes(reason));
          const removed = before.filter((reason) => !after.includes(reason));
          const expected = [...added.map((r) => `added ${r}`), ...removed.map((r) => `removed ${r}`)];

          expect(step.result.transitions.map((t) => `${t.change} ${t.reason}`)).toEqual(expected);
        }
      }),
      PROPERTY_RUNS,
    );
  });

  it('input state never mutated', () => {
    fc.assert(
      fc.property(sequenceArbitrary, ([initial, changes]) => {
        // Each recorded input is applied a second time, after taking a deep copy of it.
        for (const step of runSequence(initial, changes).steps) {
          const snapshot = structuredClone(step.before);
          applyUsageChange(step.before, step.change);
          expect(step.before).toEqual(snapshot);
        }
      }),
      PROPERTY_RUNS,
    );
  });
});
