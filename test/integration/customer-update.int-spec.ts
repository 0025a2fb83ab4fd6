import { randomUUID } from 'node:crypto';

import { storageEvent } from '../support/events';
import { createCustomer, request } from '../support/http';
import { decodeValue, ReadMessage } from '../support/kafka';
import { ServiceFixture } from '../support/service-fixture';
import { ServiceProcess } from '../support/service-process';

const MiB = 1_048_576n;
const PATH = '/api/v4/provisioning/customers';

describe('customer update by PUT', () => {
  const fixture = new ServiceFixture('update');
  let service: ServiceProcess;

  function lockEventsOf(messages: ReadMessage[], customerId: string): Record<string, unknown>[] {
    return messages
      .filter((message) => message.key === customerId)
      .map((message) => decodeValue(message.value));
  }

  async function put(customerId: string, body: unknown, headers: Record<string, string> = {}) {
    return request(service.baseUrl, 'PUT', `${PATH}/${customerId}`, { body, headers });
  }

  async function history(customerId: string): Promise<[string, string, string | null][]> {
    const rows = await fixture.database.query<{ change: string; reason: string; event_type: string | null }>(
      'SELECT change, reason, event_type FROM lock_history WHERE customer_id = $1 ORDER BY id',
      [customerId],
    );
    return rows.map((row) => [row.change, row.reason, row.event_type]);
  }

  async function useStorage(customerId: string, delta: bigint): Promise<void> {
    const id = randomUUID();
    await fixture.kafka.send(fixture.kafka.topics.storage, [storageEvent(customerId, String(delta), { id })]);
    await service.waitForLog((line) => line.msg === 'applied event' && line.eventId === id);
  }

  beforeAll(async () => {
    await fixture.setUp();
    service = await fixture.start();
  });

  afterAll(() => fixture.tearDown());

  it('changes nothing for an empty body', async () => {
    const customerId = await createCustomer(service.baseUrl, {
      quotaMax: String(MiB),
      userMax: '3',
      companyName: 'Same',
    });

    const result = await put(customerId, '{}');

    expect(result.status).toBe(200);
    expect(result.body).toMatchObject({
      companyName: 'Same',
      quotaMax: MiB,
      userMax: 3n,
      lockVersion: 0n,
      isLocked: false,
    });
    expect(await history(customerId)).toEqual([]);
  });

  it('changes only the fields sent', async () => {
    const customerId = await createCustomer(service.baseUrl, {
      quotaMax: String(MiB),
      userMax: '3',
      companyName: 'Old',
    });

    const result = await put(customerId, { companyName: 'New', providerCustomerId: 'crm-7' });

    expect(result.status).toBe(200);
    expect(result.body).toMatchObject({
      companyName: 'New',
      providerCustomerId: 'crm-7',
      quotaMax: MiB,
      userMax: 3n,
    });
  });

  it('admin lock publishes one CustomerLocked', async () => {
    const customerId = await createCustomer(service.baseUrl, { quotaMax: String(MiB), userMax: '3' });

    const result = await put(customerId, { isLocked: true }, { 'X-Request-Id': 'req-lock-1' });
    const again = await put(customerId, { isLocked: true });
    const messages = await fixture.kafka.readUntil(
      fixture.kafka.topics.locks,
      (read) => lockEventsOf(read, customerId).length >= 1,
    );

    expect(result.status).toBe(200);
    expect(result.body.lockReasons).toEqual(['ADMIN']);
    expect(again.body.lockVersion).toBe(1n);
    const events = lockEventsOf(messages, customerId);
    expect(events).toHaveLength(1);
    expect(events[0].data).toMatchObject({
      reason: 'ADMIN',
      actor: 'admin:default',
      causationId: '/quota-lock-service/http#req-lock-1',
    });
  });

  it('admin unlock keeps the quota lock', async () => {
    const customerId = await createCustomer(service.baseUrl, { quotaMax: String(MiB), userMax: '3' });
    await useStorage(customerId, 2n * MiB);

    const locked = await put(customerId, { isLocked: true });
    const unlocked = await put(customerId, { lockStatus: false });
    await useStorage(customerId, -2n * MiB);
    const freed = await request(service.baseUrl, 'GET', `${PATH}/${customerId}`);

    expect(locked.body.lockReasons).toEqual(['ADMIN', 'QUOTA_EXCEEDED']);
    expect(unlocked.body.lockReasons).toEqual(['QUOTA_EXCEEDED']);
    expect(unlocked.body.isLocked).toBe(true);
    expect(freed.body.isLocked).toBe(false);
    expect(await history(customerId)).toEqual([
      ['added', 'QUOTA_EXCEEDED', 'CustomerLocked'],
      ['added', 'ADMIN', 'CustomerLocked'],
      ['removed', 'ADMIN', null],
      ['removed', 'QUOTA_EXCEEDED', 'CustomerUnlocked'],
    ]);
  });

  it('lowering a limit below usage locks', async () => {
    const customerId = await createCustomer(service.baseUrl, { quotaMax: String(4n * MiB), userMax: '3' });
    await useStorage(customerId, 3n * MiB);

    const result = await put(customerId, { quotaMax: String(2n * MiB) });

    expect(result.status).toBe(200);
    expect(result.body.lockReasons).toEqual(['QUOTA_EXCEEDED']);
    expect(result.body.quotaMax).toBe(2n * MiB);
  });

  it('adds one reason and removes another', async () => {
    const customerId = await createCustomer(service.baseUrl, { quotaMax: String(MiB), userMax: '3' });
    await useStorage(customerId, 2n * MiB);

    const result = await put(customerId, { quotaMax: String(8n * MiB), isLocked: true });

    expect(result.body.lockReasons).toEqual(['ADMIN']);
    expect(await history(customerId)).toEqual([
      ['added', 'QUOTA_EXCEEDED', 'CustomerLocked'],
      ['added', 'ADMIN', 'CustomerLocked'],
      ['removed', 'QUOTA_EXCEEDED', null],
    ]);
  });

  it('accepts a GET body put back', async () => {
    const customerId = await createCustomer(service.baseUrl, {
      quotaMax: '9223372036854775807',
      userMax: '3',
    });
    const read = await request(service.baseUrl, 'GET', `${PATH}/${customerId}?include_attributes=true`);

    const result = await put(customerId, read.text);

    expect(result.status).toBe(200);
    expect(result.text).toContain('"quotaMax":9223372036854775807');
    expect(result.body.lockVersion).toBe(0n);
    expect(result.body.updatedAt).toBe(read.body.updatedAt);
  });

  it('rejects a changed read-only field', async () => {
    const customerId = await createCustomer(service.baseUrl, { quotaMax: String(MiB), userMax: '3' });

    const result = await put(customerId, { quotaUsed: 5 });

    expect(result.status).toBe(400);
    expect(result.body.errorCode).toBe(-80902n);
    expect(result.body.debugInfo).toContain('quotaUsed');
  });

  it('rejects a contract downgrade', async () => {
    const customerId = await createCustomer(service.baseUrl, { quotaMax: String(MiB), userMax: '3' });

    const result = await put(customerId, { customerContractType: 'demo' });

    expect(result.status).toBe(400);
    expect(result.body.errorCode).toBe(-90111n);
  });

  it('returns 404 for an unknown customer', async () => {
    const result = await put('987654321', { companyName: 'Nobody' });

    expect(result.status).toBe(404);
    expect(result.body.errorCode).toBe(-90103n);
  });

  it('rejects an unknown field', async () => {
    const customerId = await createCustomer(service.baseUrl, { quotaMax: String(MiB), userMax: '3' });

    const result = await put(customerId, { colour: 'blue' });

    expect(result.status).toBe(400);
    expect(result.body.errorCode).toBe(-80901n);
    expect(result.body.debugInfo).toContain('colour');
  });
});
