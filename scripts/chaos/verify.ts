import { parseJson } from '../../src/common/json/lossless-json';
import { ReadRecord } from './kafka-io';
import { AutoReason, CustomerLedger, TransitionChange } from './ledger';
import { ChaosRecord, PoisonCode, SEQUENCE_HEADER } from './workload';

export interface CustomerRow {
  id: bigint;
  quotaUsed: bigint;
  userUsed: bigint;
  lockReasons: string[];
  lockVersion: bigint;
}

export interface HistoryRow {
  customerId: bigint;
  id: bigint;
  change: 'added' | 'removed' | 'deleted';
  reason: string | null;
  reasonsBefore: string[];
  reasonsAfter: string[];
  lockVersion: bigint;
  eventId: string | null;
  eventType: string | null;
}

export interface DatabaseState {
  customers: CustomerRow[];
  /** `customerId|source#id` of every dedupe key. */
  dedupeKeys: Set<string>;
  users: Map<bigint, Set<string>>;
  history: HistoryRow[];
  unpublishedOutbox: number;
}

export interface TopicState {
  inbound: ReadRecord[];
  deadLetters: ReadRecord[];
  locks: ReadRecord[];
}

/** Every figure of the check; the run fails when any figure named in `failures` is not zero. */
export interface Verdict {
  events: number;
  poison: number;
  applied: number;
  deduplicated: number;
  deadLettered: number;
  lost: number;
  doubleCounted: number;
  lockMissing: number;
  lockExtra: number;
  details: {
    recordsOnTopics: number;
    producerRepeats: number;
    plannedRecordsNotOnTopics: number;
    dedupeMissing: number;
    dedupeExtra: number;
    counterMismatches: number;
    userSetMismatches: number;
    deadLetterRepeats: number;
    deadLettersMissing: number;
    deadLettersUnexpected: number;
    deadLettersWithWrongCode: number;
    deadLettersByCode: Record<string, number>;
    lockEventsPublished: number;
    lockEventRepeats: number;
    lockOrderViolations: number;
    lockEventsChangedOnRepeat: number;
    reasonSetMismatches: number;
    historyMismatches: number;
    lockVersionMismatches: number;
    unpublishedOutbox: number;
    clampedDecreases: number;
  };
  /** Readable descriptions of the first problems found, for the report. */
  samples: string[];
}

interface LockEvent {
  id: string;
  type: string;
  customerId: bigint;
  reason?: string;
  lockReasons: string[];
  lockVersion: bigint;
  quotaUsed: bigint;
  userUsed: bigint;
  raw: string;
}

function coordinate(topic: string, partition: number | string, offset: bigint | string): string {
  return `${topic}:${partition}:${offset}`;
}

function parseLockEvent(record: ReadRecord): LockEvent {
  const raw = record.value?.toString('utf8') ?? '';
  const event = parseJson(raw) as {
    id: string;
    type: string;
    data: {
      customerId: bigint;
      reason?: string;
      lockReasons: string[];
      lockVersion: bigint;
      quotaUsed: bigint;
      userUsed: bigint;
    };
  };
  return {
    id: event.id,
    type: event.type,
    customerId: event.data.customerId,
    reason: event.data.reason,
    lockReasons: event.data.lockReasons,
    lockVersion: event.data.lockVersion,
    quotaUsed: event.data.quotaUsed,
    userUsed: event.data.userUsed,
    raw,
  };
}

function sameSet(a: Iterable<string>, b: Iterable<string>): boolean {
  const left = new Set(a);
  const right = new Set(b);
  return left.size === right.size && [...left].every((item) => right.has(item));
}

/** Compares what the topics and the database hold with the workload's ledger. */
export class Verifier {
  private readonly samples: string[] = [];

  constructor(
    private readonly records: readonly ChaosRecord[],
    private readonly ledgers: ReadonlyMap<bigint, CustomerLedger>,
    private readonly topicNames: Record<ChaosRecord['topic'], string>,
  ) {}

  private note(problem: string): void {
    if (this.samples.length < 40) {
      this.samples.push(problem);
    }
  }

