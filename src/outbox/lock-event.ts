import { stringifyJson } from '../common/json/lossless-json';
import { LockReason } from '../locking/lock-reason';

export type LockEventType = 'CustomerLocked' | 'CustomerUnlocked' | 'CustomerDeleted';

export const LOCK_EVENT_CONTENT_TYPE = 'application/cloudevents+json; charset=utf-8';

/** Everything a published lock event states, fixed in the transaction that made the change. */
export interface LockEventFacts {
  eventId: string;
  type: LockEventType;
  customerId: bigint;
  lockReasons: readonly LockReason[];
  reason: LockReason | null;
  quotaUsed: bigint;
  quotaMax: bigint;
  userUsed: bigint;
  userMax: bigint;
  lockVersion: bigint;
  causationId: string;
  actor: string;
  /** RFC 3339 UTC with milliseconds, from the database's `clock_timestamp()`. */
  occurredAt: string;
}

/** Serialises a lock event as a structured-mode CloudEvent; int64 values keep their exact digits. */
export function serializeLockEvent(facts: LockEventFacts, serviceSource: string): string {
  const data: Record<string, unknown> = {
    customerId: facts.customerId,
    isLocked: facts.lockReasons.length > 0,
    lockReasons: facts.lockReasons,
  };
  if (facts.reason !== null) {
    data.reason = facts.reason;
  }
  Object.assign(data, {
    quotaUsed: facts.quotaUsed,
    quotaMax: facts.quotaMax,
    userUsed: facts.userUsed,
    userMax: facts.userMax,
    lockVersion: facts.lockVersion,
    causationId: facts.causationId,
    actor: facts.actor,
    occurredAt: facts.occurredAt,
  });
  return stringifyJson({
    specversion: '1.0',
    id: facts.eventId,
    source: serviceSource,
    type: facts.type,
    subject: facts.customerId.toString(),
    time: facts.occurredAt,
    datacontenttype: 'application/json',
    data,
  });
}

function encodeCausationPart(part: string): string {
  return part.replace(/%/g, '%25').replace(/#/g, '%23');
}

/** `<source>#<id>` of the event or request that caused a change, with `%` and `#` escaped in each part. */
export function causationIdOf(source: string, id: string): string {
  return `${encodeCausationPart(source)}#${encodeCausationPart(id)}`;
}
