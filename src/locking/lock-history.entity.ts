import { Column, Entity, PrimaryColumn } from 'typeorm';

import { bigintTransformer } from '../database/bigint-transformer';

/** One change of a customer's lock reason set, published or not. */
@Entity({ name: 'lock_history' })
export class LockHistoryEntry {
  @PrimaryColumn({ name: 'customer_id', type: 'bigint', transformer: bigintTransformer })
  customerId!: bigint;

  @PrimaryColumn({ type: 'bigint', transformer: bigintTransformer })
  id!: bigint;

  @Column({ type: 'varchar', length: 8 })
  change!: 'added' | 'removed' | 'deleted';

  @Column({ type: 'varchar', length: 32, nullable: true })
  reason!: string | null;

  @Column({ name: 'reasons_before', type: 'text', array: true })
  reasonsBefore!: string[];

  @Column({ name: 'reasons_after', type: 'text', array: true })
  reasonsAfter!: string[];

  @Column({ name: 'lock_version', type: 'bigint', transformer: bigintTransformer })
  lockVersion!: bigint;

  @Column({ name: 'event_id', type: 'uuid', nullable: true })
  eventId!: string | null;

  @Column({ name: 'event_type', type: 'varchar', length: 32, nullable: true })
  eventType!: string | null;

  @Column({ type: 'varchar', length: 300 })
  actor!: string;

  @Column({ name: 'causation_id', type: 'varchar', length: 1200 })
  causationId!: string;

  @Column({ type: 'varchar', length: 1000, nullable: true })
  comment!: string | null;

  @Column({ name: 'occurred_at', type: 'timestamptz', precision: 3 })
  occurredAt!: Date;
}
