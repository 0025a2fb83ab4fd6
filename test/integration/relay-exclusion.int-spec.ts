import { randomUUID } from 'node:crypto';
import { performance } from 'node:perf_hooks';
import { Kafka, logLevel, Producer, ProducerConfig, ProducerRecord, RecordMetadata } from 'kafkajs';

import { FaultInjector } from '../../src/common/fault-injector';
import { withTimeout } from '../../src/common/time/backoff';
import { createRootLogger } from '../../src/common/logging/root-logger';
import { loadConfig } from '../../src/config/load-config';
import { MetricsService } from '../../src/observability/metrics.service';
import { OutboxRelay } from '../../src/outbox/outbox-relay';
import { eventually } from '../support/http';
import { decodeValue, TestKafka } from '../support/kafka';
import { createTestDatabase, TestDatabase } from '../support/test-database';

/** Customers the outbox rows are spread over, so one send carries several message keys. */
const CUSTOMERS = 7;
/** Rows of the held wave, more than one relay send (100 messages) and fewer than one cycle (500 rows). */
const HELD_WAVE_ROWS = 150;
/** Cycles the other relay must finish while the first send is held. */
const SKIPPED_CYCLES = 3;
const WAVE_ROWS = 40;
const MIN_FREE_RUNNING_ROWS = 200;
const MAX_WAVES = 20;

type RelayName = 'A' | 'B';

interface Interval {
  relay: RelayName;
  startMs: number;
  endMs: number;
}

interface CycleRecord extends Interval {
  published: number;
}

/**
 * Holds the first producer send that arrives after `arm()` until `release()`, so the relay that
 * made it keeps its advisory lock for as long as the test needs.
 */
class SendGate {
  private armed = false;
  private opened: Promise<void> = Promise.resolve();
  private open: () => void = () => undefined;
  private reachedBy?: (relay: RelayName) => void;
  reachedAtMs = 0;
  releasedAtMs = 0;

  arm(): Promise<RelayName> {
    this.armed = true;
    this.opened = new Promise((resolve) => {
      this.open = resolve;
    });
    return new Promise((resolve) => {
      this.reachedBy = resolve;
    });
  }

  async pass(relay: RelayName): Promise<void> {
    if (!this.armed) {
      return;
    }
    this.armed = false;
    this.reachedAtMs = performance.now();
    this.reachedBy?.(relay);
    await this.opened;
  }

  release(): void {
    this.armed = false;
    this.releasedAtMs = performance.now();
    this.open();
  }
}

function overlapping(first: Interval[], second: Interval[]): [Interval, Interval][] {
  return first.flatMap((a) =>
    second.filter((b) => a.startMs < b.endMs && b.startMs < a.endMs).map((b): [Interval, Interval] => [a, b]),
  );
}

