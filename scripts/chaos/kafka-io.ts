import { randomUUID } from 'node:crypto';
import { Admin, IHeaders, Kafka, logLevel, Message, Partitioners, Producer } from 'kafkajs';

import { ChaosRecord } from './workload';

export interface ReadRecord {
  topic: string;
  partition: number;
  offset: bigint;
  key: string | null;
  value: Buffer | null;
  headers: Record<string, string>;
}

function headerText(headers: IHeaders | undefined): Record<string, string> {
  const result: Record<string, string> = {};
  for (const [name, value] of Object.entries(headers ?? {})) {
    const first = Array.isArray(value) ? value[0] : value;
    if (first !== undefined) {
      result[name] = Buffer.isBuffer(first) ? first.toString('utf8') : String(first);
    }
  }
  return result;
}

const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));

/**
 * The harness's own Kafka clients: an idempotent producer with one request in flight that
 * resends a failed chunk until the broker takes it, an admin client for offsets, and a reader
 * of whole topics.
 */
export class ChaosKafka {
  private readonly kafka: Kafka;
  private producer?: Producer;
  private admin?: Admin;
  sendFailures = 0;

  constructor(brokers: string) {
    this.kafka = new Kafka({
      clientId: 'chaos-harness',
      brokers: [brokers],
      logLevel: logLevel.NOTHING,
      connectionTimeout: 3000,
      requestTimeout: 15_000,
      retry: { retries: 3, initialRetryTime: 300, maxRetryTime: 3000 },
    });
  }

  private async ensureProducer(): Promise<Producer> {
    if (!this.producer) {
      const producer = this.kafka.producer({
        idempotent: true,
        maxInFlightRequests: 1,
        createPartitioner: Partitioners.DefaultPartitioner,
        allowAutoTopicCreation: false,
      });
      await producer.connect();
      this.producer = producer;
    }
    return this.producer;
  }

  private async ensureAdmin(): Promise<Admin> {
    if (!this.admin) {
      const admin = this.kafka.admin();
      await admin.connect();
      this.admin = admin;
    }
    return this.admin;
  }

  /**
   * Sends `records` in their order and waits for every in-sync replica. A chunk that fails is
   * sent again with a new producer; the first attempt may have landed, which repeats records
   * right after themselves, and the read-back counts what is really on the topics.
   */
  async sendChunk(records: ChaosRecord[], topicNames: Record<ChaosRecord['topic'], string>): Promise<void> {
    const byTopic = new Map<string, Message[]>();
    for (const record of records) {
      const topic = topicNames[record.topic];
      const messages = byTopic.get(topic) ?? [];
      messages.push({ key: record.key, value: record.value, headers: record.headers });
      byTopic.set(topic, messages);
    }
    const topicMessages = [...byTopic].map(([topic, messages]) => ({ topic, messages }));
    for (let attempt = 0; ; attempt++) {
      try {
        const producer = await this.ensureProducer();
        await producer.sendBatch({ topicMessages, acks: -1, timeout: 10_000 });
        return;
      } catch {
        this.sendFailures++;
        const producer = this.producer;
        this.producer = undefined;
        await producer?.disconnect().catch(() => undefined);
        await sleep(Math.min(5000, 250 * 2 ** Math.min(attempt, 5)));
      }
    }
  }

  /** Sums, over the partitions of `topics`, how far the group's committed offsets lag behind the ends. */
  async groupLag(groupId: string, topics: string[]): Promise<bigint> {
    const admin = await this.ensureAdmin();
    let lag = 0n;
    const committed = await admin.fetchOffsets({ groupId, topics });
    for (const topic of topics) {
      const ends = await admin.fetchTopicOffsets(topic);
      const done = committed.find((entry) => entry.topic === topic)?.partitions ?? [];
      for (const end of ends) {
        const offset = done.find((entry) => entry.partition === end.partition)?.offset ?? '-1';
        const position = BigInt(offset) < 0n ? BigInt(end.low) : BigInt(offset);
        lag += BigInt(end.high) - position;
      }
    }
    return lag;
  }

  /** Reads every record of `topic` up to the end offsets seen at the start of the read. */
  async readAll(topic: string, timeoutMs = 180_000): Promise<ReadRecord[]> {
    const admin = await this.ensureAdmin();
    const ends = await admin.fetchTopicOffsets(topic);
    const remaining = new Map<number, bigint>();
    for (const end of ends) {
      if (BigInt(end.high) > BigInt(end.low)) {
        remaining.set(end.partition, BigInt(end.high));
      }
    }
    const records: ReadRecord[] = [];
    if (remaining.size === 0) {
      return records;
    }
    const consumer = this.kafka.consumer({
      groupId: `chaos-reader-${randomUUID()}`,
      maxWaitTimeInMs: 250,
      maxBytes: 32 * 1_048_576,
    });
    await consumer.connect();
    let finish: () => void = () => undefined;
    const finished = new Promise<void>((resolve) => {
      finish = resolve;
    });
    try {
      await consumer.subscribe({ topics: [topic], fromBeginning: true });
      await consumer.run({
        eachBatch: ({ batch }) => {
          const end = remaining.get(batch.partition);
          for (const message of batch.messages) {
            const offset = BigInt(message.offset);
            if (end !== undefined && offset < end) {
              records.push({
                topic,
                partition: batch.partition,
                offset,
                key: message.key?.toString('utf8') ?? null,
                value: message.value,
                headers: headerText(message.headers),
              });
            }
            if (end !== undefined && offset + 1n >= end) {
              remaining.delete(batch.partition);
            }
          }
          if (remaining.size === 0) {
            finish();
          }
          return Promise.resolve();
        },
      });
      const timer = setTimeout(finish, timeoutMs);
      await finished;
      clearTimeout(timer);
      if (remaining.size > 0) {
        throw new Error(
          `reading ${topic} timed out after ${timeoutMs} ms with ${remaining.size} partitions unread`,
        );
      }
      return records;
    } finally {
      await consumer.disconnect().catch(() => undefined);
    }
  }

  async close(): Promise<void> {
    await this.producer?.disconnect().catch(() => undefined);
    await this.admin?.disconnect().catch(() => undefined);
  }
}
