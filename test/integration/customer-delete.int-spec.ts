import { randomUUID } from 'node:crypto';

import { storageEvent, userAllocated } from '../support/events';
import { createCustomer, eventually, request } from '../support/http';
import { decodeValue } from '../support/kafka';
import { ServiceFixture } from '../support/service-fixture';
import { ServiceProcess } from '../support/service-process';

const MiB = 1_048_576n;
const PATH = '/api/v4/provisioning/customers';

describe('customer deletion and date formats', () => {
  const fixture = new ServiceFixture('delete');
  let service: ServiceProcess;

  beforeAll(async () => {
    await fixture.setUp();
    service = await fixture.start();
  });

  afterAll(() => fixture.tearDown());

  it('deletes and publishes CustomerDeleted', async () => {
    const customerId = await createCustomer(service.baseUrl, {
      quotaMax: String(MiB),
      userMax: '5',
      isLocked: true,
    });
    const userEventId = randomUUID();
    await fixture.kafka.send(fixture.kafka.topics.users, [
      userAllocated(customerId, 'alice', { id: userEventId }),
    ]);
    await service.waitForLog((line) => line.msg === 'applied event' && line.eventId === userEventId);

    const deleted = await request(service.baseUrl, 'DELETE', `${PATH}/${customerId}`);
    const read = await request(service.baseUrl, 'GET', `${PATH}/${customerId}`);
    const again = await request(service.baseUrl, 'DELETE', `${PATH}/${customerId}`);
    const messages = await fixture.kafka.readUntil(fixture.kafka.topics.locks, (all) =>
      all.some(
        (message) => message.key === customerId && decodeValue(message.value).type === 'CustomerDeleted',
      ),
    );

    expect(deleted.status).toBe(204);
    expect(deleted.text).toBe('');
    expect(read.status).toBe(404);
    expect(again.status).toBe(404);
    expect(again.body.errorCode).toBe(-90103n);
    const events = messages
      .filter((message) => message.key === customerId)
      .map((message) => decodeValue(message.value));
    expect(events.map((event) => event.type)).toEqual(['CustomerLocked', 'CustomerDeleted']);
    expect(events[1].data).toMatchObject({ lockVersion: 2n, isLocked: false, lockReasons: [], userUsed: 1n });
    expect(events[1].data).not.toHaveProperty('reason');
    const users = await fixture.database.query('SELECT 1 FROM customer_user WHERE customer_id = $1', [
      customerId,
    ]);
    expect(users).toHaveLength(0);
    const history = await fixture.database.query<{ change: string }>(
      'SELECT change FROM lock_history WHERE customer_id = $1 ORDER BY id',
      [customerId],
    );
    expect(history.map((row) => row.change)).toEqual(['added', 'deleted']);
  });

  it('never reuses a deleted id', async () => {
    const first = await createCustomer(service.baseUrl, { quotaMax: String(MiB), userMax: '5' });
    await request(service.baseUrl, 'DELETE', `${PATH}/${first}`);

    const second = await createCustomer(service.baseUrl, { quotaMax: String(MiB), userMax: '5' });

    expect(BigInt(second)).toBeGreaterThan(BigInt(first));
  });

  it('dead-letters events arriving after deletion', async () => {
    const customerId = await createCustomer(service.baseUrl, { quotaMax: '-1', userMax: '5' });
    const ids: string[] = Array.from({ length: 60 }, () => randomUUID());

    const sending = (async () => {
      for (const id of ids) {
        await fixture.kafka.send(fixture.kafka.topics.storage, [storageEvent(customerId, '1', { id })]);
      }
    })();
    await service.waitForLog((line) => line.msg === 'applied event' && line.eventId === ids[5]);
    const deleted = await request(service.baseUrl, 'DELETE', `${PATH}/${customerId}`);
    await sending;
    const letters = await fixture.kafka.readUntil(fixture.kafka.topics.deadLetters, (all) =>
      all.some((message) => message.value?.toString().includes(ids[ids.length - 1])),
    );

    expect(deleted.status).toBe(204);
    const lettered = new Set(
      letters
        .filter((message) => message.headers['x-dlq-reason'] === 'CUSTOMER_NOT_FOUND')
        .map((message) => ids.find((id) => message.value?.toString().includes(id))),
    );
    const applied = new Set(
      service.logs
        .filter((line) => line.msg === 'applied event' && ids.includes(String(line.eventId)))
        .map((line) => line.eventId),
    );
    expect(applied.size + lettered.size).toBe(ids.length);
    expect([...applied].some((id) => lettered.has(id as string))).toBe(false);
    expect(lettered.has(ids[ids.length - 1])).toBe(true);
  });

  it('renders dates as epoch milliseconds', async () => {
    const customerId = await createCustomer(service.baseUrl, { quotaMax: String(MiB), userMax: '5' });

    const epoch = await request(service.baseUrl, 'GET', `${PATH}/${customerId}`, {
      headers: { 'X-Sds-Date-Format': 'EPOCH' },
    });
    const utc = await request(service.baseUrl, 'GET', `${PATH}/${customerId}`, {
      headers: { 'X-Sds-Date-Format': 'UTC' },
    });

    expect(epoch.text).toMatch(/"createdAt":\d{13},/);
    expect(utc.text).toMatch(/"createdAt":"\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{3}Z"/);
    expect(BigInt(new Date(String(utc.body.createdAt)).getTime())).toBe(epoch.body.createdAt);
  });

  it('rejects an unknown date format', async () => {
    const customerId = await createCustomer(service.baseUrl, { quotaMax: String(MiB), userMax: '5' });

    const result = await eventually(async () =>
      request(service.baseUrl, 'GET', `${PATH}/${customerId}`, { headers: { 'X-Sds-Date-Format': 'ISO' } }),
    );

    expect(result.status).toBe(400);
    expect(result.body.debugInfo).toContain('X-Sds-Date-Format');
  });
});
