import { randomUUID } from 'node:crypto';

import { userAllocated, userDeallocated } from '../support/events';
import { createCustomer } from '../support/http';
import { getCustomer, PartitionProducer, waitForAppliedEvent } from '../support/input-helpers';
import { decodeValue, ReadMessage } from '../support/kafka';
import { ServiceFixture } from '../support/service-fixture';
import { ServiceProcess } from '../support/service-process';

type LockEventData = Record<string, unknown>;
type UserChange = ['allocate' | 'deallocate', string];

function lockEventsOf(messages: ReadMessage[], customerId: string): Record<string, unknown>[] {
  return messages
    .filter((message) => message.key === customerId)
    .map((message) => decodeValue(message.value));
}

describe('user allocation', () => {
  const fixture = new ServiceFixture('users');
  const producer = new PartitionProducer(fixture.kafka.kafka);
  let service: ServiceProcess;

  /** Sends the user events in one record batch and waits until the service applied each of them. */
  async function sendUserEvents(customerId: string, ...changes: UserChange[]): Promise<void> {
    const ids = changes.map(() => randomUUID());
    const events = changes.map(([kind, userId], index) =>
      kind === 'allocate'
        ? userAllocated(customerId, userId, { id: ids[index] })
        : userDeallocated(customerId, userId, { id: ids[index] }),
    );
    await producer.send(fixture.kafka.topics.users, 0, events);
    for (const id of ids) {
      await waitForAppliedEvent(service, id);
    }
  }

  async function membersOf(customerId: string): Promise<string[]> {
    const rows = await fixture.database.query<{ user_id: string }>(
      'SELECT user_id FROM customer_user WHERE customer_id = $1 ORDER BY user_id',
      [customerId],
    );
    return rows.map((row) => row.user_id);
  }

  beforeAll(async () => {
    await fixture.setUp();
    service = await fixture.start();
  });

  afterAll(async () => {
    await producer.disconnect();
    await fixture.tearDown();
  });

  it('counts repeated allocation once', async () => {
    const customerId = await createCustomer(service.baseUrl, { quotaMax: '-1', userMax: '10' });

    await sendUserEvents(customerId, ['allocate', 'alice']);
    await sendUserEvents(customerId, ['allocate', 'alice']);
    const customer = await getCustomer(service, customerId);

    expect(customer.text).toContain('"userUsed":1,');
    expect(await membersOf(customerId)).toEqual(['alice']);
  });

  it('counts repeated allocation in one batch once', async () => {
    const customerId = await createCustomer(service.baseUrl, { quotaMax: '-1', userMax: '10' });

    await sendUserEvents(customerId, ['allocate', 'bob'], ['allocate', 'bob']);
    const customer = await getCustomer(service, customerId);

    expect(customer.text).toContain('"userUsed":1,');
    expect(await membersOf(customerId)).toEqual(['bob']);
  });

  it('ignores deallocation of absent user', async () => {
    const customerId = await createCustomer(service.baseUrl, { quotaMax: '-1', userMax: '10' });
    await sendUserEvents(customerId, ['allocate', 'alice']);
    const before = await getCustomer(service, customerId);

    await sendUserEvents(customerId, ['deallocate', 'nobody']);
    const after = await getCustomer(service, customerId);

    expect(after.text).toContain('"userUsed":1,');
    expect(after.body.lockVersion).toBe(before.body.lockVersion);
    expect(after.body.updatedAt).toBe(before.body.updatedAt);
    expect(await membersOf(customerId)).toEqual(['alice']);
  });

  describe('crossing userMax', () => {
    let customerId: string;
    let atLimit: Awaited<ReturnType<typeof getCustomer>>;
    let locked: Awaited<ReturnType<typeof getCustomer>>;
    let unlocked: Awaited<ReturnType<typeof getCustomer>>;
    let events: Record<string, unknown>[];

    beforeAll(async () => {
      customerId = await createCustomer(service.baseUrl, { quotaMax: '-1', userMax: '2' });
      await sendUserEvents(customerId, ['allocate', 'u1'], ['allocate', 'u2']);
      atLimit = await getCustomer(service, customerId);
      await sendUserEvents(customerId, ['allocate', 'u3']);
      locked = await getCustomer(service, customerId);
      await sendUserEvents(customerId, ['deallocate', 'u2']);
      unlocked = await getCustomer(service, customerId);
      const messages = await fixture.kafka.readUntil(
        fixture.kafka.topics.locks,
        (read) => read.filter((message) => message.key === customerId).length >= 2,
      );
      events = lockEventsOf(messages, customerId);
    });

    it('stays unlocked at userMax', () => {
      expect(atLimit.text).toContain('"userUsed":2,');
      expect(atLimit.body.isLocked).toBe(false);
    });

    it('locks above userMax', () => {
      expect(locked.text).toContain('"userUsed":3,');
      expect(locked.body.isLocked).toBe(true);
      expect(locked.body.lockReasons).toEqual(['USER_LIMIT_EXCEEDED']);
      expect(locked.body.lockVersion).toBe(1n);
    });

    it('unlocks after deallocation', () => {
      expect(unlocked.text).toContain('"userUsed":2,');
      expect(unlocked.body.isLocked).toBe(false);
      expect(unlocked.body.lockReasons).toEqual([]);
      expect(unlocked.body.lockVersion).toBe(2n);
    });

    it('publishes lock then unlock', () => {
      expect(events.map((event) => event.type)).toEqual(['CustomerLocked', 'CustomerUnlocked']);
    });

    it('lock event names USER_LIMIT_EXCEEDED', () => {
      const data = events[0].data as LockEventData;

      expect(data.reason).toBe('USER_LIMIT_EXCEEDED');
      expect(data.lockReasons).toEqual(['USER_LIMIT_EXCEEDED']);
      expect(data.userUsed).toBe(3n);
      expect(data.userMax).toBe(2n);
      expect(data.lockVersion).toBe(1n);
    });

    it('unlock event reports the removed reason', () => {
      const data = events[1].data as LockEventData;

      expect(data.isLocked).toBe(false);
      expect(data.reason).toBe('USER_LIMIT_EXCEEDED');
      expect(data.lockReasons).toEqual([]);
      expect(data.userUsed).toBe(2n);
      expect(data.lockVersion).toBe(2n);
    });
  });

  it('reports userUsed as cntInternalUser', async () => {
    const customerId = await createCustomer(service.baseUrl, { quotaMax: '-1', userMax: '10' });

    await sendUserEvents(customerId, ['allocate', 'a'], ['allocate', 'b'], ['allocate', 'c']);
    const customer = await getCustomer(service, customerId);

    expect(customer.text).toContain('"userUsed":3,');
    expect(customer.text).toContain('"cntInternalUser":3,');
    expect(customer.text).toContain('"cntGuestUser":0,');
  });
});
