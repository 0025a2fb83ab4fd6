import { Kafka, logLevel, LogEntry, Partitioners, Producer } from 'kafkajs';
import { Logger } from 'pino';

import { RepeatLimiter } from '../common/log/repeat-limiter';
import { AppConfig } from '../config/app-config';

const LEVELS: Record<number, 'error' | 'warn' | 'info' | 'debug'> = {
  [logLevel.ERROR]: 'error',
  [logLevel.WARN]: 'warn',
  [logLevel.INFO]: 'info',
  [logLevel.DEBUG]: 'debug',
};

/** Identical kafkajs lines within this window are logged once, then counted in `repeatsSuppressed`. */
const REPEAT_WINDOW_MS = 10_000;

/** Creates the kafkajs client; its log lines go through pino with the kafkajs fields kept. */
export function createKafka(config: Pick<AppConfig, 'kafka'>, logger: Logger, clientSuffix: string): Kafka {
  const kafkaLogger = logger.child({ component: 'kafkajs' });
  const limiter = new RepeatLimiter(REPEAT_WINDOW_MS);
  return new Kafka({
    clientId: `${config.kafka.clientId}-${clientSuffix}`,
    brokers: config.kafka.brokers,
    connectionTimeout: 3000,
    requestTimeout: 30000,
    retry: { initialRetryTime: 300, retries: 8, maxRetryTime: 10000 },
    logLevel: logLevel.WARN,
    logCreator:
      () =>
      ({ namespace, level, log }: LogEntry) => {
        const { message, timestamp: _timestamp, logger: _name, ...fields } = log;
        const suppressed = limiter.admit(`${level} ${namespace} ${message} ${String(fields.error)}`);
        if (suppressed === null) {
          return;
        }
        const repeats = suppressed > 0 ? { repeatsSuppressed: suppressed } : {};
        kafkaLogger[LEVELS[level] ?? 'info']({ namespace, ...fields, ...repeats }, message);
      },
  });
}

/**
 * Creates an idempotent producer with one request in flight, so retries cannot reorder or repeat a
 * partition's messages within one producer session. kafkajs wants unbounded retries for that, so
 * callers bound each send with a timeout and replace the producer after a failure.
 */
export function createIdempotentProducer(kafka: Kafka): Producer {
  return kafka.producer({
    idempotent: true,
    maxInFlightRequests: 1,
    allowAutoTopicCreation: false,
    createPartitioner: Partitioners.DefaultPartitioner,
    retry: { retries: Number.MAX_SAFE_INTEGER, initialRetryTime: 300, maxRetryTime: 5000 },
  });
}
