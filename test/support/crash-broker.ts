import { execFile } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { Kafka, logLevel, Message, Partitioners, Producer } from 'kafkajs';

import { REPO_ROOT } from './environment';
import { ReadMessage } from './kafka';

const run = promisify(execFile);
const BROKER_SCRIPT = join(REPO_ROOT, 'scripts', 'kafka-broker.sh');
/** Longer than the script's own 90 s readiness wait, so a slow start fails with the script's message. */
const SCRIPT_TIMEOUT_MS = 120_000;

async function freePort(): Promise<number> {
  const { stdout } = await run(process.execPath, [join(REPO_ROOT, 'scripts', 'free-port.cjs')], {
    timeout: 10_000,
  });
  return Number(stdout.trim());
}

/**
 * A single-node broker that one test starts, stops and restarts by itself, on free loopback ports
 * and a temporary state folder, so stopping it does not disturb other test runs.
 */
export class PrivateBroker {
  private producer?: Producer;
  readonly kafka: Kafka;

  private constructor(
    readonly stateDir: string,
    readonly port: number,
    private readonly controllerPort: number,
  ) {
    this.kafka = new Kafka({
      clientId: 'crash-private-broker',
      brokers: [this.brokers],
      logLevel: logLevel.NOTHING,
      connectionTimeout: 2000,
      retry: { retries: 5, initialRetryTime: 200 },
    });
  }

  static async create(): Promise<PrivateBroker> {
    const stateDir = await mkdtemp(join(tmpdir(), 'crash-broker-'));
    const port = await freePort();
    let controllerPort = await freePort();
    while (controllerPort === port) {
      controllerPort = await freePort();
    }
    return new PrivateBroker(stateDir, port, controllerPort);
  }

  get brokers(): string {
    return `127.0.0.1:${this.port}`;
  }

  /** Starts the broker, after a stop on the same state folder and ports, and waits until it is ready. */
  async start(): Promise<void> {
    await this.script('start');
  }

  /** Stops the broker. The test producer disconnects first, so it does not retry against a stopped broker. */
  async stop(): Promise<void> {
    await this.dropProducer();
    await this.script('stop');
  }

  /** Stops the broker and deletes its state folder. This also works when the broker never started. */
  async remove(): Promise<void> {
    try {
      await this.stop();
    } finally {
      await rm(this.stateDir, { recursive: true, force: true });
    }
  }

  async send(topic: string, messages: Message[]): Promise<void> {
    if (!this.producer) {
      const producer = this.kafka.producer({
        createPartitioner: Partitioners.DefaultPartitioner,
        allowAutoTopicCreation: false,
      });
      await producer.connect();
      this.producer = producer;
    }
    await this.producer.send({ topic, acks: -1, messages });
  }

  /** Reads `topic` from the start until `done` returns true, or fails after `timeoutMs`. */
  async readUntil(
    topic: string,
    done: (messages: ReadMessage[]) => boolean,
    timeoutMs = 30_000,
  ): Promise<ReadMessage[]> {
    return readTopicUntil(this.kafka, topic, done, timeoutMs);
  }

  private async dropProducer(): Promise<void> {
    const producer = this.producer;
    this.producer = undefined;
    await producer?.disconnect().catch(() => undefined);
  }

  private async script(command: 'start' | 'stop'): Promise<void> {
    try {
      await run(BROKER_SCRIPT, [command], {
        timeout: SCRIPT_TIMEOUT_MS,
        env: {
          ...process.env,
          KAFKA_LOCAL_DIR: this.stateDir,
          KAFKA_PORT: String(this.port),
          KAFKA_CONTROLLER_PORT: String(this.controllerPort),
        },
      });
    } catch (error) {
      const stderr = (error as { stderr?: string }).stderr ?? '';
      throw new Error(`scripts/kafka-broker.sh ${command} failed for ${this.stateDir}:\n${stderr}`, {
        cause: error,
      });
    }
  }
}

/**
 * Reads `topic` from the beginning with a throwaway group until `done` returns true, then
 * disconnects. Fails with the number of messages read when `timeoutMs` passes first.
 */
export async function readTopicUntil(
  kafka: Kafka,
  topic: string,
  done: (messages: ReadMessage[]) => boolean,
  timeoutMs = 30_000,
): Promise<ReadMessage[]> {
  const seen: ReadMessage[] = [];
  const consumer = kafka.consumer({ groupId: `crash-reader-${randomUUID()}`, maxWaitTimeInMs: 200 });
  let timer: NodeJS.Timeout | undefined;
  try {
    await consumer.connect();
    await consumer.subscribe({ topic, fromBeginning: true });
    const finished = new Promise<void>((resolve, reject) => {
      const timedOut = (): void => {
        const count = seen.length;
        reject(new Error(`reading ${topic} timed out after ${timeoutMs} ms with ${count} message(s) read`));
      };
      timer = setTimeout(timedOut, timeoutMs);
      void consumer.run({
        eachMessage: ({ partition, message }) => {
          const headers: Record<string, string> = {};
          for (const [name, value] of Object.entries(message.headers ?? {})) {
            const first = Array.isArray(value) ? value[0] : value;
            if (first !== undefined) {
              headers[name] = first.toString();
            }
          }
          seen.push({
            topic,
            partition,
            offset: message.offset,
            key: message.key?.toString('utf8') ?? null,
            value: message.value,
            headers,
          });
          if (done(seen)) {
            resolve();
          }
          return Promise.resolve();
        },
      });
    });
    await finished;
    return [...seen];
  } finally {
    clearTimeout(timer);
    await consumer.disconnect();
  }
}
