import { Inject, Injectable } from '@nestjs/common';

import { APP_CONFIG } from '../config/app-config';
import type { AppConfig } from '../config/app-config';
import { DatabaseService } from '../database/database.service';
import { ApiError } from '../http/api-error';
import { LockChangeWriter } from '../locking/lock-change-writer';
import { parseLockReasons } from '../locking/lock-reason';
import type { Actor } from './customer.repository';

export interface Page {
  offset: number;
  limit: number;
}

export interface PageOf<T> {
  items: T[];
  total: number;
}

export interface AllocatedUser {
  userId: string;
  allocatedAt: Date;
}

export interface LockHistoryItem {
  id: bigint;
  change: 'added' | 'removed' | 'deleted';
  reason: string | null;
  reasonsBefore: string[];
  reasonsAfter: string[];
  lockVersion: bigint;
  eventId: string | null;
  eventType: string | null;
  actor: string;
  causationId: string;
  comment: string | null;
  occurredAt: Date;
}

/** A customer's allocated users and lock history, and the deletion of a customer. */
@Injectable()
export class CustomerRecordsRepository {
  constructor(
    private readonly database: DatabaseService,
    @Inject(APP_CONFIG) private readonly config: AppConfig,
  ) {}

  async exists(id: bigint): Promise<boolean> {
    const result = await this.database.pool.query('SELECT 1 FROM customer WHERE id = $1', [id.toString()]);
    return (result.rowCount ?? 0) > 0;
  }

  /** Users ordered by allocation time, then id, so pages are stable. */
  async users(id: bigint, page: Page): Promise<PageOf<AllocatedUser>> {
    const [rows, count] = await Promise.all([
      this.database.pool.query<{ user_id: string; allocated_at: Date }>(
        `SELECT user_id, allocated_at FROM customer_user WHERE customer_id = $1
         ORDER BY allocated_at, user_id OFFSET $2 LIMIT $3`,
        [id.toString(), page.offset, page.limit],
      ),
      this.database.pool.query<{ total: string }>(
        'SELECT count(*) AS total FROM customer_user WHERE customer_id = $1',
        [id.toString()],
      ),
    ]);
    return {
      items: rows.rows.map((row) => ({ userId: row.user_id, allocatedAt: row.allocated_at })),
      total: Number(count.rows[0].total),
    };
  }

  /** Lock history, newest first. */
  async lockHistory(id: bigint, page: Page): Promise<PageOf<LockHistoryItem>> {
    const [rows, count] = await Promise.all([
      this.database.pool.query<{
        id: string;
        change: LockHistoryItem['change'];
        reason: string | null;
        reasons_before: string[];
        reasons_after: string[];
        lock_version: string;
        event_id: string | null;
        event_type: string | null;
        actor: string;
        causation_id: string;
        comment: string | null;
        occurred_at: Date;
      }>(
        `SELECT id, change, reason, reasons_before, reasons_after, lock_version, event_id, event_type, actor,
                causation_id, comment, occurred_at
         FROM lock_history WHERE customer_id = $1 ORDER BY id DESC OFFSET $2 LIMIT $3`,
        [id.toString(), page.offset, page.limit],
      ),
      this.database.pool.query<{ total: string }>(
        'SELECT count(*) AS total FROM lock_history WHERE customer_id = $1',
        [id.toString()],
      ),
    ]);
    return {
      items: rows.rows.map((row) => ({
        id: BigInt(row.id),
        change: row.change,
        reason: row.reason,
        reasonsBefore: row.reasons_before,
        reasonsAfter: row.reasons_after,
        lockVersion: BigInt(row.lock_version),
        eventId: row.event_id,
        eventType: row.event_type,
        actor: row.actor,
        causationId: row.causation_id,
        comment: row.comment,
        occurredAt: row.occurred_at,
      })),
      total: Number(count.rows[0].total),
    };
  }

  /**
   * Deletes the customer with its users and attributes in one transaction and publishes
   * CustomerDeleted. History, outbox and dedupe keys have no foreign key, so they stay.
   */
  async delete(id: bigint, actor: Actor): Promise<void> {
    await this.database.transaction(async (client) => {
      const locked = await client.query<{
        quota_used: string;
        quota_max: string;
        user_used: string;
        user_max: string;
        lock_reasons: string[];
        lock_version: string;
      }>(
        `SELECT quota_used, quota_max, user_used, user_max, lock_reasons, lock_version
         FROM customer WHERE id = $1 FOR UPDATE`,
        [id.toString()],
      );
      if (locked.rows.length === 0) {
        throw new ApiError(404, -90103, `customer ${id} not found`);
      }
      const row = locked.rows[0];
      await client.query('DELETE FROM customer_user WHERE customer_id = $1', [id.toString()]);
      await client.query('DELETE FROM customer_attribute WHERE customer_id = $1', [id.toString()]);
      await client.query('DELETE FROM customer WHERE id = $1', [id.toString()]);

      const writer = new LockChangeWriter(this.config.serviceSource);
      writer.add({
        customerId: id,
        change: 'deleted',
        reason: null,
        reasonsBefore: parseLockReasons(row.lock_reasons),
        reasonsAfter: [],
        lockVersion: BigInt(row.lock_version) + 1n,
        publishes: 'CustomerDeleted',
        usage: {
          quotaUsed: BigInt(row.quota_used),
          quotaMax: BigInt(row.quota_max),
          userUsed: BigInt(row.user_used),
          userMax: BigInt(row.user_max),
        },
        actor: actor.actor,
        causationId: actor.causationId,
        comment: null,
      });
      await writer.flush(client);
    });
  }
}
