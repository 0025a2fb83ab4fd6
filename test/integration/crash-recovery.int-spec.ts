import { randomUUID } from 'node:crypto';

import {
  appliedPositions,
  committedOffsets,
  customerCounters,
  dedupeKeyCount,
  duplicateIds,
  metricSample,
  outboxRows,
  positionsOf,
} from '../support/crash-probes';
import { storageEvent } from '../support/events';
import { createCustomer, eventually, request } from '../support/http';
import { decodeValue, ReadMessage } from '../support/kafka';
import { ServiceFixture } from '../support/service-fixture';
import { LogLine, ServiceProcess } from '../support/service-process';

const MiB = 1_048_576n;
const SOURCE = '/crash-test';

function appliedLine(eventId: string): (line: LogLine) => boolean {
  return (line) => line.msg === 'applied event' && line.eventId === eventId;
}

function duplicateLine(eventId: string): (line: LogLine) => boolean {
  return (line) => line.msg === 'skipped duplicate event' && line.eventId === eventId;
}

function faultLine(point: string): (line: LogLine) => boolean {
  return (line) => line.msg === 'test fault point reached; killing process' && line.point === point;
}

/** Returns the raw `"quotaUsed":<digits>` text of the customer API, so digits are compared as written. */
async function quotaUsedText(service: ServiceProcess, customerId: string): Promise<string | undefined> {
  const result = await request(service.baseUrl, 'GET', `/api/v4/provisioning/customers/${customerId}`);
  return /"quotaUsed":(-?\d+)/.exec(result.text)?.[1];
}

function ids(count: number): string[] {
  return Array.from({ length: count }, () => randomUUID());
}

