import { request, createCustomer, eventually } from '../support/http';
import { decodeValue, ReadMessage } from '../support/kafka';
import { storageEvent } from '../support/events';
import { ServiceFixture } from '../support/service-fixture';
import { ServiceProcess } from '../support/service-process';

const MiB = 1_048_576n;

function lockEvents(messages: ReadMessage[], customerId: string): Record<string, unknown>[] {
  return messages
    .filter((message) => message.key === customerId)
    .map((message) => decodeValue(message.value))
    .sort((a, b) =>
      Number(
        (a.data as { lockVersion: bigint }).lockVersion - (b.data as { lockVersion: bigint }).lockVersion,
      ),
    );
}

describe('usage events to lock events', () => {
  const fixture = new ServiceFixture('flow');
  let service: ServiceProcess;

  beforeAll(async () => {
    await fixture.setUp();
    service = await fixture.start();
  });

  afterAll(() => fixture.tearDown());

  it('applies deltas and publishes lock and unlock', async () => {
    const customerId = await createCustomer(service.baseUrl, { quotaMax: String(2n * MiB), userMax: '10' });

    await fixture.kafka.send(fixture.kafka.topics.storage, [storageEvent(customerId, String(3n * MiB))]);
    const locked = await fixture.kafka.readUntil(
      fixture.kafka.topics.locks,
      (messages) => messages.length >= 1,
    );
    await fixture.kafka.send(fixture.kafka.topics.storage, [storageEvent(customerId, String(-2n * MiB))]);
    const all = await fixture.kafka.readUntil(fixture.kafka.topics.locks, (messages) => messages.length >= 2);

    expect(locked).toHaveLength(1);
    const events = lockEvents(all, customerId);
    expect(events.map((event) => event.type)).toEqual(['CustomerLocked', 'CustomerUnlocked']);
    expect(events.map((event) => (event.data as { lockVersion: bigint }).lockVersion)).toEqual([1n, 2n]);
    expect(events[0].data).toMatchObject({
      isLocked: true,
      reason: 'QUOTA_EXCEEDED',
      quotaUsed: 3n * MiB,
      quotaMax: 2n * MiB,
    });
    expect(events[1].data).toMatchObject({
      isLocked: false,
      lockReasons: [],
      quotaUsed: MiB,
      actor: 'system',
    });
    expect(events[0].source).toBe('/quota-lock-service');
    expect(events[0].subject).toBe(customerId);
    expect(all[0].headers['content-type']).toBe('application/cloudevents+json; charset=utf-8');

    const customer = await request(service.baseUrl, 'GET', `/api/v4/provisioning/customers/${customerId}`);
    expect(customer.status).toBe(200);
    expect(customer.body).toMatchObject({ quotaUsed: MiB, isLocked: false, lockVersion: 2n });
  });

  it('publishes crossing and release inside one batch', async () => {
    const customerId = await createCustomer(service.baseUrl, { quotaMax: String(2n * MiB), userMax: '10' });
    await service.stop();

    // Produced while no consumer runs, so the restarted service reads all three in one batch.
    await fixture.kafka.send(fixture.kafka.topics.storage, [
      storageEvent(customerId, String(3n * MiB)),
      storageEvent(customerId, String(-2n * MiB)),
      storageEvent(customerId, String(MiB / 2n)),
    ]);
    service = await fixture.start();
    const batchLine = await service.waitForLog(
      (line) => line.msg === 'applied event' && line.customerId === customerId,
    );
    const messages = await fixture.kafka.readUntil(
      fixture.kafka.topics.locks,
      (read) => read.filter((message) => message.key === customerId).length >= 2,
    );

    const events = lockEvents(messages, customerId);
    expect(batchLine.partition).toBeDefined();
    expect(events.map((event) => event.type)).toEqual(['CustomerLocked', 'CustomerUnlocked']);
    expect((events[0].data as Record<string, unknown>).quotaUsed).toBe(3n * MiB);
    expect((events[1].data as Record<string, unknown>).quotaUsed).toBe(MiB);
    const customer = await eventually(async () => {
      const result = await request(service.baseUrl, 'GET', `/api/v4/provisioning/customers/${customerId}`);
      return result.body.quotaUsed === MiB + MiB / 2n ? result : undefined;
    });
    expect(customer.body.lockVersion).toBe(2n);
  });
});
