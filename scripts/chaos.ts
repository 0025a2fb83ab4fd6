/**
 * `make chaos`: runs several service processes in one consumer group against a broker and a
 * PostgreSQL cluster of the run's own, sends a seeded workload while a seeded schedule kills,
 * pauses and restarts processes, the broker and the database, and then checks the topics and
 * the database against the workload's ledger. Exits 0 only when nothing was lost or counted
 * twice, every lock event is accounted for, and every fault kind and fault point happened.
 */
import { createHash } from 'node:crypto';
import { mkdirSync, rmSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { Pool } from 'pg';

import { ChaosBroker } from './chaos/broker';
import { FaultInjector, FAULT_KINDS, planFaults } from './chaos/faults';
import { FaultPoint, Fleet } from './chaos/fleet';
import { ChaosKafka } from './chaos/kafka-io';
import { PostgresCluster } from './chaos/postgres-cluster';
import { SeededRandom } from './chaos/random';
import { createCustomers, freePort, sleep } from './chaos/setup';
import { ChaosSettings, loadSettings, SettingsError } from './chaos/settings';
import { DatabaseState, HistoryRow, Verdict, Verifier } from './chaos/verify';
import { buildWorkload, ChaosRecord, planCustomers, STORAGE_SOURCE, USERS_SOURCE } from './chaos/workload';

const REPO_ROOT = resolve(__dirname, '..', '..');
const GROUP_ID = 'quota-lock-chaos';
const SERVICE_TOKEN = 'chaos-service-token';
const FAILING_ID_PREFIX = 'chaos-fail-';
const MAX_EVENT_BYTES = 65_536;
const PARTITIONS = 6;
const TOPICS = {
  storage: 'storage.usage',
  users: 'user.allocation',
  locks: 'customer.lock',
  deadLetters: 'quota.dlq',
};
const FAULT_POINTS: FaultPoint[] = ['before-db-commit', 'after-db-commit', 'after-relay-send'];
const READY_TIMEOUT_MS = 180_000;
const DRAIN_TIMEOUT_MS = 600_000;
const CHUNK_SIZE = 250;

const startedAt = Date.now();

function elapsedSeconds(): number {
  return Math.round((Date.now() - startedAt) / 1000);
}

function say(message: string): void {
  console.log(`chaos [${String(elapsedSeconds()).padStart(4)} s] ${message}`);
}

/** Servers and processes of the run, so every exit path can stop them. */
interface Servers {
  postgres: PostgresCluster;
  broker: ChaosBroker;
  fleet?: Fleet;
  kafka?: ChaosKafka;
  pool?: Pool;
}

async function startServers(settings: ChaosSettings): Promise<Servers> {
  const taken = new Set<number>();
  const postgres = new PostgresCluster(join(settings.stateDir, 'postgres'), await freePort(taken));
  const broker = new ChaosBroker(
    REPO_ROOT,
    join(settings.stateDir, 'kafka'),
    await freePort(taken),
    await freePort(taken),
  );
  say(`starting PostgreSQL on 127.0.0.1:${postgres.port} and a broker on ${broker.brokers}`);
  await Promise.all([postgres.create(), broker.start()]);
  return { postgres, broker };
}

function serviceEnvironment(servers: Servers): Record<string, string> {
  return {
    PATH: process.env.PATH ?? '',
    CHAOS_RUN_ID: process.env.CHAOS_RUN_ID ?? '',
    // Lets scripts/run-tests.sh find and kill the processes if a test run is cut off.
    TEST_RUN_ID: process.env.TEST_RUN_ID ?? '',
    APP_ENV: 'test',
    LOG_LEVEL: 'info',
    HOST: '127.0.0.1',
    PORT: '0',
    DATABASE_URL: servers.postgres.databaseUrl('quota_lock_chaos'),
    KAFKA_BROKERS: servers.broker.brokers,
    KAFKA_GROUP_ID: GROUP_ID,
    KAFKA_TOPIC_PARTITIONS: String(PARTITIONS),
    KAFKA_USAGE_SOURCES: `${STORAGE_SOURCE},${USERS_SOURCE}`,
    SERVICE_TOKEN,
    RATE_LIMIT_PER_MINUTE: '1000000',
    MAX_EVENT_BYTES: String(MAX_EVENT_BYTES),
    SHUTDOWN_TIMEOUT_MS: '20000',
    TEST_FAILING_EVENT_ID_PREFIX: FAILING_ID_PREFIX,
  };
}

/** Fingerprints the workload (topics, keys, values, headers), so two runs can show they sent the same records. */
function workloadDigest(records: readonly ChaosRecord[]): string {
  const hash = createHash('sha256');
  for (const record of records) {
    hash.update(`${record.topic}\0${record.key ?? '\u0000null'}\0${JSON.stringify(record.headers)}\0`);
    hash.update(record.value ?? 'null-value');
    hash.update('\n');
  }
  return hash.digest('hex').slice(0, 16);
}

/**
 * Sends the records in order at a pace that spreads them over the run's duration. While faults
 * are still pending it holds back a reserve and spreads it over the time the pending faults
 * should take (about 40 s each), so every fault meets traffic.
 */
async function produce(
  kafka: ChaosKafka,
  records: ChaosRecord[],
  durationSeconds: number,
  pendingFaults: () => number,
  progress: { sent: number },
): Promise<void> {
  const total = records.length;
  const reserve = Math.min(Math.max(500, Math.floor(total * 0.1)), Math.floor(total / 4));
  const begin = Date.now();
  const topicNames = { storage: TOPICS.storage, users: TOPICS.users };
  let trickleFrom: { at: number; sent: number; perSecond: number } | undefined;
  while (progress.sent < total) {
    const elapsed = (Date.now() - begin) / 1000;
    let target = Math.min(total, Math.floor((total * elapsed) / durationSeconds));
    const pending = pendingFaults();
    if (pending > 0 && target >= total - reserve) {
      if (trickleFrom === undefined || trickleFrom.at + 10_000 < Date.now()) {
        const left = total - Math.max(progress.sent, total - reserve);
        trickleFrom = { at: Date.now(), sent: progress.sent, perSecond: Math.max(3, left / (pending * 40)) };
      }
      const trickled = Math.floor(((Date.now() - trickleFrom.at) / 1000) * trickleFrom.perSecond);
      target = Math.min(total - 1, Math.max(trickleFrom.sent, total - reserve) + trickled);
    } else {
      trickleFrom = undefined;
    }
    if (target <= progress.sent) {
      await sleep(50);
      continue;
    }
    const end = Math.min(target, progress.sent + CHUNK_SIZE);
    await kafka.sendChunk(records.slice(progress.sent, end), topicNames);
    progress.sent = end;
  }
}

async function countSafely(pool: Pool, sql: string): Promise<string> {
  try {
    const result = await pool.query<{ count: string }>(sql);
    return result.rows[0].count;
  } catch {
    return '?';
  }
}

/** Waits until the group has committed every inbound record and the outbox is empty, twice in a row. */
async function drain(kafka: ChaosKafka, pool: Pool): Promise<boolean> {
  const deadline = Date.now() + DRAIN_TIMEOUT_MS;
  let quiet = 0;
  let lastReport = 0;
  while (Date.now() < deadline) {
    try {
      const lag = await kafka.groupLag(GROUP_ID, [TOPICS.storage, TOPICS.users]);
      const unpublished = await pool.query<{ count: string }>(
        'SELECT count(*) FROM outbox WHERE published_at IS NULL',
      );
      const pending = Number(unpublished.rows[0].count);
      quiet = lag === 0n && pending === 0 ? quiet + 1 : 0;
      if (quiet >= 2) {
        return true;
      }
      if (Date.now() - lastReport > 10_000) {
        say(`draining: consumer lag ${lag}, unpublished outbox rows ${pending}`);
        lastReport = Date.now();
      }
    } catch (error) {
      say(`draining: ${(error as Error).message}`);
    }
    await sleep(2000);
  }
  return false;
}

async function readDatabase(url: string): Promise<DatabaseState> {
  const pool = new Pool({ connectionString: url, max: 1 });
  try {
    const customers = await pool.query<{
      id: string;
      quota_used: string;
      user_used: string;
      lock_reasons: string[];
      lock_version: string;
    }>('SELECT id, quota_used, user_used, lock_reasons, lock_version FROM customer');
    const dedupe = await pool.query<{ customer_id: string; source: string; event_id: string }>(
      'SELECT customer_id, source, event_id FROM processed_event',
    );
    const users = await pool.query<{ customer_id: string; user_id: string }>(
      'SELECT customer_id, user_id FROM customer_user',
    );
    const history = await pool.query<{
      customer_id: string;
      id: string;
      change: HistoryRow['change'];
      reason: string | null;
      reasons_before: string[];
      reasons_after: string[];
      lock_version: string;
      event_id: string | null;
      event_type: string | null;
    }>(
      'SELECT customer_id, id, change, reason, reasons_before, reasons_after, lock_version, event_id, event_type ' +
        'FROM lock_history ORDER BY customer_id, id',
    );
    const unpublished = await pool.query<{ count: string }>(
      'SELECT count(*) FROM outbox WHERE published_at IS NULL',
    );
    const userSets = new Map<bigint, Set<string>>();
    for (const row of users.rows) {
      const id = BigInt(row.customer_id);
      const set = userSets.get(id) ?? new Set<string>();
      set.add(row.user_id);
      userSets.set(id, set);
    }
    return {
      customers: customers.rows.map((row) => ({
        id: BigInt(row.id),
        quotaUsed: BigInt(row.quota_used),
        userUsed: BigInt(row.user_used),
        lockReasons: row.lock_reasons,
        lockVersion: BigInt(row.lock_version),
      })),
      dedupeKeys: new Set(dedupe.rows.map((row) => `${row.customer_id}|${row.source}#${row.event_id}`)),
      users: userSets,
      history: history.rows.map((row) => ({
        customerId: BigInt(row.customer_id),
        id: BigInt(row.id),
        change: row.change,
        reason: row.reason,
        reasonsBefore: row.reasons_before,
        reasonsAfter: row.reasons_after,
        lockVersion: BigInt(row.lock_version),
        eventId: row.event_id,
        eventType: row.event_type,
      })),
      unpublishedOutbox: Number(unpublished.rows[0].count),
    };
  } finally {
    await pool.end();
  }
}

interface RunOutcome {
  verdict?: Verdict;
  /** Fingerprint of the records the seed produced; equal seeds give equal digests. */
  workloadDigest?: string;
  faults: FaultInjector;
  fleet: Fleet;
  drained: boolean;
  error?: string;
}

function countBy<T extends string>(items: readonly T[]): Record<string, number> {
  const counts: Record<string, number> = {};
  for (const item of items) {
    counts[item] = (counts[item] ?? 0) + 1;
  }
  return counts;
}

/** Lists every broken guarantee and every fault that did not happen; an empty list is a pass. */
function failuresOf(outcome: RunOutcome): string[] {
  const failures: string[] = [];
  if (outcome.error !== undefined) {
    failures.push(outcome.error);
  }
  if (!outcome.drained) {
    failures.push(`the service did not catch up within ${DRAIN_TIMEOUT_MS / 1000} s after the last fault`);
  }

  const kinds = new Set(outcome.faults.done.map((fault) => fault.kind));
  for (const kind of FAULT_KINDS) {
    if (!kinds.has(kind)) {
      failures.push(`fault kind ${kind} was not injected`);
    }
  }
  for (const point of FAULT_POINTS) {
    if (!outcome.fleet.firedPoints.includes(point)) {
      failures.push(`fault point ${point} never fired`);
    }
  }

  const verdict = outcome.verdict;
  if (verdict === undefined) {
    failures.push('the results were not checked');
    return failures;
  }

  const figures: [string, number][] = [
    ['lost', verdict.lost],
    ['double_counted', verdict.doubleCounted],
    ['lock_missing', verdict.lockMissing],
    ['lock_extra', verdict.lockExtra],
    ['counter mismatches', verdict.details.counterMismatches],
    ['user set mismatches', verdict.details.userSetMismatches],
    ['dead letters not from poison', verdict.details.deadLettersUnexpected],
    ['dead letters with a wrong code', verdict.details.deadLettersWithWrongCode],
    ['planned records not on the topics', verdict.details.plannedRecordsNotOnTopics],
    ['lock events changed on a repeat', verdict.details.lockEventsChangedOnRepeat],
    ['lock events first published out of lockVersion order', verdict.details.lockOrderViolations],
    ['reason set mismatches', verdict.details.reasonSetMismatches],
    ['lock history mismatches', verdict.details.historyMismatches],
    ['lockVersion mismatches', verdict.details.lockVersionMismatches],
    ['unpublished outbox rows', verdict.details.unpublishedOutbox],
  ];
  for (const [name, value] of figures) {
    if (value !== 0) {
      failures.push(`${name}: ${value}`);
    }
  }
  if (verdict.deadLettered !== verdict.poison) {
    failures.push(`dead_lettered ${verdict.deadLettered} differs from poison ${verdict.poison}`);
  }
  return failures;
}

function report(settings: ChaosSettings, outcome: RunOutcome, failures: string[]): string {
  const verdict = outcome.verdict;
  const seconds = elapsedSeconds();
  const kinds = new Set(outcome.faults.done.map((fault) => fault.kind)).size;
  const figures = {
    events: verdict?.events ?? 0,
    poison: verdict?.poison ?? 0,
    faults: outcome.faults.done.length,
    kinds,
    applied: verdict?.applied ?? 0,
    deduplicated: verdict?.deduplicated ?? 0,
    dead_lettered: verdict?.deadLettered ?? 0,
    lost: verdict?.lost ?? -1,
    double_counted: verdict?.doubleCounted ?? -1,
    lock_missing: verdict?.lockMissing ?? -1,
    lock_extra: verdict?.lockExtra ?? -1,
    seconds,
  };
  const file =
    settings.reportFile !== ''
      ? resolve(settings.reportFile)
      : join(REPO_ROOT, '.local', 'chaos-reports', `chaos-${settings.seed}-${new Date().toISOString()}.json`);
  mkdirSync(resolve(file, '..'), { recursive: true });
  const body = {
    passed: failures.length === 0,
    failures,
    settings: {
      seed: settings.seed,
      events: settings.events,
      customers: settings.customers,
      instances: settings.instances,
      durationSeconds: settings.durationSeconds,
      extraFaults: settings.extraFaults,
    },
    workloadDigest: outcome.workloadDigest,
    figures,
    faultsByKind: countBy(outcome.faults.done.map((fault) => fault.kind)),
    faultPointsFired: countBy(outcome.fleet.firedPoints),
    faults: outcome.faults.done,
    unexpectedExits: outcome.fleet.unexpectedExits,
    details: verdict?.details,
    samples: verdict?.samples ?? [],
  };
  writeFileSync(file, `${JSON.stringify(body, null, 2)}\n`);
  const line = Object.entries(figures)
    .map(([name, value]) => `${name}=${value}`)
    .join(' ');
  console.log(`chaos: ${line}`);
  return file;
}

async function runChaos(settings: ChaosSettings, servers: Servers): Promise<RunOutcome> {
  const random = new SeededRandom(settings.seed);
  const customerRandom = random.fork('customers');
  const workloadRandom = random.fork('workload');
  const faultRandom = random.fork('faults');
  const logDir = join(settings.stateDir, 'logs');
  mkdirSync(logDir, { recursive: true });

  const fleet = new Fleet(REPO_ROOT, logDir, serviceEnvironment(servers), startedAt, say);
  servers.fleet = fleet;
  for (let slot = 0; slot < settings.instances; slot++) {
    fleet.start(slot);
  }
  const faults = new FaultInjector(
    fleet,
    servers.broker,
    servers.postgres,
    settings.instances,
    startedAt,
    say,
  );
  const outcome: RunOutcome = { faults, fleet, drained: false };
  if (!(await fleet.waitAllReady(READY_TIMEOUT_MS))) {
    outcome.error = `the service instances were not ready within ${READY_TIMEOUT_MS / 1000} s`;
    return outcome;
  }
  say(`${settings.instances} instances ready; creating ${settings.customers} customers`);
  const setupInstance = await fleet.readyInstance(READY_TIMEOUT_MS);
  const specs = planCustomers(customerRandom, settings.customers);
  const customers = await createCustomers(setupInstance.port, SERVICE_TOKEN, 'chaos', specs);
  const workload = buildWorkload(workloadRandom, customers, {
    events: settings.events,
    maxEventBytes: MAX_EVENT_BYTES,
    failingIdPrefix: FAILING_ID_PREFIX,
    poisonShare: 0.01,
    duplicateShare: 0.03,
  });
  const plan = planFaults(faultRandom, settings.durationSeconds, settings.extraFaults);
  const digest = workloadDigest(workload.records);
  outcome.workloadDigest = digest;
  say(
    `workload ${digest}: ${workload.records.length} records (${workload.uniqueEvents} events, ` +
      `${workload.duplicates} repeats, ${workload.records.length - workload.uniqueEvents - workload.duplicates} poison); ` +
      `${plan.length} faults planned`,
  );

  const kafka = new ChaosKafka(servers.broker.brokers);
  servers.kafka = kafka;
  const pool = new Pool({ connectionString: servers.postgres.databaseUrl('quota_lock_chaos'), max: 2 });
  pool.on('error', () => undefined);
  servers.pool = pool;
  const progress = { sent: 0 };
  let faultsFinished = false;
  let faultError: string | undefined;
  const ticker = setInterval(() => {
    void countSafely(pool, 'SELECT count(*) FROM processed_event').then((applied) => {
      say(
        `sent ${progress.sent}/${workload.records.length}, applied ${applied}, ` +
          `faults ${faults.done.length}/${plan.length}, instances ${fleet.size}`,
      );
    });
  }, 10_000);
  const faultRun = (async () => {
    try {
      await sleep(5000);
      for (const fault of plan) {
        await sleep(fault.gapSeconds * 1000);
        const record = await faults.run(fault);
        say(`  ${record.kind} on ${record.target}: recovered after ${record.recoveredAfterSeconds} s`);
      }
    } catch (error) {
      faultError = (error as Error).message;
      say(`fault schedule stopped: ${faultError}`);
    } finally {
      faultsFinished = true;
    }
  })();
  try {
    await produce(
      kafka,
      workload.records,
      settings.durationSeconds,
      () => (faultsFinished ? 0 : plan.length - faults.done.length),
      progress,
    );
    await faultRun;
    say(`all ${workload.records.length} records sent (${kafka.sendFailures} chunks resent); draining`);
    outcome.drained = await drain(kafka, pool);
  } finally {
    clearInterval(ticker);
  }
  if (faultError !== undefined) {
    outcome.error = `fault schedule failed: ${faultError}`;
  }
  await fleet.stopAll();
  say('instances stopped; reading the topics and the database back');
  const [storage, users, deadLetters, locks] = [
    await kafka.readAll(TOPICS.storage),
    await kafka.readAll(TOPICS.users),
    await kafka.readAll(TOPICS.deadLetters),
    await kafka.readAll(TOPICS.locks),
  ];
  const database = await readDatabase(servers.postgres.databaseUrl('quota_lock_chaos'));
  const verifier = new Verifier(workload.records, workload.ledgers, {
    storage: TOPICS.storage,
    users: TOPICS.users,
  });
  outcome.verdict = verifier.verify({ inbound: [...storage, ...users], deadLetters, locks }, database);
  return outcome;
}

async function stopServers(servers: Servers | undefined): Promise<void> {
  if (servers === undefined) {
    return;
  }
  servers.fleet?.killAll();
  await servers.kafka?.close();
  await servers.pool?.end().catch(() => undefined);
  await servers.broker.stop();
  await servers.postgres.stop();
}

async function main(): Promise<number> {
  let settings: ChaosSettings;
  try {
    settings = loadSettings(process.env);
  } catch (error) {
    if (error instanceof SettingsError) {
      console.error(`chaos: ${error.message}`);
      return 2;
    }
    throw error;
  }
  say(
    `seed ${settings.seed}: ${settings.events} records, ${settings.customers} customers, ` +
      `${settings.instances} instances, ${settings.durationSeconds} s of traffic`,
  );
  let servers: Servers | undefined;
  const interrupt = (signal: NodeJS.Signals): void => {
    say(`${signal} received; stopping the run`);
    void stopServers(servers).finally(() => process.exit(130));
  };
  process.once('SIGINT', interrupt);
  process.once('SIGTERM', interrupt);
  let outcome: RunOutcome | undefined;
  let error: string | undefined;
  try {
    servers = await startServers(settings);
    outcome = await runChaos(settings, servers);
  } catch (caught) {
    error = (caught as Error).stack ?? String(caught);
    say(`run failed: ${error}`);
  } finally {
    await stopServers(servers);
  }
  if (outcome === undefined) {
    return 1;
  }
  if (error !== undefined) {
    outcome.error = error;
  }
  const failures = failuresOf(outcome);
  const file = report(settings, outcome, failures);
  say(`report: ${file}`);
  if (failures.length > 0) {
    for (const failure of failures) {
      console.log(`chaos: FAILED: ${failure}`);
    }
    for (const sample of outcome.verdict?.samples.slice(0, 15) ?? []) {
      console.log(`chaos:   ${sample}`);
    }
    say(`logs kept in ${settings.stateDir}/logs`);
    return 1;
  }
  if (!settings.keepState) {
    rmSync(settings.stateDir, { recursive: true, force: true });
  }
  return 0;
}

main().then(
  (code) => process.exit(code),
  (error: unknown) => {
    console.error(error);
    process.exit(1);
  },
);