describe('crash recovery', () => {
  let fixture: ServiceFixture;

  beforeEach(async () => {
    fixture = new ServiceFixture('crash');
    await fixture.setUp();
  });

  afterEach(() => fixture.tearDown());

  it('counts duplicate after restart once', async () => {
    const first = await fixture.start();
    const customerId = await createCustomer(first.baseUrl, { quotaMax: '-1', userMax: '-1' });
    const [eventId, markerId] = ids(2);
    // Above 2^53, so a conversion to a double anywhere on the way would change the last digits.
    const event = storageEvent(customerId, '9007199254740993', { id: eventId, source: SOURCE });

    await fixture.kafka.send(fixture.kafka.topics.storage, [event]);
    await first.waitForLog(appliedLine(eventId));
    await first.stop();
    const second = await fixture.start();
    // Same key, so the marker lands behind the repeated event on one partition.
    await fixture.kafka.send(fixture.kafka.topics.storage, [
      event,
      storageEvent(customerId, '7', { id: markerId, source: SOURCE }),
    ]);
    await second.waitForLog(appliedLine(markerId));

    expect(await quotaUsedText(second, customerId)).toBe('9007199254741000');
    expect(second.countLogs(duplicateLine(eventId))).toBe(1);
    expect(second.logs.find(duplicateLine(eventId))?.payloadDiffers).toBe(false);
    expect(second.countLogs(appliedLine(eventId))).toBe(0);
  });

  it('kill before commit leaves nothing', async () => {
    const first = await fixture.start({ TEST_FAULT_POINTS: 'before-db-commit:1' });
    const customerId = await createCustomer(first.baseUrl, { quotaMax: String(2n * MiB), userMax: '-1' });
    const eventIds = ids(3);
    const deltas = [String(3n * MiB), '9007199254740993', '-1'];

    // One send call puts the three events into one record batch, so one transaction applies them.
    await fixture.kafka.send(
      fixture.kafka.topics.storage,
      eventIds.map((id, index) => storageEvent(customerId, deltas[index], { id, source: SOURCE })),
    );
    const exit = await first.waitForExit(30_000);
    const stored = positionsOf(await fixture.kafka.readAll(fixture.kafka.topics.storage), eventIds);
    const committed = await committedOffsets(
      fixture.kafka.kafka,
      fixture.kafka.groupId,
      fixture.kafka.topics.storage,
    );

    expect(exit.signal).toBe('SIGKILL');
    expect(first.countLogs(faultLine('before-db-commit'))).toBe(1);
    expect(appliedPositions(first, eventIds)).toEqual([]);
    expect(await customerCounters(fixture.database, customerId)).toEqual({
      quotaUsed: '0',
      userUsed: '0',
      lockVersion: '0',
      lockReasons: '',
    });
    expect(await dedupeKeyCount(fixture.database, customerId)).toBe(0);
    expect(await outboxRows(fixture.database, customerId)).toEqual([]);
    expect(committed.get(stored[0].partition)).toBe('-1');

    const second = await fixture.start();
    await second.waitForLog(appliedLine(eventIds[2]));

    expect(appliedPositions(second, eventIds)).toEqual(stored);
    expect(await customerCounters(fixture.database, customerId)).toEqual({
      quotaUsed: '9007199257886720',
      userUsed: '0',
      lockVersion: '1',
      lockReasons: 'QUOTA_EXCEEDED',
    });
    expect(await dedupeKeyCount(fixture.database, customerId)).toBe(3);
    expect((await outboxRows(fixture.database, customerId)).length).toBe(1);
  });

  it('kill after commit redelivers as duplicates', async () => {
    const first = await fixture.start({ TEST_FAULT_POINTS: 'after-db-commit:1' });
    const customerId = await createCustomer(first.baseUrl, { quotaMax: String(2n * MiB), userMax: '-1' });
    const eventIds = ids(3);
    const deltas = [String(3n * MiB), '9007199254740993', '-1'];
    const expected = {
      quotaUsed: '9007199257886720',
      userUsed: '0',
      lockVersion: '1',
      lockReasons: 'QUOTA_EXCEEDED',
    };

    await fixture.kafka.send(
      fixture.kafka.topics.storage,
      eventIds.map((id, index) => storageEvent(customerId, deltas[index], { id, source: SOURCE })),
    );
    const exit = await first.waitForExit(30_000);

    expect(exit.signal).toBe('SIGKILL');
    expect(first.countLogs(faultLine('after-db-commit'))).toBe(1);
    expect(await customerCounters(fixture.database, customerId)).toEqual(expected);
    expect(await dedupeKeyCount(fixture.database, customerId)).toBe(3);

    const second = await fixture.start();
    // Either outcome ends the wait, so a missing dedupe hit fails on the assertions below.
    await second.waitForLog((line) => appliedLine(eventIds[2])(line) || duplicateLine(eventIds[2])(line));
    const duplicates = await metricSample(second.baseUrl, 'quota_events_total', {
      topic: fixture.kafka.topics.storage,
      outcome: 'duplicate',
    });

    expect(duplicateIds(second, eventIds)).toEqual(eventIds);
    expect(appliedPositions(second, eventIds)).toEqual([]);
    expect(duplicates).toBe(3);
    expect(await customerCounters(fixture.database, customerId)).toEqual(expected);
    expect((await outboxRows(fixture.database, customerId)).length).toBe(1);
  });

  it('relay kill republishes identical event', async () => {
    const first = await fixture.start({ TEST_FAULT_POINTS: 'after-relay-send:1' });
    const customerId = await createCustomer(first.baseUrl, { quotaMax: String(MiB), userMax: '-1' });
    const locks = fixture.kafka.topics.locks;
    const ofCustomer = (messages: ReadMessage[]): ReadMessage[] =>
      messages.filter((message) => message.key === customerId);

    await fixture.kafka.send(fixture.kafka.topics.storage, [
      storageEvent(customerId, String(2n * MiB), { source: SOURCE }),
    ]);
    const exit = await first.waitForExit(30_000);
    const afterKill = await outboxRows(fixture.database, customerId);
    const sentOnce = ofCustomer(await fixture.kafka.readUntil(locks, (read) => ofCustomer(read).length >= 1));

    expect(exit.signal).toBe('SIGKILL');
    expect(first.countLogs(faultLine('after-relay-send'))).toBe(1);
    expect(afterKill.map((row) => row.published)).toEqual([false]);
    expect(sentOnce.length).toBe(1);

    // The relay does not use the consumer group, so a fresh group id avoids waiting up to 30 s for
    // the killed member's session to expire.
    await fixture.start({ KAFKA_GROUP_ID: `${fixture.kafka.groupId}.restarted` });
    const published = await eventually(
      async () => {
        const rows = await outboxRows(fixture.database, customerId);
        return rows.length === 1 && rows[0].published ? rows : undefined;
      },
      30_000,
      'outbox row marked published',
    );
    const copies = ofCustomer(await fixture.kafka.readUntil(locks, (read) => ofCustomer(read).length >= 2));

    expect(copies.length).toBe(2);
    expect(copies.map((copy) => decodeValue(copy.value).id)).toEqual([
      published[0].eventId,
      published[0].eventId,
    ]);
    expect(copies[1].value?.equals(copies[0].value ?? Buffer.alloc(0))).toBe(true);
    expect(copies[0].value?.toString('utf8')).toBe(afterKill[0].payload);
  });
});
