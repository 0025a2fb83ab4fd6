import { INT64_MAX } from '../../src/common/json/lossless-json';
import { CustomerKind, CustomerLedger } from './ledger';
import { SeededRandom } from './random';

/** Header that carries each record's position in the workload, so a record read back maps to its plan. */
export const SEQUENCE_HEADER = 'chaos-seq';
export const STORAGE_SOURCE = '/chaos/storage';
export const USERS_SOURCE = '/chaos/users';
const REFUSED_SOURCE = '/chaos/intruder';
const EVENT_TIME = '2026-12-04T10:00:00.000Z';
const MIB = 1_048_576;

export type InboundTopic = 'storage' | 'users';

/** Dead-letter codes the workload's poison covers. PROCESSING_FAILED needs the test-only failing-id hook. */
export const POISON_CODES = [
  'TOO_LARGE',
  'INVALID_JSON',
  'INVALID_EVENT',
  'UNKNOWN_TYPE',
  'SOURCE_NOT_ALLOWED',
  'KEY_MISMATCH',
  'INVALID_DATA',
  'CUSTOMER_NOT_FOUND',
  'OUT_OF_RANGE',
  'PROCESSING_FAILED',
] as const;
export type PoisonCode = (typeof POISON_CODES)[number];

export interface CustomerSpec {
  kind: CustomerKind;
  quotaMax: bigint;
  userMax: bigint;
  /** The customer that uses 2^63-1 bytes, so any further increase is OUT_OF_RANGE. */
  overflow: boolean;
}

export interface ChaosRecord {
  seq: number;
  topic: InboundTopic;
  key: string | null;
  value: Buffer | null;
  headers: Record<string, string>;
  /** The dead-letter code a poison record must get. */
  poison?: PoisonCode;
  /** `source#id` of a valid event; a duplicate carries the key of the event it repeats. */
  eventKey?: string;
  duplicate?: boolean;
}

/** A record before it gets its sequence number; the sequence header is added to its headers. */
type RecordDraft = Omit<ChaosRecord, 'seq' | 'headers'> & { headers?: Record<string, string> };

export interface Workload {
  records: ChaosRecord[];
  ledgers: Map<bigint, CustomerLedger>;
  poisonByCode: Record<PoisonCode, number>;
  duplicates: number;
  uniqueEvents: number;
}

export interface WorkloadOptions {
  events: number;
  maxEventBytes: number;
  /** Event ids with this prefix make the service fail them on purpose (PROCESSING_FAILED). */
  failingIdPrefix: string;
  /** Share of records that are poison, and of records that repeat an earlier event. */
  poisonShare: number;
  duplicateShare: number;
}

/** Draws each customer's kind and limits. The first customer is the overflow customer. */
export function planCustomers(random: SeededRandom, count: number): CustomerSpec[] {
  const specs: CustomerSpec[] = [{ kind: 'storage', quotaMax: -1n, userMax: -1n, overflow: true }];
  for (let i = 1; i < count; i++) {
    const draw = random.next();
    const kind: CustomerKind = draw < 0.45 ? 'storage' : draw < 0.75 ? 'users' : 'mixed';
    const quotaMax = random.chance(0.05) ? -1n : BigInt(random.int(MIB, 8 * MIB));
    const userMax = random.chance(0.05) ? -1n : BigInt(random.int(1, 6));
    specs.push({ kind, quotaMax, userMax, overflow: false });
  }
  return specs;
}

function structuredValue(fields: {
  id: string;
  source: string;
  type: string;
  data: string;
  specversion?: string;
}): string {
  return (
    `{"specversion":"${fields.specversion ?? '1.0'}","id":${JSON.stringify(fields.id)},` +
    `"source":${JSON.stringify(fields.source)},"type":"${fields.type}","time":"${EVENT_TIME}",` +
    `"datacontenttype":"application/json","data":${fields.data}}`
  );
}