  verify(topics: TopicState, database: DatabaseState): Verdict {
    const inbound = this.checkInbound(topics.inbound);
    const deadLetters = this.checkDeadLetters(topics.deadLetters, inbound.poisonCodes);
    const dedupe = this.checkDedupe(database.dedupeKeys);
    const counters = this.checkCounters(database, dedupe.missingByCustomer);
    const locks = this.checkLocks(topics.locks, database);
    let clampedDecreases = 0;
    for (const ledger of this.ledgers.values()) {
      clampedDecreases += ledger.clampedDecreases;
    }
    const applied = dedupe.expected - dedupe.missing;
    if (database.unpublishedOutbox > 0) {
      this.note(`${database.unpublishedOutbox} outbox rows are still unpublished`);
    }
    return {
      events: this.records.length,
      poison: inbound.poisonCodes.size,
      applied,
      deduplicated: inbound.validRecords - applied,
      deadLettered: deadLetters.distinct,
      lost: dedupe.missing + deadLetters.missing,
      doubleCounted: dedupe.extra + counters.unexplained,
      lockMissing: locks.missing,
      lockExtra: locks.extra,
      details: {
        recordsOnTopics: topics.inbound.length,
        producerRepeats: inbound.producerRepeats,
        plannedRecordsNotOnTopics: inbound.notOnTopics,
        dedupeMissing: dedupe.missing,
        dedupeExtra: dedupe.extra,
        counterMismatches: counters.mismatches,
        userSetMismatches: counters.userSetMismatches,
        deadLetterRepeats: deadLetters.repeats,
        deadLettersMissing: deadLetters.missing,
        deadLettersUnexpected: deadLetters.unexpected,
        deadLettersWithWrongCode: deadLetters.wrongCode,
        deadLettersByCode: deadLetters.byCode,
        lockEventsPublished: locks.distinct,
        lockEventRepeats: locks.repeats,
        lockOrderViolations: locks.orderViolations,
        lockEventsChangedOnRepeat: locks.changedOnRepeat,
        reasonSetMismatches: locks.reasonSetMismatches,
        historyMismatches: locks.historyMismatches,
        lockVersionMismatches: locks.lockVersionMismatches,
        unpublishedOutbox: database.unpublishedOutbox,
        clampedDecreases,
      },
      samples: this.samples,
    };
  }

  /** Maps the records read back to the plan: which coordinates hold poison, and how many valid records arrived. */
  private checkInbound(inbound: readonly ReadRecord[]) {
    const poisonCodes = new Map<string, PoisonCode>();
    const seen = new Map<number, number>();
    let validRecords = 0;
    for (const record of inbound) {
      const seq = Number(record.headers[SEQUENCE_HEADER]);
      const planned = this.records[seq];
      if (planned === undefined || record.topic !== this.topicNames[planned.topic]) {
        this.note(`record ${coordinate(record.topic, record.partition, record.offset)} is not in the plan`);
        continue;
      }
      seen.set(seq, (seen.get(seq) ?? 0) + 1);
      if (planned.poison !== undefined) {
        poisonCodes.set(coordinate(record.topic, record.partition, record.offset), planned.poison);
      } else {
        validRecords++;
      }
    }
    let producerRepeats = 0;
    for (const count of seen.values()) {
      producerRepeats += count - 1;
    }
    const notOnTopics = this.records.length - seen.size;
    if (notOnTopics > 0) {
      this.note(`${notOnTopics} planned records never reached the inbound topics`);
    }
    return { poisonCodes, validRecords, producerRepeats, notOnTopics };
  }

