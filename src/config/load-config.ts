import { AppConfig, ServiceToken } from './app-config';

/** Raised for an invalid environment variable; the message names the variable and the fix. */
export class ConfigError extends Error {
  constructor(
    readonly variable: string,
    message: string,
  ) {
    super(`${variable}: ${message}`);
    this.name = 'ConfigError';
  }
}

type Env = Record<string, string | undefined>;

const LOG_LEVELS = ['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'];
const FAULT_POINTS = ['before-db-commit', 'after-db-commit', 'after-relay-send'];
const TOPIC_NAME = /^[a-zA-Z0-9._-]{1,249}$/;
const DURATION = /^([1-9][0-9]*)(ms|s|m|h|d)$/;
const DURATION_UNITS_MS: Record<string, number> = { ms: 1, s: 1000, m: 60_000, h: 3_600_000, d: 86_400_000 };
/** Ten years: far beyond any topic retention, and still a valid PostgreSQL interval. */
const MAX_DEDUPE_RETENTION_MS = 3650 * 86_400_000;

function text(env: Env, name: string, fallback: string): string {
  const value = env[name];
  return value === undefined || value === '' ? fallback : value;
}

function integer(env: Env, name: string, fallback: number, min: number, max: number): number {
  const raw = text(env, name, String(fallback));
  if (!/^(0|[1-9][0-9]*)$/.test(raw) || Number(raw) < min || Number(raw) > max) {
    throw new ConfigError(name, `expected a whole number from ${min} to ${max}, got "${raw}"`);
  }
  return Number(raw);
}

function list(env: Env, name: string): string[] {
  return text(env, name, '')
    .split(',')
    .map((item) => item.trim())
    .filter((item) => item !== '');
}

function topic(env: Env, name: string, fallback: string): string {
  const value = text(env, name, fallback);
  if (!TOPIC_NAME.test(value)) {
    throw new ConfigError(
      name,
      `"${value}" is not a valid Kafka topic name (letters, digits, '.', '_', '-')`,
    );
  }
  return value;
}

function duration(env: Env, name: string, fallback: string, maxMs: number): number {
  const raw = text(env, name, fallback);
  const match = DURATION.exec(raw);
  if (!match) {
    throw new ConfigError(name, `expected a duration such as 14d, 12h or 30m, got "${raw}"`);
  }
  const ms = Number(match[1]) * DURATION_UNITS_MS[match[2]];
  if (ms > maxMs) {
    throw new ConfigError(name, `"${raw}" is longer than the maximum of ${maxMs / 86_400_000}d`);
  }
  return ms;
}

/** Rejects two topic variables that name one topic, because a DLQ equal to an inbound topic would dead-letter its own dead letters for ever. */
function checkDistinctTopics(topics: Record<string, string>): void {
  const variables: Record<string, string> = {
    storage: 'KAFKA_TOPIC_STORAGE',
    users: 'KAFKA_TOPIC_USERS',
    admin: 'KAFKA_TOPIC_ADMIN',
    locks: 'KAFKA_TOPIC_LOCKS',
    deadLetters: 'KAFKA_TOPIC_DLQ',
  };
  const seen = new Map<string, string>();
  for (const [role, name] of Object.entries(topics)) {
    const earlier = seen.get(name);
    if (earlier !== undefined) {
      throw new ConfigError(
        variables[role],
        `"${name}" is also ${variables[earlier]}; every topic variable needs its own topic`,
      );
    }
    seen.set(name, role);
  }
}

function brokers(env: Env): string[] {
  const values = list(env, 'KAFKA_BROKERS');
  const result = values.length > 0 ? values : ['127.0.0.1:9092'];
  for (const broker of result) {
    const port = /^[^\s:/]+:([0-9]{1,5})$/.exec(broker)?.[1];
    if (port === undefined) {
      throw new ConfigError('KAFKA_BROKERS', `"${broker}" is not host:port; use e.g. 127.0.0.1:9092`);
    }
    if (Number(port) < 1 || Number(port) > 65535) {
      throw new ConfigError('KAFKA_BROKERS', `"${broker}" has port ${port}; use a port from 1 to 65535`);
    }
  }
  return result;
}

