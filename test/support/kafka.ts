import { randomBytes, randomUUID } from 'node:crypto';
import { Admin, IHeaders, Kafka, logLevel, Message, Partitioners, Producer } from 'kafkajs';

import { parseJson } from '../../src/common/json/lossless-json';

export interface ReadMessage {
  topic: string;
  partition: number;
  offset: string;
  key: string | null;
  value: Buffer | null;
  headers: Record<string, string>;
}

export interface TestTopics {
  storage: string;
  users: string;
  admin: string;
  locks: string;
  deadLetters: string;
}

/**
 * Returns the first value of each header as text. kafkajs 2.2.4 puts the inherited Object member first
 * in the values of a header named like one (`constructor`, `toString`), so values that are neither a
 * Buffer nor a string are skipped.
 */
function headerText(headers: IHeaders | undefined): Record<string, string> {
  const result: Record<string, string> = {};
  for (const [name, value] of Object.entries(headers ?? {})) {
    const values: unknown[] = Array.isArray(value) ? value : [value];
    const first = values.find(
      (item): item is Buffer | string => Buffer.isBuffer(item) || typeof item === 'string',
    );
    if (first !== undefined) {
      result[name] = Buffer.isBuffer(first) ? first.toString('utf8') : String(first);
    }
  }
  return result;
}

/** A Kafka client for tests: random topic names, a plain producer and a reader of whole topics. */
export class TestKafka {
  readonly kafka: Kafka;
  readonly topics: TestTopics;
  readonly groupId: string;
  private producer?: Promise<Producer>;
  private admin?: Admin;

  constructor(label: string) {
    const brokers = (process.env.KAFKA_BROKERS ?? '').split(',').filter(Boolean);
    if (brokers.length === 0) {
      throw new Error('KAFKA_BROKERS is not set; run the suite with `make test`');
    }
    this.kafka = new Kafka({ clientId: `test-${label}`, brokers, logLevel: logLevel.NOTHING });
    const suffix = `${label}.${randomBytes(4).toString('hex')}`;
    this.topics = {
      storage: `storage.usage.${suffix}`,
      users: `user.allocation.${suffix}`,
      admin: `customer.admin.${suffix}`,
      locks: `customer.lock.${suffix}`,
      deadLetters: `quota.dlq.${suffix}`,
    };
    this.groupId = `quota-lock-test.${suffix}`;
  }

  /** Environment variables that point a service process at this file's topics, group and broker. */
  serviceEnv(): Record<string, string> {
    return {
      KAFKA_BROKERS: process.env.KAFKA_BROKERS ?? '',
      KAFKA_GROUP_ID: this.groupId,
      KAFKA_TOPIC_STORAGE: this.topics.storage,
      KAFKA_TOPIC_USERS: this.topics.users,
      KAFKA_TOPIC_ADMIN: this.topics.admin,
      KAFKA_TOPIC_LOCKS: this.topics.locks,
      KAFKA_TOPIC_DLQ: this.topics.deadLetters,
    };
  }

  /** Creates every topic up front, so producing before the service starts cannot fail. */
  async createTopics(partitions = 3): Promise<void> {
    const admin = await this.connectAdmin();
    await admin.createTopics({
      waitForLeaders: true,
      topics: Object.values(this.topics).map((topic: string) => ({
        topic,
        numPartitions: partitions,
        configEntries: [
          { name: 'max.message.bytes', value: topic === this.topics.deadLetters ? '3145728' : '1572864' },
        ],
      })),
    });
  }

  async send(topic: string, messages: Message[]): Promise<void> {
    // The promise is stored before connecting, so concurrent first sends share one connect.
    this.producer ??= this.connectProducer();
    const producer = await this.producer;
    await producer.send({ topic, acks: -1, messages });
  }

  /** Reads `topic` from the beginning until `done` holds for what was read, or fails after `timeoutMs`. */
  async readUntil(
    topic: string,
    done: (messages: ReadMessage[]) => boolean,
    timeoutMs = 30_000,
  ): Promise<ReadMessage[]> {
    const messages: ReadMessage[] = [];
    const consumer = this.kafka.consumer({ groupId: `reader-${randomUUID()}`, maxWaitTimeInMs: 200 });
    await consumer.connect();
    try {
      await consumer.subscribe({ topic, fromBeginning: true });
      let resolveDone!: () => void;
      const finished = new Promise<void>((resolve) => {
        resolveDone = resolve;
      });
      await consumer.run({
        eachMessage: async ({ topic: from, partition, message }) => {
          messages.push({
            topic: from,
            partition,
            offset: message.offset,
            key: message.key?.toString('utf8') ?? null,
            value: message.value,
            headers: headerText(message.headers),
          });
          if (done(messages)) {
            resolveDone();
          }
          await Promise.resolve();
        },
      });
      if (done(messages)) {
        return messages;
      }
      let timer: NodeJS.Timeout | undefined;
      const timedOut = new Promise<'timeout'>((resolve) => {
        timer = setTimeout(() => resolve('timeout'), timeoutMs);
      });
      const outcome = await Promise.race([finished.then(() => 'done' as const), timedOut]);
      clearTimeout(timer);
      if (outcome === 'timeout') {
        throw new Error(
          `reading ${topic}: condition not met within ${timeoutMs} ms after ${messages.length} message(s)`,
        );
      }
      return messages;
    } finally {
      await consumer.disconnect();
    }
  }

  /** Reads everything currently on `topic`, up to the end offsets at the time of the call. */
  async readAll(topic: string, timeoutMs = 30_000): Promise<ReadMessage[]> {
    const admin = await this.connectAdmin();
    const ends = await admin.fetchTopicOffsets(topic);
    const target = new Map(ends.map((end) => [end.partition, BigInt(end.high)]));
    const reached = (messages: ReadMessage[]): boolean =>
      [...target.entries()].every(
        ([partition, high]) =>
          high === 0n ||
          messages.some((message) => message.partition === partition && BigInt(message.offset) + 1n >= high),
      );
    if ([...target.values()].every((high) => high === 0n)) {
      return [];
    }
    return this.readUntil(topic, reached, timeoutMs);
  }

  async disconnect(): Promise<void> {
    await (await this.producer)?.disconnect();
    await this.admin?.disconnect();
  }

  private async connectProducer(): Promise<Producer> {
    const producer = this.kafka.producer({
      createPartitioner: Partitioners.DefaultPartitioner,
      allowAutoTopicCreation: false,
    });
    await producer.connect();
    return producer;
  }

  private async connectAdmin(): Promise<Admin> {
    if (!this.admin) {
      this.admin = this.kafka.admin();
      await this.admin.connect();
    }
    return this.admin;
  }
}

/** Parses a Kafka value with the lossless codec, so int64 fields come back as bigint. */
export function decodeValue(value: Buffer | null): Record<string, unknown> {
  return parseJson(value?.toString('utf8') ?? 'null') as Record<string, unknown>;
}
