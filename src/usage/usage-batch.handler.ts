import { Inject, Injectable } from '@nestjs/common';
import { KafkaMessage } from 'kafkajs';
import type { Logger } from 'pino';

import { classifyError, errorMessage } from '../common/errors/error-class';
import { FaultInjector } from '../common/fault-injector';
import { backoffDelayMs, sleep } from '../common/time/backoff';
import { APP_CONFIG } from '../config/app-config';
import type { AppConfig } from '../config/app-config';
import { CommandOutcome, CustomerCommand } from '../locking/customer-change';
import { CustomerUnitOfWork } from '../locking/customer-unit-of-work';
import { causationIdOf } from '../outbox/lock-event';
import { decodeInboundMessage } from '../messaging/cloudevents-decoder';
import { DeadLetter, DeadLetterPublisher } from '../messaging/dead-letter-publisher';
import { InboundBatch } from '../messaging/inbound-batch';
import { InboundEvent } from '../messaging/inbound-event';
import { MetricsService } from '../observability/metrics.service';
import { ROOT_LOGGER } from '../common/logging/logger.tokens';
import { toCustomerChange } from './inbound-command';

/** Attempts of one message alone before an unexpected error dead-letters it as PROCESSING_FAILED. */
const ISOLATED_ATTEMPTS = 3;

interface PendingMessage {
  message: KafkaMessage;
  event: InboundEvent;
  command: CustomerCommand;
}

/** The batch was abandoned because the partition was revoked or the process stops. */
class BatchAbandoned extends Error {}

/**
 * Handles one slice of a partition: decodes every message, applies the valid ones in one
 * transaction and dead-letters the rest. It resolves `true` only when every message is either
 * committed in PostgreSQL or acknowledged by the DLQ topic.
 */
@Injectable()
export class UsageBatchHandler {
  private deadLetters?: DeadLetterPublisher;

  constructor(
    private readonly unitOfWork: CustomerUnitOfWork,
    private readonly faults: FaultInjector,
    private readonly metrics: MetricsService,
    @Inject(APP_CONFIG) private readonly config: AppConfig,
    @Inject(ROOT_LOGGER) private readonly rootLogger: Logger,
  ) {}

  useDeadLetterPublisher(publisher: DeadLetterPublisher): void {
    this.deadLetters = publisher;
  }

  async handle(batch: InboundBatch): Promise<boolean> {
    const stopTimer = this.metrics.batchDuration.startTimer();
    const logger = this.rootLogger.child({ topic: batch.topic, partition: batch.partition });
    const letters: DeadLetter[] = [];
    const pending: PendingMessage[] = [];

    const allowedSources =
      batch.kind === 'admin' ? this.config.kafka.adminSources : this.config.kafka.usageSources;
    for (const message of batch.messages) {
      const decoded = decodeInboundMessage(message, batch.kind, {
        maxEventBytes: this.config.maxEventBytes,
        allowedSources,
        allowedSourcesSetting: batch.kind === 'admin' ? 'KAFKA_ADMIN_SOURCES' : 'KAFKA_USAGE_SOURCES',
      });
      if (!decoded.ok) {
        letters.push(this.letter(batch, message, decoded.reason, decoded.error));
        continue;
      }
      const { event } = decoded;
      pending.push({
        message,
        event,
        command: {
          customerId: event.customerId,
          change: toCustomerChange(event),
          actor: batch.kind === 'admin' ? `command:${event.envelope.source}` : 'system',
          causationId: causationIdOf(event.envelope.source, event.envelope.id),
          comment: 'comment' in event ? event.comment : undefined,
          dedupe: {
            source: event.envelope.source,
            eventId: event.envelope.id,
            fingerprint: decoded.fingerprint,
            topic: batch.topic,
            partition: batch.partition,
            offset: message.offset,
          },
        },
      });
    }

    try {
      const outcomes = pending.length > 0 ? await this.applyWithRetries(batch, pending, logger) : [];
      this.faults.reach('after-db-commit');
      outcomes.forEach((outcome, index) => this.record(batch, pending[index], outcome, letters, logger));
      await this.publishDeadLetters(batch, letters, logger);
    } catch (error) {
      if (error instanceof BatchAbandoned) {
        logger.warn({ batchSize: batch.messages.length }, 'abandoned batch without committing offsets');
        return false;
      }
      throw error;
    }

    this.metrics.events.inc({ topic: batch.topic, outcome: 'dead_lettered' }, letters.length);
    stopTimer();
    return true;
  }

  private letter(
    batch: InboundBatch,
    message: KafkaMessage,
    reason: DeadLetter['reason'],
    error: string,
  ): DeadLetter {
    return {
      topic: batch.topic,
      partition: batch.partition,
      offset: message.offset,
      key: message.key,
      value: message.value,
      headers: message.headers,
      reason,
      error,
    };
  }

