import { randomUUID } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { CompressionTypes, IHeaders, Message, Partitioners, Producer } from 'kafkajs';

import { storageEvent, userAllocated } from '../support/events';
import { createCustomer, eventually, HttpResult, request } from '../support/http';
import {
  getCustomer,
  getText,
  metricSample,
  PartitionProducer,
  waitForAppliedEvent,
} from '../support/input-helpers';
import { ReadMessage } from '../support/kafka';
import { ServiceFixture } from '../support/service-fixture';
import { ServiceProcess } from '../support/service-process';

/**
 * The service's limit in this file. It lets 50 000-deep nesting and a half-million-element array
 * reach the parser, and a 1 MiB value stays above it. A million-element array needs at least
 * 2 000 001 bytes, more than the largest limit the service accepts (1 MiB), so it is always TOO_LARGE.
 */
const MAX_EVENT_BYTES = 1_000_000;
const KEPT_BYTES = 4096;
const MIB = 1024 * 1024;
const DEPTH = 50_000;
const ALLOWED_SOURCE = '/test-producer';
/** Latency allowed for a valid event sent after the hostile run. */
const AFTER_RUN_LATENCY_MS = 10_000;
/** Growth of resident memory (current and peak) allowed over the whole hostile run. */
const MEMORY_GROWTH_BYTES = 300 * MIB;
/**
 * Growth of peak resident memory allowed for the nesting cases, about 17 MiB of values after
 * decompression. Parsing the 16 MiB of brackets instead of rejecting them costs far more.
 */
const NESTING_MEMORY_GROWTH_BYTES = 100 * MIB;

const INT64_MAX_PLUS_ONE = '9223372036854775808';
const INT64_MIN_MINUS_ONE = '-9223372036854775809';
const POLLUTION_MARKER = 'hostile-input-polluted';

type InboundTopic = 'storage' | 'users';

interface Ids {
  customerId: string;
  otherCustomerId: string;
}

/** One hostile message: its topic, the reason and error its dead letter must carry, and how it is sent. */
interface HostileCase {
  name: string;
  topic: InboundTopic;
  reason: string;
  /** Pattern the `x-dlq-error` header must match, where the reason alone could hide the wrong check. */
  error?: RegExp;
  /** Sent gzip-compressed, for values above the inbound topic's `max.message.bytes`. */
  compressed?: boolean;
  /** Has null header values, which kafkajs can only send through `withNullHeaderValues`. */
  nullHeaderValues?: boolean;
  build: (ids: Ids) => Message;
}

interface EnvelopeOptions {
  type?: string;
  source?: string;
  /** Raw JSON members written between the attributes and `data`, without a leading comma. */
  extra?: string;
  /** Attributes to leave out, `data` included. */
  omit?: string[];
}

/** Writes a structured-mode CloudEvent with `dataJson` inserted verbatim. */
function eventText(dataJson: string, options: EnvelopeOptions = {}): string {
  const members: [string, string][] = [
    ['specversion', '"1.0"'],
    ['id', JSON.stringify(randomUUID())],
    ['source', JSON.stringify(options.source ?? ALLOWED_SOURCE)],
    ['type', JSON.stringify(options.type ?? 'StorageUsageChanged')],
    ['data', dataJson],
  ];
  const parts = members
    .filter(([name]) => !(options.omit ?? []).includes(name))
    .map(([name, json]) => `"${name}":${json}`);
  if (options.extra !== undefined) {
    parts.splice(parts.length - 1, 0, options.extra);
  }
  return `{${parts.join(',')}}`;
}

function storageData(customerId: string, delta: string): string {
  return `{"customerId":${customerId},"deltaBytes":${delta}}`;
}

function storageWithDelta(ids: Ids, delta: string): Message {
  return { key: ids.customerId, value: eventText(storageData(ids.customerId, delta)) };
}

/** Builds a valid storage event padded with an ignored extension attribute to exactly `totalBytes` bytes. */
function paddedStorageEvent(customerId: string, delta: string, totalBytes: number): Message {
  const withPadding = (padding: string): string =>
    eventText(storageData(customerId, delta), { extra: `"padding":"${padding}"` });
  const paddingBytes = totalBytes - Buffer.byteLength(withPadding(''));
  return { key: customerId, value: withPadding('x'.repeat(paddingBytes)) };
}

/** Builds a storage event whose deltaBytes is an array of `elements` zeros. */
function arrayDeltaEvent(customerId: string, elements: number): Message {
  const array = `[${'0,'.repeat(elements - 1)}0]`;
  return { key: customerId, value: eventText(storageData(customerId, array)) };
}

/** Returns the largest element count for which `arrayDeltaEvent` stays within `maxBytes`. */
function largestArrayElementsWithin(customerId: string, maxBytes: number): number {
  const overhead = Buffer.byteLength(String(arrayDeltaEvent(customerId, 1).value)) - 1;
  // Each element after the first costs 2 bytes ("0,").
  return Math.floor((maxBytes - overhead - 1) / 2) + 1;
}

function nestedArrays(depth: number): string {
  return '['.repeat(depth) + ']'.repeat(depth);
}

function nestedObjects(depth: number): string {
  return '{"a":'.repeat(depth) + '0' + '}'.repeat(depth);
}

function binaryHeaders(overrides: IHeaders = {}, omit: string[] = []): IHeaders {
  const headers: IHeaders = {
    ce_specversion: '1.0',
    ce_id: randomUUID(),
    ce_source: ALLOWED_SOURCE,
    ce_type: 'StorageUsageChanged',
    'content-type': 'application/json',
    ...overrides,
  };
  for (const name of omit) {
    delete headers[name];
  }
  return headers;
}

