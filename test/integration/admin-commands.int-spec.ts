import { randomUUID } from 'node:crypto';

import { adminCommand, storageEvent } from '../support/events';
import { createCustomer, eventually, request } from '../support/http';
import { decodeValue, ReadMessage } from '../support/kafka';
import { ServiceFixture } from '../support/service-fixture';
import { ServiceProcess } from '../support/service-process';

const MiB = 1_048_576n;

interface HistoryRow extends Record<string, unknown> {
  change: string;
  reason: string;
  reasons_before: string[];
  reasons_after: string[];
  lock_version: string;
  event_type: string | null;
  actor: string;
  causation_id: string;
  comment: string | null;
}

describe('admin commands on the admin topic', () => {
  const fixture = new ServiceFixture('admin');
  let service: ServiceProcess;

  function lockEventsOf(messages: ReadMessage[], customerId: string): Record<string, unknown>[] {
    return messages
      .filter((message) => message.key === customerId)
      .map((message) => decodeValue(message.value));
  }

  async function waitApplied(eventId: string): Promise<void> {
    await service.waitForLog((line) => line.msg === 'applied event' && line.eventId === eventId);
  }

  async function history(customerId: string): Promise<HistoryRow[]> {
    return fixture.database.query<HistoryRow>(
      `SELECT change, reason, reasons_before, reasons_after, lock_version::text, event_type, actor, causation_id, comment
       FROM lock_history WHERE customer_id = $1 ORDER BY id`,
      [customerId],
    );
  }

  beforeAll(async () => {
    await fixture.setUp();
    service = await fixture.start({ KAFKA_ADMIN_SOURCES: '/ops-console,/billing' });
  });

  afterAll(() => fixture.tearDown());

  it('locks and unlocks with reason ADMIN', async () => {
    const customerId = await createCustomer(service.baseUrl, { quotaMax: String(10n * MiB), userMax: '5' });
    const lockId = randomUUID();
    const unlockId = randomUUID();

    await fixture.kafka.send(fixture.kafka.topics.admin, [
      adminCommand('LockCustomer', customerId, '"comment":"unpaid invoice"', { id: lockId }),
    ]);
    await waitApplied(lockId);
    await fixture.kafka.send(fixture.kafka.topics.admin, [
      adminCommand('UnlockCustomer', customerId, '', { id: unlockId }),
    ]);
    await waitApplied(unlockId);
    const messages = await fixture.kafka.readUntil(
      fixture.kafka.topics.locks,
      (read) => lockEventsOf(read, customerId).length >= 2,
    );

    const events = lockEventsOf(messages, customerId);
    expect(events.map((event) => event.type)).toEqual(['CustomerLocked', 'CustomerUnlocked']);
    expect(events[0].data).toMatchObject({
      reason: 'ADMIN',
      lockReasons: ['ADMIN'],
      actor: 'command:/ops-console',
    });
    expect((events[0].data as { causationId: string }).causationId).toBe(`/ops-console#${lockId}`);
    expect(events[0].data).not.toHaveProperty('comment');
    expect(events[1].data).toMatchObject({ reason: 'ADMIN', lockReasons: [], isLocked: false });
    const rows = await history(customerId);
    expect(rows.map((row) => [row.change, row.reason, row.event_type])).toEqual([
      ['added', 'ADMIN', 'CustomerLocked'],
      ['removed', 'ADMIN', 'CustomerUnlocked'],
    ]);
    expect(rows[0].comment).toBe('unpaid invoice');
  });

  it('keeps quota lock after admin unlock', async () => {
    const customerId = await createCustomer(service.baseUrl, { quotaMax: String(MiB), userMax: '5' });
    const usageId = randomUUID();
    const lockId = randomUUID();
    const unlockId = randomUUID();

    await fixture.kafka.send(fixture.kafka.topics.storage, [
      storageEvent(customerId, String(2n * MiB), { id: usageId }),
    ]);
    await waitApplied(usageId);
    await fixture.kafka.send(fixture.kafka.topics.admin, [
      adminCommand('LockCustomer', customerId, '', { id: lockId }),
    ]);
    await waitApplied(lockId);
    await fixture.kafka.send(fixture.kafka.topics.admin, [
      adminCommand('UnlockCustomer', customerId, '', { id: unlockId }),
    ]);
    await waitApplied(unlockId);

    const customer = await request(service.baseUrl, 'GET', `/api/v4/provisioning/customers/${customerId}`);
    expect(customer.body.isLocked).toBe(true);
    expect(customer.body.lockReasons).toEqual(['QUOTA_EXCEEDED']);
    const rows = await history(customerId);
    expect(rows.map((row) => [row.change, row.reason, row.event_type])).toEqual([
      ['added', 'QUOTA_EXCEEDED', 'CustomerLocked'],
      ['added', 'ADMIN', 'CustomerLocked'],
      ['removed', 'ADMIN', null],
    ]);
    expect(rows[2].reasons_after).toEqual(['QUOTA_EXCEEDED']);
    const messages = await fixture.kafka.readUntil(
      fixture.kafka.topics.locks,
      (read) => lockEventsOf(read, customerId).length >= 2,
    );
    expect(lockEventsOf(messages, customerId).map((event) => event.type)).toEqual([
      'CustomerLocked',
      'CustomerLocked',
    ]);
  });

  it('raising the quota limit unlocks', async () => {
    const customerId = await createCustomer(service.baseUrl, { quotaMax: String(MiB), userMax: '5' });
    const usageId = randomUUID();
    const limitsId = randomUUID();

    await fixture.kafka.send(fixture.kafka.topics.storage, [
      storageEvent(customerId, String(2n * MiB), { id: usageId }),
    ]);
    await waitApplied(usageId);
    await fixture.kafka.send(fixture.kafka.topics.admin, [
      adminCommand('SetCustomerLimits', customerId, `"quotaMax":${4n * MiB}`, {
        id: limitsId,
        source: '/billing',
      }),
    ]);
    await waitApplied(limitsId);

    const customer = await request(service.baseUrl, 'GET', `/api/v4/provisioning/customers/${customerId}`);
    expect(customer.text).toContain(`"quotaMax":${4n * MiB}`);
    expect(customer.body.isLocked).toBe(false);
    const messages = await fixture.kafka.readUntil(
      fixture.kafka.topics.locks,
      (read) => lockEventsOf(read, customerId).length >= 2,
    );
    const events = lockEventsOf(messages, customerId);
    expect(events[1]).toMatchObject({ type: 'CustomerUnlocked' });
    expect(events[1].data).toMatchObject({ actor: 'command:/billing', quotaMax: 4n * MiB, lockVersion: 2n });
  });

  it('counts a repeated command once', async () => {
    const customerId = await createCustomer(service.baseUrl, { quotaMax: String(MiB), userMax: '5' });
    const lockId = randomUUID();

    await fixture.kafka.send(fixture.kafka.topics.admin, [
      adminCommand('LockCustomer', customerId, '', { id: lockId }),
    ]);
    await waitApplied(lockId);
    await fixture.kafka.send(fixture.kafka.topics.admin, [
      adminCommand('LockCustomer', customerId, '', { id: lockId }),
    ]);
    await service.waitForLog((line) => line.msg === 'skipped duplicate event' && line.eventId === lockId);

    const rows = await history(customerId);
    expect(rows).toHaveLength(1);
  });

  it('dead-letters a command from a refused source', async () => {
    const customerId = await createCustomer(service.baseUrl, { quotaMax: String(MiB), userMax: '5' });
    const commandId = randomUUID();

    await fixture.kafka.send(fixture.kafka.topics.admin, [
      adminCommand('LockCustomer', customerId, '', { id: commandId, source: '/somebody-else' }),
    ]);
    const letters = await fixture.kafka.readUntil(fixture.kafka.topics.deadLetters, (read) =>
      read.some((message) => message.value?.toString().includes(commandId)),
    );

    const letter = letters.find((message) => message.value?.toString().includes(commandId));
    expect(letter?.headers['x-dlq-reason']).toBe('SOURCE_NOT_ALLOWED');
    expect(letter?.headers['x-original-topic']).toBe(fixture.kafka.topics.admin);
    const customer = await eventually(async () => {
      const result = await request(service.baseUrl, 'GET', `/api/v4/provisioning/customers/${customerId}`);
      return result.status === 200 ? result : undefined;
    });
    expect(customer.body.isLocked).toBe(false);
  });

  it('rejects usage types on the admin topic', async () => {
    const customerId = await createCustomer(service.baseUrl, { quotaMax: String(MiB), userMax: '5' });
    const eventId = randomUUID();

    await fixture.kafka.send(fixture.kafka.topics.admin, [
      storageEvent(customerId, String(5n * MiB), { id: eventId, source: '/ops-console' }),
    ]);
    const letters = await fixture.kafka.readUntil(fixture.kafka.topics.deadLetters, (read) =>
      read.some((message) => message.value?.toString().includes(eventId)),
    );

    const letter = letters.find((message) => message.value?.toString().includes(eventId));
    expect(letter?.headers['x-dlq-reason']).toBe('UNKNOWN_TYPE');
  });
});
