/**
 * `make demo`: runs the service against its own broker and database, plays a short stream of usage
 * events, reads back what the service published and checks it against what was sent.
 *
 * scripts/run-demo.sh starts the broker, calls this program and stops everything afterwards:
 *   node dist/scripts/demo.js check-database   checks that PostgreSQL accepts a connection
 *   node dist/scripts/demo.js run              starts the service, plays, reads back, checks and stops it
 *   node dist/scripts/demo.js drop-database    drops the run's database if it exists
 * Environment: DEMO_ID (8 hex digits naming the run), DEMO_DIR (folder for the service log and PID file),
 * DEMO_DATABASE_URL (admin connection, default postgres://postgres@127.0.0.1:5432/postgres), and for
 * `run` also KAFKA_BROKERS and DEMO_SERVICE_PORT.
 * Exit codes: 0 every check passed, 1 a check failed or a step did not complete, 2 invalid environment.
 */
import { randomBytes } from 'node:crypto';
import { join, relative } from 'node:path';
import { Client } from 'pg';

import { parseJson, stringifyJson } from '../src/common/json/lossless-json';
import { DemoKafka, demoTopics, DemoTopics, EndOffsets, ReadRecord, SentRecord } from './demo-kafka';
import {
  buildScenario,
  CustomerName,
  CUSTOMERS,
  expectedLockEvents,
  expectedUsage,
  formatBytes,
  ExpectedLockEvent,
  Step,
  Usage,
} from './demo-scenario';
import { DemoService, describeExit } from './demo-service';

const DEFAULT_ADMIN_URL = 'postgres://postgres@127.0.0.1:5432/postgres';
const READY_TIMEOUT_MS = 60_000;
const STEP_TIMEOUT_MS = 15_000;
const READ_BACK_TIMEOUT_MS = 30_000;
/** Above the service's default SHUTDOWN_TIMEOUT_MS of 25 s, so it gets to finish before SIGKILL. */
const STOP_TIMEOUT_MS = 35_000;
const REPO_ROOT = join(__dirname, '..', '..');

/** Failure of a demo step. Its message names what did not happen and the last state seen. */
class DemoFailure extends Error {}

/** Error for an invalid environment variable. Its message names the variable and the fix. */
class UsageError extends Error {}

interface Settings {
  id: string;
  runId: string;
  dir: string;
  adminUrl: string;
  databaseName: string;
}

interface CustomerView {
  name: CustomerName;
  id: bigint;
  body: Record<string, unknown>;
}

interface Check {
  ok: boolean;
  text: string;
  /** Expected and actual values, one item per line of the failure report. */
  expected: string[];
  actual: string[];
}

function say(line = ''): void {
  process.stdout.write(`${line}\n`);
}

function heading(title: string): void {
  say();
  say(`== ${title} ==`);
}

function required(name: string): string {
  const value = process.env[name];
  if (value === undefined || value === '') {
    throw new UsageError(`${name} is not set; run the demo with make demo, which sets it`);
  }
  return value;
}

function readSettings(): Settings {
  const id = required('DEMO_ID');
  if (!/^[0-9a-f]{8}$/.test(id)) {
    throw new UsageError(`DEMO_ID=${id} is invalid; set it to 8 lowercase hex digits`);
  }
  const adminUrl = process.env.DEMO_DATABASE_URL || DEFAULT_ADMIN_URL;
  try {
    new URL(adminUrl);
  } catch {
    throw new UsageError('DEMO_DATABASE_URL is not a URL; use postgres://user@host:port/postgres');
  }
  return {
    id,
    runId: `demo-${id}`,
    dir: required('DEMO_DIR'),
    adminUrl,
    databaseName: `quota_lock_demo_${id}`,
  };
}

/** Host and port of a connection URL, without the user name or password. */
function serverOf(url: string): string {
  const parsed = new URL(url);
  return `${parsed.hostname}:${parsed.port || '5432'}`;
}

function databaseUrl(settings: Settings): string {
  const url = new URL(settings.adminUrl);
  url.pathname = `/${settings.databaseName}`;
  return url.toString();
}

async function withAdminClient<T>(settings: Settings, work: (client: Client) => Promise<T>): Promise<T> {
  const client = new Client({ connectionString: settings.adminUrl, connectionTimeoutMillis: 5000 });
  await client.connect();
  try {
    return await work(client);
  } finally {
    await client.end();
  }
}