function binaryEvent(ids: Ids, headers: IHeaders, dataJson?: string): Message {
  return { key: ids.customerId, value: dataJson ?? storageData(ids.customerId, '5'), headers };
}

/** Values at and above the size limit. */
const SIZE_CASES: HostileCase[] = [
  {
    name: 'one byte over the limit',
    topic: 'storage',
    reason: 'TOO_LARGE',
    error: new RegExp(`${MAX_EVENT_BYTES + 1} bytes, above the limit of ${MAX_EVENT_BYTES} bytes`),
    build: (ids) => paddedStorageEvent(ids.customerId, '5', MAX_EVENT_BYTES + 1),
  },
  {
    name: '1 MiB value',
    topic: 'storage',
    reason: 'TOO_LARGE',
    error: new RegExp(`${MIB} bytes, above the limit`),
    build: (ids) => paddedStorageEvent(ids.customerId, '5', MIB),
  },
  {
    name: 'million-element array',
    topic: 'storage',
    reason: 'TOO_LARGE',
    compressed: true,
    build: (ids) => arrayDeltaEvent(ids.customerId, 1_000_000),
  },
  {
    name: 'largest array within the limit',
    topic: 'storage',
    reason: 'INVALID_DATA',
    error: /data\.deltaBytes must be .* got an array/,
    build: (ids) =>
      arrayDeltaEvent(ids.customerId, largestArrayElementsWithin(ids.customerId, MAX_EVENT_BYTES)),
  },
];

/** Values nested far deeper than the 32 levels the decoder allows, some also far above the size limit. */
const NESTING_CASES: HostileCase[] = [
  {
    name: '50 000 nested arrays',
    topic: 'storage',
    reason: 'INVALID_JSON',
    error: /deeper than 32 levels/,
    build: (ids) => ({ key: ids.customerId, value: nestedArrays(DEPTH) }),
  },
  {
    name: '50 000 nested objects',
    topic: 'storage',
    reason: 'INVALID_JSON',
    error: /deeper than 32 levels/,
    build: (ids) => ({ key: ids.customerId, value: nestedObjects(DEPTH) }),
  },
  {
    name: '50 000 nested arrays in data',
    topic: 'storage',
    reason: 'INVALID_JSON',
    error: /deeper than 32 levels/,
    build: (ids) => ({
      key: ids.customerId,
      value: eventText(`{"customerId":${ids.customerId},"deltaBytes":1,"nest":${nestedArrays(DEPTH)}}`),
    }),
  },
  {
    name: '50 000 nested objects in data',
    topic: 'storage',
    reason: 'INVALID_JSON',
    error: /deeper than 32 levels/,
    build: (ids) => ({
      key: ids.customerId,
      value: eventText(`{"customerId":${ids.customerId},"deltaBytes":1,"nest":${nestedObjects(DEPTH)}}`),
    }),
  },
  {
    name: '16 MiB of open brackets',
    topic: 'storage',
    reason: 'TOO_LARGE',
    compressed: true,
    error: new RegExp(`${16 * MIB} bytes, above the limit`),
    build: (ids) => ({ key: ids.customerId, value: '['.repeat(16 * MIB) }),
  },
  {
    name: 'open brackets up to the limit',
    topic: 'storage',
    reason: 'INVALID_JSON',
    error: /deeper than 32 levels/,
    build: (ids) => ({ key: ids.customerId, value: '['.repeat(MAX_EVENT_BYTES) }),
  },
];

const PROTOTYPE_PAYLOAD = `{"polluted":"${POLLUTION_MARKER}"}`;

