import { Inject, Injectable } from '@nestjs/common';
import { Kafka, Producer } from 'kafkajs';
import { Client } from 'pg';
import type { Logger } from 'pino';

import { classifyError, errorMessage } from '../common/errors/error-class';
import { FaultInjector } from '../common/fault-injector';
import { ROOT_LOGGER } from '../common/logging/logger.tokens';
import { backoffDelayMs, sleep, withTimeout } from '../common/time/backoff';
import { APP_CONFIG } from '../config/app-config';
import type { AppConfig } from '../config/app-config';
import { SESSION_SETTINGS } from '../database/data-source';
import { OUTBOX_CHANNEL } from '../locking/lock-change-writer';
import { createIdempotentProducer } from '../messaging/kafka-client';
import { MetricsService } from '../observability/metrics.service';
import { LOCK_EVENT_CONTENT_TYPE } from './lock-event';
import { OutboxListener } from './outbox-listener';

/** Key of the transaction advisory lock that lets one relay at a time publish. */
export const RELAY_LOCK_KEY = 7_301_245_002;
const ROWS_PER_CYCLE = 500;
const MESSAGES_PER_SEND = 100;
/** Below the connections' 10 s idle-in-transaction timeout, since the relay sends inside its transaction. */
const SEND_TIMEOUT_MS = 5000;
const PRODUCER_DISCONNECT_MS = 2000;
const SEQUENCE_ERRORS = new Set([
  'OUT_OF_ORDER_SEQUENCE_NUMBER',
  'DUPLICATE_SEQUENCE_NUMBER',
  'INVALID_PRODUCER_EPOCH',
  'UNKNOWN_PRODUCER_ID',
  'INVALID_PRODUCER_ID_MAPPING',
]);

interface OutboxRow {
  customer_id: string;
  id: string;
  event_id: string;
  payload: string;
}

/** A send failed for a reason that will pass (broker unavailable, timeout); the cycle ends early. */
class RelayUnavailable extends Error {}

/**
 * Publishes outbox rows to the lock topic in id order, one awaited send at a time. Each cycle runs
 * in one transaction on a dedicated connection that first takes a transaction advisory lock, so
 * only one relay across all instances publishes at any moment. A row that fails blocks the later
 * rows of its customer, never other customers' rows.
 */
@Injectable()
export class OutboxRelay {
  private kafka?: Kafka;
  private producer?: Producer;
  private client?: Client;
  private listener?: OutboxListener;
  private running = false;
  private loop?: Promise<void>;
  private wake: AbortController = new AbortController();
  private readonly logger: Logger;

  constructor(
    @Inject(APP_CONFIG) private readonly config: AppConfig,
    @Inject(ROOT_LOGGER) rootLogger: Logger,
    private readonly metrics: MetricsService,
    private readonly faults: FaultInjector,
  ) {
    this.logger = rootLogger.child({ component: 'outbox-relay' });
  }

  start(kafka: Kafka): void {
    this.kafka = kafka;
    this.running = true;
    this.listener = new OutboxListener(this.config.database.url, OUTBOX_CHANNEL, this.logger, () =>
      this.nudge(),
    );
    this.listener.start();
    this.loop = this.run();
    this.logger.info({ pollMs: this.config.relayPollMs }, 'outbox relay started');
  }

  /** Wakes the relay early, as a NOTIFY from a writer does. */
  nudge(): void {
    this.wake.abort();
  }

  /** Stops polling, then publishes what is left until `deadline` (epoch ms), then disconnects. */
  async stop(deadline: number): Promise<void> {
    if (!this.running) {
      return;
    }
    this.running = false;
    this.nudge();
    // A cycle in flight can wait SEND_TIMEOUT_MS for a broker that is gone, so the wait ends at the
    // deadline less the PRODUCER_DISCONNECT_MS that the disconnect below may still need.
    const loopEnded = await withTimeout(
      this.loop ?? Promise.resolve(),
      Math.max(0, deadline - PRODUCER_DISCONNECT_MS - Date.now()),
      'relay cycle',
    ).then(
      () => true,
      () => false,
    );
    await this.listener?.stop();
    try {
      while (loopEnded && Date.now() < deadline - SEND_TIMEOUT_MS) {
        const { published, full } = await this.cycle();
        if (!full && published === 0) {
          break;
        }
      }
    } catch (error) {
      this.logger.warn(
        { error: errorMessage(error) },
        'outbox relay stopped with unpublished rows; they stay in the outbox',
      );
    }
    await this.disconnect();
    this.logger.info('outbox relay stopped');
  }

