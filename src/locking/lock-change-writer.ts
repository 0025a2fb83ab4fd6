import { randomUUID } from 'node:crypto';
import { PoolClient } from 'pg';

import { LockEventType, serializeLockEvent } from '../outbox/lock-event';
import { LockReason } from './lock-reason';

export const OUTBOX_CHANNEL = 'quota_lock_outbox';

/** A lock change waiting to be written: one history row and, when it publishes, one outbox row. */
interface PendingChange {
  customerId: bigint;
  change: 'added' | 'removed' | 'deleted';
  reason: LockReason | null;
  reasonsBefore: readonly LockReason[];
  reasonsAfter: readonly LockReason[];
  lockVersion: bigint;
  publishes: LockEventType | null;
  eventId: string | null;
  usage: { quotaUsed: bigint; quotaMax: bigint; userUsed: bigint; userMax: bigint };
  actor: string;
  causationId: string;
  comment: string | null;
}

export type LockChangeInput = Omit<PendingChange, 'eventId'>;

/**
 * Collects the lock changes of one transaction and writes the history and outbox rows with one
 * statement each. Event ids are fixed here, so a re-published event is byte-identical.
 */
export class LockChangeWriter {
  private readonly pending: PendingChange[] = [];

  constructor(private readonly serviceSource: string) {}

  get size(): number {
    return this.pending.length;
  }

  add(input: LockChangeInput): void {
    this.pending.push({ ...input, eventId: input.publishes ? randomUUID() : null });
  }

  /** Writes all collected rows; returns the number of events put into the outbox. */
  async flush(client: PoolClient): Promise<number> {
    if (this.pending.length === 0) {
      return 0;
    }
    const clock = await client.query<{ now: string }>(
      `SELECT to_char(clock_timestamp() AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.MS"Z"') AS now`,
    );
    const occurredAt = clock.rows[0].now;

    await this.writeHistory(client, occurredAt);
    const published = this.pending.filter((change) => change.publishes !== null);
    if (published.length > 0) {
      await this.writeOutbox(client, published, occurredAt);
      await client.query('SELECT pg_notify($1, $2)', [OUTBOX_CHANNEL, String(published.length)]);
    }
    this.pending.length = 0;
    return published.length;
  }

  private async writeHistory(client: PoolClient, occurredAt: string): Promise<void> {
    const rows = this.pending;
    await client.query(
      `INSERT INTO lock_history (customer_id, change, reason, reasons_before, reasons_after, lock_version,
                                 event_id, event_type, actor, causation_id, comment, occurred_at)
       SELECT v.customer_id, v.change, v.reason, string_to_array(v.reasons_before, ','),
              string_to_array(v.reasons_after, ','), v.lock_version, v.event_id, v.event_type, v.actor,
              v.causation_id, v.comment, $12::timestamptz
       FROM unnest($1::bigint[], $2::text[], $3::text[], $4::text[], $5::text[], $6::bigint[], $7::uuid[],
                   $8::text[], $9::text[], $10::text[], $11::text[])
            WITH ORDINALITY AS v(customer_id, change, reason, reasons_before, reasons_after, lock_version,
                                 event_id, event_type, actor, causation_id, comment, position)
       ORDER BY v.position`,
      [
        rows.map((row) => row.customerId.toString()),
        rows.map((row) => row.change),
        rows.map((row) => row.reason),
        rows.map((row) => row.reasonsBefore.join(',')),
        rows.map((row) => row.reasonsAfter.join(',')),
        rows.map((row) => row.lockVersion.toString()),
        rows.map((row) => row.eventId),
        rows.map((row) => row.publishes),
        rows.map((row) => row.actor),
        rows.map((row) => row.causationId),
        rows.map((row) => row.comment),
        occurredAt,
      ],
    );
  }

  private async writeOutbox(client: PoolClient, rows: PendingChange[], occurredAt: string): Promise<void> {
    const payloads = rows.map((row) =>
      serializeLockEvent(
        {
          eventId: row.eventId as string,
          type: row.publishes as LockEventType,
          customerId: row.customerId,
          lockReasons: row.reasonsAfter,
          reason: row.reason,
          ...row.usage,
          lockVersion: row.lockVersion,
          causationId: row.causationId,
          actor: row.actor,
          occurredAt,
        },
        this.serviceSource,
      ),
    );
    await client.query(
      `INSERT INTO outbox (customer_id, event_id, event_type, lock_version, payload)
       SELECT v.customer_id, v.event_id, v.event_type, v.lock_version, v.payload
       FROM unnest($1::bigint[], $2::uuid[], $3::text[], $4::bigint[], $5::text[])
            WITH ORDINALITY AS v(customer_id, event_id, event_type, lock_version, payload, position)
       ORDER BY v.position`,
      [
        rows.map((row) => row.customerId.toString()),
        rows.map((row) => row.eventId),
        rows.map((row) => row.publishes),
        rows.map((row) => row.lockVersion.toString()),
        payloads,
      ],
    );
  }
}
