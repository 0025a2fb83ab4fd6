/**
 * The event stream that `make demo` plays, and the results it expects back. Usage totals are
 * computed from the events as sent, so the check does not repeat the service's own arithmetic.
 */
import { stringifyJson } from '../src/common/json/lossless-json';
import type { LockReason } from '../src/locking/lock-reason';
import type { DeadLetterReason } from '../src/messaging/dead-letter-reason';

export const KiB = 1024n;
export const MiB = 1024n * KiB;

/** A customer id that the demo never creates: the largest signed 64-bit integer. */
export const UNKNOWN_CUSTOMER_ID = 9_223_372_036_854_775_807n;

const STORAGE_SOURCE = '/demo/storage-backend';
const USERS_SOURCE = '/demo/user-directory';

export type CustomerName = 'Alpha' | 'Beta';

export interface DemoCustomer {
  name: CustomerName;
  quotaMax: bigint;
  userMax: bigint;
}

/** The two customers the demo creates through the REST API. */
export const CUSTOMERS: readonly DemoCustomer[] = [
  { name: 'Alpha', quotaMax: 2n * MiB, userMax: 2n },
  { name: 'Beta', quotaMax: 10n * MiB, userMax: 1n },
];

export type UsageEffect =
  | { kind: 'storage'; deltaBytes: bigint }
  | { kind: 'allocate'; userId: string }
  | { kind: 'deallocate'; userId: string };

/** Change made by one valid event, with the fields the service deduplicates on: customer, source and id. */
export interface SentEvent {
  customer: CustomerName;
  source: string;
  id: string;
  effect: UsageEffect;
}

export interface ExpectedLockChange {
  type: 'CustomerLocked' | 'CustomerUnlocked';
  reason: LockReason;
  lockReasons: LockReason[];
}

export interface Step {
  /** One short line for the progress output. */
  title: string;
  topic: 'storage' | 'users';
  key: string;
  value: string;
  /** The usage change, or null for a message the service must dead-letter. */
  event: SentEvent | null;
  lockChange?: ExpectedLockChange;
  deadLetter?: DeadLetterReason;
}

export interface Usage {
  quotaUsed: bigint;
  userUsed: bigint;
}

export interface ExpectedLockEvent extends ExpectedLockChange, Usage {
  customer: CustomerName;
  lockVersion: bigint;
}

/** Serializes a structured-mode CloudEvent, writing bigint fields with their exact digits. */
function cloudEvent(type: string, source: string, id: string, customerId: bigint, data: object): string {
  return stringifyJson({
    specversion: '1.0',
    id,
    source,
    type,
    subject: customerId.toString(),
    time: new Date().toISOString(),
    datacontenttype: 'application/json',
    data: { customerId, ...data },
  });
}

/** Builds the steps once the customers exist, because every message carries a customer id. */
export function buildScenario(runId: string, ids: ReadonlyMap<CustomerName, bigint>): Step[] {
  let counter = 0;
  const nextId = (): string => `${runId}-${String(++counter).padStart(2, '0')}`;
  const idOf = (customer: CustomerName): bigint => ids.get(customer) as bigint;

  const storage = (customer: CustomerName, deltaBytes: bigint, title: string): Step => {
    const id = nextId();
    const customerId = idOf(customer);
    return {
      title,
      topic: 'storage',
      key: customerId.toString(),
      value: cloudEvent('StorageUsageChanged', STORAGE_SOURCE, id, customerId, { deltaBytes }),
      event: { customer, source: STORAGE_SOURCE, id, effect: { kind: 'storage', deltaBytes } },
    };
  };
  const user = (
    customer: CustomerName,
    kind: 'allocate' | 'deallocate',
    userId: string,
    title: string,
  ): Step => {
    const id = nextId();
    const customerId = idOf(customer);
    const type = kind === 'allocate' ? 'UserAllocated' : 'UserDeallocated';
    return {
      title,
      topic: 'users',
      key: customerId.toString(),
      value: cloudEvent(type, USERS_SOURCE, id, customerId, { userId }),
      event: { customer, source: USERS_SOURCE, id, effect: { kind, userId } },
    };
  };
  const locked = (reason: LockReason): ExpectedLockChange => ({
    type: 'CustomerLocked',
    reason,
    lockReasons: [reason],
  });
  const unlocked = (reason: LockReason): ExpectedLockChange => ({
    type: 'CustomerUnlocked',
    reason,
    lockReasons: [],
  });

  // Built one push at a time, so the event ids follow the order in which the steps are sent.
  const steps: Step[] = [];
  steps.push(storage('Alpha', MiB, 'Alpha +1 MiB'));
  steps.push(storage('Alpha', MiB, 'Alpha +1 MiB: exactly at its 2 MiB quota, which is allowed'));
  const overQuota: Step = {
    ...storage('Alpha', 512n * KiB, 'Alpha +512 KiB: 2.5 MiB is over its 2 MiB quota'),
    lockChange: locked('QUOTA_EXCEEDED'),
  };
  steps.push(overQuota);
  steps.push({
    ...overQuota,
    title: 'the same Alpha +512 KiB event again (same id and source): must count once',
    lockChange: undefined,
  });
  steps.push({
    ...storage('Alpha', -MiB, 'Alpha -1 MiB: back under its quota'),
    lockChange: unlocked('QUOTA_EXCEEDED'),
  });
  steps.push(user('Alpha', 'allocate', 'alice', 'Alpha adds user alice: 1 of 2 users'));
  steps.push(user('Beta', 'allocate', 'bob', 'Beta adds user bob: 1 of 1 users, which is allowed'));
  steps.push({
    ...user('Beta', 'allocate', 'carol', 'Beta adds carol: 2 users, over its limit of 1'),
    lockChange: locked('USER_LIMIT_EXCEEDED'),
  });
  steps.push(storage('Beta', 4n * MiB, 'Beta +4 MiB: well under its 10 MiB quota'));
  steps.push({
    ...user('Beta', 'deallocate', 'carol', 'Beta removes carol: back to 1 user'),
    lockChange: unlocked('USER_LIMIT_EXCEEDED'),
  });
  steps.push({
    title: 'a message that is not JSON',
    topic: 'storage',
    key: idOf('Alpha').toString(),
    value: 'storage grew by 1 MiB',
    event: null,
    deadLetter: 'INVALID_JSON',
  });
  steps.push({
    title: `usage for customer ${UNKNOWN_CUSTOMER_ID}, which does not exist`,
    topic: 'storage',
    key: UNKNOWN_CUSTOMER_ID.toString(),
    value: cloudEvent('StorageUsageChanged', STORAGE_SOURCE, nextId(), UNKNOWN_CUSTOMER_ID, {
      deltaBytes: MiB,
    }),
    event: null,
    deadLetter: 'CUSTOMER_NOT_FOUND',
  });
  return steps;
}

