import { Message } from 'kafkajs';

import { userAllocated, storageEvent } from '../support/events';
import { ConcurrencyLockSampler, LockWaitSummary } from '../support/concurrency-lock-sampler';
import { createCustomer, eventually, request } from '../support/http';
import { ServiceFixture } from '../support/service-fixture';
import { ServiceProcess } from '../support/service-process';

const CUSTOMERS = 4;
const PARTITIONS = [0, 1, 2];
const ROUNDS = 6;
/** Pause after the rows are locked, so the other instance's transaction has to wait for them. */
const TRANSACTION_DELAY_MS = '50';
/** 2^52, so each customer's eighteen deltas add up to about 2^56, where a JS number loses digits. */
const DELTA_BASE = 2n ** 52n;
/** Allocated on every users partition, so both instances allocate the same user concurrently. */
const SHARED_USER = 'shared-user';

interface CustomerPlan {
  id: string;
  storage: Message[][];
  users: Message[][];
  quotaUsed: bigint;
  distinctUsers: Set<string>;
}

/**
 * Fetches `/health/ready` and lists the storage and users partitions that `service` consumes, as
 * `topic:partition`. Resolves undefined while the instance is not ready.
 */
async function usagePartitions(service: ServiceProcess, topics: string[]): Promise<string[] | undefined> {
  const ready = await request(service.baseUrl, 'GET', '/health/ready', { token: null });
  if (ready.status !== 200) {
    return undefined;
  }
  const consumer = (ready.body.components as Record<string, { partitions?: Record<string, bigint[]> }>)
    .consumer;
  return topics.flatMap((topic) =>
    (consumer.partitions?.[topic] ?? []).map((partition) => `${topic}:${partition}`),
  );
}

/** Reads one int64 field from a raw JSON body by its digits, so no number conversion can round it. */
function rawField(text: string, field: string): string | undefined {
  return new RegExp(`"${field}":(-?[0-9]+)[,}]`).exec(text)?.[1];
}

describe('two instances in one consumer group', () => {
  const fixture = new ServiceFixture('concurrency');
  const topics = fixture.kafka.topics;
  const plans: CustomerPlan[] = [];
  let instances: ServiceProcess[] = [];
  let assignments: string[][] = [];
  let lockWaits: LockWaitSummary;

  function plan(id: string, index: number): CustomerPlan {
    const customer: CustomerPlan = { id, storage: [], users: [], quotaUsed: 0n, distinctUsers: new Set() };
    for (let round = 0; round < ROUNDS; round++) {
      const storage: Message[] = [];
      const users: Message[] = [];
      for (const partition of PARTITIONS) {
        const delta = DELTA_BASE + BigInt(index * 10_000 + round * 100 + partition);
        customer.quotaUsed += delta;
        storage.push({ ...storageEvent(id, delta.toString()), partition });

        const userId = round === 0 ? SHARED_USER : `user-${round}-${partition}`;
        customer.distinctUsers.add(userId);
        users.push({ ...userAllocated(id, userId), partition });
      }
      customer.storage.push(storage);
      customer.users.push(users);
    }
    return customer;
  }

  beforeAll(async () => {
    await fixture.setUp();
    const env = { TEST_TRANSACTION_DELAY_MS: TRANSACTION_DELAY_MS };
    instances = [await fixture.start(env), await fixture.start(env)];

    // The first instance owns every partition until the rebalance that the second one's join starts.
    assignments = await eventually(
      async () => {
        const owned = await Promise.all(
          instances.map((instance) => usagePartitions(instance, [topics.storage, topics.users])),
        );
        if (owned.some((partitions) => partitions === undefined)) {
          return undefined;
        }
        const all = owned.flat() as string[];
        const complete = new Set(all).size === all.length && all.length === 2 * PARTITIONS.length;
        return complete ? (owned as string[][]) : undefined;
      },
      60_000,
      'a rebalance that splits the usage partitions between both instances',
    );

    for (let index = 0; index < CUSTOMERS; index++) {
      const id = await createCustomer(instances[0].baseUrl, { quotaMax: '-1', userMax: '-1' });
      plans.push(plan(id, index));
    }
    const totalEvents = plans.length * ROUNDS * PARTITIONS.length * 2;

    const sampler = await ConcurrencyLockSampler.start(fixture.database.url, fixture.database.name);
    try {
      for (let round = 0; round < ROUNDS; round++) {
        // One send at a time, because TestKafka.send races with itself until its producer has connected.
        await fixture.kafka.send(
          topics.storage,
          plans.flatMap((customer) => customer.storage[round]),
        );
        await fixture.kafka.send(
          topics.users,
          plans.flatMap((customer) => customer.users[round]),
        );
      }
      // Each applied event leaves one dedupe row, written in the transaction that applied it.
      await eventually(
        async () => {
          const [row] = await fixture.database.query<{ count: number }>(
            'SELECT count(*)::int AS count FROM processed_event',
          );
          return row.count === totalEvents ? true : undefined;
        },
        60_000,
        `${totalEvents} applied events`,
      );
    } finally {
      lockWaits = await sampler.stop();
    }
  });

  afterAll(() => fixture.tearDown());

  it('both instances own usage partitions', () => {
    expect(assignments.map((partitions) => partitions.length > 0)).toEqual([true, true]);
  });

  it.each([0, 1])('instance %i applies every customer', (instance) => {
    const customers = new Set(
      instances[instance].logs
        .filter((line) => line.msg === 'applied event')
        .map((line) => String(line.customerId)),
    );

    expect(plans.filter((customer) => !customers.has(customer.id)).map((customer) => customer.id)).toEqual(
      [],
    );
  });

  it('row locks were waited for', () => {
    expect(lockWaits.samplesWithWaits).toBeGreaterThan(0);
  });

  it('storage deltas add up exactly', async () => {
    for (const customer of plans) {
      const result = await request(
        instances[0].baseUrl,
        'GET',
        `/api/v4/provisioning/customers/${customer.id}`,
      );

      expect({ id: customer.id, quotaUsed: rawField(result.text, 'quotaUsed') }).toEqual({
        id: customer.id,
        quotaUsed: customer.quotaUsed.toString(),
      });
    }
  });

  it('users count distinct allocations', async () => {
    for (const customer of plans) {
      const result = await request(
        instances[1].baseUrl,
        'GET',
        `/api/v4/provisioning/customers/${customer.id}`,
      );

      expect({ id: customer.id, userUsed: rawField(result.text, 'userUsed') }).toEqual({
        id: customer.id,
        userUsed: String(customer.distinctUsers.size),
      });
    }
  });
});
