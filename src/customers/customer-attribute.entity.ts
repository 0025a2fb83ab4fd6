import { Column, Entity, JoinColumn, ManyToOne, PrimaryColumn } from 'typeorm';

import { bigintTransformer } from '../database/bigint-transformer';
import { Customer } from './customer.entity';

/** A key/value attribute of a customer; keys are unique per customer regardless of case. */
@Entity({ name: 'customer_attribute' })
export class CustomerAttribute {
  @PrimaryColumn({ name: 'customer_id', type: 'bigint', transformer: bigintTransformer })
  customerId!: bigint;

  @PrimaryColumn({ name: 'key_lower', type: 'varchar', length: 255 })
  keyLower!: string;

  @Column({ type: 'varchar', length: 255 })
  key!: string;

  @Column({ type: 'varchar', length: 4096 })
  value!: string;

  @ManyToOne(() => Customer, (customer) => customer.attributes, { onDelete: 'CASCADE' })
  @JoinColumn({ name: 'customer_id' })
  customer?: Customer;
}