const HOSTILE_CASES: HostileCase[] = [
  // Not JSON at all.
  {
    name: 'not JSON',
    topic: 'storage',
    reason: 'INVALID_JSON',
    build: (ids) => ({ key: ids.customerId, value: 'this is not JSON {' }),
  },
  {
    name: 'truncated JSON',
    topic: 'storage',
    reason: 'INVALID_JSON',
    build: (ids) => ({ key: ids.customerId, value: '{"specversion":"1.0","id":' }),
  },
  {
    name: 'empty value',
    topic: 'storage',
    reason: 'INVALID_JSON',
    error: /empty/,
    build: (ids) => ({ key: ids.customerId, value: '' }),
  },
  {
    name: 'whitespace value',
    topic: 'storage',
    reason: 'INVALID_JSON',
    build: (ids) => ({ key: ids.customerId, value: ' \n\t ' }),
  },
  {
    name: 'null value',
    topic: 'storage',
    reason: 'INVALID_JSON',
    error: /empty/,
    build: (ids) => ({ key: ids.customerId, value: null }),
  },
  {
    name: 'value not UTF-8',
    topic: 'storage',
    reason: 'INVALID_JSON',
    error: /not valid UTF-8/,
    build: (ids) => ({ key: ids.customerId, value: Buffer.from([0x7b, 0x22, 0xff, 0x22, 0x3a, 0x31, 0x7d]) }),
  },
  {
    name: 'bare NaN',
    topic: 'storage',
    reason: 'INVALID_JSON',
    build: (ids) => storageWithDelta(ids, 'NaN'),
  },
  {
    name: 'bare Infinity',
    topic: 'storage',
    reason: 'INVALID_JSON',
    build: (ids) => storageWithDelta(ids, 'Infinity'),
  },
  {
    name: 'bare -Infinity',
    topic: 'storage',
    reason: 'INVALID_JSON',
    build: (ids) => storageWithDelta(ids, '-Infinity'),
  },

  // Number spellings and literals that are not signed 64-bit integers.
  {
    name: 'quoted NaN',
    topic: 'storage',
    reason: 'INVALID_DATA',
    build: (ids) => storageWithDelta(ids, '"NaN"'),
  },
  {
    name: 'quoted Infinity',
    topic: 'storage',
    reason: 'INVALID_DATA',
    build: (ids) => storageWithDelta(ids, '"Infinity"'),
  },
  {
    name: 'quoted -Infinity',
    topic: 'storage',
    reason: 'INVALID_DATA',
    build: (ids) => storageWithDelta(ids, '"-Infinity"'),
  },
  {
    name: 'fraction',
    topic: 'storage',
    reason: 'INVALID_DATA',
    build: (ids) => storageWithDelta(ids, '1.5'),
  },
  {
    name: 'integral fraction',
    topic: 'storage',
    reason: 'INVALID_DATA',
    build: (ids) => storageWithDelta(ids, '1.0'),
  },
  {
    name: 'exponent',
    topic: 'storage',
    reason: 'INVALID_DATA',
    build: (ids) => storageWithDelta(ids, '1e3'),
  },
  {
    name: 'negative zero',
    topic: 'storage',
    reason: 'INVALID_DATA',
    build: (ids) => storageWithDelta(ids, '-0'),
  },
  {
    name: 'quoted fraction',
    topic: 'storage',
    reason: 'INVALID_DATA',
    build: (ids) => storageWithDelta(ids, '"1.5"'),
  },
  {
    name: '2^63',
    topic: 'storage',
    reason: 'INVALID_DATA',
    build: (ids) => storageWithDelta(ids, INT64_MAX_PLUS_ONE),
  },
  {
    name: 'quoted 2^63',
    topic: 'storage',
    reason: 'INVALID_DATA',
    build: (ids) => storageWithDelta(ids, `"${INT64_MAX_PLUS_ONE}"`),
  },
  {
    name: '2^64',
    topic: 'storage',
    reason: 'INVALID_DATA',
    build: (ids) => storageWithDelta(ids, '18446744073709551616'),
  },
  {
    name: '-2^63 - 1',
    topic: 'storage',
    reason: 'INVALID_DATA',
    build: (ids) => storageWithDelta(ids, INT64_MIN_MINUS_ONE),
  },
  {
    name: 'quoted -2^63 - 1',
    topic: 'storage',
    reason: 'INVALID_DATA',
    build: (ids) => storageWithDelta(ids, `"${INT64_MIN_MINUS_ONE}"`),
  },
  {
    name: '400-digit integer',
    topic: 'storage',
    reason: 'INVALID_DATA',
    build: (ids) => storageWithDelta(ids, '9'.repeat(400)),
  },
  {
    name: 'customerId fraction',
    topic: 'storage',
    reason: 'INVALID_DATA',
    build: (ids) => ({ key: ids.customerId, value: eventText(storageData(`${ids.customerId}.0`, '5')) }),
  },

  // Wrong types.
  {
    name: 'delta text',
    topic: 'storage',
    reason: 'INVALID_DATA',
    build: (ids) => storageWithDelta(ids, '"five"'),
  },
  {
    name: 'delta boolean',
    topic: 'storage',
    reason: 'INVALID_DATA',
    build: (ids) => storageWithDelta(ids, 'true'),
  },
  {
    name: 'delta null',
    topic: 'storage',
    reason: 'INVALID_DATA',
    build: (ids) => storageWithDelta(ids, 'null'),
  },
  {
    name: 'delta object',
    topic: 'storage',
    reason: 'INVALID_DATA',
    build: (ids) => storageWithDelta(ids, '{"value":5}'),
  },
  {
    name: 'delta array',
    topic: 'storage',
    reason: 'INVALID_DATA',
    build: (ids) => storageWithDelta(ids, '[5]'),
  },
  {
    name: 'customerId boolean',
    topic: 'storage',
    reason: 'INVALID_DATA',
    build: (ids) => ({ key: ids.customerId, value: eventText(storageData('true', '5')) }),
  },
  {
    name: 'data text',
    topic: 'storage',
    reason: 'INVALID_EVENT',
    build: (ids) => ({ key: ids.customerId, value: eventText('"customerId=1"') }),
  },
  {
    name: 'data array',
    topic: 'storage',
    reason: 'INVALID_EVENT',
    build: (ids) => ({ key: ids.customerId, value: eventText('[1]') }),
  },
  {
    name: 'event array',
    topic: 'storage',
    reason: 'INVALID_EVENT',
    build: (ids) => ({ key: ids.customerId, value: '[1,2]' }),
  },
  {
    name: 'id number',
    topic: 'storage',
    reason: 'INVALID_EVENT',
    build: (ids) => ({
      key: ids.customerId,
      value: eventText(storageData(ids.customerId, '5'), { omit: ['id'], extra: '"id":5' }),
    }),
  },
  {
    name: 'userId number',
    topic: 'users',
    reason: 'INVALID_DATA',
    build: (ids) => ({
      key: ids.customerId,
      value: eventText(`{"customerId":${ids.customerId},"userId":42}`, { type: 'UserAllocated' }),
    }),
  },
  {
    name: 'UserAllocated with deltaBytes',
    topic: 'users',
    reason: 'INVALID_DATA',
    error: /"deltaBytes" is not part of UserAllocated/,
    build: (ids) => ({
      key: ids.customerId,
      value: eventText(`{"customerId":${ids.customerId},"userId":"mallory","deltaBytes":5}`, {
        type: 'UserAllocated',
      }),
    }),
  },

  // Message keys.
  {
    name: 'null key',
    topic: 'storage',
    reason: 'KEY_MISMATCH',
    build: (ids) => ({ ...storageWithDelta(ids, '5'), key: null }),
  },
  {
    name: 'empty key',
    topic: 'storage',
    reason: 'KEY_MISMATCH',
    build: (ids) => ({ ...storageWithDelta(ids, '5'), key: '' }),
  },
  {
    name: 'key of another customer',
    topic: 'storage',
    reason: 'KEY_MISMATCH',
    build: (ids) => ({ ...storageWithDelta(ids, '5'), key: ids.otherCustomerId }),
  },
  {
    name: 'key with leading zero',
    topic: 'storage',
    reason: 'KEY_MISMATCH',
    build: (ids) => ({ ...storageWithDelta(ids, '5'), key: `0${ids.customerId}` }),
  },
  {
    name: 'key and customerId above int64',
    topic: 'storage',
    reason: 'KEY_MISMATCH',
    build: () => ({ key: INT64_MAX_PLUS_ONE, value: eventText(storageData(INT64_MAX_PLUS_ONE, '5')) }),
  },

  // Keys that could reach Object.prototype if the parsed value were merged into an object.
  {
    name: '__proto__ at top level',
    topic: 'storage',
    reason: 'INVALID_DATA',
    error: /"__proto__"/,
    build: (ids) => ({
      key: ids.customerId,
      value: eventText(storageData(ids.customerId, '5'), { extra: `"__proto__":${PROTOTYPE_PAYLOAD}` }),
    }),
  },
  {
    name: '__proto__ in data',
    topic: 'storage',
    reason: 'INVALID_DATA',
    error: /"__proto__"/,
    build: (ids) => ({
      key: ids.customerId,
      value: eventText(`{"customerId":${ids.customerId},"deltaBytes":5,"__proto__":${PROTOTYPE_PAYLOAD}}`),
    }),
  },
  {
    name: 'escaped __proto__ in data',
    topic: 'storage',
    reason: 'INVALID_DATA',
    error: /"__proto__"/,
    build: (ids) => ({
      key: ids.customerId,
      value: eventText(
        `{"customerId":${ids.customerId},"deltaBytes":5,"\\u005f\\u005fproto\\u005f\\u005f":${PROTOTYPE_PAYLOAD}}`,
      ),
    }),
  },
  {
    name: 'constructor.prototype at top level',
    topic: 'storage',
    reason: 'INVALID_DATA',
    error: /"prototype"|"constructor"/,
    build: (ids) => ({
      key: ids.customerId,
      value: eventText(storageData(ids.customerId, '5'), {
        extra: `"constructor":{"prototype":${PROTOTYPE_PAYLOAD}}`,
      }),
    }),
  },
  {
    name: 'constructor in data',
    topic: 'storage',
    reason: 'INVALID_DATA',
    error: /"constructor"/,
    build: (ids) => ({
      key: ids.customerId,
      value: eventText(`{"customerId":${ids.customerId},"deltaBytes":5,"constructor":"Object"}`),
    }),
  },
  {
    name: 'constructor.prototype in data',
    topic: 'storage',
    reason: 'INVALID_DATA',
    error: /"prototype"|"constructor"/,
    build: (ids) => ({
      key: ids.customerId,
      value: eventText(
        `{"customerId":${ids.customerId},"deltaBytes":5,"constructor":{"prototype":${PROTOTYPE_PAYLOAD}}}`,
      ),
    }),
  },
  {
    name: 'prototype in data',
    topic: 'storage',
    reason: 'INVALID_DATA',
    error: /"prototype"/,
    build: (ids) => ({
      key: ids.customerId,
      value: eventText(`{"customerId":${ids.customerId},"deltaBytes":5,"prototype":${PROTOTYPE_PAYLOAD}}`),
    }),
  },
  {
    name: '__proto__ in binary-mode data',
    topic: 'storage',
    reason: 'INVALID_DATA',
    error: /"__proto__"/,
    build: (ids) =>
      binaryEvent(
        ids,
        binaryHeaders(),
        `{"customerId":${ids.customerId},"deltaBytes":5,"__proto__":${PROTOTYPE_PAYLOAD}}`,
      ),
  },
  {
    name: 'headers named like Object members',
    topic: 'storage',
    reason: 'INVALID_JSON',
    build: (ids) => ({
      key: ids.customerId,
      value: 'not JSON either',
      // fromEntries creates own properties, where a `__proto__` member in a literal would set the prototype.
      headers: Object.fromEntries([
        ['__proto__', 'header-proto'],
        ['constructor', 'header-constructor'],
        ['toString', 'header-to-string'],
      ]),
    }),
  },

  // Event types.
  {
    name: 'unknown type',
    topic: 'storage',
    reason: 'UNKNOWN_TYPE',
    build: (ids) => ({
      key: ids.customerId,
      value: eventText(storageData(ids.customerId, '5'), { type: 'StorageUsageReset' }),
    }),
  },
  {
    name: 'type __proto__',
    topic: 'storage',
    reason: 'UNKNOWN_TYPE',
    build: (ids) => ({
      key: ids.customerId,
      value: eventText(storageData(ids.customerId, '5'), { type: '__proto__' }),
    }),
  },
  {
    name: 'type toString',
    topic: 'storage',
    reason: 'UNKNOWN_TYPE',
    build: (ids) => ({
      key: ids.customerId,
      value: eventText(storageData(ids.customerId, '5'), { type: 'toString' }),
    }),
  },
  {
    name: 'storage type on the users topic',
    topic: 'users',
    reason: 'UNKNOWN_TYPE',
    build: (ids) => storageWithDelta(ids, '5'),
  },
  {
    name: 'empty type',
    topic: 'storage',
    reason: 'INVALID_EVENT',
    build: (ids) => ({
      key: ids.customerId,
      value: eventText(storageData(ids.customerId, '5'), { type: '' }),
    }),
  },

  // Missing CloudEvents attributes in structured mode.
  ...['specversion', 'id', 'source', 'type', 'data'].map((attribute): HostileCase => ({
    name: `missing ${attribute}`,
    topic: 'storage',
    reason: 'INVALID_EVENT',
    error: new RegExp(`\\b${attribute}\\b`),
    build: (ids) => ({
      key: ids.customerId,
      value: eventText(storageData(ids.customerId, '5'), { omit: [attribute] }),
    }),
  })),

  // Binary content mode with bad ce_* headers.
  {
    name: 'binary without ce_id',
    topic: 'storage',
    reason: 'INVALID_EVENT',
    error: /header ce_id is missing/,
    build: (ids) => binaryEvent(ids, binaryHeaders({}, ['ce_id'])),
  },
  {
    name: 'binary ce_specversion 0.3',
    topic: 'storage',
    reason: 'INVALID_EVENT',
    error: /ce_specversion must be "1\.0"/,
    build: (ids) => binaryEvent(ids, binaryHeaders({ ce_specversion: '0.3' })),
  },
  {
    name: 'binary empty ce_specversion',
    topic: 'storage',
    reason: 'INVALID_EVENT',
    error: /ce_specversion must be "1\.0"/,
    build: (ids) => binaryEvent(ids, binaryHeaders({ ce_specversion: '' })),
  },
  {
    name: 'binary ce_specversion not UTF-8',
    topic: 'storage',
    reason: 'INVALID_EVENT',
    error: /ce_specversion is not valid UTF-8/,
    build: (ids) => binaryEvent(ids, binaryHeaders({ ce_specversion: Buffer.from([0x31, 0x2e, 0xff]) })),
  },
  {
    name: 'binary ce_source not UTF-8',
    topic: 'storage',
    reason: 'INVALID_EVENT',
    error: /ce_source is not valid UTF-8/,
    build: (ids) => binaryEvent(ids, binaryHeaders({ ce_source: Buffer.from([0xc3, 0x28]) })),
  },
  {
    name: 'binary duplicate ce_type',
    topic: 'storage',
    reason: 'INVALID_EVENT',
    error: /ce_type is present 2 times/,
    build: (ids) =>
      binaryEvent(ids, binaryHeaders({ ce_type: ['StorageUsageChanged', 'StorageUsageChanged'] })),
  },
  {
    name: 'binary duplicate ce_specversion',
    topic: 'storage',
    reason: 'INVALID_EVENT',
    error: /ce_specversion is present 2 times/,
    build: (ids) => binaryEvent(ids, binaryHeaders({ ce_specversion: ['1.0', '1.0'] })),
  },
  {
    name: 'binary ce_id without value',
    topic: 'storage',
    reason: 'INVALID_EVENT',
    error: /header ce_id has no value/,
    nullHeaderValues: true,
    build: (ids) => binaryEvent(ids, binaryHeaders({ ce_id: null as unknown as string })),
  },
  {
    name: 'header without value',
    topic: 'storage',
    reason: 'INVALID_JSON',
    nullHeaderValues: true,
    build: (ids) => ({
      key: ids.customerId,
      value: 'not JSON',
      headers: { traceparent: null as unknown as string },
    }),
  },
  {
    name: 'binary XML content-type',
    topic: 'storage',
    reason: 'INVALID_EVENT',
    error: /content-type must be application\/json/,
    build: (ids) => binaryEvent(ids, binaryHeaders({ 'content-type': 'application/xml' })),
  },

  // Sources outside KAFKA_USAGE_SOURCES.
  {
    name: 'source not allowed',
    topic: 'storage',
    reason: 'SOURCE_NOT_ALLOWED',
    build: (ids) => ({
      key: ids.customerId,
      value: eventText(storageData(ids.customerId, '5'), { source: '/intruder' }),
    }),
  },
  {
    name: 'allowed source with a trailing space',
    topic: 'storage',
    reason: 'SOURCE_NOT_ALLOWED',
    build: (ids) => ({
      key: ids.customerId,
      value: eventText(storageData(ids.customerId, '5'), { source: `${ALLOWED_SOURCE} ` }),
    }),
  },
  {
    name: 'source __proto__',
    topic: 'storage',
    reason: 'SOURCE_NOT_ALLOWED',
    build: (ids) => ({
      key: ids.customerId,
      value: eventText(storageData(ids.customerId, '5'), { source: '__proto__' }),
    }),
  },
  {
    name: 'binary source not allowed',
    topic: 'storage',
    reason: 'SOURCE_NOT_ALLOWED',
    build: (ids) => binaryEvent(ids, binaryHeaders({ ce_source: '/intruder' })),
  },
  {
    // Only compression gets 4 MiB of headers past the inbound topic's limit; the DLQ copy must drop them.
    name: 'headers above the DLQ limit',
    topic: 'storage',
    reason: 'INVALID_JSON',
    compressed: true,
    build: (ids) => ({ key: ids.customerId, value: 'not json', headers: { pad: 'a'.repeat(4 * 1_048_576) } }),
  },
];

