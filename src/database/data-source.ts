import { DataSource, DataSourceOptions } from 'typeorm';

import { CustomerAttribute } from '../customers/customer-attribute.entity';
import { CustomerUser } from '../customers/customer-user.entity';
import { Customer } from '../customers/customer.entity';
import { LockHistoryEntry } from '../locking/lock-history.entity';
import { OutboxMessage } from '../outbox/outbox-message.entity';
import { ProcessedEvent } from '../usage/processed-event.entity';
import { InitialSchema1764806400000 } from './migrations/1764806400000-initial-schema';
import { IdempotencyKeys1764892800000 } from './migrations/1764892800000-idempotency-keys';

/** Entities and migrations as imported class lists, so the compiled output needs no file globs. */
export const ENTITIES = [
  Customer,
  CustomerAttribute,
  CustomerUser,
  ProcessedEvent,
  LockHistoryEntry,
  OutboxMessage,
];
export const MIGRATIONS = [InitialSchema1764806400000, IdempotencyKeys1764892800000];

/**
 * Session settings of every service connection: a stopped process must not hold row locks for
 * long, so an idle transaction ends after 10 s, below the Kafka consumer session timeout.
 */
export const SESSION_SETTINGS =
  '-c idle_in_transaction_session_timeout=10000 -c lock_timeout=5000 -c statement_timeout=30000';

export function dataSourceOptions(url: string, poolMax: number): DataSourceOptions {
  return {
    type: 'postgres',
    url,
    entities: ENTITIES,
    migrations: MIGRATIONS,
    migrationsTableName: 'schema_migration',
    migrationsTransactionMode: 'all',
    synchronize: false,
    migrationsRun: false,
    logging: false,
    extra: { max: poolMax, options: SESSION_SETTINGS, application_name: 'quota-lock-service' },
  };
}

/** The data source of the TypeORM CLI: `typeorm migration:show -d dist/src/database/data-source.js`. */
export default new DataSource(
  dataSourceOptions(process.env.DATABASE_URL ?? 'postgres://postgres@127.0.0.1:5432/quota_lock', 2),
);