async function checkDatabase(settings: Settings): Promise<void> {
  let version: string;
  try {
    version = await withAdminClient(settings, async (client) => {
      const result = await client.query<{ version: string }>(
        "SELECT current_setting('server_version') AS version",
      );
      return result.rows[0].version;
    });
  } catch (error) {
    throw new DemoFailure(
      `PostgreSQL at ${serverOf(settings.adminUrl)} cannot be reached ` +
        `(${error instanceof Error ? error.message : String(error)}); start it, or set DEMO_DATABASE_URL`,
    );
  }
  say(`PostgreSQL ${version} answers at ${serverOf(settings.adminUrl)}`);
  say(`the demo's database will be ${settings.databaseName}`);
}

async function dropDatabase(settings: Settings): Promise<void> {
  const dropped = await withAdminClient(settings, async (client) => {
    const found = await client.query('SELECT 1 FROM pg_database WHERE datname = $1', [settings.databaseName]);
    if (!found.rowCount) {
      return false;
    }
    // FORCE ends connections that a killed service may have left open.
    await client.query(`DROP DATABASE IF EXISTS "${settings.databaseName}" WITH (FORCE)`);
    return true;
  });
  say(
    dropped
      ? `dropped the database ${settings.databaseName}`
      : `no database ${settings.databaseName} to drop`,
  );
}

function serviceEnv(
  settings: Settings,
  topics: DemoTopics,
  token: string,
  port: number,
): Record<string, string> {
  return {
    PATH: process.env.PATH ?? '',
    APP_ENV: 'development',
    LOG_LEVEL: 'debug',
    HOST: '127.0.0.1',
    PORT: String(port),
    SERVICE_TOKEN: token,
    DATABASE_URL: databaseUrl(settings),
    KAFKA_BROKERS: required('KAFKA_BROKERS'),
    KAFKA_GROUP_ID: `quota-lock-service.${settings.runId}`,
    KAFKA_TOPIC_STORAGE: topics.storage,
    KAFKA_TOPIC_USERS: topics.users,
    KAFKA_TOPIC_ADMIN: topics.admin,
    KAFKA_TOPIC_LOCKS: topics.locks,
    KAFKA_TOPIC_DLQ: topics.deadLetters,
    RELAY_POLL_MS: '200',
  };
}

function formatOffsets(offsets: EndOffsets): string {
  return [...offsets.entries()]
    .sort(([a], [b]) => a - b)
    .map(([partition, offset]) => `p${partition}=${offset}`)
    .join(' ');
}

function field(body: Record<string, unknown>, name: string): string {
  const value = body[name];
  if (value === undefined) {
    return '(missing)';
  }
  if (Array.isArray(value)) {
    return `[${value.map((item) => (typeof item === 'string' ? item : stringifyJson(item))).join(',')}]`;
  }
  return typeof value === 'string' ? value : stringifyJson(value);
}

async function createCustomers(service: DemoService): Promise<Map<CustomerName, bigint>> {
  const ids = new Map<CustomerName, bigint>();
  for (const customer of CUSTOMERS) {
    const body =
      `{"customerContractType":"demo","companyName":"${customer.name} Ltd",` +
      `"quotaMax":${customer.quotaMax},"userMax":${customer.userMax},"isLocked":false}`;
    const result = await service.request('POST', '/api/v4/provisioning/customers', body);
    if (result.status !== 201 || typeof result.body.id !== 'bigint') {
      throw new DemoFailure(
        `creating ${customer.name} returned ${result.status}: ${result.text.slice(0, 300)}`,
      );
    }
    ids.set(customer.name, result.body.id);
    say(`POST /api/v4/provisioning/customers -> 201: ${customer.name} Ltd has id ${result.body.id}`);
    say(`    quotaMax ${formatBytes(customer.quotaMax)}, userMax ${customer.userMax}`);
  }
  return ids;
}

async function getCustomer(service: DemoService, id: bigint): Promise<Record<string, unknown>> {
  const result = await service.request('GET', `/api/v4/provisioning/customers/${id}`);
  if (result.status !== 200) {
    throw new DemoFailure(`GET customer ${id} returned ${result.status}: ${result.text.slice(0, 300)}`);
  }
  return result.body;
}