/** Invalid values near the limit sent in one gzip-compressed request, so the service reads them in one batch. */
const COMPRESSED_BATCH_CASES: HostileCase[] = [1, 2, 3, 4].map((index) => ({
  name: `compressed batch value ${index}`,
  topic: 'storage',
  reason: 'INVALID_DATA',
  compressed: true,
  error: /data\.deltaBytes must be a non-zero/,
  build: (ids) => paddedStorageEvent(ids.customerId, '0', MAX_EVENT_BYTES - index),
}));

const ALL_CASES = [...NESTING_CASES, ...SIZE_CASES, ...HOSTILE_CASES, ...COMPRESSED_BATCH_CASES];

/**
 * Runs `send` while Buffer.byteLength takes null as 0 bytes. kafkajs 2.2.4 writes a null header value
 * correctly (length -1) but sizes every header value with Buffer.byteLength first, which throws for
 * null. The record format allows null header values, so other clients can send them to the service.
 */
async function withNullHeaderValues<T>(send: () => Promise<T>): Promise<T> {
  const byteLength = Buffer.byteLength;
  const acceptNull = (value: Parameters<typeof byteLength>[0] | null, encoding?: BufferEncoding): number =>
    value === null ? 0 : byteLength(value, encoding);
  Buffer.byteLength = acceptNull;
  try {
    return await send();
  } finally {
    Buffer.byteLength = byteLength;
  }
}