/**
 * Builds the seeded workload for customers whose ids are known: valid storage and user events
 * that cross and release the limits many times, repeats of earlier events under the same id,
 * and poison of every code, with the ledger of what the valid events must do.
 */
export function buildWorkload(
  random: SeededRandom,
  customers: ReadonlyMap<bigint, CustomerSpec>,
  options: WorkloadOptions,
): Workload {
  const builder = new WorkloadBuilder(random, customers, options);
  return builder.build();
}

class WorkloadBuilder {
  private readonly records: ChaosRecord[] = [];
  private readonly ledgers = new Map<bigint, CustomerLedger>();
  private readonly regular: bigint[] = [];
  private readonly overflowId: bigint;
  private readonly missingIdBase: bigint;
  private readonly recentValid: ChaosRecord[] = [];
  private readonly poisonByCode = Object.fromEntries(POISON_CODES.map((code) => [code, 0])) as Record<
    PoisonCode,
    number
  >;
  private duplicates = 0;
  private uniqueEvents = 0;
  private poisonOrder: PoisonCode[] = [];

  constructor(
    private readonly random: SeededRandom,
    customers: ReadonlyMap<bigint, CustomerSpec>,
    private readonly options: WorkloadOptions,
  ) {
    let overflowId: bigint | undefined;
    let maxId = 0n;
    for (const [id, spec] of customers) {
      this.ledgers.set(id, new CustomerLedger(id, spec.kind, spec.quotaMax, spec.userMax));
      if (spec.overflow) {
        overflowId = id;
      } else {
        this.regular.push(id);
      }
      maxId = id > maxId ? id : maxId;
    }
    if (overflowId === undefined || this.regular.length === 0) {
      throw new Error('the workload needs the overflow customer and at least one other customer');
    }
    this.overflowId = overflowId;
    this.missingIdBase = maxId + 1_000_000n;
  }

  build(): Workload {
    this.push(this.storageEvent(this.overflowId, INT64_MAX));
    while (this.records.length < this.options.events) {
      const draw = this.random.next();
      if (draw < this.options.poisonShare) {
        this.push(this.poison(this.nextPoisonCode()));
      } else if (
        draw < this.options.poisonShare + this.options.duplicateShare &&
        this.recentValid.length > 0
      ) {
        this.push(this.duplicate());
      } else {
        this.push(this.freshEvent());
      }
    }
    return {
      records: this.records,
      ledgers: this.ledgers,
      poisonByCode: this.poisonByCode,
      duplicates: this.duplicates,
      uniqueEvents: this.uniqueEvents,
    };
  }

  /** Cycles through every code in a shuffled order, so a small workload still has each one. */
  private nextPoisonCode(): PoisonCode {
    if (this.poisonOrder.length === 0) {
      this.poisonOrder = this.random.shuffle(POISON_CODES);
    }
    return this.poisonOrder.pop()!;
  }

  private push(partial: RecordDraft): void {
    const seq = this.records.length;
    const record: ChaosRecord = {
      ...partial,
      seq,
      headers: { ...partial.headers, [SEQUENCE_HEADER]: String(seq) },
    };
    this.records.push(record);
    if (record.poison !== undefined) {
      this.poisonByCode[record.poison]++;
    } else if (record.duplicate === true) {
      this.duplicates++;
    } else {
      this.uniqueEvents++;
      this.recentValid.push(record);
      if (this.recentValid.length > 2000) {
        this.recentValid.shift();
      }
    }
  }

  private nextId(): string {
    return `evt-${this.records.length}`;
  }

