import { Column, Entity, PrimaryColumn } from 'typeorm';

import { bigintTransformer } from '../database/bigint-transformer';

/** A user allocated to a customer; `user_used` is the size of this set. */
@Entity({ name: 'customer_user' })
export class CustomerUser {
  @PrimaryColumn({ name: 'customer_id', type: 'bigint', transformer: bigintTransformer })
  customerId!: bigint;

  @PrimaryColumn({ name: 'user_id', type: 'varchar', length: 128 })
  userId!: string;

  @Column({ name: 'allocated_at', type: 'timestamptz', precision: 3 })
  allocatedAt!: Date;
}