function asBuffer(value: Message['value']): Buffer | null {
  if (value === null || value === undefined) {
    return null;
  }
  return Buffer.isBuffer(value) ? value : Buffer.from(value, 'utf8');
}

function asKey(key: Message['key']): string | null {
  if (key === null || key === undefined) {
    return null;
  }
  return Buffer.isBuffer(key) ? key.toString('utf8') : key;
}

interface MemorySample {
  residentBytes: number;
  peakResidentBytes: number;
}

/** Reads VmRSS and VmHWM (the peak since start) of a process from /proc. */
function readMemory(pid: number): MemorySample {
  const status = readFileSync(`/proc/${pid}/status`, 'utf8');
  const kibibytes = (field: string): number => {
    const match = new RegExp(`^${field}:\\s+(\\d+) kB$`, 'm').exec(status);
    if (!match) {
      throw new Error(`/proc/${pid}/status has no ${field} line`);
    }
    return Number(match[1]) * 1024;
  };
  return { residentBytes: kibibytes('VmRSS'), peakResidentBytes: kibibytes('VmHWM') };
}

function mebibytes(bytes: number): string {
  return (bytes / MIB).toFixed(1);
}

describe('hostile input', () => {
  const fixture = new ServiceFixture('hostile');
  const producer = new PartitionProducer(fixture.kafka.kafka);
  let compressingProducer: Producer | undefined;
  let service: ServiceProcess;
  let ids: Ids;
  const sent = new Map<string, { message: Message; topic: string; offset: string }>();
  let letters: ReadMessage[] = [];
  let customerBefore: Record<string, unknown>;
  let memoryBefore: MemorySample;
  let memoryAfterNesting: MemorySample;
  let memoryAfterSizes: MemorySample;
  let memoryAfter: MemorySample;
  let latencyMs: number;
  /** Index of the first log line written after the hostile run started. */
  let firstRunLog: number;
  /** What the service returns after the run, read at the end of beforeAll so the tests send no requests. */
  let final: {
    customer: HttpResult;
    otherCustomer: HttpResult;
    list: HttpResult;
    readyStatus: number;
    metrics: string;
  };

  function topicName(topic: InboundTopic): string {
    return topic === 'storage' ? fixture.kafka.topics.storage : fixture.kafka.topics.users;
  }

  function tagged(hostile: HostileCase): Message {
    const message = hostile.build(ids);
    return { ...message, headers: { ...message.headers, 'x-case': hostile.name } };
  }

  /** Sends the messages to partition 0 in one gzip-compressed request and returns their offsets. */
  async function sendCompressed(topic: string, messages: Message[]): Promise<string[]> {
    if (!compressingProducer) {
      compressingProducer = fixture.kafka.kafka.producer({
        createPartitioner: Partitioners.DefaultPartitioner,
        allowAutoTopicCreation: false,
      });
      await compressingProducer.connect();
    }
    const metadata = await compressingProducer.send({
      topic,
      acks: -1,
      compression: CompressionTypes.GZIP,
      messages: messages.map((message) => ({ ...message, partition: 0 })),
    });
    const baseOffset = BigInt(metadata.find((entry) => entry.partition === 0)!.baseOffset!);
    return messages.map((_, index) => (baseOffset + BigInt(index)).toString());
  }

  /** Sends the cases one request each, in order, to partition 0 of their topic. */
  async function sendCases(cases: HostileCase[]): Promise<void> {
    for (const hostile of cases) {
      const message = tagged(hostile);
      const topic = topicName(hostile.topic);
      const send = (): Promise<string[]> =>
        hostile.compressed ? sendCompressed(topic, [message]) : producer.send(topic, 0, [message]);
      const [offset] = hostile.nullHeaderValues ? await withNullHeaderValues(send) : await send();
      sent.set(hostile.name, { message, topic, offset });
    }
  }

  async function sendCompressedBatch(cases: HostileCase[]): Promise<void> {
    const messages = cases.map(tagged);
    const offsets = await sendCompressed(fixture.kafka.topics.storage, messages);
    cases.forEach((hostile, index) =>
      sent.set(hostile.name, {
        message: messages[index],
        topic: fixture.kafka.topics.storage,
        offset: offsets[index],
      }),
    );
  }

  /** Reads the DLQ until every one of `cases` has a dead letter, and returns all letters read. */
  function readLetters(cases: HostileCase[]): Promise<ReadMessage[]> {
    const names = new Set(cases.map((hostile) => hostile.name));
    return fixture.kafka.readUntil(
      fixture.kafka.topics.deadLetters,
      (read) =>
        new Set(read.map((letter) => letter.headers['x-case']).filter((name) => names.has(name))).size ===
        names.size,
      60_000,
    );
  }

  async function quotaUsedOf(customerId: string): Promise<string> {
    const customer = await getCustomer(service, customerId);
    return String(customer.body.quotaUsed);
  }

  beforeAll(async () => {
    await fixture.setUp();
    service = await fixture.start({
      MAX_EVENT_BYTES: String(MAX_EVENT_BYTES),
      KAFKA_USAGE_SOURCES: ALLOWED_SOURCE,
    });
    ids = {
      customerId: await createCustomer(service.baseUrl, { quotaMax: '-1', userMax: '10' }),
      otherCustomerId: await createCustomer(service.baseUrl, { quotaMax: '-1', userMax: '10' }),
    };
    customerBefore = (await getCustomer(service, ids.customerId)).body;
    memoryBefore = readMemory(service.pid);
    firstRunLog = service.logs.length;

    // Deeply nested values go first and large ones next, so the memory they cost is measured alone.
    await sendCases(NESTING_CASES);
    await readLetters(NESTING_CASES);
    memoryAfterNesting = readMemory(service.pid);
    await sendCases(SIZE_CASES);
    await readLetters(SIZE_CASES);
    memoryAfterSizes = readMemory(service.pid);

    await sendCases(HOSTILE_CASES);
    await sendCompressedBatch(COMPRESSED_BATCH_CASES);

    // Valid events behind the hostile ones on the same partitions.
    const storageMarkerId = randomUUID();
    const userMarkerId = randomUUID();
    await producer.send(fixture.kafka.topics.storage, 0, [
      paddedStorageEvent(ids.customerId, '1', MAX_EVENT_BYTES),
      storageEvent(ids.customerId, '10', { id: storageMarkerId }),
    ]);
    await producer.send(fixture.kafka.topics.users, 0, [
      userAllocated(ids.customerId, 'after-hostile', { id: userMarkerId }),
    ]);
    await waitForAppliedEvent(service, storageMarkerId, 60_000);
    await waitForAppliedEvent(service, userMarkerId, 60_000);
    letters = await readLetters(ALL_CASES);

    // Every dead letter is on the DLQ now, so the hostile run is over. Time one more valid event.
    const started = performance.now();
    await producer.send(fixture.kafka.topics.storage, 0, [storageEvent(ids.customerId, '100')]);
    await eventually(
      async () => ((await quotaUsedOf(ids.customerId)) === '111' ? true : undefined),
      30_000,
      'quotaUsed 111 after the hostile run',
    );
    latencyMs = Math.round(performance.now() - started);
    console.log(`hostile-input: valid event applied ${latencyMs} ms after the hostile run`);

    memoryAfter = readMemory(service.pid);
    final = {
      customer: await getCustomer(service, ids.customerId),
      otherCustomer: await getCustomer(service, ids.otherCustomerId),
      list: await request(service.baseUrl, 'GET', '/api/v4/provisioning/customers?limit=500'),
      readyStatus: (await getText(service.baseUrl, '/health/ready')).status,
      metrics: (await getText(service.baseUrl, '/metrics')).text,
    };
    const metricsResident = metricSample(final.metrics, 'process_resident_memory_bytes') ?? Number.NaN;
    console.log(
      `hostile-input: process_resident_memory_bytes after the run: ${mebibytes(metricsResident)} MiB`,
    );

    const samples: [string, MemorySample][] = [
      ['before the run', memoryBefore],
      ['after the nesting cases', memoryAfterNesting],
      ['after the size cases', memoryAfterSizes],
      ['after the run', memoryAfter],
    ];
    for (const [moment, sample] of samples) {
      console.log(
        `hostile-input: service memory ${moment}: VmRSS ${mebibytes(sample.residentBytes)} MiB, ` +
          `VmHWM ${mebibytes(sample.peakResidentBytes)} MiB`,
      );
    }
  });

  afterAll(async () => {
    await compressingProducer?.disconnect();
    await producer.disconnect();
    await fixture.tearDown();
  });

  function lettersOf(name: string): ReadMessage[] {
    return letters.filter((letter) => letter.headers['x-case'] === name);
  }

  describe.each(ALL_CASES.map((hostile) => [hostile.name, hostile] as const))('%s', (_name, hostile) => {
    it(`dead-letters as ${hostile.reason}`, () => {
      const found = lettersOf(hostile.name);

      expect(found).toHaveLength(1);
      expect(found[0].headers['x-dlq-reason']).toBe(hostile.reason);
    });

    it('names its origin', () => {
      const [letter] = lettersOf(hostile.name);
      const origin = sent.get(hostile.name)!;

      expect(letter.headers['x-original-topic']).toBe(origin.topic);
      expect(letter.headers['x-original-partition']).toBe('0');
      expect(letter.headers['x-original-offset']).toBe(origin.offset);
    });

    it('explains the error on one line', () => {
      const error = lettersOf(hostile.name)[0].headers['x-dlq-error'];

      expect(error).toMatch(hostile.error ?? /./);
      expect(error).not.toMatch(/[\r\n]/);
    });

    it('keeps the key and value', () => {
      const [letter] = lettersOf(hostile.name);
      const original = sent.get(hostile.name)!.message;
      const value = asBuffer(original.value);

      expect(letter.key).toBe(asKey(original.key));
      if (hostile.reason === 'TOO_LARGE') {
        expect(letter.value).toEqual(value!.subarray(0, KEPT_BYTES));
        expect(letter.headers['x-dlq-original-size']).toBe(String(value!.length));
      } else {
        expect(letter.value).toEqual(value);
        expect(letter.headers['x-dlq-original-size']).toBeUndefined();
      }
    });
  });

  it('keeps headers named like Object members', () => {
    const [letter] = lettersOf('headers named like Object members');
    const ownHeader = (name: string): unknown => Object.getOwnPropertyDescriptor(letter.headers, name)?.value;

    expect(ownHeader('constructor')).toBe('header-constructor');
    expect(ownHeader('toString')).toBe('header-to-string');
  });

  it('drops headers that would not fit the DLQ', () => {
    const [letter] = lettersOf('headers above the DLQ limit');
    const headers = letter.headers;

    expect(headers.pad).toBeUndefined();
    expect(headers['x-dlq-dropped-header-bytes']).toBe(String(4 * 1_048_576 + 'pad'.length));
  });

  it('keeps headers without a value as empty ones', () => {
    expect(lettersOf('header without value')[0].headers.traceparent).toBe('');
    expect(lettersOf('binary ce_id without value')[0].headers.ce_id).toBe('');
  });

  it('sends values of the expected sizes', () => {
    const size = (name: string): number => asBuffer(sent.get(name)!.message.value)!.length;

    expect(size('one byte over the limit')).toBe(MAX_EVENT_BYTES + 1);
    expect(size('1 MiB value')).toBe(MIB);
    expect(size('million-element array')).toBeGreaterThan(2 * MAX_EVENT_BYTES);
    expect(size('largest array within the limit')).toBeLessThanOrEqual(MAX_EVENT_BYTES);
    expect(size('largest array within the limit')).toBeGreaterThan(MAX_EVENT_BYTES - 2);
    expect(size('50 000 nested objects')).toBe(6 * DEPTH + 1);
  });

  it('applies valid events behind the hostile ones', () => {
    // 1 (the event of exactly MAX_EVENT_BYTES) + 10 (storage marker) + 100 (after the run).
    expect(final.customer.body.quotaUsed).toBe(111n);
    expect(final.customer.body.userUsed).toBe(1n);
  });

  it('applies a valid event within 10 s after the run', () => {
    expect(latencyMs).toBeLessThanOrEqual(AFTER_RUN_LATENCY_MS);
  });

  it('stays ready', () => {
    expect(final.readyStatus).toBe(200);
    expect(service.hasExited).toBe(false);
  });

  it('leaves the other customer untouched', () => {
    expect(final.otherCustomer.body.quotaUsed).toBe(0n);
    expect(final.otherCustomer.body.userUsed).toBe(0n);
  });

  it('shows no polluted fields in a customer', () => {
    expect(Object.keys(final.customer.body).sort()).toEqual(Object.keys(customerBefore).sort());
    expect(final.customer.text).not.toContain(POLLUTION_MARKER);
    expect(final.customer.text).not.toContain('polluted');
  });

  it('shows no polluted fields in the customer list', () => {
    const items = final.list.body.items as Record<string, unknown>[];

    expect(final.list.status).toBe(200);
    expect(items.map((item) => String(item.id)).sort()).toEqual([ids.customerId, ids.otherCustomerId].sort());
    expect(final.list.text).not.toContain('polluted');
    for (const item of items) {
      expect(Object.keys(item).sort()).toEqual(Object.keys(customerBefore).sort());
    }
  });

  it('logs no errors during the run', () => {
    const errors = service.logs
      .slice(firstRunLog)
      .filter((line) => line.level === 'error' || line.level === 'fatal');

    expect(errors).toEqual([]);
  });

  it('retries no batch during the run', () => {
    const retries = service.logs
      .slice(firstRunLog)
      .filter((line) => line.msg === 'retrying batch after error');

    expect(retries).toEqual([]);
  });

  it('counts every dead letter', () => {
    const counted = [
      'TOO_LARGE',
      'INVALID_JSON',
      'INVALID_EVENT',
      'UNKNOWN_TYPE',
      'SOURCE_NOT_ALLOWED',
      'KEY_MISMATCH',
      'INVALID_DATA',
    ]
      .map((reason) => metricSample(final.metrics, `quota_dead_letters_total{reason="${reason}"}`) ?? 0)
      .reduce((sum, count) => sum + count, 0);

    expect(counted).toBe(ALL_CASES.length);
  });

  it('keeps memory growth bounded', () => {
    expect(memoryAfter.residentBytes - memoryBefore.residentBytes).toBeLessThan(MEMORY_GROWTH_BYTES);
    expect(memoryAfter.peakResidentBytes - memoryBefore.peakResidentBytes).toBeLessThan(MEMORY_GROWTH_BYTES);
  });

  it('rejects huge nested values without a memory spike', () => {
    const reasons = ['16 MiB of open brackets', 'open brackets up to the limit'].map(
      (name) => lettersOf(name)[0].headers['x-dlq-reason'],
    );

    expect(reasons).toEqual(['TOO_LARGE', 'INVALID_JSON']);
    expect(memoryAfterNesting.peakResidentBytes - memoryBefore.peakResidentBytes).toBeLessThan(
      NESTING_MEMORY_GROWTH_BYTES,
    );
  });
});