function describeState(body: Record<string, unknown>): string {
  const quota = typeof body.quotaUsed === 'bigint' ? formatBytes(body.quotaUsed) : field(body, 'quotaUsed');
  const lock = body.isLocked === true ? `LOCKED ${field(body, 'lockReasons')}` : 'not locked';
  return `quotaUsed ${quota}, userUsed ${field(body, 'userUsed')}, ${lock}`;
}

/** Polls GET until the customer shows `usage`, and throws after STEP_TIMEOUT_MS with the last state seen. */
async function waitForUsage(
  service: DemoService,
  id: bigint,
  usage: Usage,
): Promise<Record<string, unknown>> {
  const deadline = Date.now() + STEP_TIMEOUT_MS;
  for (;;) {
    const body = await getCustomer(service, id);
    if (body.quotaUsed === usage.quotaUsed && body.userUsed === usage.userUsed) {
      return body;
    }
    if (Date.now() > deadline || service.hasExited) {
      throw new DemoFailure(
        `customer ${id} did not reach quotaUsed ${usage.quotaUsed} and userUsed ${usage.userUsed} ` +
          `within ${STEP_TIMEOUT_MS} ms.\nThe last GET showed ${describeState(body)}`,
      );
    }
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
}

async function play(
  service: DemoService,
  kafka: DemoKafka,
  topics: DemoTopics,
  steps: readonly Step[],
  ids: ReadonlyMap<CustomerName, bigint>,
): Promise<SentRecord[]> {
  const sent: SentRecord[] = [];
  const seen = new Set<string>();
  for (const [index, step] of steps.entries()) {
    say(`${String(index + 1).padStart(2)}. [${step.topic}] ${step.title}`);
    sent.push(await kafka.send(topicOf(topics, step), step.key, step.value));

    if (step.event === null) {
      say(`      sent; the service should dead-letter it as ${step.deadLetter}`);
      continue;
    }
    const identity = `${step.event.source}#${step.event.id}`;
    if (seen.has(identity)) {
      say(`      sent id ${step.event.id} again; the next step shows whether it counted`);
      continue;
    }
    seen.add(identity);
    const customer = step.event.customer;
    const usage = expectedUsage(steps, index + 1).get(customer) as Usage;
    const body = await waitForUsage(service, ids.get(customer) as bigint, usage);
    say(`      -> ${describeState(body)}`);
  }
  return sent;
}

function topicOf(topics: DemoTopics, step: Step): string {
  return step.topic === 'storage' ? topics.storage : topics.users;
}

function deadLetterLine(reason: string, topic: string, partition: string, offset: string): string {
  return `${reason} from ${topic} partition ${partition} offset ${offset}`;
}

function decode(record: ReadRecord): Record<string, unknown> {
  return parseJson(record.value?.toString('utf8') ?? 'null') as Record<string, unknown>;
}

/** Formats one lock event as one line, so the expected and the read-back sequences compare as text. */
function lockEventLine(type: string, data: Record<string, string>): string {
  return (
    `${type} reason=${data.reason} lockReasons=${data.lockReasons} quotaUsed=${data.quotaUsed} ` +
    `userUsed=${data.userUsed} lockVersion=${data.lockVersion}`
  );
}

function readLockEventLine(record: ReadRecord): string {
  const event = decode(record);
  const data = (event.data ?? {}) as Record<string, unknown>;
  const fields = ['reason', 'lockReasons', 'quotaUsed', 'userUsed', 'lockVersion'];
  return lockEventLine(
    String(event.type),
    Object.fromEntries(fields.map((name) => [name, field(data, name)])),
  );
}

function expectedLockEventLine(event: ExpectedLockEvent): string {
  return lockEventLine(event.type, {
    reason: event.reason,
    lockReasons: `[${event.lockReasons.join(',')}]`,
    quotaUsed: event.quotaUsed.toString(),
    userUsed: event.userUsed.toString(),
    lockVersion: event.lockVersion.toString(),
  });
}

function printCustomers(views: readonly CustomerView[]): void {
  heading('Customers (GET /api/v4/provisioning/customers/{id})');
  for (const { name, id, body } of views) {
    const quotaUsed =
      typeof body.quotaUsed === 'bigint' ? formatBytes(body.quotaUsed) : field(body, 'quotaUsed');
    const quotaMax = typeof body.quotaMax === 'bigint' ? formatBytes(body.quotaMax) : field(body, 'quotaMax');
    say(`${name} Ltd, id ${id}:`);
    say(`    quotaUsed ${quotaUsed} of quotaMax ${quotaMax}`);
    say(`    userUsed ${field(body, 'userUsed')} of userMax ${field(body, 'userMax')}`);
    say(
      `    isLocked ${field(body, 'isLocked')}, lockReasons ${field(body, 'lockReasons')}, ` +
        `lockVersion ${field(body, 'lockVersion')}`,
    );
  }
}

function printLockEvents(
  topic: string,
  records: readonly ReadRecord[],
  names: Map<string, CustomerName>,
): void {
  heading(`Lock events read back from ${topic}`);
  if (records.length === 0) {
    say('(none)');
  }
  for (const record of records) {
    const event = decode(record);
    const data = (event.data ?? {}) as Record<string, unknown>;
    const name = names.get(record.key ?? '') ?? `customer ${record.key}`;
    const quotaUsed =
      typeof data.quotaUsed === 'bigint' ? formatBytes(data.quotaUsed) : field(data, 'quotaUsed');
    const version = field(data, 'lockVersion');
    say(`${name} lockVersion ${version}: ${String(event.type)}, reason ${field(data, 'reason')}`);
    const reasons = field(data, 'lockReasons');
    say(`    lockReasons ${reasons}, quotaUsed ${quotaUsed}, userUsed ${field(data, 'userUsed')}`);
  }
}

function printDeadLetters(topic: string, records: readonly ReadRecord[]): void {
  heading(`Dead letters read back from ${topic}`);
  if (records.length === 0) {
    say('(none)');
  }
  for (const record of records) {
    const headers = record.headers;
    say(
      deadLetterLine(
        headers['x-dlq-reason'],
        headers['x-original-topic'],
        headers['x-original-partition'],
        headers['x-original-offset'],
      ),
    );
    say(`    x-dlq-error: ${headers['x-dlq-error']}`);
  }
}

function newRecordCount(before: EndOffsets, after: EndOffsets): bigint {
  let count = 0n;
  for (const [partition, end] of after) {
    count += end - (before.get(partition) ?? 0n);
  }
  return count;
}

/** Reads the value of one series (name and labels) from Prometheus text, and 0 when the series is absent. */
function metricValue(text: string, series: string): number {
  const line = text.split('\n').find((candidate) => candidate.startsWith(`${series} `));
  return line === undefined ? 0 : Number(line.slice(series.length + 1));
}

async function duplicateCount(service: DemoService, storageTopic: string): Promise<number> {
  const series = `quota_events_total{topic="${storageTopic}",outcome="duplicate"}`;
  const deadline = Date.now() + 5000;
  for (;;) {
    const result = await service.request('GET', '/metrics', undefined, null);
    const value = metricValue(result.text, series);
    if (value > 0 || Date.now() > deadline) {
      return value;
    }
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
}

function compare(
  checks: Check[],
  text: string,
  expected: string | string[],
  actual: string | string[],
): void {
  const expectedLines = typeof expected === 'string' ? [expected] : expected;
  const actualLines = typeof actual === 'string' ? [actual] : actual;
  const ok = expectedLines.join('\n') === actualLines.join('\n');
  checks.push({ ok, text, expected: expectedLines, actual: actualLines });
}

interface ReadBack {
  views: CustomerView[];
  locks: ReadRecord[];
  deadLetters: ReadRecord[];
  newLocks: bigint;
  newDeadLetters: bigint;
  duplicates: number;
}

function buildChecks(
  steps: readonly Step[],
  sent: readonly SentRecord[],
  topics: DemoTopics,
  read: ReadBack,
): Check[] {
  const checks: Check[] = [];
  const usage = expectedUsage(steps);
  const expectedLocks = expectedLockEvents(steps);

  for (const view of read.views) {
    const expected = usage.get(view.name) as Usage;
    compare(
      checks,
      `${view.name} quotaUsed is the sum of its storage deltas, duplicate counted once`,
      expected.quotaUsed.toString(),
      field(view.body, 'quotaUsed'),
    );
    compare(
      checks,
      `${view.name} userUsed counts its allocated minus deallocated users`,
      expected.userUsed.toString(),
      field(view.body, 'userUsed'),
    );
    const mine = expectedLocks.filter((event) => event.customer === view.name);
    const last = mine.at(-1);
    compare(
      checks,
      `${view.name} GET shows the lock state of its last lock event`,
      `isLocked=${last !== undefined && last.lockReasons.length > 0} lockVersion=${last?.lockVersion ?? 0n}`,
      `isLocked=${field(view.body, 'isLocked')} lockVersion=${field(view.body, 'lockVersion')}`,
    );
    compare(
      checks,
      `${view.name} lock events, in order`,
      mine.map(expectedLockEventLine),
      read.locks.filter((record) => record.key === view.id.toString()).map(readLockEventLine),
    );
  }

  compare(
    checks,
    `${topics.locks} received exactly the expected lock events`,
    String(expectedLocks.length),
    read.newLocks.toString(),
  );

  const expectedLetters = steps
    .map((step, index) => ({ step, record: sent[index] }))
    .filter(({ step }) => step.deadLetter !== undefined)
    .map(({ step, record }) =>
      deadLetterLine(
        step.deadLetter ?? '',
        topicOf(topics, step),
        String(record.partition),
        String(record.offset),
      ),
    )
    .sort();
  const actualLetters = read.deadLetters
    .map(({ headers }) =>
      deadLetterLine(
        headers['x-dlq-reason'],
        headers['x-original-topic'],
        headers['x-original-partition'],
        headers['x-original-offset'],
      ),
    )
    .sort();
  compare(
    checks,
    'dead letters are exactly the not-JSON message and the unknown customer',
    expectedLetters,
    actualLetters,
  );
  compare(
    checks,
    `${topics.deadLetters} received exactly those dead letters`,
    String(expectedLetters.length),
    read.newDeadLetters.toString(),
  );
  compare(
    checks,
    'the service counted the re-sent event as one duplicate (/metrics)',
    '1',
    String(read.duplicates),
  );
  return checks;
}

function printChecks(checks: readonly Check[]): boolean {
  heading('Checks');
  for (const check of checks) {
    say(`${check.ok ? 'ok  ' : 'FAIL'}  ${check.text}`);
    if (!check.ok) {
      for (const [label, lines] of [
        ['expected:', check.expected],
        ['got:     ', check.actual],
      ] as const) {
        (lines.length === 0 ? ['(nothing)'] : lines).forEach((line, index) =>
          say(`      ${index === 0 ? label : ' '.repeat(label.length)} ${line}`),
        );
      }
    }
  }
  const failed = checks.filter((check) => !check.ok).length;
  say(`${checks.length - failed} of ${checks.length} checks passed`);
  return failed === 0;
}

async function readBack(
  service: DemoService,
  kafka: DemoKafka,
  topics: DemoTopics,
  steps: readonly Step[],
  ids: ReadonlyMap<CustomerName, bigint>,
  before: ReadonlyMap<string, EndOffsets>,
): Promise<ReadBack> {
  const lockCount = expectedLockEvents(steps).length;
  const letterCount = steps.filter((step) => step.deadLetter !== undefined).length;
  const ofTopic = (records: ReadRecord[], topic: string): ReadRecord[] =>
    records.filter((record) => record.topic === topic);
  const complete = await kafka.waitForRecords(
    (records) =>
      ofTopic(records, topics.locks).length >= lockCount &&
      ofTopic(records, topics.deadLetters).length >= letterCount,
    READ_BACK_TIMEOUT_MS,
  );
  if (!complete) {
    say(`(gave up waiting after ${READ_BACK_TIMEOUT_MS} ms: the checks below show what is missing)`);
  }

  const views: CustomerView[] = [];
  for (const [name, id] of ids) {
    views.push({ name, id, body: await getCustomer(service, id) });
  }
  const locks = ofTopic(kafka.records, topics.locks).sort((a, b) =>
    a.partition === b.partition ? Number(a.offset - b.offset) : a.partition - b.partition,
  );
  return {
    views,
    locks,
    deadLetters: ofTopic(kafka.records, topics.deadLetters),
    newLocks: newRecordCount(before.get(topics.locks) as EndOffsets, await kafka.endOffsets(topics.locks)),
    newDeadLetters: newRecordCount(
      before.get(topics.deadLetters) as EndOffsets,
      await kafka.endOffsets(topics.deadLetters),
    ),
    duplicates: await duplicateCount(service, topics.storage),
  };
}

/** Runs the service through the demo and returns whether every check passed and the service exited with 0. */
async function runDemo(settings: Settings, onService: (service: DemoService) => void): Promise<boolean> {
  const topics = demoTopics(settings.runId);
  const port = Number(required('DEMO_SERVICE_PORT'));
  const brokers = required('KAFKA_BROKERS').split(',');
  const token = randomBytes(24).toString('hex');
  const logPath = join(settings.dir, 'service.log');

  heading('Service');
  say(`starting dist/src/main.js on http://127.0.0.1:${port}`);
  say(`its JSON log goes to ${relative(process.cwd(), logPath)}`);
  const started = Date.now();
  const service = DemoService.start({
    repoRoot: REPO_ROOT,
    port,
    token,
    logPath,
    pidPath: join(settings.dir, 'service.pid'),
    env: serviceEnv(settings, topics, token, port),
  });
  onService(service);
  const kafka = new DemoKafka(brokers, `demo-${settings.id}`);
  let passed: boolean;
  try {
    await service.waitUntilReady(READY_TIMEOUT_MS);
    say(`ready after ${((Date.now() - started) / 1000).toFixed(1)} s: GET /health/ready returned 200`);
    say('the service created its topics:');
    Object.values(topics).forEach((topic) => say(`    ${topic}`));

    const before = new Map<string, EndOffsets>();
    for (const topic of [topics.locks, topics.deadLetters]) {
      before.set(topic, await kafka.endOffsets(topic));
      say(`end offsets of ${topic} before playing: ${formatOffsets(before.get(topic) as EndOffsets)}`);
    }
    await kafka.startReading(`demo-reader.${settings.runId}`, before);

    heading('Customers');
    const ids = await createCustomers(service);
    const names = new Map([...ids].map(([name, id]) => [id.toString(), name]));

    const steps = buildScenario(settings.runId, ids);
    heading(`Playing ${steps.length} messages`);
    const sent = await play(service, kafka, topics, steps, ids);

    heading('Reading back');
    say(`waiting for the lock and dead-letter records (at most ${READ_BACK_TIMEOUT_MS / 1000} s)`);
    const read = await readBack(service, kafka, topics, steps, ids, before);
    printCustomers(read.views);
    printLockEvents(topics.locks, read.locks, names);
    printDeadLetters(topics.deadLetters, read.deadLetters);
    passed = printChecks(buildChecks(steps, sent, topics, read));
  } catch (error) {
    // Reported here, before the service stops, so the reason comes next to the step that failed.
    const message = error instanceof Error ? error.message : String(error);
    say();
    const [first, ...rest] = message.split('\n');
    say(`FAIL  ${error instanceof DemoFailure ? '' : 'error: '}${first}`);
    rest.forEach((line) => say(`      ${line}`));
    say(`last lines of ${relative(process.cwd(), logPath)}:`);
    service.logTail(12).forEach((line) => say(`    ${line.slice(0, 200)}`));
    passed = false;
  } finally {
    await kafka.close();
    heading('Stopping');
    say('sending SIGTERM to the service');
    const exit = await service.stop(STOP_TIMEOUT_MS);
    if (exit.code === 0) {
      say('the service stopped (exit code 0)');
    } else {
      say(`FAIL  the service stopped with ${describeExit(exit)}; a clean shutdown exits with code 0`);
      passed = false;
    }
  }
  return passed;
}

async function main(): Promise<number> {
  const command = process.argv[2];
  const settings = readSettings();
  if (command === 'check-database') {
    await checkDatabase(settings);
    return 0;
  }
  if (command === 'drop-database') {
    await dropDatabase(settings);
    return 0;
  }
  if (command !== 'run') {
    throw new UsageError(`unknown command ${command ?? '(none)'}; use check-database, run or drop-database`);
  }

  let service: DemoService | undefined;
  for (const [signal, code] of [
    ['SIGINT', 130],
    ['SIGTERM', 143],
  ] as const) {
    process.once(signal, () => {
      say(`${signal} received; stopping the service`);
      void (service?.stop(STOP_TIMEOUT_MS) ?? Promise.resolve(undefined))
        .then((exit) => exit && say(`the service stopped (${describeExit(exit)})`))
        .finally(() => process.exit(code));
    });
  }
  const passed = await runDemo(settings, (started) => {
    service = started;
  });
  return passed ? 0 : 1;
}

main().then(
  (code) => process.exit(code),
  (error: unknown) => {
    const message = error instanceof Error ? error.message : String(error);
    say(`demo: ${error instanceof DemoFailure || error instanceof UsageError ? '' : 'error: '}${message}`);
    process.exit(error instanceof UsageError ? 2 : 1);
  },
);
