import { LockReason } from './lock-reason';

/** One change to one customer, from a usage event, an admin command or a REST request. */
export type CustomerChange =
  | { kind: 'storage'; deltaBytes: bigint }
  | { kind: 'allocateUser'; userId: string }
  | { kind: 'deallocateUser'; userId: string }
  | { kind: 'admin'; adminLock?: boolean; quotaMax?: bigint; userMax?: bigint };

/** Deduplication key of an inbound event: (customer, source, id), plus where it was read. */
export interface DedupeKey {
  source: string;
  eventId: string;
  /** Canonical text of the payload; a duplicate with another fingerprint is flagged. */
  fingerprint: string;
  topic: string;
  partition: number;
  offset: string;
}

export interface CustomerCommand {
  customerId: bigint;
  change: CustomerChange;
  actor: string;
  causationId: string;
  comment?: string;
  /** Present for Kafka events; REST actions carry none. */
  dedupe?: DedupeKey;
}

export type CommandOutcome =
  | { status: 'applied'; clamped: bigint; published: number; lockReasons: readonly LockReason[] }
  | { status: 'duplicate'; payloadDiffers: boolean }
  | {
      status: 'rejected';
      reason: 'CUSTOMER_NOT_FOUND' | 'OUT_OF_RANGE' | 'PROCESSING_FAILED';
      message: string;
    };
