import { Column, Entity, PrimaryColumn } from 'typeorm';

import { bigintTransformer } from '../database/bigint-transformer';

/** A complete serialised lock event waiting for, or done with, publication to the lock topic. */
@Entity({ name: 'outbox' })
export class OutboxMessage {
  @PrimaryColumn({ name: 'customer_id', type: 'bigint', transformer: bigintTransformer })
  customerId!: bigint;

  @PrimaryColumn({ type: 'bigint', transformer: bigintTransformer })
  id!: bigint;

  @Column({ name: 'event_id', type: 'uuid' })
  eventId!: string;

  @Column({ name: 'event_type', type: 'varchar', length: 32 })
  eventType!: string;

  @Column({ name: 'lock_version', type: 'bigint', transformer: bigintTransformer })
  lockVersion!: bigint;

  @Column({ type: 'text' })
  payload!: string;

  @Column({ name: 'created_at', type: 'timestamptz', precision: 3 })
  createdAt!: Date;

  @Column({ name: 'published_at', type: 'timestamptz', precision: 3, nullable: true })
  publishedAt!: Date | null;

  @Column({ type: 'integer' })
  attempts!: number;

  @Column({ name: 'last_error', type: 'varchar', length: 1000, nullable: true })
  lastError!: string | null;
}
