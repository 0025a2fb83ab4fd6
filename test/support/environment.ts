import { execFileSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { Client } from 'pg';

export const REPO_ROOT = join(__dirname, '..', '..');

export interface TestServers {
  kafkaBrokers: string;
  /** A URL of the server's maintenance database; tests create their own databases beside it. */
  adminDatabaseUrl: string;
  source: string;
}

async function databaseAnswers(url: string): Promise<boolean> {
  const client = new Client({ connectionString: url, connectionTimeoutMillis: 2000 });
  try {
    await client.connect();
    await client.query('SELECT 1');
    return true;
  } catch {
    return false;
  } finally {
    await client.end().catch(() => undefined);
  }
}

function localBroker(): string | null {
  try {
    const output = execFileSync(join(REPO_ROOT, 'scripts', 'kafka-broker.sh'), ['status'], {
      encoding: 'utf8',
    });
    const port = /port=(\d+)/.exec(output)?.[1];
    return port ? `127.0.0.1:${port}` : null;
  } catch {
    return null;
  }
}

function dockerAvailable(): boolean {
  return Boolean(process.env.DOCKER_HOST) || existsSync('/var/run/docker.sock');
}

/**
 * Finds the real broker and PostgreSQL for integration tests, in this order: KAFKA_BROKERS and
 * TEST_DATABASE_URL from the environment, then the project's local broker and the local PostgreSQL,
 * then testcontainers where Docker is available. Fails with a message naming all three otherwise.
 */
export async function resolveTestServers(): Promise<TestServers & { stop?: () => Promise<void> }> {
  const envBrokers = process.env.KAFKA_BROKERS;
  const envDatabase = process.env.TEST_DATABASE_URL;
  const localDatabase = 'postgres://postgres@127.0.0.1:5432/postgres';

  const brokers = envBrokers || localBroker();
  const databaseUrl = envDatabase || ((await databaseAnswers(localDatabase)) ? localDatabase : null);
  if (brokers && databaseUrl) {
    return {
      kafkaBrokers: brokers,
      adminDatabaseUrl: databaseUrl,
      source: envBrokers ? 'environment' : 'local',
    };
  }
  if (dockerAvailable()) {
    return startContainers(brokers, databaseUrl);
  }
  throw new Error(
    'integration tests need a real Kafka broker and PostgreSQL, and none was found: ' +
      '(1) set KAFKA_BROKERS and TEST_DATABASE_URL, or ' +
      '(2) start the local broker with `scripts/kafka-broker.sh start` and a PostgreSQL on 127.0.0.1:5432 ' +
      '(`make test` does both), or (3) make Docker available for testcontainers.',
  );
}

async function startContainers(
  brokers: string | null,
  databaseUrl: string | null,
): Promise<TestServers & { stop: () => Promise<void> }> {
  const stops: (() => Promise<unknown>)[] = [];
  let kafkaBrokers = brokers;
  let adminDatabaseUrl = databaseUrl;
  if (!kafkaBrokers) {
    const { KafkaContainer } = await import('@testcontainers/kafka');
    const kafka = await new KafkaContainer('apache/kafka:4.1.1').withKraft().start();
    stops.push(() => kafka.stop());
    kafkaBrokers = `${kafka.getHost()}:${kafka.getMappedPort(9093)}`;
  }
  if (!adminDatabaseUrl) {
    const { PostgreSqlContainer } = await import('@testcontainers/postgresql');
    const postgres = await new PostgreSqlContainer('postgres:16').start();
    stops.push(() => postgres.stop());
    adminDatabaseUrl = postgres.getConnectionUri();
  }
  return {
    kafkaBrokers,
    adminDatabaseUrl,
    source: 'testcontainers',
    stop: async () => {
      for (const stop of stops) {
        await stop();
      }
    },
  };
}
