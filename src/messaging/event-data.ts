import { stringifyJson, toInt64 } from '../common/json/lossless-json';
import { DecodeFailure, describeValue, type JsonObject, quote } from './decode-failure';
import type { EventEnvelope, InboundEvent, InboundEventType } from './inbound-event';

/** Validation of one data field: `read` returns the field's value, or undefined when it is invalid. */
interface FieldRule<T> {
  expected: string;
  read: (value: unknown) => T | undefined;
}

const MIN_QUOTA_MAX = 1_048_576n;
const MAX_USER_MAX = 2n ** 31n - 1n;
const UNLIMITED = -1n;
const MAX_COMMENT_CHARACTERS = 1000;
const USER_ID = /^[\x21-\x7e]{1,128}$/;

const INTEGER_FORMS = '(JSON integer or decimal string)';

const CUSTOMER_ID_RULE: FieldRule<bigint> = {
  expected: `a customer id from 1 to 9223372036854775807 ${INTEGER_FORMS}`,
  read: parseCustomerId,
};

const DELTA_BYTES_RULE: FieldRule<bigint> = {
  expected: `a non-zero signed 64-bit integer ${INTEGER_FORMS}`,
  read: (value) => {
    const delta = toInt64(value);
    return delta === 0n ? undefined : delta;
  },
};

const USER_ID_RULE: FieldRule<string> = {
  expected: 'a string of 1 to 128 printable ASCII characters without spaces',
  read: (value) => (typeof value === 'string' && USER_ID.test(value) ? value : undefined),
};

const COMMENT_RULE: FieldRule<string> = {
  expected: `a string of at most ${MAX_COMMENT_CHARACTERS} characters without U+0000`,
  read: (value) => {
    // PostgreSQL text rejects U+0000, and UTF-8 has no encoding for an unpaired surrogate, so both fail here.
    if (typeof value !== 'string' || !value.isWellFormed() || value.includes('\u0000')) {
      return undefined;
    }
    // Characters are code points, the unit of PostgreSQL's length limits.
    return Array.from(value).length <= MAX_COMMENT_CHARACTERS ? value : undefined;
  },
};

const QUOTA_MAX_RULE: FieldRule<bigint> = {
  expected: `-1 or an integer from 1048576 to 9223372036854775807 ${INTEGER_FORMS}`,
  read: (value) => {
    const quotaMax = toInt64(value);
    return quotaMax === UNLIMITED || (quotaMax !== undefined && quotaMax >= MIN_QUOTA_MAX)
      ? quotaMax
      : undefined;
  },
};

const USER_MAX_RULE: FieldRule<bigint> = {
  expected: `-1 or an integer from 0 to 2147483647 ${INTEGER_FORMS}`,
  read: (value) => {
    const userMax = toInt64(value);
    const inRange = userMax !== undefined && userMax >= 0n && userMax <= MAX_USER_MAX;
    return userMax === UNLIMITED || inRange ? userMax : undefined;
  },
};

const FIELDS_BY_TYPE: Record<InboundEventType, readonly string[]> = {
  StorageUsageChanged: ['customerId', 'deltaBytes'],
  UserAllocated: ['customerId', 'userId'],
  UserDeallocated: ['customerId', 'userId'],
  LockCustomer: ['customerId', 'comment'],
  UnlockCustomer: ['customerId', 'comment'],
  SetCustomerLimits: ['customerId', 'quotaMax', 'userMax'],
};

/**
 * Reads a customer id from 1 to 2^63 - 1, given as a bigint or a canonical decimal string.
 * Returns undefined for anything else, such as a fraction, "007" or "+5".
 */
export function parseCustomerId(value: unknown): bigint | undefined {
  const id = toInt64(value);
  return id !== undefined && id >= 1n ? id : undefined;
}

/** Returns the customerId field of event data, or undefined when it is missing or invalid. */
export function readCustomerIdField(data: JsonObject): bigint | undefined {
  return parseCustomerId(ownField(data, 'customerId'));
}