describe('outbox relay exclusion', () => {
  const kafka = new TestKafka('relay-exclusion');
  const gate = new SendGate();
  const sends: Interval[] = [];
  const cycles: CycleRecord[] = [];
  const relays = new Map<RelayName, OutboxRelay>();
  let database: TestDatabase;

  /** Creates a kafkajs client whose producers record each send's interval and pass it through the gate. */
  function recordingKafka(relay: RelayName): Kafka {
    const brokers = (process.env.KAFKA_BROKERS ?? '').split(',').filter(Boolean);
    const client = new Kafka({ clientId: `relay-exclusion-${relay}`, brokers, logLevel: logLevel.NOTHING });
    const createProducer = client.producer.bind(client);
    client.producer = (config?: ProducerConfig): Producer => {
      const producer = createProducer(config);
      const send = producer.send.bind(producer);
      producer.send = async (record: ProducerRecord): Promise<RecordMetadata[]> => {
        const startMs = performance.now();
        try {
          await gate.pass(relay);
          return await send(record);
        } finally {
          sends.push({ relay, startMs, endMs: performance.now() });
        }
      };
      return producer;
    };
    return client;
  }

  /** Builds a relay as the service does, records its cycles and starts its polling loop. */
  function startRelay(name: RelayName): void {
    const config = loadConfig({
      APP_ENV: 'test',
      KAFKA_BROKERS: process.env.KAFKA_BROKERS,
      KAFKA_TOPIC_LOCKS: kafka.topics.locks,
      DATABASE_URL: database.url,
      RELAY_POLL_MS: '10',
      LOG_LEVEL: 'silent',
    });
    const relay = new OutboxRelay(
      config,
      createRootLogger('silent'),
      new MetricsService(),
      new FaultInjector(config),
    );
    const cycle = relay.cycle.bind(relay);
    relay.cycle = async () => {
      const startMs = performance.now();
      const result = await cycle();
      cycles.push({ relay: name, startMs, endMs: performance.now(), published: result.published });
      return result;
    };
    relay.start(recordingKafka(name));
    relays.set(name, relay);
  }

  /** Inserts `count` outbox rows whose payload is their event id and returns the event ids. */
  async function insertRows(count: number): Promise<string[]> {
    const eventIds = Array.from({ length: count }, () => randomUUID());
    await database.query(
      `INSERT INTO outbox (customer_id, event_id, event_type, lock_version, payload)
       SELECT (v.position % $2) + 1, v.event_id, 'CustomerLocked', v.position,
              json_build_object('eventId', v.event_id)::text
       FROM unnest($1::uuid[]) WITH ORDINALITY AS v(event_id, position)`,
      [eventIds, CUSTOMERS],
    );
    for (const relay of relays.values()) {
      relay.nudge();
    }
    return eventIds;
  }

  async function pendingRows(): Promise<number> {
    const [row] = await database.query<{ pending: number }>(
      'SELECT count(*)::int AS pending FROM outbox WHERE published_at IS NULL',
    );
    return row.pending;
  }

  async function waitUntilDrained(): Promise<void> {
    await eventually(async () => ((await pendingRows()) === 0 ? true : undefined), 30_000, 'empty outbox');
  }

  /** Counts how often each of `eventIds` is on the lock topic, read up to its current end. */
  async function publishedCounts(eventIds: string[]): Promise<Map<string, number>> {
    const expectedIds = new Set(eventIds);
    const counts = new Map(eventIds.map((eventId) => [eventId, 0]));
    for (const message of await kafka.readAll(kafka.topics.locks)) {
      const eventId = String(decodeValue(message.value).eventId);
      if (expectedIds.has(eventId)) {
        counts.set(eventId, (counts.get(eventId) ?? 0) + 1);
      }
    }
    return counts;
  }

  function sendsOf(relay: RelayName): Interval[] {
    return sends.filter((send) => send.relay === relay);
  }

  beforeAll(async () => {
    database = await createTestDatabase();
    await kafka.createTopics();
    startRelay('A');
    startRelay('B');
    await eventually(
      () => {
        const started = ['A', 'B'].every((name) => cycles.some((cycle) => cycle.relay === name));
        return Promise.resolve(started ? true : undefined);
      },
      15_000,
      'a first cycle of both relays',
    );
  });

  afterAll(async () => {
    gate.release();
    await Promise.all([...relays.values()].map((relay) => relay.stop(Date.now() + 10_000)));
    await kafka.disconnect();
    await database?.drop();
  });

  describe('while one relay holds a send', () => {
    let holder: RelayName;
    let other: RelayName;
    let eventIds: string[];
    let pendingWhileHeld = -1;

    beforeAll(async () => {
      const reached = gate.arm();
      eventIds = await insertRows(HELD_WAVE_ROWS);
      try {
        holder = await withTimeout(reached, 10_000, 'first relay send');
        other = holder === 'A' ? 'B' : 'A';
        // The relay bounds a send to 5 s, so the held send is released well before that.
        await eventually(
          () => {
            const skipped = cycles.filter(
              (cycle) => cycle.relay === other && cycle.startMs > gate.reachedAtMs,
            );
            return Promise.resolve(skipped.length >= SKIPPED_CYCLES ? true : undefined);
          },
          3000,
          `${SKIPPED_CYCLES} cycles of the other relay`,
        );
        pendingWhileHeld = await pendingRows();
      } finally {
        gate.release();
      }
      await waitUntilDrained();
    });

    /** Selects the other relay's cycles that ended while the held send kept the advisory lock taken. */
    function cyclesEndedWhileHeld(): CycleRecord[] {
      return cycles.filter(
        (cycle) => cycle.relay === other && cycle.endMs > gate.reachedAtMs && cycle.endMs < gate.releasedAtMs,
      );
    }

    it('other relay keeps cycling', () => {
      const inside = cyclesEndedWhileHeld().filter((cycle) => cycle.startMs > gate.reachedAtMs);

      expect(inside.length).toBeGreaterThanOrEqual(SKIPPED_CYCLES);
    });

    it('other relay publishes nothing', () => {
      const publishing = cyclesEndedWhileHeld().filter((cycle) => cycle.published > 0);

      expect(publishing).toEqual([]);
    });

    it('other relay sends nothing', () => {
      const started = sendsOf(other).filter(
        (send) => send.startMs > gate.reachedAtMs && send.startMs < gate.releasedAtMs,
      );

      expect(started).toEqual([]);
    });

    it('rows stay pending meanwhile', () => {
      expect(pendingWhileHeld).toBe(HELD_WAVE_ROWS);
    });

    it('publishes held rows once', async () => {
      const counts = await publishedCounts(eventIds);
      const notOnce = [...counts].filter(([, count]) => count !== 1);

      expect(notOnce).toEqual([]);
    });
  });

  describe('with both relays polling', () => {
    const eventIds: string[] = [];
    let firstCycle = 0;
    let firstSend = 0;

    function publishers(): RelayName[] {
      const names = cycles
        .slice(firstCycle)
        .filter((cycle) => cycle.published > 0)
        .map((cycle) => cycle.relay);
      return [...new Set(names)].sort();
    }

    // Which relay wins a wave is up to timing, so waves go on until each relay published one.
    beforeAll(async () => {
      firstCycle = cycles.length;
      firstSend = sends.length;
      for (let wave = 0; wave < MAX_WAVES; wave++) {
        eventIds.push(...(await insertRows(WAVE_ROWS)));
        await waitUntilDrained();
        if (publishers().length === 2 && eventIds.length >= MIN_FREE_RUNNING_ROWS) {
          break;
        }
      }
    });

    it('both relays publish', () => {
      expect(publishers()).toEqual(['A', 'B']);
    });

    it('sends never overlap', () => {
      const polled = sends.slice(firstSend);
      const overlaps = overlapping(
        polled.filter((send) => send.relay === 'A'),
        polled.filter((send) => send.relay === 'B'),
      );

      expect(overlaps).toEqual([]);
    });

    it('publishes every row once', async () => {
      const counts = await publishedCounts(eventIds);
      const notOnce = [...counts].filter(([, count]) => count !== 1);

      expect(notOnce).toEqual([]);
    });
  });
});