  private async run(): Promise<void> {
    let failures = 0;
    while (this.running) {
      this.wake = new AbortController();
      let delayMs = this.config.relayPollMs;
      try {
        const { full } = await this.cycle();
        failures = 0;
        delayMs = full ? 0 : delayMs;
      } catch (error) {
        delayMs = backoffDelayMs(failures++, 500, 15_000);
        this.logger.warn({ error: errorMessage(error), delayMs }, 'outbox relay cycle failed; retrying');
        await this.dropClient();
      }
      if (delayMs > 0 && this.running) {
        await sleep(delayMs, this.wake.signal);
      }
    }
  }

  /** Runs one relay cycle; `full` reports that more rows may be waiting. */
  async cycle(): Promise<{ published: number; full: boolean }> {
    const client = await this.connect();
    // Connected before BEGIN, so a slow broker connect never counts against the idle-in-transaction timeout.
    await this.connectProducer();
    await client.query('BEGIN');
    try {
      const locked = await client.query<{ locked: boolean }>(
        'SELECT pg_try_advisory_xact_lock($1) AS locked',
        [RELAY_LOCK_KEY],
      );
      if (!locked.rows[0].locked) {
        // Another instance's relay publishes; this one only keeps the backlog gauge current.
        const waiting = await client.query<{ count: string }>(
          'SELECT count(*) AS count FROM outbox WHERE published_at IS NULL',
        );
        await client.query('ROLLBACK');
        this.metrics.outboxBacklog.set(Number(waiting.rows[0].count));
        return { published: 0, full: false };
      }
      const rows = await client.query<OutboxRow>(
        `SELECT customer_id, id, event_id, payload FROM outbox
         WHERE published_at IS NULL ORDER BY id LIMIT $1`,
        [ROWS_PER_CYCLE],
      );
      const published = await this.publishRows(client, rows.rows);
      const backlog = await client.query<{ count: string }>(
        'SELECT count(*) AS count FROM outbox WHERE published_at IS NULL',
      );
      await client.query('COMMIT');
      this.metrics.outboxBacklog.set(Number(backlog.rows[0].count));
      return { published, full: rows.rows.length === ROWS_PER_CYCLE };
    } catch (error) {
      await client.query('ROLLBACK').catch(() => undefined);
      throw error;
    }
  }

  private async publishRows(client: Client, rows: OutboxRow[]): Promise<number> {
    const blocked = new Set<string>();
    let published = 0;
    let position = 0;
    while (position < rows.length) {
      const chunk: OutboxRow[] = [];
      for (; position < rows.length && chunk.length < MESSAGES_PER_SEND; position++) {
        if (!blocked.has(rows[position].customer_id)) {
          chunk.push(rows[position]);
        }
      }
      if (chunk.length === 0) {
        break;
      }
      try {
        await this.send(chunk);
        this.faults.reach('after-relay-send');
        await this.markPublished(client, chunk);
        published += chunk.length;
      } catch (error) {
        if (error instanceof RelayUnavailable) {
          this.logger.warn(
            { error: errorMessage(error), published },
            'lock topic unavailable; ending relay cycle',
          );
          return published;
        }
        published += await this.publishOneByOne(client, chunk, blocked);
      }
    }
    return published;
  }