/**
 * Validates `data` against the schema of `type` and builds the event from it.
 * Unknown fields are rejected. Throws DecodeFailure with INVALID_DATA naming the first bad field.
 */
export function readEventData(
  type: InboundEventType,
  envelope: EventEnvelope,
  data: JsonObject,
): InboundEvent {
  rejectUnknownFields(type, data);
  const customerId = readRequired(data, 'customerId', CUSTOMER_ID_RULE);

  switch (type) {
    case 'StorageUsageChanged':
      return { type, envelope, customerId, deltaBytes: readRequired(data, 'deltaBytes', DELTA_BYTES_RULE) };
    case 'UserAllocated':
    case 'UserDeallocated':
      return { type, envelope, customerId, userId: readRequired(data, 'userId', USER_ID_RULE) };
    case 'LockCustomer':
    case 'UnlockCustomer': {
      const comment = readOptional(data, 'comment', COMMENT_RULE);
      return comment === undefined ? { type, envelope, customerId } : { type, envelope, customerId, comment };
    }
    case 'SetCustomerLimits':
      return readCustomerLimits(envelope, customerId, data);
  }
}

/**
 * Returns the canonical JSON text of the event type and data fields, with absent optional fields
 * as null. Integers are written as JSON integers whatever form the producer sent them in.
 */
export function fingerprintEvent(event: InboundEvent): string {
  switch (event.type) {
    case 'StorageUsageChanged':
      return stringifyJson([event.type, event.customerId, event.deltaBytes]);
    case 'UserAllocated':
    case 'UserDeallocated':
      return stringifyJson([event.type, event.customerId, event.userId]);
    case 'LockCustomer':
    case 'UnlockCustomer':
      return stringifyJson([event.type, event.customerId, event.comment ?? null]);
    case 'SetCustomerLimits':
      return stringifyJson([event.type, event.customerId, event.quotaMax ?? null, event.userMax ?? null]);
  }
}

function readCustomerLimits(envelope: EventEnvelope, customerId: bigint, data: JsonObject): InboundEvent {
  const quotaMax = readOptional(data, 'quotaMax', QUOTA_MAX_RULE);
  const userMax = readOptional(data, 'userMax', USER_MAX_RULE);
  if (quotaMax === undefined && userMax === undefined) {
    throw invalidData('SetCustomerLimits data must contain quotaMax, userMax or both');
  }
  return {
    type: 'SetCustomerLimits',
    envelope,
    customerId,
    ...(quotaMax === undefined ? {} : { quotaMax }),
    ...(userMax === undefined ? {} : { userMax }),
  };
}

function rejectUnknownFields(type: InboundEventType, data: JsonObject): void {
  const allowed = FIELDS_BY_TYPE[type];
  for (const name of Object.keys(data)) {
    if (!allowed.includes(name)) {
      throw invalidData(
        `data field ${quote(name)} is not part of ${type}; allowed fields: ${allowed.join(', ')}`,
      );
    }
  }
}

function readRequired<T>(data: JsonObject, name: string, rule: FieldRule<T>): T {
  const value = ownField(data, name);
  if (value === undefined) {
    throw invalidData(`data.${name} is missing; expected ${rule.expected}`);
  }
  return readPresent(value, name, rule);
}

function readOptional<T>(data: JsonObject, name: string, rule: FieldRule<T>): T | undefined {
  const value = ownField(data, name);
  return value === undefined ? undefined : readPresent(value, name, rule);
}

function readPresent<T>(value: unknown, name: string, rule: FieldRule<T>): T {
  const result = rule.read(value);
  if (result === undefined) {
    throw invalidData(`data.${name} must be ${rule.expected}, got ${describeValue(value)}`);
  }
  return result;
}

/** Reads an own property only, so names inherited from Object.prototype count as missing. */
function ownField(data: JsonObject, name: string): unknown {
  return Object.hasOwn(data, name) ? data[name] : undefined;
}

function invalidData(message: string): DecodeFailure {
  return new DecodeFailure('INVALID_DATA', message);
}