  private checkDeadLetters(deadLetters: readonly ReadRecord[], poisonCodes: ReadonlyMap<string, PoisonCode>) {
    const codes = new Map<string, string>();
    let repeats = 0;
    let wrongCode = 0;
    let unexpected = 0;
    const byCode: Record<string, number> = {};
    for (const letter of deadLetters) {
      const where = coordinate(
        letter.headers['x-original-topic'] ?? '?',
        letter.headers['x-original-partition'] ?? '?',
        letter.headers['x-original-offset'] ?? '?',
      );
      const reason = letter.headers['x-dlq-reason'] ?? '';
      if (codes.has(where)) {
        repeats++;
        if (codes.get(where) !== reason) {
          wrongCode++;
          this.note(`dead letter ${where} repeated with another code ${reason}`);
        }
        continue;
      }
      codes.set(where, reason);
      byCode[reason] = (byCode[reason] ?? 0) + 1;
      const expected = poisonCodes.get(where);
      if (expected === undefined) {
        unexpected++;
        this.note(
          `dead letter ${where} (${reason}: ${letter.headers['x-dlq-error']}) is not a poison record`,
        );
      } else if (expected !== reason) {
        wrongCode++;
        this.note(
          `dead letter ${where} has code ${reason}, expected ${expected}: ${letter.headers['x-dlq-error']}`,
        );
      }
    }
    let missing = 0;
    for (const [where, code] of poisonCodes) {
      if (!codes.has(where)) {
        missing++;
        this.note(`poison record ${where} (${code}) has no dead letter`);
      }
    }
    return { distinct: codes.size, repeats, wrongCode, unexpected, missing, byCode };
  }

  private checkDedupe(dedupeKeys: ReadonlySet<string>) {
    let expected = 0;
    let missing = 0;
    const missingByCustomer = new Map<bigint, number>();
    const wanted = new Set<string>();
    for (const ledger of this.ledgers.values()) {
      for (const eventKey of ledger.eventKeys) {
        const key = `${ledger.customerId}|${eventKey}`;
        wanted.add(key);
        expected++;
        if (!dedupeKeys.has(key)) {
          missing++;
          missingByCustomer.set(ledger.customerId, (missingByCustomer.get(ledger.customerId) ?? 0) + 1);
          this.note(`event ${key} was never applied`);
        }
      }
    }
    let extra = 0;
    for (const key of dedupeKeys) {
      if (!wanted.has(key)) {
        extra++;
        this.note(`dedupe key ${key} belongs to no valid event`);
      }
    }
    return { expected, missing, extra, missingByCustomer };
  }

  /** Counter mismatches of customers that lost no event cannot come from a loss, so they count as double counting. */
  private checkCounters(database: DatabaseState, missingByCustomer: ReadonlyMap<bigint, number>) {
    let mismatches = 0;
    let unexplained = 0;
    let userSetMismatches = 0;
    const rows = new Map(database.customers.map((row) => [row.id, row]));
    for (const ledger of this.ledgers.values()) {
      const row = rows.get(ledger.customerId);
      if (row === undefined) {
        mismatches++;
        unexplained++;
        this.note(`customer ${ledger.customerId} is missing from the database`);
        continue;
      }
      if (row.quotaUsed !== ledger.quotaUsed || row.userUsed !== ledger.userUsed) {
        mismatches++;
        if (!missingByCustomer.has(ledger.customerId)) {
          unexplained++;
        }
        this.note(
          `customer ${ledger.customerId}: quotaUsed ${row.quotaUsed} userUsed ${row.userUsed}, ` +
            `ledger ${ledger.quotaUsed} and ${ledger.userUsed}`,
        );
      }
      if (!sameSet(database.users.get(ledger.customerId) ?? [], ledger.users)) {
        userSetMismatches++;
        this.note(`customer ${ledger.customerId}: the user set differs from the ledger's`);
      }
    }
    return { mismatches, unexplained, userSetMismatches };
  }

