import { randomUUID } from 'node:crypto';

import { storageEvent } from '../support/events';
import { createCustomer, request } from '../support/http';
import {
  customerPath,
  getCustomer,
  PartitionProducer,
  readDeadLetters,
  waitForAppliedEvent,
} from '../support/input-helpers';
import { ServiceFixture } from '../support/service-fixture';
import { ServiceProcess } from '../support/service-process';

/** 2^63 - 1, the largest PostgreSQL bigint. */
const INT64_MAX = '9223372036854775807';
/** 2^53 + 1, the smallest positive integer that a JS number cannot hold. */
const ABOVE_SAFE = '9007199254740993';
/** 2^53, which a JS number represents exactly and which 2^53 + 1 rounds to. */
const SAFE_LIMIT = '9007199254740992';

describe('exact int64 numbers', () => {
  const fixture = new ServiceFixture('numbers');
  const producer = new PartitionProducer(fixture.kafka.kafka);
  let service: ServiceProcess;

  /** Sends one storage event on partition 0 and waits until the service committed it. */
  async function applyDelta(customerId: string, delta: string): Promise<void> {
    const id = randomUUID();
    await producer.send(fixture.kafka.topics.storage, 0, [storageEvent(customerId, delta, { id })]);
    await waitForAppliedEvent(service, id);
  }

  beforeAll(async () => {
    await fixture.setUp();
    service = await fixture.start();
  });

  afterAll(async () => {
    await producer.disconnect();
    await fixture.tearDown();
  });

  describe('quotaMax of 2^63 - 1', () => {
    let created: Awaited<ReturnType<typeof request>>;

    beforeAll(async () => {
      created = await request(service.baseUrl, 'POST', '/api/v4/provisioning/customers', {
        body: `{"customerContractType":"pay","companyName":"Big Co","quotaMax":${INT64_MAX},"userMax":10}`,
      });
    });

    it('create response keeps the digits', () => {
      expect(created.status).toBe(201);
      expect(created.text).toContain(`"quotaMax":${INT64_MAX},`);
    });

    it('get response keeps the digits', async () => {
      const customer = await request(service.baseUrl, 'GET', customerPath(String(created.body.id)));

      expect(customer.text).toContain(`"quotaMax":${INT64_MAX},`);
    });

    it('accepts quotaMax as a string', async () => {
      const result = await request(service.baseUrl, 'POST', '/api/v4/provisioning/customers', {
        body: `{"customerContractType":"pay","companyName":"Big Co","quotaMax":"${INT64_MAX}","userMax":10}`,
      });

      expect(result.status).toBe(201);
      expect(result.text).toContain(`"quotaMax":${INT64_MAX},`);
    });
  });

  it('applies 2^53 + 1 as a number', async () => {
    const customerId = await createCustomer(service.baseUrl, { quotaMax: INT64_MAX, userMax: '10' });

    await applyDelta(customerId, ABOVE_SAFE);
    const customer = await getCustomer(service, customerId);

    expect(customer.text).toContain(`"quotaUsed":${ABOVE_SAFE},`);
  });

  it('applies 2^53 + 1 as a string', async () => {
    const customerId = await createCustomer(service.baseUrl, { quotaMax: INT64_MAX, userMax: '10' });

    await applyDelta(customerId, `"${ABOVE_SAFE}"`);
    const customer = await getCustomer(service, customerId);

    expect(customer.text).toContain(`"quotaUsed":${ABOVE_SAFE},`);
  });

  it('adds two deltas above 2^53', async () => {
    const customerId = await createCustomer(service.baseUrl, { quotaMax: INT64_MAX, userMax: '10' });

    await applyDelta(customerId, ABOVE_SAFE);
    await applyDelta(customerId, `"${ABOVE_SAFE}"`);
    const customer = await getCustomer(service, customerId);

    expect(customer.text).toContain('"quotaUsed":18014398509481986,');
  });

  it('reaches 2^63 - 1 unlocked', async () => {
    const customerId = await createCustomer(service.baseUrl, { quotaMax: INT64_MAX, userMax: '10' });

    await applyDelta(customerId, INT64_MAX);
    const customer = await getCustomer(service, customerId);

    expect(customer.text).toContain(`"quotaUsed":${INT64_MAX},`);
    expect(customer.body.isLocked).toBe(false);
  });

  describe('lock events above 2^53', () => {
    let customerId: string;
    let values: string[];

    beforeAll(async () => {
      customerId = await createCustomer(service.baseUrl, { quotaMax: SAFE_LIMIT, userMax: '10' });
      // 2^53 + 1 is one byte over the limit; minus one is exactly at it, which unlocks.
      await applyDelta(customerId, ABOVE_SAFE);
      await applyDelta(customerId, '"-1"');
      const messages = await fixture.kafka.readUntil(
        fixture.kafka.topics.locks,
        (read) => read.filter((message) => message.key === customerId).length >= 2,
      );
      values = messages
        .filter((message) => message.key === customerId)
        .map((message) => message.value?.toString('utf8') ?? '');
    });

    it('publishes lock then unlock', () => {
      expect(values.map((value) => /"type":"(\w+)"/.exec(value)?.[1])).toEqual([
        'CustomerLocked',
        'CustomerUnlocked',
      ]);
    });

    it('lock event keeps the digits', () => {
      expect(values[0]).toContain(`"quotaUsed":${ABOVE_SAFE},`);
      expect(values[0]).toContain(`"quotaMax":${SAFE_LIMIT},`);
      expect(values[0]).toContain(`"customerId":${customerId},`);
    });

    it('unlock event keeps the digits', () => {
      expect(values[1]).toContain(`"quotaUsed":${SAFE_LIMIT},`);
      expect(values[1]).toContain(`"quotaMax":${SAFE_LIMIT},`);
    });
  });

  describe('delta past 2^63 - 1', () => {
    const eventId = randomUUID();
    let customerId: string;
    let before: Awaited<ReturnType<typeof getCustomer>>;
    let after: Awaited<ReturnType<typeof getCustomer>>;
    let letterHeaders: Record<string, string>;

    beforeAll(async () => {
      customerId = await createCustomer(service.baseUrl, { quotaMax: '-1', userMax: '10' });
      await applyDelta(customerId, '9223372036854775000');
      before = await getCustomer(service, customerId);
      // 9223372036854775000 + 808 = 2^63, one above the int64 maximum.
      await producer.send(fixture.kafka.topics.storage, 0, [
        { ...storageEvent(customerId, '808', { id: eventId }), headers: { 'x-case': 'past-int64-max' } },
      ]);
      const letters = await readDeadLetters(fixture.kafka, ['past-int64-max']);
      letterHeaders = letters.get('past-int64-max')!.headers;
      // Dead letters are published after the batch committed, so this read returns the final state.
      after = await getCustomer(service, customerId);
    });

    it('dead-letters it as OUT_OF_RANGE', () => {
      expect(letterHeaders['x-dlq-reason']).toBe('OUT_OF_RANGE');
    });

    it('error names the exact sum', () => {
      expect(letterHeaders['x-dlq-error']).toContain(
        '9223372036854775000 + deltaBytes 808 = 9223372036854775808',
      );
    });

    it('leaves the customer unchanged', () => {
      expect(after.text).toContain('"quotaUsed":9223372036854775000,');
      expect(after.body.lockVersion).toBe(before.body.lockVersion);
      expect(after.body.updatedAt).toBe(before.body.updatedAt);
    });

    it('stores no dedupe key', async () => {
      const rows = await fixture.database.query('SELECT 1 FROM processed_event WHERE event_id = $1', [
        eventId,
      ]);

      expect(rows).toHaveLength(0);
    });
  });

  it('dead-letters delta above int64', async () => {
    const customerId = await createCustomer(service.baseUrl, { quotaMax: '-1', userMax: '10' });

    await producer.send(fixture.kafka.topics.storage, 0, [
      { ...storageEvent(customerId, '9223372036854775808'), headers: { 'x-case': 'delta-above-int64' } },
    ]);
    const letters = await readDeadLetters(fixture.kafka, ['delta-above-int64']);
    const headers = letters.get('delta-above-int64')!.headers;

    expect(headers['x-dlq-reason']).toBe('INVALID_DATA');
    expect(headers['x-dlq-error']).toContain('got 9223372036854775808');
  });

  it('clamps minus 2^63 at zero', async () => {
    const customerId = await createCustomer(service.baseUrl, { quotaMax: '-1', userMax: '10' });
    const eventId = randomUUID();
    await applyDelta(customerId, '100');

    await producer.send(fixture.kafka.topics.storage, 0, [
      storageEvent(customerId, '-9223372036854775808', { id: eventId }),
    ]);
    const clampedLine = await service.waitForLog(
      (line) => line.msg === 'usage decrease clamped at zero' && line.eventId === eventId,
    );
    const customer = await getCustomer(service, customerId);

    expect(clampedLine.clamped).toBe('9223372036854775708');
    expect(customer.text).toContain('"quotaUsed":0,');
  });
});
