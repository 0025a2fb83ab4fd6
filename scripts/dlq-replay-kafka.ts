/**
 * Kafka side of `make dlq-replay`: reads the dead-letter topic up to the end offsets fetched at
 * start, with a consumer group of its own that commits nothing, and resends chosen events.
 */
import { randomUUID } from 'node:crypto';
import { IHeaders, Kafka, Producer } from 'kafkajs';

import { errorMessage } from '../src/common/errors/error-class';
import { withTimeout } from '../src/common/time/backoff';
import { createIdempotentProducer } from '../src/messaging/kafka-client';
import { DEAD_LETTER_TOPIC_MAX_MESSAGE_BYTES } from '../src/messaging/topic-catalog';

/** How long reading may go without a fetched batch before it fails. */
const READ_IDLE_TIMEOUT_MS = 60_000;
const SEND_TIMEOUT_MS = 30_000;

export interface DeadLetterRecord {
  partition: number;
  offset: string;
  /** The Kafka timestamp, in ms since the epoch. */
  timestampMs: number;
  key: Buffer | null;
  value: Buffer | null;
  headers: IHeaders;
}

export interface ReadResult {
  /** Every record below the end offsets fetched at start, ordered by partition and offset. */
  records: DeadLetterRecord[];
  partitionCount: number;
}

export interface OutboundMessage {
  topic: string;
  partition: number;
  key: Buffer | null;
  value: Buffer | null;
  headers: IHeaders;
}

export interface SentPosition {
  partition: number;
  offset: string;
}

/**
 * Reads `topic` from the beginning to the end offsets it has now. The consumer joins a new group
 * named `<groupPrefix>-<uuid>`, commits no offsets and deletes the group afterwards, so no other
 * group is touched. Throws when the topic does not exist or no batch arrives for 60 s.
 */
export async function readToEnd(kafka: Kafka, topic: string, groupPrefix: string): Promise<ReadResult> {
  const admin = kafka.admin();
  await admin.connect().catch((error: unknown) => {
    throw new Error(`connecting to Kafka failed: ${errorMessage(error)}; check KAFKA_BROKERS`, {
      cause: error,
    });
  });
  let groupId: string | undefined;
  try {
    if (!(await admin.listTopics()).includes(topic)) {
      throw new Error(`topic ${topic} does not exist; check KAFKA_TOPIC_DLQ and KAFKA_BROKERS`);
    }
    const ends = await admin.fetchTopicOffsets(topic);
    const endOffsets = new Map(ends.map((end) => [end.partition, BigInt(end.high)]));
    const unread = new Set(
      ends.filter((end) => BigInt(end.high) > BigInt(end.low)).map((end) => end.partition),
    );
    if (unread.size === 0) {
      return { records: [], partitionCount: ends.length };
    }
    groupId = `${groupPrefix}-${randomUUID()}`;
    const records = await consume(kafka, topic, groupId, endOffsets, unread);
    records.sort((a, b) => a.partition - b.partition || compareOffsets(a.offset, b.offset));
    return { records, partitionCount: ends.length };
  } finally {
    if (groupId !== undefined) {
      // The group never committed offsets, so the broker would drop it anyway; this only tidies up.
      await admin.deleteGroups([groupId]).catch(() => undefined);
    }
    await admin.disconnect();
  }
}

export function compareOffsets(a: string, b: string): number {
  const difference = BigInt(a) - BigInt(b);
  if (difference === 0n) {
    return 0;
  }
  return difference < 0n ? -1 : 1;
}