  private checkLocks(lockRecords: readonly ReadRecord[], database: DatabaseState) {
    const result = {
      distinct: 0,
      orderViolations: 0,
      missing: 0,
      extra: 0,
      repeats: 0,
      changedOnRepeat: 0,
      reasonSetMismatches: 0,
      historyMismatches: 0,
      lockVersionMismatches: 0,
    };
    const byId = new Map<string, LockEvent>();
    const byCustomer = new Map<bigint, LockEvent[]>();
    // A customer's events share one partition, so offset order is the order subscribers see.
    const inTopicOrder = [...lockRecords].sort((a, b) =>
      a.partition !== b.partition ? a.partition - b.partition : a.offset < b.offset ? -1 : 1,
    );
    for (const record of inTopicOrder) {
      const event = parseLockEvent(record);
      const earlier = byId.get(event.id);
      if (earlier !== undefined) {
        result.repeats++;
        if (earlier.raw !== event.raw) {
          result.changedOnRepeat++;
          this.note(`lock event ${event.id} was published again with other content`);
        }
        continue;
      }
      byId.set(event.id, event);
      const list = byCustomer.get(event.customerId) ?? [];
      const previous = list.at(-1);
      if (previous !== undefined && event.lockVersion <= previous.lockVersion) {
        result.orderViolations++;
        this.note(
          `customer ${event.customerId}: lock event v${event.lockVersion} first published after v${previous.lockVersion}`,
        );
      }
      list.push(event);
      byCustomer.set(event.customerId, list);
    }
    result.distinct = byId.size;
    const historyByCustomer = new Map<bigint, HistoryRow[]>();
    for (const row of database.history) {
      const list = historyByCustomer.get(row.customerId) ?? [];
      list.push(row);
      historyByCustomer.set(row.customerId, list);
    }
    const rows = new Map(database.customers.map((row) => [row.id, row]));
    for (const ledger of this.ledgers.values()) {
      const published = (byCustomer.get(ledger.customerId) ?? []).sort((a, b) =>
        a.lockVersion < b.lockVersion ? -1 : a.lockVersion > b.lockVersion ? 1 : 0,
      );
      byCustomer.delete(ledger.customerId);
      const history = (historyByCustomer.get(ledger.customerId) ?? []).sort((a, b) => (a.id < b.id ? -1 : 1));
      this.checkHistory(ledger, history, result);
      const row = rows.get(ledger.customerId);
      if (row === undefined) {
        continue;
      }
      if (!sameSet(row.lockReasons, ledger.reasons)) {
        result.reasonSetMismatches++;
        this.note(
          `customer ${ledger.customerId}: reasons [${row.lockReasons.join(',')}], ledger [${[...ledger.reasons].join(',')}]`,
        );
      }
      if (ledger.kind === 'mixed') {
        this.compareWithHistory(ledger.customerId, published, history, row, result);
      } else {
        this.compareWithLedger(ledger, published, row, result);
      }
    }
    for (const [customerId, events] of byCustomer) {
      result.extra += events.length;
      this.note(`${events.length} lock events for customer ${customerId}, which the workload never touched`);
    }
    return result;
  }

  /** One kind of event arrives in one partition, so the published sequence must be exactly the ledger's. */
  private compareWithLedger(
    ledger: CustomerLedger,
    published: LockEvent[],
    row: CustomerRow,
    result: { missing: number; extra: number; lockVersionMismatches: number },
  ): void {
    const expected = ledger.expectedEvents;
    const length = Math.max(expected.length, published.length);
    for (let i = 0; i < length; i++) {
      const want = expected[i];
      const got = published[i];
      const same =
        want !== undefined &&
        got !== undefined &&
        got.type === want.type &&
        got.reason === want.reason &&
        got.lockVersion === want.lockVersion &&
        got.quotaUsed === want.quotaUsed &&
        got.userUsed === want.userUsed;
      if (same) {
        continue;
      }
      if (want !== undefined) {
        result.missing++;
      }
      if (got !== undefined) {
        result.extra++;
      }
      this.note(
        `customer ${ledger.customerId} lock event ${i + 1}: expected ${describeExpected(want)}, got ${describeEvent(got)}`,
      );
    }
    if (row.lockVersion !== ledger.lockVersion) {
      result.lockVersionMismatches++;
      this.note(
        `customer ${ledger.customerId}: lockVersion ${row.lockVersion}, ledger ${ledger.lockVersion}`,
      );
    }
  }

