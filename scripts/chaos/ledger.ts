/**
 * The chaos run's model of what the service must end up with: per customer, the counters after
 * every valid event in partition order (clamped at zero), the user set, and the lock transitions
 * and published lock events those counters imply. It mirrors the lock rules independently of
 * the service's own policy code, so the check does not reuse what it checks.
 */
export type AutoReason = 'QUOTA_EXCEEDED' | 'USER_LIMIT_EXCEEDED';
export type CustomerKind = 'storage' | 'users' | 'mixed';

/** A lock event the ledger expects on the lock topic, in `lockVersion` order. */
export interface ExpectedLockEvent {
  type: 'CustomerLocked' | 'CustomerUnlocked';
  reason: AutoReason;
  lockVersion: bigint;
  quotaUsed: bigint;
  userUsed: bigint;
}

export type TransitionChange = 'added' | 'removed';

export class CustomerLedger {
  quotaUsed = 0n;
  readonly users = new Set<string>();
  readonly reasons = new Set<AutoReason>();
  lockVersion = 0n;
  /** Decreases that stopped at zero. */
  clampedDecreases = 0;
  readonly expectedEvents: ExpectedLockEvent[] = [];
  readonly transitions: Record<AutoReason, TransitionChange[]> = {
    QUOTA_EXCEEDED: [],
    USER_LIMIT_EXCEEDED: [],
  };
  /** `source#id` of every unique valid event of this customer. */
  readonly eventKeys = new Set<string>();

  constructor(
    readonly customerId: bigint,
    readonly kind: CustomerKind,
    readonly quotaMax: bigint,
    readonly userMax: bigint,
  ) {}

  get userUsed(): bigint {
    return BigInt(this.users.size);
  }

  applyStorage(deltaBytes: bigint): void {
    const next = this.quotaUsed + deltaBytes;
    if (next < 0n) {
      this.clampedDecreases++;
    }
    this.quotaUsed = next < 0n ? 0n : next;
    this.evaluate('QUOTA_EXCEEDED', this.quotaMax >= 0n && this.quotaUsed > this.quotaMax);
  }

  /** Adds or removes a user; a repeated allocation or the removal of an absent user changes nothing. */
  applyUser(userId: string, allocate: boolean): void {
    if (allocate) {
      this.users.add(userId);
    } else {
      this.users.delete(userId);
    }
    this.evaluate('USER_LIMIT_EXCEEDED', this.userMax >= 0n && this.userUsed > this.userMax);
  }

  private evaluate(reason: AutoReason, exceeded: boolean): void {
    if (exceeded === this.reasons.has(reason)) {
      return;
    }
    if (exceeded) {
      this.reasons.add(reason);
      this.transitions[reason].push('added');
      this.publish('CustomerLocked', reason);
      return;
    }
    this.reasons.delete(reason);
    this.transitions[reason].push('removed');
    if (this.reasons.size === 0) {
      this.publish('CustomerUnlocked', reason);
    }
  }

  private publish(type: ExpectedLockEvent['type'], reason: AutoReason): void {
    this.lockVersion++;
    this.expectedEvents.push({
      type,
      reason,
      lockVersion: this.lockVersion,
      quotaUsed: this.quotaUsed,
      userUsed: this.userUsed,
    });
  }
}
