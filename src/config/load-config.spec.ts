import { ConfigError, loadConfig, loadKafkaConfig } from './load-config';

const TOKEN = 'default-secret-0123456789abcdefghij';

function configError(env: Record<string, string>): ConfigError {
  try {
    loadConfig(env);
  } catch (error) {
    if (error instanceof ConfigError) {
      return error;
    }
    throw error;
  }
  throw new Error(`loadConfig accepted ${JSON.stringify(env)}`);
}

describe('loadConfig', () => {
  it('applies the documented defaults', () => {
    const sut = loadConfig({ SERVICE_TOKENS: `ops:${TOKEN}` });

    expect(sut.appEnv).toBe('production');
    expect(sut.kafka.brokers).toEqual(['127.0.0.1:9092']);
    expect(sut.kafka.topics).toEqual({
      storage: 'storage.usage',
      users: 'user.allocation',
      admin: 'customer.admin',
      locks: 'customer.lock',
      deadLetters: 'quota.dlq',
    });
    expect(sut.kafka.usageSources).toBeNull();
    expect(sut.database.url).toBe('postgres://postgres@127.0.0.1:5432/quota_lock');
    expect(sut.http.port).toBe(3000);
    expect(sut.maxEventBytes).toBe(65536);
    expect(sut.dedupeRetentionMs).toBe(14 * 86_400_000);
    expect(sut.shutdownTimeoutMs).toBe(25000);
    expect(sut.faultPoints.size).toBe(0);
    expect(sut.testFailingEventIdPrefix).toBeNull();
  });

  it('reads named tokens and the single token', () => {
    const sut = loadConfig({
      APP_ENV: 'test',
      SERVICE_TOKENS: `ops:${TOKEN},billing-2:${TOKEN}x`,
      SERVICE_TOKEN: 'short',
    });

    expect(sut.serviceTokens).toEqual([
      { name: 'ops', secret: TOKEN },
      { name: 'billing-2', secret: `${TOKEN}x` },
      { name: 'default', secret: 'short' },
    ]);
  });

  it.each([
    ['APP_ENV', { APP_ENV: 'staging' }],
    ['SERVICE_TOKENS', { APP_ENV: 'production' }],
    ['SERVICE_TOKENS', { SERVICE_TOKENS: 'ops:tooshort' }],
    ['SERVICE_TOKENS', { SERVICE_TOKENS: `Ops:${TOKEN}` }],
    ['SERVICE_TOKENS', { SERVICE_TOKENS: `ops:${TOKEN},ops:${TOKEN}` }],
    ['KAFKA_BROKERS', { KAFKA_BROKERS: 'not a broker' }],
    ['KAFKA_TOPIC_STORAGE', { KAFKA_TOPIC_STORAGE: 'bad topic' }],
    ['DATABASE_URL', { DATABASE_URL: 'mysql://localhost/db' }],
    ['PORT', { PORT: '70000' }],
    ['MAX_EVENT_BYTES', { MAX_EVENT_BYTES: 'abc' }],
    ['DEDUPE_RETENTION', { DEDUPE_RETENTION: '14 days' }],
    ['LOG_LEVEL', { LOG_LEVEL: 'verbose' }],
    ['TEST_FAULT_POINTS', { TEST_FAULT_POINTS: 'somewhere:1' }],
    ['KAFKA_TOPIC_USERS', { KAFKA_TOPIC_USERS: 'storage.usage' }],
    ['KAFKA_GROUP_ID', { KAFKA_GROUP_ID: '   ' }],
    ['KAFKA_TOPIC_DLQ', { KAFKA_TOPIC_DLQ: 'user.allocation' }],
    ['DEDUPE_RETENTION', { DEDUPE_RETENTION: '99999999d' }],
    ['SERVICE_TOKEN', { APP_ENV: 'production', SERVICE_TOKEN: 'a' }],
    ['HOST', { HOST: 'local host' }],
    ['HOST', { HOST: 'http://127.0.0.1' }],
  ])('rejects an invalid %s', (variable, env) => {
    const error = configError({
      SERVICE_TOKEN: 'dev',
      APP_ENV: 'test',
      ...env,
      ...(variable === 'SERVICE_TOKENS' ? { SERVICE_TOKEN: '' } : {}),
    });

    expect(error.variable).toBe(variable);
    expect(error.message).toContain(variable);
  });

  it('parses durations and fault points', () => {
    const sut = loadConfig({
      APP_ENV: 'test',
      DEDUPE_RETENTION: '36h',
      TEST_FAULT_POINTS: 'before-db-commit:3,after-relay-send',
    });

    expect(sut.dedupeRetentionMs).toBe(36 * 3_600_000);
    expect(sut.faultPoints.get('before-db-commit')).toBe(3);
    expect(sut.faultPoints.get('after-relay-send')).toBe(1);
  });

  describe('TEST_FAILING_EVENT_ID_PREFIX', () => {
    it('is read under APP_ENV=test', () => {
      const sut = loadConfig({ APP_ENV: 'test', TEST_FAILING_EVENT_ID_PREFIX: 'poison-' });

      expect(sut.testFailingEventIdPrefix).toBe('poison-');
    });

    it('is null when empty', () => {
      const sut = loadConfig({ APP_ENV: 'test', TEST_FAILING_EVENT_ID_PREFIX: '' });

      expect(sut.testFailingEventIdPrefix).toBeNull();
    });

    it.each(['production', 'development'])('is rejected under APP_ENV=%s', (appEnv) => {
      const error = configError({
        APP_ENV: appEnv,
        SERVICE_TOKENS: `ops:${TOKEN}`,
        TEST_FAILING_EVENT_ID_PREFIX: 'poison-',
      });

      expect(error.variable).toBe('TEST_FAILING_EVENT_ID_PREFIX');
      expect(error.message).toContain(`APP_ENV is "${appEnv}"`);
      expect(error.message).toContain('set APP_ENV=test');
    });

    it('is ignored when empty outside tests', () => {
      const sut = loadConfig({ SERVICE_TOKENS: `ops:${TOKEN}`, TEST_FAILING_EVENT_ID_PREFIX: '' });

      expect(sut.testFailingEventIdPrefix).toBeNull();
    });
  });

  it.each([
    ['TEST_FAULT_POINTS', 'before-db-commit:1'],
    ['TEST_TRANSACTION_DELAY_MS', '100'],
  ])('rejects %s outside APP_ENV=test', (variable, value) => {
    const error = configError({ APP_ENV: 'production', SERVICE_TOKENS: `ops:${TOKEN}`, [variable]: value });

    expect(error.variable).toBe(variable);
    expect(error.message).toContain('set APP_ENV=test');
  });

  it('reads the Kafka settings without a service token', () => {
    const sut = loadKafkaConfig({ KAFKA_BROKERS: '127.0.0.1:19092', KAFKA_TOPIC_DLQ: 'ops.dlq' });

    expect(sut.brokers).toEqual(['127.0.0.1:19092']);
    expect(sut.topics.deadLetters).toBe('ops.dlq');
    expect(sut.topics.storage).toBe('storage.usage');
  });

  it('rejects invalid Kafka settings alone', () => {
    expect(() => loadKafkaConfig({ KAFKA_TOPIC_DLQ: 'storage.usage' })).toThrow(ConfigError);
  });
});
