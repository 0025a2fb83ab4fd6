import { randomBytes } from 'node:crypto';
import { Client, DatabaseError } from 'pg';

import { MIGRATIONS } from '../../src/database/data-source';
import { prepareDatabase } from '../../src/database/migrate';

const CONCURRENT_CALLERS = 4;
const MIGRATION_NAMES = MIGRATIONS.map((migration) => new migration().name);

/** Every timestamp column of the schema, each of which must be `timestamptz(3)`. */
const TIMESTAMP_COLUMNS = [
  'customer.created_at',
  'customer.last_login_at',
  'customer.updated_at',
  'customer_user.allocated_at',
  'idempotency_key.created_at',
  'lock_history.occurred_at',
  'outbox.created_at',
  'outbox.published_at',
  'processed_event.processed_at',
];

/** Counter and limit columns that must hold the full signed 64-bit range. */
const BIGINT_COLUMNS = [
  'customer.quota_used',
  'customer.quota_max',
  'customer.user_used',
  'customer.user_max',
  'customer.lock_version',
  'lock_history.lock_version',
  'outbox.lock_version',
];

/** Counters whose CHECK constraint rejects a negative value. */
const NON_NEGATIVE_COUNTERS = ['quota_used', 'user_used', 'lock_version'];

interface ColumnType {
  column: string;
  dataType: string;
  precision: number | null;
}

function databaseUrl(name: string): string {
  const adminUrl = process.env.TEST_DATABASE_URL;
  if (!adminUrl) {
    throw new Error('TEST_DATABASE_URL is not set; run the suite with `make test`');
  }
  const url = new URL(adminUrl);
  url.pathname = `/${name}`;
  return url.toString();
}

/** Runs `statement` and returns the SQLSTATE it failed with, or 'none' when it succeeded. */
async function sqlStateOf(client: Client, statement: string): Promise<string> {
  try {
    await client.query(statement);
    return 'none';
  } catch (error) {
    return error instanceof DatabaseError
      ? (error.code ?? 'no code')
      : `not a database error: ${String(error)}`;
  }
}

describe('database migrations', () => {
  const name = `quota_lock_test_${process.env.TEST_RUN_ID ?? 'local'}_migrate_${randomBytes(4).toString('hex')}`;
  const url = databaseUrl(name);
  let outcomes: PromiseSettledResult<{ created: boolean; applied: string[] }>[] = [];
  let client: Client | undefined;

  beforeAll(async () => {
    outcomes = await Promise.allSettled(
      Array.from({ length: CONCURRENT_CALLERS }, () => prepareDatabase(url)),
    );
    client = new Client({ connectionString: url });
    await client.connect();
  });

  afterAll(async () => {
    await client?.end();
    const admin = new Client({ connectionString: databaseUrl('postgres') });
    await admin.connect();
    try {
      await admin.query(`DROP DATABASE IF EXISTS "${name}" WITH (FORCE)`);
    } finally {
      await admin.end();
    }
  });

  function results(): { created: boolean; applied: string[] }[] {
    return outcomes.flatMap((outcome) => (outcome.status === 'fulfilled' ? [outcome.value] : []));
  }

  async function columnTypes(columns: string[]): Promise<ColumnType[]> {
    const rows = await client!.query<ColumnType>(
      `SELECT table_name || '.' || column_name AS column, data_type AS "dataType",
              datetime_precision AS precision
       FROM information_schema.columns
       WHERE table_schema = 'public' AND table_name || '.' || column_name = ANY($1::text[])
       ORDER BY 1`,
      [columns],
    );
    return rows.rows;
  }

  it('concurrent callers all succeed', () => {
    const failures = outcomes.flatMap((outcome) =>
      outcome.status === 'rejected' ? [String(outcome.reason)] : [],
    );

    expect(failures).toEqual([]);
  });

  it('concurrent callers create database once', () => {
    const creators = results().filter((result) => result.created);

    expect(creators).toHaveLength(1);
  });

  it('concurrent callers apply migrations once', () => {
    const applied = results().flatMap((result) => result.applied);

    expect(applied.sort()).toEqual([...MIGRATION_NAMES].sort());
  });

  it('migration table lists each migration once', async () => {
    const rows = await client!.query<{ name: string }>('SELECT name FROM schema_migration ORDER BY name');

    expect(rows.rows.map((row) => row.name)).toEqual([...MIGRATION_NAMES].sort());
  });

  it('second run applies nothing', async () => {
    const again = await prepareDatabase(url);

    expect(again).toEqual({ created: false, applied: [] });
  });

  it.each(BIGINT_COLUMNS)('counter %s is bigint', async (column) => {
    const [type] = await columnTypes([column]);

    expect(type?.dataType).toBe('bigint');
  });

  it.each(NON_NEGATIVE_COUNTERS)('negative %s violates check constraint', async (column) => {
    const inserted = await client!.query<{ id: string }>(
      `INSERT INTO customer (customer_uuid, company_name, customer_contract_type, quota_max, user_max)
       VALUES (gen_random_uuid(), 'Check Co', 'pay', -1, -1) RETURNING id`,
    );
    const id = inserted.rows[0].id;

    // SQLSTATE 23514 is check_violation. A type or range error would report another code.
    const state = await sqlStateOf(client!, `UPDATE customer SET ${column} = -1 WHERE id = ${id}`);

    expect(state).toBe('23514');
  });

  it('schema has no other timestamp columns', async () => {
    const rows = await client!.query<{ column: string }>(
      `SELECT table_name || '.' || column_name AS column FROM information_schema.columns
       WHERE table_schema = 'public' AND data_type LIKE 'timestamp%' ORDER BY 1`,
    );

    expect(rows.rows.map((row) => row.column)).toEqual(TIMESTAMP_COLUMNS);
  });

  it.each(TIMESTAMP_COLUMNS)('timestamp %s is timestamptz(3)', async (column) => {
    const [type] = await columnTypes([column]);

    expect(type?.dataType).toBe('timestamp with time zone');
    expect(type?.precision).toBe(3);
  });
});
