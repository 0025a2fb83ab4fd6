/**
 * Chooses which dead letters `make dlq-replay` resends: the filters select dead letters, repeats of
 * one original message collapse into one, and what cannot be resent safely is skipped with a reason.
 */
import { IHeaders } from 'kafkajs';

import { TOO_LARGE_KEPT_BYTES } from '../src/messaging/dead-letter-publisher';
import { compareOffsets, DeadLetterRecord, OutboundMessage } from './dlq-replay-kafka';
import { ReplayFilters } from './dlq-replay-options';

const DECIMAL = /^(0|[1-9][0-9]*)$/;
/** Shown in the counts for a dead letter that lacks the header. */
export const MISSING = '(missing)';

export interface ReplayCandidate {
  /** Original coordinates as `topic/partition@offset`, unique within one run. */
  origin: string;
  originalOffset: string;
  reason: string;
  deadLetter: DeadLetterRecord;
  message: OutboundMessage;
}

export interface SkippedDeadLetter {
  /** Original coordinates, or the dead letter's own when its `x-original-*` headers are invalid. */
  origin: string;
  /** The `x-dlq-reason` code. */
  reason: string;
  /** Why it is not resent, and what to do instead. */
  skipReason: string;
}

export interface Selection {
  /** Dead letters that passed the filters, repeats included. */
  matched: number;
  /** Dead letters that passed the filters but repeat an original message already counted. */
  repeats: number;
  /** Distinct original messages per reason code. */
  byReason: Map<string, number>;
  /** Distinct original messages per original topic. */
  byTopic: Map<string, number>;
  /** The messages to resend, ordered by original topic, partition and offset. */
  resend: ReplayCandidate[];
  skipped: SkippedDeadLetter[];
}

/** Returns the first value of a header as UTF-8 text, or undefined when it is absent. */
export function headerText(headers: IHeaders, name: string): string | undefined {
  const value = headers[name];
  const first = Array.isArray(value) ? value[0] : value;
  if (first === undefined) {
    return undefined;
  }
  return Buffer.isBuffer(first) ? first.toString('utf8') : String(first);
}

/** Copies the headers without the ones the dead-letter publisher added. */
export function originalHeaders(headers: IHeaders): IHeaders {
  const original: IHeaders = {};
  for (const [name, value] of Object.entries(headers)) {
    const lower = name.toLowerCase();
    if (value !== undefined && !lower.startsWith('x-dlq-') && !lower.startsWith('x-original-')) {
      original[name] = value;
    }
  }
  return original;
}

function increment(counts: Map<string, number>, name: string): void {
  counts.set(name, (counts.get(name) ?? 0) + 1);
}

function matches(record: DeadLetterRecord, filters: ReplayFilters): boolean {
  if (filters.sinceMs !== null && !(record.timestampMs >= filters.sinceMs)) {
    return false;
  }
  const reason = headerText(record.headers, 'x-dlq-reason');
  if (filters.reasons !== null && (reason === undefined || !filters.reasons.has(reason))) {
    return false;
  }
  const topic = headerText(record.headers, 'x-original-topic');
  return filters.topics === null || (topic !== undefined && filters.topics.has(topic));
}

/**
 * Applies the filters to `records` and decides for each distinct original message whether it is
 * resent. `inboundTopics` are the topics the service consumes; `partitions` maps each existing one
 * to its partition count.
 */
export function selectDeadLetters(
  records: readonly DeadLetterRecord[],
  filters: ReplayFilters,
  inboundTopics: ReadonlySet<string>,
  partitions: ReadonlyMap<string, number>,
  deadLetterTopic: string,
): Selection {
  const selection: Selection = {
    matched: 0,
    repeats: 0,
    byReason: new Map(),
    byTopic: new Map(),
    resend: [],
    skipped: [],
  };
  const seen = new Set<string>();
  for (const record of records) {
    if (!matches(record, filters)) {
      continue;
    }
    selection.matched++;
    const reason = headerText(record.headers, 'x-dlq-reason');
    const topic = headerText(record.headers, 'x-original-topic');
    const partition = headerText(record.headers, 'x-original-partition') ?? '';
    const offset = headerText(record.headers, 'x-original-offset') ?? '';
    if (reason === undefined || topic === undefined || !DECIMAL.test(partition) || !DECIMAL.test(offset)) {
      increment(selection.byReason, reason ?? MISSING);
      increment(selection.byTopic, topic ?? MISSING);
      selection.skipped.push({
        origin: `${deadLetterTopic}/${record.partition}@${record.offset}`,
        reason: reason ?? MISSING,
        skipReason:
          'x-dlq-reason, x-original-topic, x-original-partition or x-original-offset is missing or ' +
          'invalid, so where the message came from is unknown; resend it by hand if it is needed',
      });
      continue;
    }
    const origin = `${topic}/${partition}@${offset}`;
    if (seen.has(origin)) {
      selection.repeats++;
      continue;
    }
    seen.add(origin);
    increment(selection.byReason, reason);
    increment(selection.byTopic, topic);

    const skipReason = reasonNotToResend(record, reason, topic, Number(partition), inboundTopics, partitions);
    if (skipReason !== null) {
      selection.skipped.push({ origin, reason, skipReason });
      continue;
    }
    selection.resend.push({
      origin,
      originalOffset: offset,
      reason,
      deadLetter: record,
      message: {
        topic,
        partition: Number(partition),
        key: record.key,
        value: record.value,
        headers: originalHeaders(record.headers),
      },
    });
  }
  selection.resend.sort(
    (a, b) =>
      a.message.topic.localeCompare(b.message.topic) ||
      a.message.partition - b.message.partition ||
      compareOffsets(a.originalOffset, b.originalOffset),
  );
  return selection;
}

/** Returns why a dead letter must not be resent, or null when it may be. */
function reasonNotToResend(
  record: DeadLetterRecord,
  reason: string,
  topic: string,
  partition: number,
  inboundTopics: ReadonlySet<string>,
  partitions: ReadonlyMap<string, number>,
): string | null {
  if (reason === 'TOO_LARGE') {
    const size = headerText(record.headers, 'x-dlq-original-size');
    const ofSize = size === undefined ? '' : ` of ${size}`;
    return (
      `the dead letter keeps only the first ${TOO_LARGE_KEPT_BYTES}${ofSize} bytes, so a resend would ` +
      'deliver a cut event; have its producer send the event again'
    );
  }
  if (
    headerText(record.headers, 'x-dlq-original-key-size') !== undefined ||
    headerText(record.headers, 'x-dlq-dropped-header-bytes') !== undefined
  ) {
    return 'the dead letter keeps only part of an oversized key or header set; have its producer send the event again';
  }
  if (!inboundTopics.has(topic)) {
    return (
      `${topic} is not an inbound topic of this configuration (KAFKA_TOPIC_STORAGE, KAFKA_TOPIC_USERS, ` +
      'KAFKA_TOPIC_ADMIN); run the replay with the environment of the service that wrote the dead letter'
    );
  }
  const count = partitions.get(topic);
  if (count === undefined) {
    return `topic ${topic} does not exist; start the service once, which creates it`;
  }
  if (partition >= count) {
    return `topic ${topic} has ${count} partitions, so partition ${partition} does not exist`;
  }
  return null;
}
