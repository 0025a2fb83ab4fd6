import { Injectable } from '@nestjs/common';
import { PoolClient } from 'pg';

import { DatabaseService } from '../database/database.service';
import { ApiError } from '../http/api-error';
import { MAX_ATTRIBUTES } from './attribute-items';
import type { AttributeItem } from './attribute-items';
import { badRequest } from '../http/api-error';

/** Writes a customer's attributes; keys are stored with their case and compared without it. */
@Injectable()
export class CustomerAttributesRepository {
  constructor(private readonly database: DatabaseService) {}

  /** Sets the given keys, keeping the others (DRACOON's PUT). */
  async merge(customerId: bigint, items: AttributeItem[]): Promise<void> {
    await this.database.transaction(async (client) => {
      await this.lockCustomer(client, customerId);
      await this.upsert(client, customerId, items);
    });
  }

  /** Replaces the whole set with the given items (DRACOON's deprecated POST). */
  async replace(customerId: bigint, items: AttributeItem[]): Promise<void> {
    await this.database.transaction(async (client) => {
      await this.lockCustomer(client, customerId);
      await client.query('DELETE FROM customer_attribute WHERE customer_id = $1', [customerId.toString()]);
      await this.upsert(client, customerId, items);
    });
  }

  /** Deletes one key, matched without regard to case; 404 -70550 when the customer has no such key. */
  async remove(customerId: bigint, key: string): Promise<void> {
    await this.database.transaction(async (client) => {
      await this.lockCustomer(client, customerId);
      const deleted = await client.query(
        'DELETE FROM customer_attribute WHERE customer_id = $1 AND key_lower = lower($2)',
        [customerId.toString(), key],
      );
      if ((deleted.rowCount ?? 0) === 0) {
        throw new ApiError(404, -70550, `customer ${customerId} has no attribute ${JSON.stringify(key)}`);
      }
      await this.touch(client, customerId);
    });
  }

  private async lockCustomer(client: PoolClient, customerId: bigint): Promise<void> {
    const found = await client.query('SELECT 1 FROM customer WHERE id = $1 FOR UPDATE', [
      customerId.toString(),
    ]);
    if ((found.rowCount ?? 0) === 0) {
      throw new ApiError(404, -90103, `customer ${customerId} not found`);
    }
  }

  private async upsert(client: PoolClient, customerId: bigint, items: AttributeItem[]): Promise<void> {
    if (items.length > 0) {
      await client.query(
        `INSERT INTO customer_attribute (customer_id, key_lower, key, value)
         SELECT $1, lower(v.key), v.key, v.value FROM unnest($2::text[], $3::text[]) AS v(key, value)
         ON CONFLICT (customer_id, key_lower) DO UPDATE SET key = EXCLUDED.key, value = EXCLUDED.value`,
        [customerId.toString(), items.map((item) => item.key), items.map((item) => item.value)],
      );
    }
    const count = await client.query<{ total: string }>(
      'SELECT count(*) AS total FROM customer_attribute WHERE customer_id = $1',
      [customerId.toString()],
    );
    if (Number(count.rows[0].total) > MAX_ATTRIBUTES) {
      throw badRequest(-80007, `a customer can have at most ${MAX_ATTRIBUTES} attributes; delete some first`);
    }
    await this.touch(client, customerId);
  }

  private async touch(client: PoolClient, customerId: bigint): Promise<void> {
    await client.query('UPDATE customer SET updated_at = clock_timestamp() WHERE id = $1', [
      customerId.toString(),
    ]);
  }
}