/**
 * Returns each customer's usage after the first `count` steps. An event whose customer, source
 * and id were seen before is skipped, and storage never goes below zero.
 */
export function expectedUsage(steps: readonly Step[], count = steps.length): Map<CustomerName, Usage> {
  const seen = new Set<string>();
  const quota = new Map<CustomerName, bigint>(CUSTOMERS.map((customer) => [customer.name, 0n]));
  const users = new Map<CustomerName, Set<string>>(CUSTOMERS.map((customer) => [customer.name, new Set()]));
  for (const step of steps.slice(0, count)) {
    const event = step.event;
    if (event === null) {
      continue;
    }
    const identity = JSON.stringify([event.customer, event.source, event.id]);
    if (seen.has(identity)) {
      continue;
    }
    seen.add(identity);
    const effect = event.effect;
    if (effect.kind === 'storage') {
      const total = (quota.get(event.customer) as bigint) + effect.deltaBytes;
      quota.set(event.customer, total < 0n ? 0n : total);
    } else if (effect.kind === 'allocate') {
      users.get(event.customer)?.add(effect.userId);
    } else {
      users.get(event.customer)?.delete(effect.userId);
    }
  }
  return new Map(
    CUSTOMERS.map((customer) => [
      customer.name,
      {
        quotaUsed: quota.get(customer.name) as bigint,
        userUsed: BigInt(users.get(customer.name)?.size ?? 0),
      },
    ]),
  );
}

/** Returns the lock events the steps should cause, per customer in lockVersion order. */
export function expectedLockEvents(steps: readonly Step[]): ExpectedLockEvent[] {
  const versions = new Map<CustomerName, bigint>();
  const events: ExpectedLockEvent[] = [];
  steps.forEach((step, index) => {
    if (step.lockChange === undefined || step.event === null) {
      return;
    }
    const customer = step.event.customer;
    const lockVersion = (versions.get(customer) ?? 0n) + 1n;
    versions.set(customer, lockVersion);
    const usage = expectedUsage(steps, index + 1).get(customer) as Usage;
    events.push({ customer, lockVersion, ...step.lockChange, ...usage });
  });
  return events;
}

/** Formats a byte count with its exact digits, and in KiB or MiB when that is a round number. */
export function formatBytes(bytes: bigint): string {
  const magnitude = bytes < 0n ? -bytes : bytes;
  for (const [unit, size] of [
    ['MiB', MiB],
    ['KiB', KiB],
  ] as const) {
    if (magnitude >= size && (magnitude * 10n) % size === 0n) {
      const tenths = (magnitude * 10n) / size;
      const sign = bytes < 0n ? '-' : '';
      const fraction = tenths % 10n === 0n ? '' : `.${tenths % 10n}`;
      return `${bytes} B (${sign}${tenths / 10n}${fraction} ${unit})`;
    }
  }
  return `${bytes} B`;
}
