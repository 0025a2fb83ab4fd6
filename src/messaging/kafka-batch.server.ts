import { CustomTransportStrategy, Server } from '@nestjs/microservices';
import { Consumer, EachBatchPayload, Kafka } from 'kafkajs';
import { Logger } from 'pino';
import { lastValueFrom } from 'rxjs';

import { errorMessage } from '../common/errors/error-class';
import { backoffDelayMs, sleep, withTimeout } from '../common/time/backoff';
import type { AppConfig } from '../config/app-config';
import { ConsumerStatus } from './consumer-status';
import { DeadLetterPublisher } from './dead-letter-publisher';
import { INBOUND_BATCH_PATTERN, InboundBatch } from './inbound-batch';
import { InboundTopicKind } from './inbound-event';
import { inboundTopics, requiredTopics } from './topic-catalog';
import { provisionTopics, warnOnShortDedupeRetention } from './topic-provisioner';

/** Largest slice of a partition batch handled in one database transaction. */
const SUB_BATCH_SIZE = 500;
/** How long start-up errors (no coordinator, no leader, unknown topic) are retried before they count as a crash. */
const STARTUP_RETRY_MS = 60_000;

export interface KafkaBatchServerOptions {
  config: AppConfig;
  kafka: Kafka;
  logger: Logger;
  status: ConsumerStatus;
  /** Receives the DLQ publisher once the producer is connected. */
  onDeadLetterPublisher: (publisher: DeadLetterPublisher) => void;
  /** Called when the consumer crashed for good; the process should exit non-zero. */
  onFatal: (error: Error) => void;
}

/**
 * Nest transport over kafkajs `eachBatch`. The built-in Kafka transport hands messages over one
 * at a time and retries a throwing message for ever. This one hands whole slices of a partition
 * to one handler, and commits offsets only after the handler reports every message done.
 */
export class KafkaBatchServer extends Server implements CustomTransportStrategy {
  private consumer?: Consumer;
  private deadLetters?: DeadLetterPublisher;
  private readonly shutdown = new AbortController();
  private readonly topicKinds: Map<string, InboundTopicKind>;

  constructor(private readonly options: KafkaBatchServerOptions) {
    super();
    this.topicKinds = inboundTopics(options.config);
  }

  listen(callback: (...optionalParams: unknown[]) => void): void {
    this.start().then(
      () => callback(),
      (error: unknown) => callback(error instanceof Error ? error : new Error(String(error))),
    );
  }

  on(): never {
    throw new Error('KafkaBatchServer has no event listeners; read its status from ConsumerStatus');
  }

  unwrap<T>(): T {
    return this.consumer as T;
  }

  async close(): Promise<void> {
    if (this.shutdown.signal.aborted) {
      return;
    }
    const { logger, config } = this.options;
    this.shutdown.abort();
    const budget = Math.max(1000, Math.floor(config.shutdownTimeoutMs / 3));
    if (this.consumer) {
      // stop() waits for the batch in flight, whose transaction commits or rolls back.
      await withTimeout(this.consumer.stop(), budget, 'consumer stop').catch((error: unknown) =>
        logger.warn({ error: errorMessage(error) }, 'consumer did not stop in time'),
      );
      await withTimeout(this.consumer.disconnect(), budget, 'consumer disconnect').catch((error: unknown) =>
        logger.warn({ error: errorMessage(error) }, 'consumer did not disconnect in time'),
      );
    }
    await this.deadLetters?.disconnect();
    this.options.status.left(null);
  }

  private async start(): Promise<void> {
    const { config, kafka, logger } = this.options;
    await this.retryStartup('provision topics', () =>
      provisionTopics(kafka, requiredTopics(config), config.kafka.topicPartitions, logger),
    );

    await warnOnShortDedupeRetention(
      kafka,
      [...this.topicKinds.keys()],
      config.dedupeRetentionMs,
      logger,
    ).catch((error: unknown) =>
      logger.warn({ error: errorMessage(error) }, 'could not read the inbound topics retention'),
    );

    const deadLetters = new DeadLetterPublisher(kafka, config.kafka.topics.deadLetters);
    this.deadLetters = deadLetters;
    await this.retryStartup('connect DLQ producer', () => deadLetters.connect());
    this.options.onDeadLetterPublisher(deadLetters);

    this.consumer = kafka.consumer({
      groupId: config.kafka.groupId,
      // Above the connections' 10 s idle-in-transaction timeout, so a stopped member's row locks are gone first.
      sessionTimeout: 15_000,
      rebalanceTimeout: 60_000,
      heartbeatInterval: 3_000,
      // consumer.stop() waits for the fetch in flight, so this bounds how long a shutdown waits for it.
      maxWaitTimeInMs: 1000,
      maxBytesPerPartition: 2_097_152,
      allowAutoTopicCreation: false,
    });
    this.watchMembership(this.consumer);
    await this.retryStartup('connect consumer', () => this.consumer!.connect());
    await this.retryStartup('subscribe', () =>
      this.consumer!.subscribe({ topics: [...this.topicKinds.keys()], fromBeginning: true }),
    );
    await this.consumer.run({
      autoCommit: false,
      eachBatchAutoResolve: false,
      partitionsConsumedConcurrently: 1,
      eachBatch: (payload) => this.eachBatch(payload),
    });
    logger.info({ groupId: config.kafka.groupId, topics: [...this.topicKinds.keys()] }, 'consumer started');
  }

