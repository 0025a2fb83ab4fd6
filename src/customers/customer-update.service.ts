import { Injectable } from '@nestjs/common';
import { PoolClient } from 'pg';

import { DatabaseService } from '../database/database.service';
import { ApiError, badRequest } from '../http/api-error';
import { CustomerUnitOfWork } from '../locking/customer-unit-of-work';
import type { Customer } from './customer.entity';
import { CustomerRow, toCustomer } from './customer-row';
import type { Actor } from './customer.repository';
import { checkContractChange, checkReadOnlyFields, CustomerUpdate } from './update-customer.request';

/**
 * Applies a partial update in one transaction: the lock and limit part goes through the unit of
 * work, so `isLocked` and limit changes lock, unlock and publish exactly like usage events do.
 */
@Injectable()
export class CustomerUpdateService {
  constructor(
    private readonly database: DatabaseService,
    private readonly unitOfWork: CustomerUnitOfWork,
  ) {}

  async update(id: bigint, update: CustomerUpdate, actor: Actor): Promise<void> {
    await this.database.transaction(async (client) => {
      const stored = await this.lockCustomer(client, id);
      checkReadOnlyFields(stored, update);
      if (update.customerContractType !== undefined) {
        checkContractChange(stored.customerContractType, update.customerContractType);
      }

      if (update.adminLock !== undefined || update.quotaMax !== undefined || update.userMax !== undefined) {
        const [outcome] = await this.unitOfWork.apply(client, [
          {
            customerId: id,
            change: {
              kind: 'admin',
              adminLock: update.adminLock,
              quotaMax: update.quotaMax,
              userMax: update.userMax,
            },
            actor: actor.actor,
            causationId: actor.causationId,
          },
        ]);
        if (outcome.status === 'rejected') {
          throw badRequest(-80001, outcome.message);
        }
      }
      await this.writeDescriptiveFields(client, stored, update);
    });
  }

  private async lockCustomer(client: PoolClient, id: bigint): Promise<Customer> {
    const result = await client.query<CustomerRow>('SELECT * FROM customer WHERE id = $1 FOR UPDATE', [
      id.toString(),
    ]);
    if (result.rows.length === 0) {
      throw new ApiError(404, -90103, `customer ${id} not found`);
    }
    const attributes = await client.query<{ key: string; value: string }>(
      'SELECT key, value FROM customer_attribute WHERE customer_id = $1 ORDER BY key_lower',
      [id.toString()],
    );
    return toCustomer(result.rows[0], attributes.rows);
  }

  private async writeDescriptiveFields(
    client: PoolClient,
    stored: Customer,
    update: CustomerUpdate,
  ): Promise<void> {
    const assignments: string[] = [];
    const values: unknown[] = [stored.id.toString()];
    // Only values that differ from the stored ones are written, so a GET body sent back unchanged
    // leaves updated_at alone.
    const set = (column: string, value: string | null | undefined, current: string | null): void => {
      if (value === undefined || value === current) {
        return;
      }
      values.push(value);
      assignments.push(`${column} = $${values.length}`);
    };
    set('company_name', update.companyName, stored.companyName);
    set('customer_contract_type', update.customerContractType, stored.customerContractType);
    set('provider_customer_id', update.providerCustomerId, stored.providerCustomerId);
    set(
      'webhooks_max',
      update.webhooksMax === undefined ? undefined : (update.webhooksMax?.toString() ?? null),
      stored.webhooksMax?.toString() ?? null,
    );
    if (assignments.length > 0) {
      await client.query(
        `UPDATE customer SET ${assignments.join(', ')}, updated_at = clock_timestamp() WHERE id = $1`,
        values,
      );
    }
  }
}
