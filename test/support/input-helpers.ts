import { Kafka, Message, Partitioners, Producer } from 'kafkajs';

import { eventually, HttpResult, request } from './http';
import { ReadMessage, TestKafka } from './kafka';
import { ServiceProcess } from './service-process';

/**
 * A producer that sends a list of messages to one partition in one produce request. The messages
 * land in one record batch with consecutive offsets, so the service reads them in one batch.
 */
export class PartitionProducer {
  private producer?: Producer;

  constructor(private readonly kafka: Kafka) {}

  /** Sends the messages to `partition` and returns the offset of each, as decimal text. */
  async send(topic: string, partition: number, messages: Message[]): Promise<string[]> {
    const producer = await this.connect();
    const metadata = await producer.send({
      topic,
      acks: -1,
      messages: messages.map((message) => ({ ...message, partition })),
    });
    const written = metadata.find((entry) => entry.partition === partition);
    if (written?.baseOffset === undefined) {
      throw new Error(`the broker returned no base offset for ${topic}/${partition}`);
    }
    const baseOffset = BigInt(written.baseOffset);
    return messages.map((_, index) => (baseOffset + BigInt(index)).toString());
  }

  async disconnect(): Promise<void> {
    await this.producer?.disconnect();
    this.producer = undefined;
  }

  private async connect(): Promise<Producer> {
    if (!this.producer) {
      const producer = this.kafka.producer({
        createPartitioner: Partitioners.DefaultPartitioner,
        allowAutoTopicCreation: false,
      });
      await producer.connect();
      this.producer = producer;
    }
    return this.producer;
  }
}

export function customerPath(customerId: string): string {
  return `/api/v4/provisioning/customers/${customerId}`;
}

export function getCustomer(service: ServiceProcess, customerId: string): Promise<HttpResult> {
  return request(service.baseUrl, 'GET', customerPath(customerId));
}

/** Polls `GET /customers/{id}` until `done` returns true for the response, then returns that response. */
export function waitForCustomer(
  service: ServiceProcess,
  customerId: string,
  done: (customer: HttpResult) => boolean,
  description: string,
  timeoutMs = 30_000,
): Promise<HttpResult> {
  return eventually(
    async () => {
      const customer = await getCustomer(service, customerId);
      return customer.status === 200 && done(customer) ? customer : undefined;
    },
    timeoutMs,
    description,
  );
}

/** Waits for the debug line the service writes after it committed the event with this CloudEvents id. */
export function waitForAppliedEvent(service: ServiceProcess, eventId: string, timeoutMs = 30_000) {
  return service.waitForLog((line) => line.msg === 'applied event' && line.eventId === eventId, timeoutMs);
}

/** Reads the DLQ topic until each of `cases` has a dead letter whose test header `x-case` names it. */
export async function readDeadLetters(
  kafka: TestKafka,
  cases: readonly string[],
  timeoutMs = 30_000,
): Promise<Map<string, ReadMessage>> {
  const expected = new Set(cases);
  const matching = (messages: ReadMessage[]): ReadMessage[] =>
    messages.filter((message) => expected.has(message.headers['x-case']));
  const messages = await kafka.readUntil(
    kafka.topics.deadLetters,
    (read) => new Set(matching(read).map((message) => message.headers['x-case'])).size >= expected.size,
    timeoutMs,
  );
  return new Map(matching(messages).map((message) => [message.headers['x-case'], message]));
}

/** Sends a GET without a service token and returns the raw body, for endpoints that do not respond with JSON. */
export async function getText(
  baseUrl: string,
  path: string,
): Promise<{ status: number; text: string; contentType: string | null }> {
  const response = await fetch(`${baseUrl}${path}`);
  return {
    status: response.status,
    text: await response.text(),
    contentType: response.headers.get('content-type'),
  };
}

/** Returns the value of one sample line of the Prometheus text, such as `name{label="x"}`, or undefined. */
export function metricSample(metricsText: string, sample: string): number | undefined {
  for (const line of metricsText.split('\n')) {
    if (line.startsWith(`${sample} `)) {
      return Number(line.slice(sample.length + 1));
    }
  }
  return undefined;
}

/** Runs `action` and returns the number of customer rows it added, read from the test database. */
export async function customerRowsAddedBy(
  query: (sql: string) => Promise<Record<string, unknown>[]>,
  action: () => Promise<unknown>,
): Promise<number> {
  const count = async (): Promise<number> =>
    Number((await query('SELECT count(*) AS count FROM customer'))[0].count);
  const before = await count();
  await action();
  return (await count()) - before;
}
