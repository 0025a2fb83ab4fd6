import { Column, Entity, OneToMany, PrimaryColumn } from 'typeorm';

import { bigintTransformer } from '../database/bigint-transformer';
import { CustomerAttribute } from './customer-attribute.entity';

export type CustomerContractType = 'demo' | 'free' | 'pay';

/** A customer with its limits, usage counters and lock state. */
@Entity({ name: 'customer' })
export class Customer {
  @PrimaryColumn({ type: 'bigint', transformer: bigintTransformer })
  id!: bigint;

  @Column({ name: 'customer_uuid', type: 'uuid' })
  customerUuid!: string;

  @Column({ name: 'company_name', type: 'varchar', length: 150 })
  companyName!: string;

  @Column({ name: 'customer_contract_type', type: 'varchar', length: 4 })
  customerContractType!: CustomerContractType;

  @Column({ name: 'quota_max', type: 'bigint', transformer: bigintTransformer })
  quotaMax!: bigint;

  @Column({ name: 'quota_used', type: 'bigint', transformer: bigintTransformer })
  quotaUsed!: bigint;

  @Column({ name: 'user_max', type: 'bigint', transformer: bigintTransformer })
  userMax!: bigint;

  @Column({ name: 'user_used', type: 'bigint', transformer: bigintTransformer })
  userUsed!: bigint;

  @Column({ name: 'lock_reasons', type: 'text', array: true })
  lockReasons!: string[];

  @Column({ name: 'lock_version', type: 'bigint', transformer: bigintTransformer })
  lockVersion!: bigint;

  @Column({ name: 'trial_days_left', type: 'integer', nullable: true })
  trialDaysLeft!: number | null;

  @Column({ name: 'provider_customer_id', type: 'varchar', length: 150, nullable: true })
  providerCustomerId!: string | null;

  @Column({ name: 'webhooks_max', type: 'bigint', nullable: true, transformer: bigintTransformer })
  webhooksMax!: bigint | null;

  @Column({ name: 'activation_code', type: 'varchar', length: 150, nullable: true })
  activationCode!: string | null;

  @Column({ name: 'last_login_at', type: 'timestamptz', precision: 3, nullable: true })
  lastLoginAt!: Date | null;

  @Column({ name: 'created_at', type: 'timestamptz', precision: 3 })
  createdAt!: Date;

  @Column({ name: 'updated_at', type: 'timestamptz', precision: 3 })
  updatedAt!: Date;

  @OneToMany(() => CustomerAttribute, (attribute) => attribute.customer)
  attributes?: CustomerAttribute[];
}