  private record(
    batch: InboundBatch,
    item: PendingMessage,
    outcome: CommandOutcome,
    letters: DeadLetter[],
    batchLogger: Logger,
  ): void {
    const fields = {
      eventId: item.event.envelope.id,
      source: item.event.envelope.source,
      customerId: item.event.customerId.toString(),
      offset: item.message.offset,
    };
    switch (outcome.status) {
      case 'applied':
        this.metrics.events.inc({ topic: batch.topic, outcome: 'applied' });
        if (outcome.clamped > 0n) {
          this.metrics.underflows.inc();
          batchLogger.warn(
            { ...fields, clamped: outcome.clamped.toString() },
            'usage decrease clamped at zero',
          );
        }
        batchLogger.debug(
          { ...fields, type: item.event.type, published: outcome.published },
          'applied event',
        );
        return;
      case 'duplicate':
        this.metrics.events.inc({ topic: batch.topic, outcome: 'duplicate' });
        batchLogger.warn({ ...fields, payloadDiffers: outcome.payloadDiffers }, 'skipped duplicate event');
        return;
      case 'rejected':
        letters.push(this.letter(batch, item.message, outcome.reason, outcome.message));
        return;
    }
  }

  /** Runs the batch in one transaction; transient failures are retried, other failures isolated. */
  private async applyWithRetries(
    batch: InboundBatch,
    pending: PendingMessage[],
    logger: Logger,
  ): Promise<CommandOutcome[]> {
    const commands = pending.map((item) => item.command);
    for (let attempt = 0; ; attempt++) {
      this.checkActive(batch);
      try {
        return await this.unitOfWork.run(commands, {
          beforeCommit: () => this.faults.reach('before-db-commit'),
        });
      } catch (error) {
        const errorClass = classifyError(error);
        if (errorClass === 'other') {
          logger.warn(
            { batchSize: commands.length, error: errorMessage(error) },
            'batch failed; retrying one event at a time',
          );
          return this.applyIsolated(batch, pending, logger);
        }
        await this.pause(batch, attempt, errorClass, error, logger);
      }
    }
  }

  private async applyIsolated(
    batch: InboundBatch,
    pending: PendingMessage[],
    logger: Logger,
  ): Promise<CommandOutcome[]> {
    const outcomes: CommandOutcome[] = [];
    for (const item of pending) {
      outcomes.push(await this.applyOne(batch, item, logger));
    }
    return outcomes;
  }

  private async applyOne(batch: InboundBatch, item: PendingMessage, logger: Logger): Promise<CommandOutcome> {
    const fields = {
      eventId: item.event.envelope.id,
      customerId: item.event.customerId.toString(),
      offset: item.message.offset,
    };
    let failures = 0;
    for (let attempt = 0; ; attempt++) {
      this.checkActive(batch);
      try {
        const [outcome] = await this.unitOfWork.run([item.command], {
          beforeCommit: () => this.faults.reach('before-db-commit'),
        });
        return outcome;
      } catch (error) {
        const errorClass = classifyError(error);
        if (errorClass === 'other' && ++failures >= ISOLATED_ATTEMPTS) {
          logger.error(
            { ...fields, attempts: failures, error: errorMessage(error) },
            'event failed repeatedly; dead-lettering it',
          );
          return {
            status: 'rejected',
            reason: 'PROCESSING_FAILED',
            message: `processing failed ${failures} times: ${errorMessage(error)}`,
          };
        }
        await this.pause(batch, attempt, errorClass, error, logger);
      }
    }
  }

  private async publishDeadLetters(
    batch: InboundBatch,
    letters: DeadLetter[],
    logger: Logger,
  ): Promise<void> {
    if (letters.length === 0) {
      return;
    }
    if (!this.deadLetters) {
      throw new Error(
        'dead-letter publisher is not set; the batch transport must provide it before consuming',
      );
    }
    for (let attempt = 0; ; attempt++) {
      this.checkActive(batch);
      try {
        await this.deadLetters.publish(letters);
        break;
      } catch (error) {
        await this.pause(batch, attempt, 'availability', error, logger);
      }
    }
    for (const letter of letters) {
      this.metrics.deadLetters.inc({ reason: letter.reason });
      logger.warn(
        { offset: letter.offset, reason: letter.reason, error: letter.error },
        'dead-lettered message',
      );
    }
  }

  private async pause(
    batch: InboundBatch,
    attempt: number,
    errorClass: string,
    error: unknown,
    logger: Logger,
  ): Promise<void> {
    this.metrics.retries.inc({ class: errorClass });
    const delayMs = backoffDelayMs(attempt, errorClass === 'contention' ? 20 : 200, 10_000);
    logger.warn(
      { attempt: attempt + 1, errorClass, delayMs, error: errorMessage(error) },
      'retrying batch after error',
    );
    await sleep(delayMs, batch.signal);
    await batch.heartbeat().catch(() => undefined);
    this.checkActive(batch);
  }

  private checkActive(batch: InboundBatch): void {
    if (batch.shouldStop()) {
      throw new BatchAbandoned('batch abandoned');
    }
  }
}