  /** Events of two topics interleave freely, so the history decides which lock events must exist. */
  private compareWithHistory(
    customerId: bigint,
    published: LockEvent[],
    history: HistoryRow[],
    row: CustomerRow,
    result: { missing: number; extra: number; lockVersionMismatches: number },
  ): void {
    const publishing = history.filter((entry) => entry.eventId !== null);
    const publishedIds = new Set(published.map((event) => event.id));
    const historyIds = new Set(publishing.map((entry) => entry.eventId!));
    for (const entry of publishing) {
      if (!publishedIds.has(entry.eventId!)) {
        result.missing++;
        this.note(
          `customer ${customerId}: history event ${entry.eventId} (${entry.eventType}) was never published`,
        );
      }
    }
    for (const event of published) {
      if (!historyIds.has(event.id)) {
        result.extra++;
        this.note(`customer ${customerId}: published event ${event.id} has no history row`);
      }
    }
    if (row.lockVersion !== BigInt(publishing.length)) {
      result.lockVersionMismatches++;
      this.note(
        `customer ${customerId}: lockVersion ${row.lockVersion}, ${publishing.length} publishing history rows`,
      );
    }
  }

  /**
   * Replays the history through the lock rules: each row must start from the previous row's
   * reasons, add or remove exactly its reason, publish exactly when the rules say, and number
   * its events without gaps; per reason, the changes must be the ledger's, in partition order.
   */
  private checkHistory(
    ledger: CustomerLedger,
    history: HistoryRow[],
    result: { historyMismatches: number },
  ): void {
    let reasons = new Set<string>();
    let lockVersion = 0n;
    const changes: Record<AutoReason, TransitionChange[]> = { QUOTA_EXCEEDED: [], USER_LIMIT_EXCEEDED: [] };
    const fail = (entry: HistoryRow, problem: string): void => {
      result.historyMismatches++;
      this.note(`customer ${ledger.customerId} history row ${entry.id}: ${problem}`);
    };
    for (const entry of history) {
      if (!sameSet(entry.reasonsBefore, reasons)) {
        fail(
          entry,
          `starts from [${entry.reasonsBefore.join(',')}], the previous row ended with [${[...reasons].join(',')}]`,
        );
      }
      const after = new Set(reasons);
      if (entry.change === 'added' && entry.reason !== null) {
        after.add(entry.reason);
      } else if (entry.change === 'removed' && entry.reason !== null) {
        after.delete(entry.reason);
      } else {
        fail(entry, `unexpected change ${entry.change}`);
      }
      if (!sameSet(entry.reasonsAfter, after)) {
        fail(entry, `ends with [${entry.reasonsAfter.join(',')}], the rules give [${[...after].join(',')}]`);
      }
      const publishes = entry.change === 'added' || after.size === 0;
      const expectedType =
        entry.change === 'added' ? 'CustomerLocked' : publishes ? 'CustomerUnlocked' : null;
      if (entry.eventType !== expectedType || (entry.eventId !== null) !== publishes) {
        fail(entry, `event ${entry.eventType ?? 'none'}, the rules give ${expectedType ?? 'none'}`);
      }
      if (publishes) {
        lockVersion++;
      }
      if (entry.lockVersion !== lockVersion) {
        fail(entry, `lockVersion ${entry.lockVersion}, expected ${lockVersion}`);
      }
      if (entry.reason === 'QUOTA_EXCEEDED' || entry.reason === 'USER_LIMIT_EXCEEDED') {
        changes[entry.reason].push(entry.change as TransitionChange);
      }
      reasons = new Set(entry.reasonsAfter);
    }
    for (const reason of ['QUOTA_EXCEEDED', 'USER_LIMIT_EXCEEDED'] as const) {
      const want = ledger.transitions[reason].join(',');
      const got = changes[reason].join(',');
      if (want !== got) {
        result.historyMismatches++;
        this.note(`customer ${ledger.customerId}: ${reason} history [${got}], ledger [${want}]`);
      }
    }
  }
}

function describeExpected(event: CustomerLedger['expectedEvents'][number] | undefined): string {
  if (event === undefined) {
    return 'nothing';
  }
  return `${event.type} ${event.reason} v${event.lockVersion} quota ${event.quotaUsed} users ${event.userUsed}`;
}

function describeEvent(event: LockEvent | undefined): string {
  if (event === undefined) {
    return 'nothing';
  }
  return `${event.type} ${event.reason} v${event.lockVersion} quota ${event.quotaUsed} users ${event.userUsed}`;
}