  /** Finds the rows that fail when a multi-row send failed; their customers' later rows wait. */
  private async publishOneByOne(client: Client, chunk: OutboxRow[], blocked: Set<string>): Promise<number> {
    let published = 0;
    for (const row of chunk) {
      if (blocked.has(row.customer_id)) {
        continue;
      }
      try {
        await this.send([row]);
        this.faults.reach('after-relay-send');
        await this.markPublished(client, [row]);
        published++;
      } catch (error) {
        if (error instanceof RelayUnavailable) {
          throw error;
        }
        blocked.add(row.customer_id);
        this.logger.error(
          { customerId: row.customer_id, eventId: row.event_id, error: errorMessage(error) },
          'lock event could not be published; later events of this customer wait',
        );
        await client.query(
          'UPDATE outbox SET attempts = attempts + 1, last_error = $3 WHERE customer_id = $1 AND id = $2',
          [row.customer_id, row.id, errorMessage(error).slice(0, 1000)],
        );
      }
    }
    return published;
  }

  private async send(rows: OutboxRow[]): Promise<void> {
    const producer = await this.connectProducer();
    try {
      await withTimeout(
        producer.send({
          topic: this.config.kafka.topics.locks,
          acks: -1,
          timeout: SEND_TIMEOUT_MS,
          messages: rows.map((row) => ({
            key: row.customer_id,
            value: row.payload,
            headers: { 'content-type': LOCK_EVENT_CONTENT_TYPE },
          })),
        }),
        SEND_TIMEOUT_MS,
        'lock event send',
      );
      this.metrics.lockEventsPublished.inc(rows.length);
    } catch (error) {
      const type = (error as { type?: unknown }).type;
      const timedOut = errorMessage(error).includes('timed out');
      if (timedOut || (typeof type === 'string' && SEQUENCE_ERRORS.has(type))) {
        // A new producer drops kafkajs' internal retries of the old one and starts a fresh sequence.
        await this.resetProducer();
      }
      if (timedOut || classifyError(error) === 'availability') {
        throw new RelayUnavailable(errorMessage(error), { cause: error });
      }
      throw error;
    }
  }

  private async markPublished(client: Client, rows: OutboxRow[]): Promise<void> {
    await client.query(
      `UPDATE outbox o SET published_at = clock_timestamp(), attempts = o.attempts + 1, last_error = NULL
       FROM unnest($1::bigint[], $2::bigint[]) AS v(customer_id, id)
       WHERE o.customer_id = v.customer_id AND o.id = v.id`,
      [rows.map((row) => row.customer_id), rows.map((row) => row.id)],
    );
  }

  private async connect(): Promise<Client> {
    if (this.client) {
      return this.client;
    }
    const client = new Client({ connectionString: this.config.database.url, options: SESSION_SETTINGS });
    client.on('error', (error) => {
      this.logger.warn({ error: errorMessage(error) }, 'outbox relay connection failed');
      if (this.client === client) {
        this.client = undefined;
      }
    });
    await client.connect();
    this.client = client;
    return client;
  }

  private async dropClient(): Promise<void> {
    const client = this.client;
    this.client = undefined;
    await client?.end().catch(() => undefined);
  }

  private async connectProducer(): Promise<Producer> {
    if (this.producer) {
      return this.producer;
    }
    if (!this.kafka) {
      throw new Error('outbox relay is not started');
    }
    const producer = createIdempotentProducer(this.kafka);
    await withTimeout(producer.connect(), SEND_TIMEOUT_MS, 'lock producer connect').catch(
      async (error: unknown) => {
        await producer.disconnect().catch(() => undefined);
        throw new RelayUnavailable(errorMessage(error), { cause: error });
      },
    );
    this.producer = producer;
    return producer;
  }

  private async resetProducer(): Promise<void> {
    const producer = this.producer;
    this.producer = undefined;
    await withTimeout(
      producer?.disconnect() ?? Promise.resolve(),
      PRODUCER_DISCONNECT_MS,
      'lock producer disconnect',
    ).catch(() => undefined);
  }

  private async disconnect(): Promise<void> {
    await this.resetProducer();
    await this.dropClient();
  }
}
