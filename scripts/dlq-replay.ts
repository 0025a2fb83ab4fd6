/**
 * `make dlq-replay`: resends chosen dead letters to the topics they came from. It is a dry run
 * unless APPLY=1 or --apply is given; `--help` describes the filters and the exit codes.
 */
import pino from 'pino';

import { errorMessage } from '../src/common/errors/error-class';
import { createRootLogger } from '../src/common/logging/root-logger';
import { ConfigError, loadKafkaConfig } from '../src/config/load-config';
import { createKafka } from '../src/messaging/kafka-client';
import { partitionCounts, readToEnd, Resender } from './dlq-replay-kafka';
import { parseArguments, parseFilters, ReplayFilters, UsageError } from './dlq-replay-options';
import { ReplayCandidate, selectDeadLetters, Selection } from './dlq-replay-selection';

const EXIT_FAILED = 1;
const EXIT_USAGE = 2;
const MAX_KEY_CHARS = 80;

const HELP = `Usage: make dlq-replay [REASON=...] [SINCE=...] [TOPIC=...] [APPLY=1]
       node dist/scripts/dlq-replay.js [--apply] [--help]

Reads the dead-letter topic (KAFKA_TOPIC_DLQ) from the beginning up to the end offsets it has at
start, with a consumer group of its own that commits no offsets, so the service is not disturbed.
A dry run prints how many selected dead letters there are per reason and per original topic, and
the original coordinates (topic/partition@offset) of each message it would resend. With APPLY=1 or
--apply it resends each of them to its original topic and partition, with the original key, value
and headers (without the x-dlq-* and x-original-* headers), through an idempotent producer
(acks -1, one request in flight), and prints where each one was written.

Filters, read from the environment; unset or empty selects everything:
  REASON  a reason code or a comma-separated list, e.g. CUSTOMER_NOT_FOUND,SOURCE_NOT_ALLOWED
  SINCE   select dead letters whose Kafka timestamp is at or after this time: an RFC 3339 time
          such as 2026-03-01T08:00:00Z, or a duration back from now such as 90s, 30m, 2h or 7d
  TOPIC   the original topic (header x-original-topic), or a comma-separated list; each must be an
          inbound topic: KAFKA_TOPIC_STORAGE, KAFKA_TOPIC_USERS or KAFKA_TOPIC_ADMIN
  APPLY   1 to resend, the same as --apply; unset, empty or 0 for a dry run

The Kafka settings are the service's: KAFKA_BROKERS, KAFKA_CLIENT_ID and the KAFKA_TOPIC_*
variables, with the same defaults.

A dead letter that was written more than once (the same x-original-topic, x-original-partition
and x-original-offset) is resent once per run. Never resent, and listed as skipped with the
reason: TOO_LARGE dead letters, which keep only the first 4 KiB of the event; records without
valid x-dlq-reason and x-original-* headers; and dead letters whose original topic is not an
inbound topic of this configuration. The service applies a resent event once: a dead-lettered
event wrote no deduplication key, and a second resend of an applied event is skipped as a
duplicate. Fix the cause first, because an event that fails again is dead-lettered again.

Exit status: 0 when done (also when nothing matched), 1 when Kafka failed or reading stalled,
2 for an invalid argument or variable.
`;

function say(line = ''): void {
  process.stdout.write(`${line}\n`);
}

function describeFilters(filters: ReplayFilters): string {
  const reasons = filters.reasons === null ? 'any' : [...filters.reasons].join(',');
  const since = filters.sinceMs === null ? 'any' : new Date(filters.sinceMs).toISOString();
  const topics = filters.topics === null ? 'any' : [...filters.topics].join(',');
  return `REASON=${reasons} SINCE=${since} TOPIC=${topics}`;
}

function describeKey(key: Buffer | null): string {
  if (key === null) {
    return 'null';
  }
  const text = key.toString('utf8');
  return JSON.stringify(text.length > MAX_KEY_CHARS ? `${text.slice(0, MAX_KEY_CHARS)}...` : text);
}

function describeCandidate(candidate: ReplayCandidate, deadLetterTopic: string): string {
  const { deadLetter } = candidate;
  const writtenAt = Number.isFinite(deadLetter.timestampMs)
    ? new Date(deadLetter.timestampMs).toISOString()
    : 'unknown time';
  return (
    `${candidate.origin} reason=${candidate.reason} key=${describeKey(candidate.message.key)} ` +
    `dead letter ${deadLetterTopic}/${deadLetter.partition}@${deadLetter.offset} at ${writtenAt}`
  );
}

