import { Column, Entity, PrimaryColumn } from 'typeorm';

import { bigintTransformer } from '../database/bigint-transformer';

/** The deduplication key of an applied inbound event, kept for `DEDUPE_RETENTION`. */
@Entity({ name: 'processed_event' })
export class ProcessedEvent {
  @PrimaryColumn({ name: 'customer_id', type: 'bigint', transformer: bigintTransformer })
  customerId!: bigint;

  @PrimaryColumn({ type: 'varchar', length: 256 })
  source!: string;

  @PrimaryColumn({ name: 'event_id', type: 'varchar', length: 256 })
  eventId!: string;

  @Column({ name: 'fingerprint_hash', type: 'bytea' })
  fingerprintHash!: Buffer;

  @Column({ type: 'varchar', length: 249 })
  topic!: string;

  @Column({ type: 'integer' })
  partition!: number;

  @Column({ type: 'bigint', transformer: bigintTransformer })
  offset!: bigint;

  @Column({ name: 'processed_at', type: 'timestamptz', precision: 3 })
  processedAt!: Date;
}
