/**
 * `make bench`: measures how fast one service process applies a backlog of usage events, next to
 * a plain kafkajs consumer that only reads the same records from the same broker in the same run.
 * It uses a PostgreSQL cluster and a broker of its own, like `make chaos`, and prints figures only.
 */
import { mkdirSync, rmSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { Kafka, logLevel } from 'kafkajs';
import { Pool } from 'pg';

import { ChaosBroker } from './chaos/broker';
import { Fleet } from './chaos/fleet';
import { ChaosKafka } from './chaos/kafka-io';
import { PostgresCluster } from './chaos/postgres-cluster';
import { SeededRandom } from './chaos/random';
import { createCustomers, freePort, sleep } from './chaos/setup';
import { buildWorkload, planCustomers, STORAGE_SOURCE, USERS_SOURCE } from './chaos/workload';

const REPO_ROOT = resolve(__dirname, '..', '..');
const SERVICE_TOKEN = 'bench-service-token';
const PARTITIONS = 6;
const TOPICS = { storage: 'storage.usage', users: 'user.allocation' };
const DATABASE = 'quota_lock_bench';
const TIMEOUT_MS = 30 * 60_000;

const startedAt = Date.now();

function say(message: string): void {
  console.log(`bench: ${message}`);
}

function integer(name: string, fallback: number, min: number, max: number): number {
  const text = process.env[name];
  if (text === undefined || text === '') {
    return fallback;
  }
  if (!/^\d+$/.test(text) || Number(text) < min || Number(text) > max) {
    console.error(`bench: invalid ${name}=${text}; set a whole number from ${min} to ${max}`);
    process.exit(2);
  }
  return Number(text);
}

function rate(count: number, milliseconds: number): string {
  return `${Math.round((count * 1000) / milliseconds)} records/s`;
}

/** Reads every record of the inbound topics with a fresh group and returns the milliseconds it took. */
async function readWithPlainConsumer(brokers: string, expected: number): Promise<number> {
  const kafka = new Kafka({ clientId: 'bench-plain', brokers: [brokers], logLevel: logLevel.NOTHING });
  const consumer = kafka.consumer({ groupId: `bench-plain-${Date.now()}`, maxWaitTimeInMs: 250 });
  await consumer.connect();
  let read = 0;
  let firstAt = 0;
  let done: () => void = () => undefined;
  const finished = new Promise<void>((resolveDone) => {
    done = resolveDone;
  });
  await consumer.subscribe({ topics: [TOPICS.storage, TOPICS.users], fromBeginning: true });
  const subscribedAt = Date.now();
  await consumer.run({
    eachBatchAutoResolve: true,
    eachBatch: ({ batch }) => {
      firstAt ||= Date.now();
      read += batch.messages.length;
      if (read >= expected) {
        done();
      }
      return Promise.resolve();
    },
  });
  const timer = setTimeout(done, TIMEOUT_MS);
  await finished;
  clearTimeout(timer);
  const elapsed = Date.now() - (firstAt || subscribedAt);
  await consumer.disconnect();
  if (read < expected) {
    throw new Error(`the plain consumer read ${read} of ${expected} records before timing out`);
  }
  return elapsed;
}

async function main(): Promise<void> {
  const events = integer('EVENTS', 200_000, 1_000, 10_000_000);
  const customers = integer('CUSTOMERS', 1_000, 10, 100_000);
  const stateDir = process.env.CHAOS_STATE_DIR ?? join(REPO_ROOT, '.local', `bench-${process.pid}`);
  mkdirSync(join(stateDir, 'logs'), { recursive: true });
  const taken = new Set<number>();
  const postgres = new PostgresCluster(join(stateDir, 'postgres'), await freePort(taken));
  const broker = new ChaosBroker(
    REPO_ROOT,
    join(stateDir, 'kafka'),
    await freePort(taken),
    await freePort(taken),
  );
  const env = {
    PATH: process.env.PATH ?? '',
    CHAOS_RUN_ID: process.env.CHAOS_RUN_ID ?? '',
    APP_ENV: 'test',
    LOG_LEVEL: 'warn',
    HOST: '127.0.0.1',
    PORT: '0',
    DATABASE_URL: postgres.databaseUrl(DATABASE),
    KAFKA_BROKERS: broker.brokers,
    KAFKA_TOPIC_PARTITIONS: String(PARTITIONS),
    KAFKA_USAGE_SOURCES: `${STORAGE_SOURCE},${USERS_SOURCE}`,
    SERVICE_TOKEN,
    RATE_LIMIT_PER_MINUTE: '1000000',
  };
  const fleet = new Fleet(REPO_ROOT, join(stateDir, 'logs'), env, startedAt, say);
  const kafka = new ChaosKafka(broker.brokers);
  try {
    say(`starting PostgreSQL on 127.0.0.1:${postgres.port} and a broker on ${broker.brokers}`);
    await Promise.all([postgres.create(), broker.start()]);

    // A first process creates the topics and the schema, serves the customer creation, then stops.
    fleet.start(0, undefined, { LOG_LEVEL: 'info', KAFKA_GROUP_ID: 'bench-setup' });
    const setup = await fleet.readyInstance(180_000);
    const specs = planCustomers(new SeededRandom('bench-customers'), customers);
    const ids = await createCustomers(setup.port, SERVICE_TOKEN, 'bench', specs);
    await fleet.remove(0);

    const workload = buildWorkload(new SeededRandom('bench-workload'), ids, {
      events,
      maxEventBytes: 65_536,
      failingIdPrefix: 'unused-',
      poisonShare: 0,
      duplicateShare: 0,
    });
    const produceStart = Date.now();
    for (let start = 0; start < workload.records.length; start += 500) {
      await kafka.sendChunk(workload.records.slice(start, start + 500), TOPICS);
    }
    const produceMs = Date.now() - produceStart;
    say(
      `produced ${events} records for ${customers} customers on ${PARTITIONS} partitions in ${produceMs} ms`,
    );

    const plainMs = await readWithPlainConsumer(broker.brokers, events);
    say(`plain kafkajs consumer read them in ${plainMs} ms (${rate(events, plainMs)})`);

    const service = fleet.start(0, undefined, { KAFKA_GROUP_ID: 'bench-service', LOG_LEVEL: 'info' });
    const pool = new Pool({ connectionString: postgres.databaseUrl(DATABASE), max: 1 });
    const deadline = Date.now() + TIMEOUT_MS;
    let lag = -1n;
    while (Date.now() < deadline) {
      if (service.joinedAt !== undefined) {
        lag = await kafka.groupLag('bench-service', [TOPICS.storage, TOPICS.users]);
        if (lag === 0n) {
          break;
        }
      }
      await sleep(200);
    }
    const serviceMs = Date.now() - (service.joinedAt ?? Date.now());
    const applied = await pool.query<{ count: string }>('SELECT count(*) FROM processed_event');
    const locks = await pool.query<{ count: string }>('SELECT count(*) FROM outbox');
    await pool.end();
    if (lag !== 0n) {
      throw new Error(`the service still lagged by ${lag} records after ${TIMEOUT_MS / 1000} s`);
    }
    say(
      `service applied ${applied.rows[0].count} events and wrote ${locks.rows[0].count} lock events ` +
        `in ${serviceMs} ms after joining the group (${rate(events, serviceMs)})`,
    );
    const ratio = (plainMs / serviceMs).toFixed(3);
    say(
      `records=${events} customers=${customers} plain_ms=${plainMs} service_ms=${serviceMs} ` +
        `plain_per_s=${Math.round((events * 1000) / plainMs)} service_per_s=${Math.round((events * 1000) / serviceMs)} ` +
        `service_to_plain=${ratio}`,
    );
  } finally {
    fleet.killAll();
    await kafka.close();
    await broker.stop();
    await postgres.stop();
    rmSync(stateDir, { recursive: true, force: true });
  }
}

main().then(
  () => process.exit(0),
  (error: unknown) => {
    console.error(error);
    process.exit(1);
  },
);
