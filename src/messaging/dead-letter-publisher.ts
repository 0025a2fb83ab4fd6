import { IHeaders, Kafka, Message, Producer } from 'kafkajs';

import { createIdempotentProducer } from './kafka-client';

import { withTimeout } from '../common/time/backoff';
import { DeadLetterReason } from './dead-letter-reason';

/** How much of an oversized value the dead letter keeps. */
export const TOO_LARGE_KEPT_BYTES = 4096;
const MAX_ERROR_CHARS = 1000;
// NOTE: kafkajs 2.2.4 cannot write a null header value, so a dead letter carries it as an empty one.
const EMPTY_HEADER_VALUE = Buffer.alloc(0);
/**
 * Maximum estimated record bytes in one DLQ send. A dead letter's value is at most MAX_EVENT_BYTES
 * (1 MiB or less), and its key and original headers are cut to the limits below, so a letter sent
 * alone always fits the DLQ topic's 3 MiB `max.message.bytes`.
 */
const MAX_SEND_BYTES = 1_048_576;
/**
 * Longest key a dead letter keeps whole; a longer one keeps its first TOO_LARGE_KEPT_BYTES. A
 * compressed batch can carry a record whose key or headers alone exceed the DLQ topic's limit, and
 * such a dead letter would be rejected on every retry and stop the partition.
 */
export const MAX_KEPT_KEY_BYTES = 16_384;
/** Most bytes of original headers a dead letter keeps; later headers beyond it are dropped. */
export const MAX_KEPT_HEADER_BYTES = 262_144;
/** Upper bounds of the varint lengths, attributes and deltas that frame a record and a header. */
const RECORD_OVERHEAD_BYTES = 40;
const HEADER_OVERHEAD_BYTES = 10;

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

/**
 * Builds the DLQ copy of a message: its key, value and headers plus the `x-dlq-*` and `x-original-*`
 * headers. An oversized value, key or header set is cut, and a header records what was cut:
 * `x-dlq-original-size` (value), `x-dlq-original-key-size` (key), `x-dlq-dropped-header-bytes`.
 */
export function toDeadLetterMessage(letter: DeadLetter): Message {
  const { headers, droppedBytes } = copyHeaders(letter.headers, MAX_KEPT_HEADER_BYTES);
  if (droppedBytes > 0) {
    headers['x-dlq-dropped-header-bytes'] = String(droppedBytes);
  }
  let key = letter.key;
  if (key && key.length > MAX_KEPT_KEY_BYTES) {
    headers['x-dlq-original-key-size'] = String(key.length);
    key = key.subarray(0, TOO_LARGE_KEPT_BYTES);
  }
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
  return { key, value, headers };
}

/**
 * Copies consumed headers into values that the kafkajs 2.2.4 encoder accepts. It throws for anything
 * but a string or a Buffer, and the retries would then block the partition's dead letters for good.
 * Its decoder puts the inherited Object.prototype member first in the values of a header named like
 * one (`constructor`, `toString`, `__proto__`), and such members are dropped. A null value, which the
 * record format allows (length -1), is written as an empty value.
 */
function copyHeaders(
  headers: IHeaders | undefined,
  maxBytes: number,
): { headers: IHeaders; droppedBytes: number } {
  const source = headers ?? {};
  // Without a prototype, a header named __proto__ becomes an own property instead of the prototype.
  const copy = Object.create(null) as IHeaders;
  let keptBytes = 0;
  let droppedBytes = 0;
  for (const name of Object.keys(source)) {
    const values = writableHeaderValues(source[name]);
    const bytes = values.reduce((sum, value) => sum + Buffer.byteLength(name) + byteLength(value), 0);
    if (keptBytes + bytes > maxBytes) {
      droppedBytes += bytes;
    } else if (values.length > 0) {
      keptBytes += bytes;
      copy[name] = values.length === 1 ? values[0] : values;
    }
  }
  return { headers: copy, droppedBytes };
}

function writableHeaderValues(raw: unknown): (string | Buffer)[] {
  const values: (string | Buffer)[] = [];
  for (const value of Array.isArray(raw) ? (raw as unknown[]) : [raw]) {
    if (typeof value === 'string' || Buffer.isBuffer(value)) {
      values.push(value);
    } else if (value === null) {
      values.push(EMPTY_HEADER_VALUE);
    }
  }
  return values;
}

/**
 * Splits messages, in order, into groups of at most `maxBytes` estimated record bytes. A message larger
 * than that forms a group of its own.
 */
export function splitBySize(messages: Message[], maxBytes: number): Message[][] {
  const groups: Message[][] = [];
  let group: Message[] = [];
  let groupBytes = 0;
  for (const message of messages) {
    const bytes = estimateRecordBytes(message);
    if (group.length > 0 && groupBytes + bytes > maxBytes) {
      groups.push(group);
      group = [];
      groupBytes = 0;
    }
    group.push(message);
    groupBytes += bytes;
  }
  if (group.length > 0) {
    groups.push(group);
  }
  return groups;
}

/** Estimates the bytes of one record in a batch: key, value and headers plus a bound on the framing. */
function estimateRecordBytes(message: Message): number {
  let bytes = RECORD_OVERHEAD_BYTES + byteLength(message.key) + byteLength(message.value);
  for (const [name, raw] of Object.entries(message.headers ?? {})) {
    for (const value of Array.isArray(raw) ? raw : [raw]) {
      bytes += HEADER_OVERHEAD_BYTES + Buffer.byteLength(name) + byteLength(value);
    }
  }
  return bytes;
}

function byteLength(value: Buffer | string | null | undefined): number {
  return value === null || value === undefined ? 0 : Buffer.byteLength(value);
}

/**
 * Sends dead letters and resolves only once the DLQ topic acknowledged all of them (`acks: -1`).
 * Each send carries at most MAX_SEND_BYTES, because the broker checked the consumed batch against
 * `max.message.bytes` in its compressed form, and this producer does not compress. So the dead
 * letters of one consumed batch can exceed what the DLQ topic accepts in one batch. A failed send
 * fails the whole publish, and the caller's retry writes the letters already sent a second time.
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
      for (const messages of splitBySize(letters.map(toDeadLetterMessage), MAX_SEND_BYTES)) {
        await withTimeout(
          producer.send({ topic: this.topic, acks: -1, messages }),
          this.timeoutMs,
          'dead-letter send',
        );
      }
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
