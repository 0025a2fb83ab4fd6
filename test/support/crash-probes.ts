import { Kafka } from 'kafkajs';

import { decodeValue, ReadMessage } from './kafka';
import { ServiceProcess } from './service-process';
import { TestDatabase } from './test-database';

/** Counters of a customer as decimal text from PostgreSQL, so int64 values keep every digit. */
export interface CustomerCounters {
  quotaUsed: string;
  userUsed: string;
  lockVersion: string;
  lockReasons: string;
}

export interface OutboxRow {
  eventId: string;
  payload: string;
  published: boolean;
}

/** Position of one inbound event in Kafka, with its CloudEvents id. */
export interface EventPosition {
  eventId: string;
  partition: number;
  offset: string;
}

export async function customerCounters(
  database: TestDatabase,
  customerId: string,
): Promise<CustomerCounters> {
  const rows = await database.query<{
    quota_used: string;
    user_used: string;
    lock_version: string;
    lock_reasons: string;
  }>(
    `SELECT quota_used::text AS quota_used, user_used::text AS user_used, lock_version::text AS lock_version,
            array_to_string(lock_reasons, ',') AS lock_reasons
     FROM customer WHERE id = $1`,
    [customerId],
  );
  if (rows.length !== 1) {
    throw new Error(`customer ${customerId} not found in database ${database.name}; create it first`);
  }
  const [row] = rows;
  return {
    quotaUsed: row.quota_used,
    userUsed: row.user_used,
    lockVersion: row.lock_version,
    lockReasons: row.lock_reasons,
  };
}

/** Counts the dedupe keys the service recorded for a customer. */
export async function dedupeKeyCount(database: TestDatabase, customerId: string): Promise<number> {
  const rows = await database.query<{ count: string }>(
    'SELECT count(*)::text AS count FROM processed_event WHERE customer_id = $1',
    [customerId],
  );
  return Number(rows[0].count);
}

/** Returns the outbox rows of a customer, or of all customers without one, in the order they were written. */
export async function outboxRows(database: TestDatabase, customerId?: string): Promise<OutboxRow[]> {
  const rows = await database.query<{ event_id: string; payload: string; published: boolean }>(
    `SELECT event_id::text AS event_id, payload, published_at IS NOT NULL AS published
     FROM outbox WHERE $1::bigint IS NULL OR customer_id = $1::bigint ORDER BY id`,
    [customerId ?? null],
  );
  return rows.map((row) => ({ eventId: row.event_id, payload: row.payload, published: row.published }));
}

/** Returns the group's committed offset for each partition of `topic`; "-1" means none. */
export async function committedOffsets(
  kafka: Kafka,
  groupId: string,
  topic: string,
): Promise<Map<number, string>> {
  const admin = kafka.admin();
  await admin.connect();
  try {
    const [result] = await admin.fetchOffsets({ groupId, topics: [topic] });
    return new Map(result.partitions.map((partition) => [partition.partition, partition.offset]));
  } finally {
    await admin.disconnect();
  }
}

/** Finds the positions of the given events among messages read from their topic, in `eventIds` order. */
export function positionsOf(messages: ReadMessage[], eventIds: string[]): EventPosition[] {
  return eventIds.map((eventId) => {
    const message = messages.find((candidate) => decodeValue(candidate.value).id === eventId);
    if (!message) {
      throw new Error(`event ${eventId} is not among the ${messages.length} message(s) read`);
    }
    return { eventId, partition: message.partition, offset: message.offset };
  });
}

/** Returns the positions that a service reported in its `applied event` lines for the given events. */
export function appliedPositions(service: ServiceProcess, eventIds: string[]): EventPosition[] {
  return service.logs
    .filter((line) => line.msg === 'applied event' && eventIds.includes(String(line.eventId)))
    .map((line) => ({
      eventId: String(line.eventId),
      partition: Number(line.partition),
      offset: String(line.offset),
    }));
}

/** Returns the ids of the events a service reported as `skipped duplicate event`, one entry per log line. */
export function duplicateIds(service: ServiceProcess, eventIds: string[]): string[] {
  return service.logs
    .filter((line) => line.msg === 'skipped duplicate event' && eventIds.includes(String(line.eventId)))
    .map((line) => String(line.eventId));
}

/**
 * Reads one sample from the service's /metrics text, matched by name and every given label.
 * Returns undefined when no such sample exists yet.
 */
export async function metricSample(
  baseUrl: string,
  name: string,
  labels: Record<string, string>,
): Promise<number | undefined> {
  const response = await fetch(`${baseUrl}/metrics`);
  if (response.status !== 200) {
    throw new Error(
      `GET /metrics failed with status ${response.status}; check that the service is still running`,
    );
  }
  const text = await response.text();
  for (const line of text.split('\n')) {
    const match = /^([a-zA-Z_:][a-zA-Z0-9_:]*)(?:\{(.*)\})? (\S+)$/.exec(line);
    if (!match || match[1] !== name) {
      continue;
    }
    const found = new Map<string, string>();
    for (const pair of (match[2] ?? '').matchAll(/([a-zA-Z_][a-zA-Z0-9_]*)="((?:[^"\\]|\\.)*)"/g)) {
      found.set(pair[1], pair[2]);
    }
    if (Object.entries(labels).every(([label, value]) => found.get(label) === value)) {
      return Number(match[3]);
    }
  }
  return undefined;
}

/**
 * Returns whether another transaction has locked the customer's row, as the usage transaction does
 * from its `SELECT ... FOR UPDATE` until its commit. The probe's own lock lasts for one statement.
 */
export async function customerRowLocked(database: TestDatabase, customerId: string): Promise<boolean> {
  try {
    await database.query('SELECT id FROM customer WHERE id = $1 FOR UPDATE NOWAIT', [customerId]);
    return false;
  } catch (error) {
    if ((error as { code?: unknown }).code === '55P03') {
      return true;
    }
    throw error;
  }
}
