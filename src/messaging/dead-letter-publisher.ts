import { IHeaders, Kafka, Message, Producer } from 'kafkajs';

import { createIdempotentProducer } from './kafka-client';

import { withTimeout } from '../common/time/backoff';
import { DeadLetterReason } from './dead-letter-reason';

/** How much of an oversized value the dead letter keeps. */
export const TOO_LARGE_KEPT_BYTES = 4096;
const MAX_ERROR_CHARS = 1000;

export interface DeadLetter {
  topic: string;
  partition: number;
  offset: string;
  key: Buffer | null;
  value: Buffer | null;
  headers: IHeaders | undefined;
  reason: DeadLetterReason;
  error: string;
}

/** Builds the DLQ copy of a message: its key, value and headers plus the `x-dlq-*` and `x-original-*` headers. */
export function toDeadLetterMessage(letter: DeadLetter): Message {
  const headers: IHeaders = { ...(letter.headers ?? {}) };
  let value = letter.value;
  if (letter.reason === 'TOO_LARGE' && value) {
    headers['x-dlq-original-size'] = String(value.length);
    value = value.subarray(0, TOO_LARGE_KEPT_BYTES);
  }
  headers['x-dlq-reason'] = letter.reason;
  headers['x-dlq-error'] = letter.error.replace(/[\r\n]+/g, ' ').slice(0, MAX_ERROR_CHARS);
  headers['x-original-topic'] = letter.topic;
  headers['x-original-partition'] = String(letter.partition);
  headers['x-original-offset'] = letter.offset;
  return { key: letter.key, value, headers };
}

/**
 * Sends dead letters and resolves only once the DLQ topic acknowledged all of them (`acks: -1`).
 * After a failed send the producer is replaced, so its internal retries cannot outlive the attempt.
 */
export class DeadLetterPublisher {
  private producer?: Producer;

  constructor(
    private readonly kafka: Kafka,
    private readonly topic: string,
    private readonly timeoutMs = 15_000,
  ) {}

  async connect(): Promise<void> {
    await this.ensureProducer();
  }

  async publish(letters: DeadLetter[]): Promise<void> {
    if (letters.length === 0) {
      return;
    }
    try {
      const producer = await this.ensureProducer();
      await withTimeout(
        producer.send({ topic: this.topic, acks: -1, messages: letters.map(toDeadLetterMessage) }),
        this.timeoutMs,
        'dead-letter send',
      );
    } catch (error) {
      await this.disconnect();
      throw error;
    }
  }

  async disconnect(): Promise<void> {
    const producer = this.producer;
    this.producer = undefined;
    await withTimeout(producer?.disconnect() ?? Promise.resolve(), 2000, 'DLQ producer disconnect').catch(
      () => undefined,
    );
  }

  private async ensureProducer(): Promise<Producer> {
    if (!this.producer) {
      const producer = createIdempotentProducer(this.kafka);
      await withTimeout(producer.connect(), this.timeoutMs, 'DLQ producer connect').catch(
        async (error: unknown) => {
          await producer.disconnect().catch(() => undefined);
          throw error;
        },
      );
      this.producer = producer;
    }
    return this.producer;
  }
}
