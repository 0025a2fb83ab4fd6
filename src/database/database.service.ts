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
    // pg-pool drops its own error listener while a client is checked out, so a connection lost
    // mid-transaction would otherwise be an unhandled 'error' event that ends the process. The
    // query in flight still rejects and is retried as an availability error.
    const onError = (error: Error): void => {
      broken = error;
    };
    client.on('error', onError);
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
      client.off('error', onError);
      // A connection that failed is destroyed rather than returned to the pool.
      client.release(broken);
    }
  }

  async ping(): Promise<void> {
    await this.pool.query('SELECT 1');
  }
}