function printCounts(title: string, counts: ReadonlyMap<string, number>): void {
  say(title);
  if (counts.size === 0) {
    say('  (none)');
  }
  const width = Math.max(0, ...[...counts.keys()].map((name) => name.length));
  for (const [name, count] of [...counts.entries()].sort(([a], [b]) => a.localeCompare(b))) {
    say(`  ${name.padEnd(width)}  ${count}`);
  }
}

function printSelection(selection: Selection, deadLetterTopic: string, apply: boolean): void {
  const distinct = selection.matched - selection.repeats;
  say(
    `Matched ${selection.matched} dead letters of ${distinct} distinct original messages ` +
      `(${selection.repeats} repeated).`,
  );
  printCounts('Per reason (distinct original messages):', selection.byReason);
  printCounts('Per original topic (distinct original messages):', selection.byTopic);
  if (!apply) {
    say(`Would resend ${selection.resend.length} (dry run; set APPLY=1 or pass --apply to send):`);
    for (const candidate of selection.resend) {
      say(`  ${describeCandidate(candidate, deadLetterTopic)}`);
    }
  }
  say(`Skipped ${selection.skipped.length}:`);
  for (const skipped of selection.skipped) {
    say(`  ${skipped.origin} reason=${skipped.reason}: ${skipped.skipReason}`);
  }
}

/** Resends the candidates in order and calls `onSent` after each one; stops at the first failure. */
async function resendAll(
  resender: Resender,
  candidates: readonly ReplayCandidate[],
  deadLetterTopic: string,
  onSent: () => void,
): Promise<void> {
  say(`Resending ${candidates.length}:`);
  for (const candidate of candidates) {
    const written = await resender.send(candidate.message);
    onSent();
    say(
      `  sent ${describeCandidate(candidate, deadLetterTopic)} ` +
        `as ${candidate.message.topic}/${written.partition}@${written.offset}`,
    );
  }
}

async function run(argv: readonly string[]): Promise<number> {
  const args = parseArguments(argv, process.env);
  if (args.help) {
    process.stdout.write(HELP);
    return 0;
  }
  const kafkaConfig = loadKafkaConfig(process.env);
  const filters = parseFilters(process.env, kafkaConfig.topics, Date.now());
  const { topics } = kafkaConfig;
  const inbound = [topics.storage, topics.users, topics.admin];

  // kafkajs warnings go to stderr as JSON lines, so stdout holds only the report.
  const logger = createRootLogger('warn', pino.destination({ fd: 2, sync: true }));
  const kafka = createKafka({ kafka: kafkaConfig }, logger, 'dlq-replay');
  say(`Filters: ${describeFilters(filters)}`);
  const read = await readToEnd(kafka, topics.deadLetters, `${kafkaConfig.clientId}-dlq-replay`);
  say(
    `Read ${read.records.length} records from ${topics.deadLetters} ` +
      `(${read.partitionCount} partitions, up to the end offsets at start).`,
  );
  const partitions = await partitionCounts(kafka, inbound);
  const selection = selectDeadLetters(
    read.records,
    filters,
    new Set(inbound),
    partitions,
    topics.deadLetters,
  );
  printSelection(selection, topics.deadLetters, args.apply);

  let sent = 0;
  const summary = (): string =>
    `Summary: read=${read.records.length} matched=${selection.matched} repeats=${selection.repeats} ` +
    `resend=${selection.resend.length} skipped=${selection.skipped.length} sent=${sent} ` +
    `mode=${args.apply ? 'apply' : 'dry-run'}`;
  if (args.apply && selection.resend.length > 0) {
    const resender = new Resender(kafka);
    try {
      await resendAll(resender, selection.resend, topics.deadLetters, () => sent++);
    } catch (error) {
      say(summary());
      throw new Error(
        `resending failed after ${sent} of ${selection.resend.length} messages: ${errorMessage(error)}; ` +
          'a new run resends the rest, and the service skips the ones already applied as duplicates',
        { cause: error },
      );
    } finally {
      await resender.disconnect();
    }
  }
  say(summary());
  return 0;
}

function main(): void {
  run(process.argv.slice(2)).then(
    (code) => process.exit(code),
    (error: unknown) => {
      if (error instanceof UsageError) {
        process.stderr.write(`dlq-replay: ${error.message}\n`);
        process.exit(EXIT_USAGE);
      }
      if (error instanceof ConfigError) {
        process.stderr.write(`dlq-replay: invalid configuration: ${error.message}\n`);
        process.exit(EXIT_USAGE);
      }
      process.stderr.write(`dlq-replay: ${errorMessage(error)}\n`);
      process.exit(EXIT_FAILED);
    },
  );
}

main();
