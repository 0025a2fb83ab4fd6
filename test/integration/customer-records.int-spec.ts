import { randomUUID } from 'node:crypto';

import { storageEvent, userAllocated } from '../support/events';
import { createCustomer, request } from '../support/http';
import { ServiceFixture } from '../support/service-fixture';
import { ServiceProcess } from '../support/service-process';

const MiB = 1_048_576n;
const PATH = '/api/v4/provisioning/customers';

describe('customer users and lock history', () => {
  const fixture = new ServiceFixture('records');
  let service: ServiceProcess;

  async function applied(topic: string, message: ReturnType<typeof storageEvent>, id: string): Promise<void> {
    await fixture.kafka.send(topic, [message]);
    await service.waitForLog((line) => line.msg === 'applied event' && line.eventId === id);
  }

  beforeAll(async () => {
    await fixture.setUp();
    service = await fixture.start();
  });

  afterAll(() => fixture.tearDown());

  it('lists users in allocation order', async () => {
    const customerId = await createCustomer(service.baseUrl, { quotaMax: '-1', userMax: '10' });
    for (const userId of ['carol', 'alice', 'bob']) {
      const id = randomUUID();
      await applied(fixture.kafka.topics.users, userAllocated(customerId, userId, { id }), id);
    }

    const all = await request(service.baseUrl, 'GET', `${PATH}/${customerId}/users`);
    const page = await request(service.baseUrl, 'GET', `${PATH}/${customerId}/users?offset=1&limit=1`);

    expect(all.status).toBe(200);
    expect((all.body.items as { userId: string }[]).map((item) => item.userId)).toEqual([
      'carol',
      'alice',
      'bob',
    ]);
    expect(all.body.range).toEqual({ offset: 0n, limit: 500n, total: 3n });
    expect((page.body.items as { userId: string }[]).map((item) => item.userId)).toEqual(['alice']);
    expect(page.body.range).toEqual({ offset: 1n, limit: 1n, total: 3n });
  });

  it.each([['limit=501'], ['limit=0'], ['offset=-1'], ['limit=abc']])('rejects paging %s', async (query) => {
    const customerId = await createCustomer(service.baseUrl, { quotaMax: '-1', userMax: '10' });

    const result = await request(service.baseUrl, 'GET', `${PATH}/${customerId}/users?${query}`);

    expect(result.status).toBe(400);
    expect(result.body.errorCode).toBe(-80024n);
  });

  it('rejects a filter on users', async () => {
    const customerId = await createCustomer(service.baseUrl, { quotaMax: '-1', userMax: '10' });

    const result = await request(service.baseUrl, 'GET', `${PATH}/${customerId}/users?filter=userId:eq:bob`);

    expect(result.status).toBe(400);
    expect(result.body.errorCode).toBe(-80000n);
    expect(result.body.debugInfo).toContain('filter');
  });

  it('accepts paging limit 500', async () => {
    const customerId = await createCustomer(service.baseUrl, { quotaMax: '-1', userMax: '10' });

    const result = await request(
      service.baseUrl,
      'GET',
      `${PATH}/${customerId}/lockHistory?offset=0&limit=500`,
    );

    expect(result.status).toBe(200);
    expect(result.body.range).toEqual({ offset: 0n, limit: 500n, total: 0n });
  });

  it('shows lock history newest first', async () => {
    const customerId = await createCustomer(service.baseUrl, { quotaMax: String(MiB), userMax: '10' });
    const up = randomUUID();
    const down = randomUUID();
    await applied(
      fixture.kafka.topics.storage,
      storageEvent(customerId, String(2n * MiB), { id: up, source: '/s' }),
      up,
    );
    await request(service.baseUrl, 'PUT', `${PATH}/${customerId}`, {
      body: { isLocked: true },
      headers: { 'X-Request-Id': 'history-1' },
    });
    await applied(
      fixture.kafka.topics.storage,
      storageEvent(customerId, String(-2n * MiB), { id: down, source: '/s' }),
      down,
    );

    const result = await request(service.baseUrl, 'GET', `${PATH}/${customerId}/lockHistory`);

    const items = result.body.items as Record<string, unknown>[];
    expect(items.map((item) => [item.change, item.reason, item.eventType])).toEqual([
      ['removed', 'QUOTA_EXCEEDED', null],
      ['added', 'ADMIN', 'CustomerLocked'],
      ['added', 'QUOTA_EXCEEDED', 'CustomerLocked'],
    ]);
    expect(items[0]).toMatchObject({
      reasonsBefore: ['ADMIN', 'QUOTA_EXCEEDED'],
      reasonsAfter: ['ADMIN'],
      isLocked: true,
    });
    expect(items[0]).toMatchObject({ actor: 'system', causationId: `/s#${down}`, lockVersion: 2n });
    expect(items[1]).toMatchObject({
      actor: 'admin:default',
      causationId: '/quota-lock-service/http#history-1',
    });
    expect(result.text).toMatch(/"occurredAt":"\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{3}Z"/);
    expect(result.body.range).toEqual({ offset: 0n, limit: 500n, total: 3n });
  });

  it('returns 404 for an unknown customer', async () => {
    const users = await request(service.baseUrl, 'GET', `${PATH}/987654321/users`);
    const history = await request(service.baseUrl, 'GET', `${PATH}/987654321/lockHistory`);

    expect(users.status).toBe(404);
    expect(history.status).toBe(404);
    expect(history.body.errorCode).toBe(-90103n);
  });
});