  private async eachBatch(payload: EachBatchPayload): Promise<void> {
    const { batch } = payload;
    const heartbeat = (): Promise<void> => payload.heartbeat();
    const isStale = (): boolean => payload.isStale();
    const isRunning = (): boolean => payload.isRunning();
    const kind = this.topicKinds.get(batch.topic);
    const handler = this.getHandlerByPattern(INBOUND_BATCH_PATTERN);
    if (!kind || !handler) {
      throw new Error(
        `no handler for topic ${batch.topic}; register @EventPattern('${INBOUND_BATCH_PATTERN}')`,
      );
    }
    const shouldStop = (): boolean => !isRunning() || isStale() || this.shutdown.signal.aborted;

    for (let start = 0; start < batch.messages.length; start += SUB_BATCH_SIZE) {
      if (shouldStop()) {
        return;
      }
      const messages = batch.messages.slice(start, start + SUB_BATCH_SIZE);
      const slice: InboundBatch = {
        topic: batch.topic,
        kind,
        partition: batch.partition,
        messages,
        heartbeat,
        shouldStop,
        signal: this.shutdown.signal,
      };
      const result: unknown = await handler(slice);
      const completed: unknown = await lastValueFrom(this.transformToObservable(result), {
        defaultValue: false,
      });
      if (completed !== true || isStale()) {
        return;
      }
      const lastOffset = messages[messages.length - 1].offset;
      payload.resolveOffset(lastOffset);
      await this.commit(batch.topic, batch.partition, lastOffset);
      await heartbeat().catch(() => undefined);
    }
  }

  /** Commits `offset + 1`; a failed commit only means redelivery, which deduplication absorbs. */
  private async commit(topic: string, partition: number, lastOffset: string): Promise<void> {
    const offset = (BigInt(lastOffset) + 1n).toString();
    try {
      await this.consumer!.commitOffsets([{ topic, partition, offset }]);
    } catch (error) {
      this.options.logger.warn(
        { topic, partition, offset, error: errorMessage(error) },
        'offset commit failed',
      );
    }
  }

  private watchMembership(consumer: Consumer): void {
    const { status, logger, onFatal } = this.options;
    consumer.on(consumer.events.GROUP_JOIN, ({ payload }) => {
      status.joined(payload.memberAssignment);
      logger.info(
        { memberId: payload.memberId, assignment: payload.memberAssignment },
        'joined consumer group',
      );
    });
    consumer.on(consumer.events.HEARTBEAT, () => status.contact());
    consumer.on(consumer.events.FETCH, () => status.contact());
    consumer.on(consumer.events.STOP, () => status.left(null));
    consumer.on(consumer.events.DISCONNECT, () => status.left(null));
    consumer.on(consumer.events.CRASH, ({ payload }) => {
      status.left(errorMessage(payload.error));
      if (payload.restart) {
        logger.warn({ error: errorMessage(payload.error) }, 'consumer crashed; kafkajs restarts it');
        return;
      }
      logger.error({ error: errorMessage(payload.error) }, 'consumer crashed for good');
      onFatal(payload.error);
    });
  }

  private async retryStartup(what: string, action: () => Promise<unknown>): Promise<void> {
    const started = Date.now();
    for (let attempt = 0; ; attempt++) {
      try {
        await action();
        return;
      } catch (error) {
        if (Date.now() - started > STARTUP_RETRY_MS || this.shutdown.signal.aborted) {
          throw new Error(`could not ${what} within ${STARTUP_RETRY_MS / 1000} s: ${errorMessage(error)}`, {
            cause: error,
          });
        }
        this.options.logger.warn(
          { attempt: attempt + 1, error: errorMessage(error) },
          `${what} failed; retrying`,
        );
        await sleep(backoffDelayMs(attempt, 500, 5000), this.shutdown.signal);
      }
    }
  }
}
