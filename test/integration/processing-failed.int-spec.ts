import { randomUUID } from 'node:crypto';
import { Message } from 'kafkajs';

import { committedOffsets, customerCounters, dedupeKeyCount, metricSample } from '../support/crash-probes';
import { storageEvent } from '../support/events';
import { createCustomer, eventually } from '../support/http';
import { PartitionProducer, waitForAppliedEvent } from '../support/input-helpers';
import { ReadMessage } from '../support/kafka';
import { ServiceFixture } from '../support/service-fixture';
import { LogLine, ServiceProcess } from '../support/service-process';

const FAILING_PREFIX = 'poison-';
const PARTITION = 0;

function failedRepeatedly(eventId: string): (line: LogLine) => boolean {
  return (line) => line.msg === 'event failed repeatedly; dead-lettering it' && line.eventId === eventId;
}

describe('PROCESSING_FAILED', () => {
  const fixture = new ServiceFixture('procfail');
  const producer = new PartitionProducer(fixture.kafka.kafka);
  let service: ServiceProcess;
  let customerId: string;
  const goodIds = [randomUUID(), randomUUID(), randomUUID(), randomUUID()];
  const failingId = `${FAILING_PREFIX}${randomUUID()}`;
  let failingMessage: Message;
  let failingOffset: string;
  let deadLetter: ReadMessage;

  // One record batch on one partition: two good events, the failing one, two good events.
  beforeAll(async () => {
    await fixture.setUp();
    service = await fixture.start({ TEST_FAILING_EVENT_ID_PREFIX: FAILING_PREFIX });
    customerId = await createCustomer(service.baseUrl, { quotaMax: '-1', userMax: '10' });
    failingMessage = {
      ...storageEvent(customerId, '5000', { id: failingId }),
      headers: { traceparent: 'trace-failing' },
    };
    const offsets = await producer.send(fixture.kafka.topics.storage, PARTITION, [
      storageEvent(customerId, '100', { id: goodIds[0] }),
      storageEvent(customerId, '200', { id: goodIds[1] }),
      failingMessage,
      storageEvent(customerId, '400', { id: goodIds[2] }),
      storageEvent(customerId, '800', { id: goodIds[3] }),
    ]);
    failingOffset = offsets[2];
    await service.waitForLog(failedRepeatedly(failingId));
    await waitForAppliedEvent(service, goodIds[3]);
    const letters = await fixture.kafka.readUntil(fixture.kafka.topics.deadLetters, (read) =>
      read.some((letter) => letter.headers['x-original-offset'] === failingOffset),
    );
    deadLetter = letters.find((letter) => letter.headers['x-original-offset'] === failingOffset)!;
  });

  afterAll(async () => {
    await producer.disconnect();
    await fixture.tearDown();
  });

  it('reruns the batch one event at a time', () => {
    expect(service.countLogs((line) => line.msg === 'batch failed; retrying one event at a time')).toBe(1);
  });

  it('applies good events once', async () => {
    const counters = await customerCounters(fixture.database, customerId);

    expect(counters.quotaUsed).toBe('1500');
    expect(await dedupeKeyCount(fixture.database, customerId)).toBe(4);
    for (const eventId of goodIds) {
      expect(service.countLogs((line) => line.msg === 'applied event' && line.eventId === eventId)).toBe(1);
    }
  });

  it('tries the failing event alone 3 times', async () => {
    const [line] = service.logs.filter(failedRepeatedly(failingId));
    const retries = service.logs.filter(
      (entry) => entry.msg === 'retrying batch after error' && String(entry.error).includes(failingId),
    );

    expect(line.attempts).toBe(3);
    expect(line.offset).toBe(failingOffset);
    // A pause follows each failed attempt but the last.
    expect(retries.map((entry) => entry.attempt)).toEqual([1, 2]);
    expect(await metricSample(service.baseUrl, 'quota_batch_retries_total', { class: 'other' })).toBe(2);
  });

  it('dead-letters it as PROCESSING_FAILED', async () => {
    expect(deadLetter.headers['x-dlq-reason']).toBe('PROCESSING_FAILED');
    expect(deadLetter.headers['x-dlq-error']).toBe(
      `processing failed 3 times: test failure for event ${failingId}, ` +
        'whose id starts with TEST_FAILING_EVENT_ID_PREFIX',
    );
    expect(deadLetter.headers['x-original-topic']).toBe(fixture.kafka.topics.storage);
    expect(deadLetter.headers['x-original-partition']).toBe(String(PARTITION));
    expect(
      await metricSample(service.baseUrl, 'quota_dead_letters_total', { reason: 'PROCESSING_FAILED' }),
    ).toBe(1);
  });

  it('dead letter keeps the message', () => {
    expect(deadLetter.key).toBe(customerId);
    expect(deadLetter.value?.toString('utf8')).toBe(String(failingMessage.value));
    expect(deadLetter.headers.traceparent).toBe('trace-failing');
  });

  it('writes no dedupe key for it', async () => {
    const rows = await fixture.database.query('SELECT 1 FROM processed_event WHERE event_id = $1', [
      failingId,
    ]);

    expect(rows).toHaveLength(0);
  });

  it('moves the partition on', async () => {
    const nextId = randomUUID();
    const [nextOffset] = await producer.send(fixture.kafka.topics.storage, PARTITION, [
      storageEvent(customerId, '1600', { id: nextId }),
    ]);
    await waitForAppliedEvent(service, nextId);
    const committed = await eventually(
      async () => {
        const offsets = await committedOffsets(
          fixture.kafka.kafka,
          fixture.kafka.groupId,
          fixture.kafka.topics.storage,
        );
        const offset = offsets.get(PARTITION);
        return offset === (BigInt(nextOffset) + 1n).toString() ? offset : undefined;
      },
      15_000,
      'committed offset past the next event',
    );

    expect(committed).toBe((BigInt(nextOffset) + 1n).toString());
    expect((await customerCounters(fixture.database, customerId)).quotaUsed).toBe('3100');
    expect(service.countLogs(failedRepeatedly(failingId))).toBe(1);
  });
});