function groupId(env: Env): string {
  const value = text(env, 'KAFKA_GROUP_ID', 'quota-lock-service');
  if (!/^[\x21-\x7e]{1,249}$/.test(value)) {
    throw new ConfigError(
      'KAFKA_GROUP_ID',
      `"${value}" must be 1 to 249 printable ASCII characters without spaces`,
    );
  }
  return value;
}

function databaseUrl(env: Env): string {
  const value = text(env, 'DATABASE_URL', 'postgres://postgres@127.0.0.1:5432/quota_lock');
  let url: URL;
  try {
    url = new URL(value);
  } catch {
    throw new ConfigError('DATABASE_URL', 'is not a URL; use postgres://user@host:port/database');
  }
  if (!['postgres:', 'postgresql:'].includes(url.protocol) || url.pathname.length < 2) {
    throw new ConfigError('DATABASE_URL', 'must be postgres://user@host:port/database with a database name');
  }
  return value;
}

function serviceTokens(env: Env): ServiceToken[] {
  const tokens: ServiceToken[] = [];
  for (const entry of list(env, 'SERVICE_TOKENS')) {
    const separator = entry.indexOf(':');
    const name = separator > 0 ? entry.slice(0, separator) : '';
    const secret = separator > 0 ? entry.slice(separator + 1) : '';
    if (!/^[a-z0-9-]{1,64}$/.test(name)) {
      throw new ConfigError('SERVICE_TOKENS', 'each entry must be name:secret with a name of [a-z0-9-]');
    }
    if (secret.length < 32) {
      throw new ConfigError('SERVICE_TOKENS', `the secret of token "${name}" is shorter than 32 characters`);
    }
    if (tokens.some((token) => token.name === name)) {
      throw new ConfigError('SERVICE_TOKENS', `token name "${name}" appears twice`);
    }
    tokens.push({ name, secret });
  }
  const single = text(env, 'SERVICE_TOKEN', '');
  if (single !== '') {
    if (tokens.some((token) => token.name === 'default')) {
      throw new ConfigError('SERVICE_TOKEN', 'SERVICE_TOKENS already defines a token named "default"');
    }
    tokens.push({ name: 'default', secret: single });
  }
  return tokens;
}

/**
 * Rejects a test-only hook outside APP_ENV=test, because elsewhere it would kill the process,
 * slow every transaction or dead-letter real events on purpose.
 */
function checkTestOnly(env: Env, appEnv: string, variable: string): void {
  if (text(env, variable, '') !== '' && appEnv !== 'test') {
    throw new ConfigError(
      variable,
      `is a test-only hook and APP_ENV is "${appEnv}"; unset it, or set APP_ENV=test`,
    );
  }
}

function faultPoints(env: Env, appEnv: string): Map<string, number> {
  checkTestOnly(env, appEnv, 'TEST_FAULT_POINTS');
  const points = new Map<string, number>();
  for (const entry of list(env, 'TEST_FAULT_POINTS')) {
    const [point, hit = '1'] = entry.split(':');
    if (!FAULT_POINTS.includes(point) || !/^[1-9][0-9]*$/.test(hit)) {
      throw new ConfigError('TEST_FAULT_POINTS', `"${entry}" must be one of ${FAULT_POINTS.join(', ')}[:N]`);
    }
    points.set(point, Number(hit));
  }
  return points;
}

/** Reads `HOST`, an IP address or host name to bind the HTTP server to. */
function listenHost(env: Env): string {
  const host = text(env, 'HOST', '0.0.0.0');
  if (!/^[A-Za-z0-9.:-]{1,253}$/.test(host)) {
    throw new ConfigError(
      'HOST',
      `"${host}" is not an IP address or host name; use e.g. 127.0.0.1, ::1 or 0.0.0.0`,
    );
  }
  return host;
}

/** Reads the test-only prefix of CloudEvents ids whose events fail on purpose. */
function failingEventIdPrefix(env: Env, appEnv: string): string | null {
  checkTestOnly(env, appEnv, 'TEST_FAILING_EVENT_ID_PREFIX');
  const prefix = text(env, 'TEST_FAILING_EVENT_ID_PREFIX', '');
  return prefix === '' ? null : prefix;
}

function transactionDelayMs(env: Env, appEnv: string): number {
  checkTestOnly(env, appEnv, 'TEST_TRANSACTION_DELAY_MS');
  return integer(env, 'TEST_TRANSACTION_DELAY_MS', 0, 0, 5000);
}

