import type { DeadLetterReason } from './dead-letter-reason';

/** Inbound topic family, which fixes the event types that a message on it may carry. */
export type InboundTopicKind = 'storage' | 'users' | 'admin';

/** CloudEvents context attributes kept after decoding. */
export interface EventEnvelope {
  id: string;
  source: string;
  type: string;
  time?: string;
  subject?: string;
}

/** A decoded event whose data passed the schema of its type. Ids and counters are bigint. */
export type InboundEvent =
  | { type: 'StorageUsageChanged'; envelope: EventEnvelope; customerId: bigint; deltaBytes: bigint }
  | { type: 'UserAllocated'; envelope: EventEnvelope; customerId: bigint; userId: string }
  | { type: 'UserDeallocated'; envelope: EventEnvelope; customerId: bigint; userId: string }
  | { type: 'LockCustomer'; envelope: EventEnvelope; customerId: bigint; comment?: string }
  | { type: 'UnlockCustomer'; envelope: EventEnvelope; customerId: bigint; comment?: string }
  | {
      type: 'SetCustomerLimits';
      envelope: EventEnvelope;
      customerId: bigint;
      quotaMax?: bigint;
      userMax?: bigint;
    };

export type InboundEventType = InboundEvent['type'];

/**
 * A consumed Kafka message. `headers` has the shape of kafkajs `IHeaders`, plus null for a header
 * without a value, which kafkajs 2.2.4 passes on although `IHeaders` does not declare it.
 */
export interface RawInboundMessage {
  key: Buffer | null;
  value: Buffer | null;
  headers?: Record<string, Buffer | string | null | (Buffer | string | null)[] | undefined>;
}

export interface DecodeRules {
  /** Maximum size of the message value in bytes. */
  maxEventBytes: number;
  /** CloudEvents sources accepted by exact match, or null to accept any source. */
  allowedSources: ReadonlySet<string> | null;
  /** Name of the setting that contains `allowedSources`, given in the rejection so an operator knows what to change. */
  allowedSourcesSetting?: string;
}

export type DecodeResult =
  | {
      ok: true;
      event: InboundEvent;
      /** Canonical text of the type and data fields, equal for equal payloads in either content mode. */
      fingerprint: string;
    }
  | {
      ok: false;
      reason: DeadLetterReason;
      /** One-line message naming the field or value and the fix. */
      error: string;
    };
