import { eventually } from '../support/http';
import { ServiceProcess } from '../support/service-process';
import { ServiceFixture } from '../support/service-fixture';

/** Prefix of the one line that the service writes to stderr before it exits for an invalid variable. */
const CONFIG_ERROR_PREFIX = 'quota-lock-service: invalid configuration: ';

/** How long a process with an invalid variable may take to exit; it measured under 1 s on an idle machine. */
const EXIT_TIMEOUT_MS = 15_000;

interface StartOutcome {
  /** Exit code, or how the process was found when the test killed it. */
  exit: number | null | 'started' | 'still running';
  /** The configuration error line, or the output tail when there is none. */
  message: string;
}

describe('configuration from the environment', () => {
  const fixture = new ServiceFixture('config');

  /** Spawns the service with `env` on top of the valid test environment and waits until it exits or starts. */
  async function startWith(env: Record<string, string>): Promise<StartOutcome> {
    const service = fixture.spawn(env);
    const started = () => service.logs.some((line) => line.msg === 'service started');
    const settled = await eventually(
      () => Promise.resolve(service.hasExited || started() ? true : undefined),
      EXIT_TIMEOUT_MS,
      'exit or start of the service',
    ).catch(() => false);
    if (!service.hasExited) {
      await service.kill();
      return { exit: settled ? 'started' : 'still running', message: service.tail() };
    }
    const { code } = await service.waitForExit(1_000);
    // The exit event can arrive before the last output chunk, so the line is polled for.
    const message = await eventually(
      () => Promise.resolve(service.rawOutput.find((line) => line.startsWith(CONFIG_ERROR_PREFIX))),
      5_000,
      'configuration error line',
    ).catch(() => service.tail());
    return { exit: code, message };
  }

  beforeAll(() => fixture.setUp());

  afterAll(() => fixture.tearDown());

  it('starts with the valid test environment', async () => {
    const service: ServiceProcess = await fixture.start();

    const exit = await service.stop();

    expect(exit.code).toBe(0);
  });

  it.each([
    ['MAX_EVENT_BYTES', { MAX_EVENT_BYTES: 'abc' }, 'MAX_EVENT_BYTES: expected a whole number', '"abc"'],
    [
      'MAX_EVENT_BYTES below 1024',
      { MAX_EVENT_BYTES: '512' },
      'MAX_EVENT_BYTES: expected a whole number',
      '"512"',
    ],
    [
      'KAFKA_BROKERS',
      { KAFKA_BROKERS: 'not a broker' },
      'KAFKA_BROKERS: "not a broker" is not host:port',
      'e.g. 127.0.0.1:9092',
    ],
    [
      'SERVICE_TOKENS',
      { SERVICE_TOKENS: 'short:abc' },
      'SERVICE_TOKENS: the secret of token "short" is shorter than 32 characters',
      '"short"',
    ],
    [
      'APP_ENV production without token',
      { APP_ENV: 'production', SERVICE_TOKEN: '' },
      'SERVICE_TOKENS: no service token is configured',
      'set SERVICE_TOKENS or SERVICE_TOKEN',
    ],
    ['APP_ENV', { APP_ENV: 'staging' }, 'APP_ENV: expected production, development or test', '"staging"'],
    ['LOG_LEVEL', { LOG_LEVEL: 'verbose' }, 'LOG_LEVEL: expected one of', '"verbose"'],
    [
      'DATABASE_URL',
      { DATABASE_URL: 'mysql://127.0.0.1/db' },
      'DATABASE_URL: must be postgres://',
      'postgres://',
    ],
    [
      'KAFKA_TOPIC_STORAGE',
      { KAFKA_TOPIC_STORAGE: 'bad topic' },
      'KAFKA_TOPIC_STORAGE: "bad topic" is not a valid Kafka topic name',
      '"bad topic"',
    ],
    [
      'TEST_FAULT_POINTS',
      { TEST_FAULT_POINTS: 'after-lunch:1' },
      'TEST_FAULT_POINTS: "after-lunch:1" must be one of',
      'before-db-commit',
    ],
  ])('rejects invalid %s', async (_case, env, expected, detail) => {
    const failure = await startWith(env);

    expect(failure.exit).toBe(1);
    expect(failure.message).toContain(`${CONFIG_ERROR_PREFIX}${expected}`);
    expect(failure.message).toContain(detail);
  });

  it('rejects broker port above 65535', async () => {
    const failure = await startWith({ KAFKA_BROKERS: '127.0.0.1:99999' });

    expect(failure.exit).toBe(1);
    expect(failure.message).toContain(`${CONFIG_ERROR_PREFIX}KAFKA_BROKERS`);
  });

  it('never prints the token secret', async () => {
    const failure = await startWith({ SERVICE_TOKENS: 'short:abc-secret' });

    expect(failure.message).toContain('SERVICE_TOKENS');
    expect(failure.message).not.toContain('abc-secret');
  });
});
