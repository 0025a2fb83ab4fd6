import { Inject, Injectable } from '@nestjs/common';
import { InjectDataSource } from '@nestjs/typeorm';
import { randomUUID } from 'node:crypto';
import { PoolClient } from 'pg';
import { DataSource } from 'typeorm';

import { APP_CONFIG } from '../config/app-config';
import type { AppConfig } from '../config/app-config';
import { DatabaseService } from '../database/database.service';
import { LockChangeWriter } from '../locking/lock-change-writer';
import { createInitialUsage } from '../locking/lock-policy';
import { CustomerAttribute } from './customer-attribute.entity';
import { Customer } from './customer.entity';
import type { NewCustomerInput } from './new-customer.request';

export interface Actor {
  actor: string;
  causationId: string;
}

/** Reads and creates customers; every later change of usage or locks goes through CustomerUnitOfWork. */
@Injectable()
export class CustomerRepository {
  constructor(
    private readonly database: DatabaseService,
    @InjectDataSource() private readonly dataSource: DataSource,
    @Inject(APP_CONFIG) private readonly config: AppConfig,
  ) {}

  async findById(id: bigint, withAttributes: boolean): Promise<Customer | null> {
    const customer = await this.dataSource.getRepository(Customer).findOne({ where: { id } });
    if (customer && withAttributes) {
      customer.attributes = await this.dataSource
        .getRepository(CustomerAttribute)
        .find({ where: { customerId: id }, order: { keyLower: 'ASC' } });
    }
    return customer;
  }

  /** Inserts a customer with its attributes; an initial admin lock is published like any other lock. */
  async create(input: NewCustomerInput, actor: Actor): Promise<bigint> {
    return this.database.transaction((client) => this.createIn(client, input, actor));
  }

  /** Inserts the customer inside a transaction the caller opened on `client`. */
  async createIn(client: PoolClient, input: NewCustomerInput, actor: Actor): Promise<bigint> {
    const initial = createInitialUsage({
      quotaMax: input.quotaMax,
      userMax: input.userMax,
      adminLock: input.adminLock,
    });
    if (!initial.ok) {
      throw new Error(initial.message);
    }
    const lockVersion = BigInt(initial.transitions.filter((transition) => transition.publishes).length);

    const inserted = await client.query<{ id: string }>(
      `INSERT INTO customer (customer_uuid, company_name, customer_contract_type, quota_max, user_max,
                               lock_reasons, lock_version, trial_days_left, provider_customer_id, webhooks_max,
                               activation_code)
         VALUES ($1, $2, $3, $4, $5, string_to_array($6, ','), $7, $8, $9, $10, $11)
         RETURNING id`,
      [
        randomUUID(),
        input.companyName,
        input.customerContractType,
        input.quotaMax.toString(),
        input.userMax.toString(),
        initial.state.lockReasons.join(','),
        lockVersion.toString(),
        input.trialDays,
        input.providerCustomerId,
        input.webhooksMax?.toString() ?? null,
        input.activationCode,
      ],
    );
    const id = BigInt(inserted.rows[0].id);
    if (input.attributes.length > 0) {
      await client.query(
        `INSERT INTO customer_attribute (customer_id, key_lower, key, value)
           SELECT $1, lower(v.key), v.key, v.value FROM unnest($2::text[], $3::text[]) AS v(key, value)`,
        [id.toString(), input.attributes.map((item) => item.key), input.attributes.map((item) => item.value)],
      );
    }

    const writer = new LockChangeWriter(this.config.serviceSource);
    let version = 0n;
    for (const transition of initial.transitions) {
      version += transition.publishes ? 1n : 0n;
      writer.add({
        customerId: id,
        change: transition.change,
        reason: transition.reason,
        reasonsBefore: transition.reasonsBefore,
        reasonsAfter: transition.reasonsAfter,
        lockVersion: version,
        publishes: transition.publishes,
        usage: initial.state,
        actor: actor.actor,
        causationId: actor.causationId,
        comment: null,
      });
    }
    await writer.flush(client);
    return id;
  }
}
