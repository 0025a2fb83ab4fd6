/**
 * Kafka side of `make demo`: the producer that plays the stream, and a reader that collects the
 * records that appear on the lock and dead-letter topics after the offsets recorded before playing.
 */
import { Admin, Consumer, IHeaders, Kafka, logLevel, Partitioners, Producer } from 'kafkajs';

export interface DemoTopics {
  storage: string;
  users: string;
  admin: string;
  locks: string;
  deadLetters: string;
}

/** End offset of each partition of one topic. */
export type EndOffsets = Map<number, bigint>;

export interface ReadRecord {
  topic: string;
  partition: number;
  offset: bigint;
  key: string | null;
  value: Buffer | null;
  headers: Record<string, string>;
}

export interface SentRecord {
  partition: number;
  offset: bigint;
}

/** Topic names with the run id as suffix, so the demo reads back only what it produced. */
export function demoTopics(runId: string): DemoTopics {
  return {
    storage: `storage.usage.${runId}`,
    users: `user.allocation.${runId}`,
    admin: `customer.admin.${runId}`,
    locks: `customer.lock.${runId}`,
    deadLetters: `quota.dlq.${runId}`,
  };
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

export class DemoKafka {
  private readonly kafka: Kafka;
  private admin?: Admin;
  private producer?: Producer;
  private reader?: Consumer;
  readonly records: ReadRecord[] = [];

  constructor(brokers: string[], clientId: string) {
    this.kafka = new Kafka({ clientId, brokers, logLevel: logLevel.NOTHING, connectionTimeout: 3000 });
  }

  async endOffsets(topic: string): Promise<EndOffsets> {
    if (!this.admin) {
      const admin = this.kafka.admin();
      await admin.connect();
      this.admin = admin;
    }
    const offsets = await this.admin.fetchTopicOffsets(topic);
    return new Map(offsets.map((entry) => [entry.partition, BigInt(entry.high)]));
  }

  /** Sends one message, waits until every in-sync replica has it and returns where it landed. */
  async send(topic: string, key: string, value: string): Promise<SentRecord> {
    if (!this.producer) {
      this.producer = this.kafka.producer({
        createPartitioner: Partitioners.DefaultPartitioner,
        allowAutoTopicCreation: false,
      });
      await this.producer.connect();
    }
    const [metadata] = await this.producer.send({ topic, acks: -1, messages: [{ key, value }] });
    return { partition: metadata.partition, offset: BigInt(metadata.baseOffset ?? '-1') };
  }

  /**
   * Starts collecting the records of `from`'s topics, beginning at the recorded offsets. Earlier
   * records are skipped even if a fetch returns them before the seek takes effect.
   */
  async startReading(groupId: string, from: ReadonlyMap<string, EndOffsets>): Promise<void> {
    const reader = this.kafka.consumer({ groupId, maxWaitTimeInMs: 200 });
    this.reader = reader;
    await reader.connect();
    await reader.subscribe({ topics: [...from.keys()], fromBeginning: true });
    await reader.run({
      eachMessage: ({ topic, partition, message }) => {
        const offset = BigInt(message.offset);
        if (offset >= (from.get(topic)?.get(partition) ?? 0n)) {
          this.records.push({
            topic,
            partition,
            offset,
            key: message.key?.toString('utf8') ?? null,
            value: message.value,
            headers: headerText(message.headers),
          });
        }
        return Promise.resolve();
      },
    });
    for (const [topic, offsets] of from) {
      for (const [partition, offset] of offsets) {
        reader.seek({ topic, partition, offset: offset.toString() });
      }
    }
  }

  /** Polls the collected records until `done` holds, and returns false when `timeoutMs` passes first. */
  async waitForRecords(done: (records: ReadRecord[]) => boolean, timeoutMs: number): Promise<boolean> {
    const deadline = Date.now() + timeoutMs;
    while (!done(this.records)) {
      if (Date.now() > deadline) {
        return false;
      }
      await new Promise((resolve) => setTimeout(resolve, 100));
    }
    return true;
  }

  /** Disconnects every client. Errors are ignored, so a failed disconnect cannot hide the demo's result. */
  async close(): Promise<void> {
    await this.reader?.disconnect().catch(() => undefined);
    await this.producer?.disconnect().catch(() => undefined);
    await this.admin?.disconnect().catch(() => undefined);
  }
}
