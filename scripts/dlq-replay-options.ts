/**
 * Command line and filter variables of `make dlq-replay`. Every invalid value raises a UsageError
 * whose message names the value and the fix, and the program exits 2 for it.
 */
import type { KafkaTopics } from '../src/config/app-config';
import { DEAD_LETTER_REASONS } from '../src/messaging/dead-letter-reason';
import { isRfc3339DateTime } from '../src/messaging/rfc3339';

/** Error for an invalid argument or filter variable. Its message names the value and the fix. */
export class UsageError extends Error {}

export interface ReplayFilters {
  /** Reason codes to select; `null` selects every reason. */
  reasons: ReadonlySet<string> | null;
  /** Earliest Kafka timestamp of a selected dead letter, in ms since the epoch; `null` for any. */
  sinceMs: number | null;
  /** Original topics to select; `null` selects every inbound topic. */
  topics: ReadonlySet<string> | null;
}

type Env = Record<string, string | undefined>;

const DURATION = /^([1-9][0-9]*)(ms|s|m|h|d)$/;
const DURATION_UNITS_MS: Record<string, number> = { ms: 1, s: 1000, m: 60_000, h: 3_600_000, d: 86_400_000 };

/** Splits a comma-separated variable; returns null when it is unset or empty. */
function listOf(env: Env, name: string): string[] | null {
  const raw = env[name];
  if (raw === undefined || raw.trim() === '') {
    return null;
  }
  const items = raw
    .split(',')
    .map((item) => item.trim())
    .filter((item) => item !== '');
  if (items.length === 0) {
    throw new UsageError(`${name}="${raw}" lists no value; set one value or a comma-separated list`);
  }
  return items;
}

function parseReasons(env: Env): Set<string> | null {
  const items = listOf(env, 'REASON');
  if (items === null) {
    return null;
  }
  const known: readonly string[] = DEAD_LETTER_REASONS;
  for (const item of items) {
    if (!known.includes(item)) {
      throw new UsageError(
        `REASON: "${item}" is not a dead-letter reason code; use one or more of ` +
          `${DEAD_LETTER_REASONS.join(', ')}, separated by commas`,
      );
    }
  }
  return new Set(items);
}

function parseSince(env: Env, nowMs: number): number | null {
  const raw = (env.SINCE ?? '').trim();
  if (raw === '') {
    return null;
  }
  const duration = DURATION.exec(raw);
  if (duration) {
    return nowMs - Number(duration[1]) * DURATION_UNITS_MS[duration[2]];
  }
  // Date.parse reads RFC 3339 with an upper-case T and Z only.
  const parsed = isRfc3339DateTime(raw) ? Date.parse(raw.toUpperCase()) : NaN;
  if (Number.isNaN(parsed)) {
    throw new UsageError(
      `SINCE: "${raw}" is neither an RFC 3339 time nor a duration; use e.g. ` +
        'SINCE=2026-03-01T08:00:00Z or SINCE=2h (units ms, s, m, h, d)',
    );
  }
  return parsed;
}

function parseTopics(env: Env, topics: KafkaTopics): Set<string> | null {
  const items = listOf(env, 'TOPIC');
  if (items === null) {
    return null;
  }
  const inbound = [topics.storage, topics.users, topics.admin];
  for (const item of items) {
    if (!inbound.includes(item)) {
      throw new UsageError(
        `TOPIC: "${item}" is not an inbound topic of this configuration; use one or more of ` +
          `${inbound.join(', ')} (KAFKA_TOPIC_STORAGE, KAFKA_TOPIC_USERS, KAFKA_TOPIC_ADMIN)`,
      );
    }
  }
  return new Set(items);
}

function parseApply(env: Env): boolean {
  const raw = (env.APPLY ?? '').trim();
  if (raw === '' || raw === '0') {
    return false;
  }
  if (raw === '1') {
    return true;
  }
  throw new UsageError(`APPLY: "${raw}" is invalid; set APPLY=1 to resend, or leave it unset for a dry run`);
}

export interface ReplayArguments {
  help: boolean;
  apply: boolean;
}

/** Reads the command-line options; APPLY=1 is read here too, because it is the same switch as --apply. */
export function parseArguments(argv: readonly string[], env: Env): ReplayArguments {
  let help = false;
  let applyFlag = false;
  for (const argument of argv) {
    if (argument === '--help' || argument === '-h') {
      help = true;
    } else if (argument === '--apply') {
      applyFlag = true;
    } else {
      throw new UsageError(`unknown argument "${argument}"; the only options are --apply and --help`);
    }
  }
  return { help, apply: help ? false : parseApply(env) || applyFlag };
}

/** Reads REASON, SINCE and TOPIC; `topics` are the service's topics, against which TOPIC is checked. */
export function parseFilters(env: Env, topics: KafkaTopics, nowMs: number): ReplayFilters {
  return {
    reasons: parseReasons(env),
    sinceMs: parseSince(env, nowMs),
    topics: parseTopics(env, topics),
  };
}
