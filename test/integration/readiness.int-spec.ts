import { PrivateBroker } from '../support/crash-broker';
import { eventually, HttpResult, request } from '../support/http';
import { ServiceFixture } from '../support/service-fixture';
import { ServiceProcess } from '../support/service-process';

/**
 * The consumer stops counting as a member 15 s (its session timeout) after its last heartbeat or
 * fetch. One run measured 14 s from the stop to the 503, so the rest is margin for a busy machine.
 */
const NOT_READY_TIMEOUT_MS = 45_000;
/** One run measured 24 s for the broker restart and 1 s more until ready; the rest is margin. */
const READY_AGAIN_TIMEOUT_MS = 120_000;

interface Components {
  database: { status: string };
  consumer: { status: string; partitions: Record<string, number[]>; lastError: string | null };
}

describe('readiness while the broker is down', () => {
  const fixture = new ServiceFixture('ready');
  let broker: PrivateBroker | undefined;
  let service: ServiceProcess;

  function readiness(): Promise<HttpResult> {
    return request(service.baseUrl, 'GET', '/health/ready', { token: null });
  }

  function componentsOf(result: HttpResult): Components {
    return result.body.components as Components;
  }

  beforeAll(async () => {
    await fixture.setUp();
    broker = await PrivateBroker.create();
    await broker.start();
    service = await fixture.start({ KAFKA_BROKERS: broker.brokers });
  });

  afterAll(async () => {
    await fixture.tearDown();
    await broker?.remove();
  });

  it('is ready as a group member', async () => {
    const result = await eventually(
      async () => {
        const probe = await readiness();
        return probe.status === 200 ? probe : undefined;
      },
      30_000,
      'ready with the broker up',
    );

    expect(componentsOf(result).consumer.status).toBe('up');
    expect(componentsOf(result).database.status).toBe('up');
  });

  describe('after the broker stops', () => {
    let notReady: HttpResult;

    beforeAll(async () => {
      await broker!.stop();
      notReady = await eventually(
        async () => {
          const probe = await readiness();
          return probe.status === 503 ? probe : undefined;
        },
        NOT_READY_TIMEOUT_MS,
        'not ready with the broker stopped',
      );
    });

    it('reports 503', () => {
      expect(notReady.status).toBe(503);
      expect(notReady.body.status).toBe('down');
    });

    it('names the consumer as down', () => {
      const { consumer, database } = componentsOf(notReady);

      expect(consumer.status).toBe('down');
      expect(consumer.partitions).toEqual({});
      expect(consumer.lastError).not.toBeNull();
      expect(database.status).toBe('up');
    });

    it('stays live', async () => {
      const live = await request(service.baseUrl, 'GET', '/health/live', { token: null });

      expect(live.status).toBe(200);
    });
  });

  it('is ready again after the broker returns', async () => {
    await broker!.start();
    const result = await eventually(
      async () => {
        const probe = await readiness();
        return probe.status === 200 ? probe : undefined;
      },
      READY_AGAIN_TIMEOUT_MS,
      'ready after the broker restarted',
    );

    expect(componentsOf(result).consumer.status).toBe('up');
    expect(service.hasExited).toBe(false);
  });
});