  private storageEvent(customerId: bigint, deltaBytes: bigint): RecordDraft {
    const id = this.nextId();
    const ledger = this.ledgers.get(customerId)!;
    ledger.applyStorage(deltaBytes);
    const eventKey = `${STORAGE_SOURCE}#${id}`;
    ledger.eventKeys.add(eventKey);
    const data = `{"customerId":${customerId},"deltaBytes":${deltaBytes}}`;
    if (this.random.chance(0.1)) {
      return {
        topic: 'storage',
        key: String(customerId),
        value: Buffer.from(data),
        headers: {
          ce_specversion: '1.0',
          ce_id: id,
          ce_source: STORAGE_SOURCE,
          ce_type: 'StorageUsageChanged',
          'content-type': 'application/json',
        },
        eventKey,
      };
    }
    const value = structuredValue({ id, source: STORAGE_SOURCE, type: 'StorageUsageChanged', data });
    return { topic: 'storage', key: String(customerId), value: Buffer.from(value), eventKey };
  }

  private userEvent(customerId: bigint, userId: string, allocate: boolean): RecordDraft {
    const id = this.nextId();
    const ledger = this.ledgers.get(customerId)!;
    ledger.applyUser(userId, allocate);
    const eventKey = `${USERS_SOURCE}#${id}`;
    ledger.eventKeys.add(eventKey);
    const type = allocate ? 'UserAllocated' : 'UserDeallocated';
    const data = `{"customerId":${customerId},"userId":${JSON.stringify(userId)}}`;
    const value = structuredValue({ id, source: USERS_SOURCE, type, data });
    return { topic: 'users', key: String(customerId), value: Buffer.from(value), eventKey };
  }

  private freshEvent(): RecordDraft {
    const customerId = this.random.pick(this.regular);
    const ledger = this.ledgers.get(customerId)!;
    const storage = ledger.kind === 'storage' || (ledger.kind === 'mixed' && this.random.chance(0.5));
    return storage ? this.storageEvent(customerId, this.storageDelta(ledger)) : this.userChange(ledger);
  }

  /** A step of a random walk that drifts back towards the limit, so it is crossed again and again. */
  private storageDelta(ledger: CustomerLedger): bigint {
    const scale = ledger.quotaMax >= 0n ? Number(ledger.quotaMax) : 4 * MIB;
    const used = Number(ledger.quotaUsed);
    if (this.random.chance(0.02)) {
      return -BigInt(used + this.random.int(1, Math.floor(scale / 4)));
    }
    const step = this.random.int(Math.floor(scale / 10), Math.floor(scale / 3));
    const up = this.random.chance(used <= scale ? 0.7 : 0.3);
    return BigInt(up ? step : -step);
  }

  private userChange(ledger: CustomerLedger): RecordDraft {
    const limit = ledger.userMax >= 0n ? Number(ledger.userMax) : 4;
    const userNumber = this.random.int(0, limit + 3);
    const userId = userNumber % 5 === 4 ? `svc_account.${userNumber}@chaos` : `user-${userNumber}`;
    const allocate = this.random.chance(ledger.users.size <= limit ? 0.7 : 0.3);
    return this.userEvent(ledger.customerId, userId, allocate);
  }

  private duplicate(): RecordDraft {
    const original = this.random.pick(this.recentValid);
    const headers = { ...original.headers };
    delete headers[SEQUENCE_HEADER];
    return {
      topic: original.topic,
      key: original.key,
      value: original.value,
      headers,
      eventKey: original.eventKey,
      duplicate: true,
    };
  }

