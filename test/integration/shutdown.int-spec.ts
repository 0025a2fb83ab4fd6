import { randomUUID } from 'node:crypto';

import { PrivateBroker } from '../support/crash-broker';
import {
  customerCounters,
  customerRowLocked,
  duplicateIds,
  OutboxRow,
  outboxRows,
} from '../support/crash-probes';
import { storageEvent } from '../support/events';
import { createCustomer, eventually } from '../support/http';
import { decodeValue } from '../support/kafka';
import { ServiceFixture } from '../support/service-fixture';
import { ExitResult, LogLine, ServiceProcess } from '../support/service-process';

const MiB = 1_048_576n;
const SHUTDOWN_TIMEOUT_MS = 8000;

function appliedLine(eventId: string): (line: LogLine) => boolean {
  return (line) => line.msg === 'applied event' && line.eventId === eventId;
}

/** Sends SIGTERM and measures the time until the process is gone. */
async function terminate(service: ServiceProcess): Promise<{ exit: ExitResult; elapsedMs: number }> {
  const signalledAt = Date.now();
  service.signal('SIGTERM');
  const exit = await service.waitForExit(SHUTDOWN_TIMEOUT_MS + 10_000);
  return { exit, elapsedMs: Date.now() - signalledAt };
}

describe('graceful shutdown', () => {
  const fixture = new ServiceFixture('shutdown');

  beforeAll(() => fixture.setUp());

  afterAll(() => fixture.tearDown());

  it('exits cleanly on SIGTERM', async () => {
    const service = await fixture.start({ SHUTDOWN_TIMEOUT_MS: String(SHUTDOWN_TIMEOUT_MS) });

    const { exit, elapsedMs } = await terminate(service);

    expect(exit).toEqual({ code: 0, signal: null });
    expect(elapsedMs).toBeLessThan(SHUTDOWN_TIMEOUT_MS);
    expect(service.countLogs((line) => line.msg === 'stopped')).toBe(1);
  });

  describe('with the broker down', () => {
    let broker: PrivateBroker | undefined;
    let env: Record<string, string>;
    let customerId: string;
    const eventIds = [randomUUID(), randomUUID(), randomUUID()];
    let shutdown: { exit: ExitResult; elapsedMs: number } | undefined;
    let leftBehind: OutboxRow[] = [];

    // Sets up the tests below: usage commits while the broker is down, then the service gets SIGTERM.
    beforeAll(async () => {
      broker = await PrivateBroker.create();
      await broker.start();
      env = { KAFKA_BROKERS: broker.brokers, SHUTDOWN_TIMEOUT_MS: String(SHUTDOWN_TIMEOUT_MS) };
      // The pause keeps the usage transaction open while the broker goes down, so the lock events
      // are written when no broker can accept them.
      const service = await fixture.start({ ...env, TEST_TRANSACTION_DELAY_MS: '5000' });
      customerId = await createCustomer(service.baseUrl, { quotaMax: String(MiB), userMax: '-1' });

      // Lock, unlock, lock again: three lock events from one transaction.
      await broker.send(fixture.kafka.topics.storage, [
        storageEvent(customerId, String(2n * MiB), { id: eventIds[0] }),
        storageEvent(customerId, String(-2n * MiB), { id: eventIds[1] }),
        storageEvent(customerId, String(2n * MiB), { id: eventIds[2] }),
      ]);
      await eventually(
        async () => ((await customerRowLocked(fixture.database, customerId)) ? true : undefined),
        30_000,
        'usage transaction locking the customer row',
      );
      await broker.stop();
      await eventually(
        async () =>
          (await customerCounters(fixture.database, customerId)).lockVersion === '3' ? true : undefined,
        30_000,
        'usage transaction committed',
      );
      shutdown = await terminate(service);
      leftBehind = await outboxRows(fixture.database, customerId);
    });

    afterAll(async () => {
      await broker?.remove();
    });

    it('exits within shutdown timeout', () => {
      expect(shutdown?.elapsedMs).toBeLessThan(SHUTDOWN_TIMEOUT_MS);
    });

    it('exits with code zero', () => {
      expect(shutdown?.exit).toEqual({ code: 0, signal: null });
    });

    it('keeps unsent lock events queued', () => {
      expect(leftBehind.map((row) => row.published)).toEqual([false, false, false]);
    });

    it('restart counts once, publishes all', async () => {
      const ownBroker = broker!;
      await ownBroker.start();
      const service = await fixture.start(env);
      const markerId = randomUUID();
      // Same key, so the marker is read after any redelivery of the three events.
      await ownBroker.send(fixture.kafka.topics.storage, [storageEvent(customerId, '1', { id: markerId })]);
      await service.waitForLog(appliedLine(markerId));
      const rows = await eventually(
        async () => {
          const all = await outboxRows(fixture.database, customerId);
          return all.every((row) => row.published) ? all : undefined;
        },
        30_000,
        'every outbox row published',
      );
      const expectedIds = rows.map((row) => row.eventId);
      const read = await ownBroker.readUntil(fixture.kafka.topics.locks, (messages) => {
        const seen = new Set(messages.map((message) => decodeValue(message.value).id));
        return expectedIds.every((id) => seen.has(id));
      });
      const publishedIds = new Set(read.map((message) => decodeValue(message.value).id));

      expect(await customerCounters(fixture.database, customerId)).toEqual({
        quotaUsed: '2097153',
        userUsed: '0',
        lockVersion: '3',
        lockReasons: 'QUOTA_EXCEEDED',
      });
      // The offsets could not be committed with the broker gone, so all three come back as duplicates.
      expect(duplicateIds(service, eventIds)).toEqual(eventIds);
      expect(expectedIds).toEqual(leftBehind.map((row) => row.eventId));
      expect(expectedIds.filter((id) => !publishedIds.has(id))).toEqual([]);
    });
  });
});
