import { Client, DatabaseError } from 'pg';
import { DataSource } from 'typeorm';

import { dataSourceOptions } from './data-source';

/** Key of the session advisory lock that serialises migrations across instances. */
const MIGRATION_LOCK_KEY = 7_301_245_001;

function isDatabaseError(error: unknown, ...codes: string[]): boolean {
  return error instanceof DatabaseError && codes.includes(error.code ?? '');
}

/** Creates the database named in `url` if it is missing; a concurrent creator is not an error. */
export async function ensureDatabase(url: string): Promise<boolean> {
  const target = new URL(url);
  const name = decodeURIComponent(target.pathname.slice(1));
  const maintenance = new URL(url);
  maintenance.pathname = '/postgres';

  const client = new Client({ connectionString: maintenance.toString() });
  // A lost connection rejects the query in flight; the listener only keeps the process alive.
  client.on('error', () => undefined);
  await client.connect();
  try {
    const found = await client.query('SELECT 1 FROM pg_database WHERE datname = $1', [name]);
    if (found.rowCount) {
      return false;
    }
    await client.query(`CREATE DATABASE "${name.replace(/"/g, '""')}"`);
    return true;
  } catch (error) {
    // 42P04: duplicate_database; 23505: the catalog's unique index, hit when two creators race.
    if (isDatabaseError(error, '42P04', '23505')) {
      return false;
    }
    throw error;
  } finally {
    await client.end();
  }
}

/** Runs pending migrations while holding an advisory lock on a dedicated connection. */
export async function runMigrations(url: string): Promise<string[]> {
  const lockClient = new Client({ connectionString: url });
  lockClient.on('error', () => undefined);
  await lockClient.connect();
  const dataSource = new DataSource(dataSourceOptions(url, 2));
  try {
    await lockClient.query('SELECT pg_advisory_lock($1)', [MIGRATION_LOCK_KEY]);
    await dataSource.initialize();
    const applied = await dataSource.runMigrations({ transaction: 'all' });
    return applied.map((migration) => migration.name);
  } finally {
    if (dataSource.isInitialized) {
      await dataSource.destroy();
    }
    await lockClient.query('SELECT pg_advisory_unlock($1)', [MIGRATION_LOCK_KEY]).catch(() => undefined);
    await lockClient.end();
  }
}

/** Prepares the database for the service: create it if missing, then migrate. */
export async function prepareDatabase(url: string): Promise<{ created: boolean; applied: string[] }> {
  const created = await ensureDatabase(url);
  const applied = await runMigrations(url);
  return { created, applied };
}

async function main(): Promise<void> {
  const url = process.env.DATABASE_URL ?? 'postgres://postgres@127.0.0.1:5432/quota_lock';
  const { created, applied } = await prepareDatabase(url);
  const database = new URL(url).pathname.slice(1);
  process.stdout.write(
    `migrate: database ${database}${created ? ' created' : ''}, ${applied.length} migration(s) applied` +
      (applied.length ? `: ${applied.join(', ')}` : '') +
      '\n',
  );
}

if (require.main === module) {
  main().catch((error: unknown) => {
    process.stderr.write(`migrate: failed: ${error instanceof Error ? error.message : String(error)}\n`);
    process.exit(1);
  });
}