/** Reads and validates the Kafka settings alone, for tools that share the service's environment. */
export function loadKafkaConfig(env: Env = process.env): AppConfig['kafka'] {
  const topics = {
    storage: topic(env, 'KAFKA_TOPIC_STORAGE', 'storage.usage'),
    users: topic(env, 'KAFKA_TOPIC_USERS', 'user.allocation'),
    admin: topic(env, 'KAFKA_TOPIC_ADMIN', 'customer.admin'),
    locks: topic(env, 'KAFKA_TOPIC_LOCKS', 'customer.lock'),
    deadLetters: topic(env, 'KAFKA_TOPIC_DLQ', 'quota.dlq'),
  };
  checkDistinctTopics(topics);
  const usageSources = list(env, 'KAFKA_USAGE_SOURCES');
  return {
    brokers: brokers(env),
    groupId: groupId(env),
    clientId: text(env, 'KAFKA_CLIENT_ID', 'quota-lock-service'),
    topics,
    topicPartitions: integer(env, 'KAFKA_TOPIC_PARTITIONS', 3, 1, 1000),
    adminSources: new Set(list(env, 'KAFKA_ADMIN_SOURCES')),
    usageSources: usageSources.length > 0 ? new Set(usageSources) : null,
  };
}

/** Reads and validates the whole configuration; throws ConfigError on the first invalid variable. */
export function loadConfig(env: Env = process.env): AppConfig {
  const appEnv = text(env, 'APP_ENV', 'production');
  if (appEnv !== 'production' && appEnv !== 'development' && appEnv !== 'test') {
    throw new ConfigError('APP_ENV', `expected production, development or test, got "${appEnv}"`);
  }
  const tokens = serviceTokens(env);
  if (tokens.length === 0 && appEnv === 'production') {
    throw new ConfigError(
      'SERVICE_TOKENS',
      'no service token is configured; set SERVICE_TOKENS or SERVICE_TOKEN',
    );
  }
  const logLevel = text(env, 'LOG_LEVEL', 'info');
  if (!LOG_LEVELS.includes(logLevel)) {
    throw new ConfigError('LOG_LEVEL', `expected one of ${LOG_LEVELS.join(', ')}, got "${logLevel}"`);
  }
  const serviceSource = text(env, 'SERVICE_SOURCE', '/quota-lock-service');
  if (Buffer.byteLength(serviceSource) > 200 || /[\u0000-\u001f\u007f]/.test(serviceSource)) {
    throw new ConfigError('SERVICE_SOURCE', 'must be at most 200 bytes without control characters');
  }

  const kafka = loadKafkaConfig(env);
  const single = text(env, 'SERVICE_TOKEN', '');
  if (appEnv === 'production' && single !== '' && single.length < 32) {
    throw new ConfigError(
      'SERVICE_TOKEN',
      'must be at least 32 characters in production; use SERVICE_TOKENS for named tokens',
    );
  }

  return {
    appEnv,
    kafka,
    database: {
      url: databaseUrl(env),
      poolMax: integer(env, 'DB_POOL_MAX', 10, 2, 200),
    },
    http: {
      host: listenHost(env),
      port: integer(env, 'PORT', 3000, 0, 65535),
      rateLimitPerMinute: integer(env, 'RATE_LIMIT_PER_MINUTE', 600, 1, 1_000_000),
    },
    serviceTokens: tokens,
    serviceSource,
    maxEventBytes: integer(env, 'MAX_EVENT_BYTES', 65536, 1024, 1_048_576),
    dedupeRetentionMs: duration(env, 'DEDUPE_RETENTION', '14d', MAX_DEDUPE_RETENTION_MS),
    relayPollMs: integer(env, 'RELAY_POLL_MS', 1000, 10, 600_000),
    shutdownTimeoutMs: integer(env, 'SHUTDOWN_TIMEOUT_MS', 25000, 1000, 600_000),
    logLevel,
    testTransactionDelayMs: transactionDelayMs(env, appEnv),
    faultPoints: faultPoints(env, appEnv),
    testFailingEventIdPrefix: failingEventIdPrefix(env, appEnv),
  };
}
