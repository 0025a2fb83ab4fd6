import { randomUUID } from 'node:crypto';

import { storageEvent } from '../support/events';
import { createCustomer, eventually, request } from '../support/http';
import { ServiceFixture } from '../support/service-fixture';
import { ServiceProcess } from '../support/service-process';

describe('database connections lost mid-batch', () => {
  const fixture = new ServiceFixture('dbloss');
  let service: ServiceProcess;

  beforeAll(async () => {
    await fixture.setUp();
    // The pause keeps a transaction open most of the time, so terminations hit one in flight.
    service = await fixture.start({ TEST_TRANSACTION_DELAY_MS: '300' });
  });

  afterAll(() => fixture.tearDown());

  it('retries and counts every event once', async () => {
    const customerId = await createCustomer(service.baseUrl, { quotaMax: '-1', userMax: '5' });
    const events = Array.from({ length: 2000 }, () => storageEvent(customerId, '3', { id: randomUUID() }));
    for (let start = 0; start < events.length; start += 200) {
      await fixture.kafka.send(fixture.kafka.topics.storage, events.slice(start, start + 200));
    }

    // Terminate the service's open transactions a few times while the batches are applied.
    let terminated = 0;
    const deadline = Date.now() + 60_000;
    while (terminated < 3 && Date.now() < deadline) {
      const rows = await fixture.database.query<{ done: boolean }>(
        `SELECT pg_terminate_backend(pid) AS done FROM pg_stat_activity
         WHERE datname = $1 AND application_name = 'quota-lock-service' AND state = 'idle in transaction'`,
        [fixture.database.name],
      );
      terminated += rows.filter((row) => row.done).length;
      await new Promise((resolve) => setTimeout(resolve, 100));
    }
    const customer = await eventually(
      async () => {
        const result = await request(service.baseUrl, 'GET', `/api/v4/provisioning/customers/${customerId}`);
        return result.body.quotaUsed === 6000n ? result : undefined;
      },
      90_000,
      'quotaUsed 6000',
    );

    expect(terminated).toBeGreaterThan(0);
    expect(customer.body.quotaUsed).toBe(6000n);
    expect(service.hasExited).toBe(false);
    expect(service.countLogs((line) => line.msg === 'retrying batch after error')).toBeGreaterThan(0);
    const keys = await fixture.database.query('SELECT 1 FROM processed_event WHERE customer_id = $1', [
      customerId,
    ]);
    expect(keys).toHaveLength(2000);
  });
});
