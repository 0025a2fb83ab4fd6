import { Injectable } from '@nestjs/common';
import { InjectDataSource } from '@nestjs/typeorm';
import { Pool, PoolClient } from 'pg';
import { DataSource } from 'typeorm';

import { classifyError } from '../common/errors/error-class';

export interface TransactionHooks {
  /** Runs after the work and right before COMMIT; the test-only fault points hook in here. */
  beforeCommit?: () => void;
  /** Runs right after COMMIT succeeded. */
  afterCommit?: () => void;
}

/**
 * Plain SQL transactions on TypeORM's connection pool. The hot paths use set-based SQL with
 * `unnest` arrays, which TypeORM's query builder does not express.
 */
@Injectable()
export class DatabaseService {
  constructor(@InjectDataSource() private readonly dataSource: DataSource) {}

  get pool(): Pool {
    return (this.dataSource.driver as unknown as { master: Pool }).master;
  }

  async transaction<T>(work: (client: PoolClient) => Promise<T>, hooks: TransactionHooks = {}): Promise<T> {
    const client = await this.pool.connect();
    let broken: Error | undefined;
    try {
      await client.query('BEGIN');
      const result = await work(client);
      hooks.beforeCommit?.();
      await client.query('COMMIT');
      hooks.afterCommit?.();
      return result;
    } catch (error) {
      await client.query('ROLLBACK').catch((rollbackError: Error) => {
        broken = rollbackError;
      });
      if (classifyError(error) === 'availability') {
        broken = error instanceof Error ? error : new Error(String(error));
      }
      throw error;
    } finally {
      // A connection that failed is destroyed rather than returned to the pool.
      client.release(broken);
    }
  }

  async ping(): Promise<void> {
    await this.pool.query('SELECT 1');
  }
}
