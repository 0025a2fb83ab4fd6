import { randomUUID } from 'node:crypto';

import { storageEvent } from '../support/events';
import { createCustomer, eventually, request } from '../support/http';
import { decodeValue } from '../support/kafka';
import { ServiceFixture } from '../support/service-fixture';
import { ServiceProcess } from '../support/service-process';

const MiB = 1_048_576n;
const PATH = '/api/v4/provisioning/customers';

interface LockData {
  lockVersion: bigint;
  lockReasons: string[];
}

describe('admin lock racing usage events', () => {
  const fixture = new ServiceFixture('race');
  let service: ServiceProcess;

  beforeAll(async () => {
    await fixture.setUp();
    service = await fixture.start({ TEST_TRANSACTION_DELAY_MS: '5' });
  });

  afterAll(() => fixture.tearDown());

  it('keeps one consistent lock sequence', async () => {
    const customerId = await createCustomer(service.baseUrl, { quotaMax: String(MiB), userMax: '5' });
    // Usage alternates above and below the 1 MiB quota while an admin toggles the lock.
    const deltas = Array.from({ length: 40 }, (_, index) => (index % 2 === 0 ? 2n * MiB : -2n * MiB));
    const ids = deltas.map(() => randomUUID());

    const usage = (async () => {
      for (const [index, delta] of deltas.entries()) {
        await fixture.kafka.send(fixture.kafka.topics.storage, [
          storageEvent(customerId, String(delta), { id: ids[index] }),
        ]);
      }
    })();
    const admin = (async () => {
      const statuses: number[] = [];
      for (let round = 0; round < 20; round++) {
        const result = await request(service.baseUrl, 'PUT', `${PATH}/${customerId}`, {
          body: { isLocked: round % 2 === 0 },
        });
        statuses.push(result.status);
      }
      return statuses;
    })();
    const [, statuses] = await Promise.all([usage, admin]);
    await eventually(async () => {
      const rows = await fixture.database.query('SELECT 1 FROM processed_event WHERE customer_id = $1', [
        customerId,
      ]);
      return rows.length === ids.length ? true : undefined;
    });

    expect(statuses.every((status) => status === 200)).toBe(true);
    const customer = await request(service.baseUrl, 'GET', `${PATH}/${customerId}`);
    // The last admin action unlocked, and the last delta brought usage back to 0.
    expect(customer.body.quotaUsed).toBe(0n);
    expect(customer.body.lockReasons).toEqual([]);
    const finalVersion = customer.body.lockVersion as bigint;
    const messages = await fixture.kafka.readUntil(fixture.kafka.topics.locks, (read) =>
      read.some(
        (message) =>
          message.key === customerId &&
          (decodeValue(message.value).data as LockData).lockVersion === finalVersion,
      ),
    );
    const versions = messages
      .filter((message) => message.key === customerId)
      .map((message) => (decodeValue(message.value).data as LockData).lockVersion);
    const unique = [...new Set(versions)].sort((a, b) => (a < b ? -1 : 1));
    expect(unique).toEqual(Array.from({ length: Number(finalVersion) }, (_, index) => BigInt(index + 1)));
    const history = await fixture.database.query<{ reasons_before: string[]; reasons_after: string[] }>(
      'SELECT reasons_before, reasons_after FROM lock_history WHERE customer_id = $1 ORDER BY id',
      [customerId],
    );
    for (let index = 1; index < history.length; index++) {
      expect(history[index].reasons_before).toEqual(history[index - 1].reasons_after);
    }
    expect(history[history.length - 1].reasons_after).toEqual([]);
  });
});