async function consume(
  kafka: Kafka,
  topic: string,
  groupId: string,
  endOffsets: ReadonlyMap<number, bigint>,
  unread: Set<number>,
): Promise<DeadLetterRecord[]> {
  const consumer = kafka.consumer({
    groupId,
    maxWaitTimeInMs: 500,
    // Above the DLQ topic's message size limit, so the largest dead letter fits in one fetch.
    maxBytesPerPartition: DEAD_LETTER_TOPIC_MAX_MESSAGE_BYTES + 1_048_576,
    allowAutoTopicCreation: false,
  });
  const records: DeadLetterRecord[] = [];
  // A rebalance without committed offsets starts over from the beginning, so records are keyed by position.
  const seen = new Set<string>();
  let idleTimer: NodeJS.Timeout | undefined;
  try {
    await consumer.connect();
    await consumer.subscribe({ topics: [topic], fromBeginning: true });
    await new Promise<void>((resolve, reject) => {
      const armIdleTimer = (): void => {
        clearTimeout(idleTimer);
        idleTimer = setTimeout(() => {
          const partitions = [...unread].sort((a, b) => a - b).join(', ');
          reject(
            new Error(
              `reading ${topic} stalled: no batch for ${READ_IDLE_TIMEOUT_MS / 1000} s, ` +
                `partitions ${partitions} not read to their end offsets`,
            ),
          );
        }, READ_IDLE_TIMEOUT_MS);
      };
      armIdleTimer();
      consumer.on(consumer.events.CRASH, ({ payload }) => {
        if (!payload.restart) {
          reject(payload.error);
        }
      });
      consumer
        .run({
          autoCommit: false,
          eachBatch: ({ batch }) => {
            armIdleTimer();
            const end = endOffsets.get(batch.partition) ?? 0n;
            for (const message of batch.messages) {
              const position = `${batch.partition}:${message.offset}`;
              if (BigInt(message.offset) >= end || seen.has(position)) {
                continue;
              }
              seen.add(position);
              records.push({
                partition: batch.partition,
                offset: message.offset,
                timestampMs: Number(message.timestamp),
                key: message.key,
                value: message.value,
                headers: message.headers ?? {},
              });
            }
            // NOTE: a partition that ends in transaction markers never reaches its end offset here,
            // so reading it fails with the idle timeout. The service's producers use no transactions.
            if (BigInt(batch.lastOffset()) + 1n >= end) {
              unread.delete(batch.partition);
            }
            if (unread.size === 0) {
              resolve();
            }
            return Promise.resolve();
          },
        })
        .catch(reject);
    });
    return records;
  } finally {
    clearTimeout(idleTimer);
    await consumer.disconnect().catch(() => undefined);
  }
}

/** Returns the partition count of each topic of `topics` that exists; missing topics are left out. */
export async function partitionCounts(kafka: Kafka, topics: readonly string[]): Promise<Map<string, number>> {
  const admin = kafka.admin();
  await admin.connect();
  try {
    const existing = new Set(await admin.listTopics());
    const present = topics.filter((topic) => existing.has(topic));
    if (present.length === 0) {
      return new Map();
    }
    const metadata = await admin.fetchTopicMetadata({ topics: present });
    return new Map(metadata.topics.map((topic) => [topic.name, topic.partitions.length]));
  } finally {
    await admin.disconnect();
  }
}

/**
 * Sends messages one at a time through an idempotent producer (acks -1, one request in flight),
 * each bounded by a 30 s timeout, because the producer itself retries without end.
 */
export class Resender {
  private producer?: Producer;

  constructor(private readonly kafka: Kafka) {}

  async send(message: OutboundMessage): Promise<SentPosition> {
    const producer = await this.connect();
    const [written] = await withTimeout(
      producer.send({
        topic: message.topic,
        acks: -1,
        messages: [
          { partition: message.partition, key: message.key, value: message.value, headers: message.headers },
        ],
      }),
      SEND_TIMEOUT_MS,
      `sending to ${message.topic}/${message.partition}`,
    );
    return { partition: written.partition, offset: written.baseOffset ?? '?' };
  }

  async disconnect(): Promise<void> {
    await withTimeout(this.producer?.disconnect() ?? Promise.resolve(), 5000, 'producer disconnect').catch(
      () => undefined,
    );
  }

  private async connect(): Promise<Producer> {
    if (!this.producer) {
      const producer = createIdempotentProducer(this.kafka);
      await withTimeout(producer.connect(), SEND_TIMEOUT_MS, 'producer connect');
      this.producer = producer;
    }
    return this.producer;
  }
}