  private poison(code: PoisonCode): RecordDraft {
    const customerId = this.random.pick(this.regular);
    const key = String(customerId);
    const id = this.nextId();
    const storageValue = (
      data: string,
      fields: { source?: string; type?: string; specversion?: string } = {},
    ) =>
      Buffer.from(
        structuredValue({
          id,
          source: fields.source ?? STORAGE_SOURCE,
          type: fields.type ?? 'StorageUsageChanged',
          data,
          specversion: fields.specversion,
        }),
      );
    const delta = `{"customerId":${customerId},"deltaBytes":1024}`;
    const variant = this.random.int(0, 4);
    switch (code) {
      case 'TOO_LARGE': {
        const padding = 'x'.repeat(this.options.maxEventBytes + this.random.int(1, 512));
        const data = `{"customerId":${customerId},"deltaBytes":1,"padding":"${padding}"}`;
        return { topic: 'storage', key, value: storageValue(data), poison: code };
      }
      case 'INVALID_JSON': {
        const values = [
          Buffer.from('this is not JSON'),
          Buffer.alloc(0),
          null,
          Buffer.from(`{"specversion":"1.0","id":"${id}"`),
          Buffer.from(`${'['.repeat(40)}${']'.repeat(40)}`),
        ];
        return { topic: variant % 2 === 0 ? 'storage' : 'users', key, value: values[variant], poison: code };
      }
      case 'INVALID_EVENT': {
        if (variant === 0) {
          const value = `{"specversion":"1.0","source":"${STORAGE_SOURCE}","type":"StorageUsageChanged","data":${delta}}`;
          return { topic: 'storage', key, value: Buffer.from(value), poison: code };
        }
        if (variant === 1) {
          return {
            topic: 'storage',
            key,
            value: Buffer.from(delta),
            headers: { ce_specversion: '1.0', ce_id: id, ce_type: 'StorageUsageChanged' },
            poison: code,
          };
        }
        return { topic: 'storage', key, value: storageValue(delta, { specversion: '0.3' }), poison: code };
      }
      case 'UNKNOWN_TYPE': {
        if (variant < 2) {
          return {
            topic: 'storage',
            key,
            value: storageValue(delta, { type: 'StorageUsageReset' }),
            poison: code,
          };
        }
        const data = `{"customerId":${customerId},"userId":"user-1"}`;
        return {
          topic: 'users',
          key,
          value: storageValue(data, { type: 'StorageUsageChanged', source: USERS_SOURCE }),
          poison: code,
        };
      }
      case 'SOURCE_NOT_ALLOWED':
        return {
          topic: 'storage',
          key,
          value: storageValue(delta, { source: REFUSED_SOURCE }),
          poison: code,
        };
      case 'KEY_MISMATCH': {
        const other = this.regular.find((candidate) => candidate !== customerId) ?? customerId + 1n;
        const keys = [null, `0${customerId}`, String(other)];
        return { topic: 'storage', key: keys[variant % 3], value: storageValue(delta), poison: code };
      }
      case 'INVALID_DATA': {
        const datas = [
          `{"customerId":${customerId},"deltaBytes":1.5}`,
          `{"customerId":${customerId},"deltaBytes":0}`,
          `{"customerId":${customerId},"deltaBytes":"NaN"}`,
          `{"customerId":${customerId},"deltaBytes":99999999999999999999}`,
        ];
        if (variant === 4) {
          const data = `{"customerId":${customerId},"userId":"user-1","deltaBytes":5}`;
          return {
            topic: 'users',
            key,
            value: storageValue(data, { type: 'UserAllocated', source: USERS_SOURCE }),
            poison: code,
          };
        }
        return { topic: 'storage', key, value: storageValue(datas[variant]), poison: code };
      }
      case 'CUSTOMER_NOT_FOUND': {
        const missing = this.missingIdBase + BigInt(this.records.length);
        const data = `{"customerId":${missing},"deltaBytes":1024}`;
        return { topic: 'storage', key: String(missing), value: storageValue(data), poison: code };
      }
      case 'OUT_OF_RANGE': {
        const data = `{"customerId":${this.overflowId},"deltaBytes":${this.random.int(1, 1000)}}`;
        return { topic: 'storage', key: String(this.overflowId), value: storageValue(data), poison: code };
      }
      case 'PROCESSING_FAILED': {
        const failingId = `${this.options.failingIdPrefix}${this.records.length}`;
        const value = structuredValue({
          id: failingId,
          source: STORAGE_SOURCE,
          type: 'StorageUsageChanged',
          data: delta,
        });
        return { topic: 'storage', key, value: Buffer.from(value), poison: code };
      }
    }
  }
}
