import fc from 'fast-check';

import { INT64_MAX, INT64_MIN, stringifyJson } from '../common/json/lossless-json';
import { decodeInboundMessage } from './cloudevents-decoder';
import { DEAD_LETTER_REASONS, type DeadLetterReason } from './dead-letter-reason';
import type {
  DecodeResult,
  DecodeRules,
  EventEnvelope,
  InboundEvent,
  InboundEventType,
  InboundTopicKind,
  RawInboundMessage,
} from './inbound-event';

type Headers = NonNullable<RawInboundMessage['headers']>;
type HeaderValue = Headers[string];

const SOURCE = 'urn:example:producer';
const ALLOWED_SOURCES = [SOURCE, '//users.example/api', 'admin-console'];
const RULES: DecodeRules = { maxEventBytes: 64 * 1024, allowedSources: null };
const RESTRICTED_RULES: DecodeRules = { maxEventBytes: 64 * 1024, allowedSources: new Set(ALLOWED_SOURCES) };
const BEYOND_SAFE_INTEGER = 9007199254740993n;
const MIB = 1024 * 1024;

const TOPIC_OF: Record<InboundEventType, InboundTopicKind> = {
  StorageUsageChanged: 'storage',
  UserAllocated: 'users',
  UserDeallocated: 'users',
  LockCustomer: 'admin',
  UnlockCustomer: 'admin',
  SetCustomerLimits: 'admin',
};
const EVENT_TYPES = Object.keys(TOPIC_OF) as InboundEventType[];
const TOPICS: InboundTopicKind[] = ['storage', 'users', 'admin'];

const VALID_DATA: Record<InboundEventType, Record<string, unknown>> = {
  StorageUsageChanged: { customerId: 42n, deltaBytes: 1048576n },
  UserAllocated: { customerId: 42n, userId: 'alice@example.com' },
  UserDeallocated: { customerId: 42n, userId: 'alice@example.com' },
  LockCustomer: { customerId: 42n, comment: 'manual lock' },
  UnlockCustomer: { customerId: 42n },
  SetCustomerLimits: { customerId: 42n, quotaMax: 1073741824n, userMax: 10n },
};

const ENVELOPE: EventEnvelope = { id: 'evt-1', source: SOURCE, type: 'StorageUsageChanged' };

/** Writes a number literal verbatim, such as 1e3 or -0, which a JS number cannot round-trip. */
const rawJson = (JSON as unknown as { rawJSON(text: string): unknown }).rawJSON;

function structuredEvent(
  type: string = 'StorageUsageChanged',
  data: unknown = VALID_DATA[type as InboundEventType],
  attributes: Record<string, unknown> = {},
): Record<string, unknown> {
  return { specversion: '1.0', id: 'evt-1', source: SOURCE, type, data, ...attributes };
}

function structured(body: unknown, key: string | Buffer | null = '42', headers?: Headers): RawInboundMessage {
  return { key: toKey(key), value: Buffer.from(stringifyJson(body)), headers };
}

function binary(
  type: string = 'StorageUsageChanged',
  data: unknown = VALID_DATA[type as InboundEventType],
  attributes: Record<string, HeaderValue> = {},
  key: string | Buffer | null = '42',
): RawInboundMessage {
  const headers: Headers = {
    ce_specversion: Buffer.from('1.0'),
    ce_id: Buffer.from('evt-1'),
    ce_source: Buffer.from(SOURCE),
    ce_type: Buffer.from(type),
    ...attributes,
  };
  return { key: toKey(key), value: Buffer.from(stringifyJson(data)), headers };
}

function rawMessage(value: string | Buffer | null, key: string | Buffer | null = '42'): RawInboundMessage {
  return { key: toKey(key), value: typeof value === 'string' ? Buffer.from(value) : value };
}

function toKey(key: string | Buffer | null): Buffer | null {
  return typeof key === 'string' ? Buffer.from(key) : key;
}

function decode(
  message: RawInboundMessage,
  topic: InboundTopicKind = 'storage',
  rules: DecodeRules = RULES,
): DecodeResult {
  return decodeInboundMessage(message, topic, rules);
}

function expectAccepted(result: DecodeResult): InboundEvent {
  if (!result.ok) {
    throw new Error(`expected the message to be accepted, got ${result.reason}: ${result.error}`);
  }
  return result.event;
}

function fingerprintOf(result: DecodeResult): string {
  expectAccepted(result);
  return result.ok ? result.fingerprint : '';
}

function expectRejected(result: DecodeResult, reason: DeadLetterReason): string {
  if (result.ok) {
    throw new Error(`expected ${reason}, but the message was accepted as ${stringifyJson(result.event)}`);
  }
  expect(result.reason).toBe(reason);
  expect(result.error).not.toMatch(/[\r\n]/);
  expect(result.error).not.toMatch(/\bat .*:\d+:\d+/);
  return result.error;
}

function nested(depth: number): string {
  return '['.repeat(depth) + ']'.repeat(depth);
}

describe('decodeInboundMessage accepts each type', () => {
  const expectedFields: Record<InboundEventType, Record<string, unknown>> = {
    StorageUsageChanged: { customerId: 42n, deltaBytes: 1048576n },
    UserAllocated: { customerId: 42n, userId: 'alice@example.com' },
    UserDeallocated: { customerId: 42n, userId: 'alice@example.com' },
    LockCustomer: { customerId: 42n, comment: 'manual lock' },
    UnlockCustomer: { customerId: 42n },
    SetCustomerLimits: { customerId: 42n, quotaMax: 1073741824n, userMax: 10n },
  };

  it.each(EVENT_TYPES)('decodes %s in structured mode', (type) => {
    const message = structured(
      structuredEvent(type, VALID_DATA[type], { time: '2024-05-01T12:00:00Z', subject: '42' }),
    );

    const event = expectAccepted(decode(message, TOPIC_OF[type]));

    expect(event).toEqual({
      type,
      envelope: { id: 'evt-1', source: SOURCE, type, time: '2024-05-01T12:00:00Z', subject: '42' },
      ...expectedFields[type],
    });
  });

  it.each(EVENT_TYPES)('decodes %s in binary mode', (type) => {
    const message = binary(type, VALID_DATA[type], {
      ce_time: '2024-05-01T12:00:00Z',
      ce_subject: Buffer.from('42'),
      'content-type': 'application/json; charset=utf-8',
    });

    const event = expectAccepted(decode(message, TOPIC_OF[type]));

    expect(event).toEqual({
      type,
      envelope: { id: 'evt-1', source: SOURCE, type, time: '2024-05-01T12:00:00Z', subject: '42' },
      ...expectedFields[type],
    });
  });

  it.each(EVENT_TYPES)('fingerprints %s equally in both modes', (type) => {
    const fromStructured = decode(structured(structuredEvent(type)), TOPIC_OF[type]);
    const fromBinary = decode(binary(type), TOPIC_OF[type]);

    expect(fingerprintOf(fromStructured)).toBe(fingerprintOf(fromBinary));
  });

  it('leaves out absent optional attributes', () => {
    const event = expectAccepted(decode(structured(structuredEvent())));

    expect(event.envelope).toStrictEqual(ENVELOPE);
  });

  it('accepts an allowed source', () => {
    const event = expectAccepted(decode(structured(structuredEvent()), 'storage', RESTRICTED_RULES));

    expect(event.envelope.source).toBe(SOURCE);
  });

  it('accepts a value of exactly maxEventBytes', () => {
    const message = structured(structuredEvent());
    const rules = { ...RULES, maxEventBytes: message.value!.length };

    expectAccepted(decode(message, 'storage', rules));
  });

  it('ignores extension attributes', () => {
    const extensions = {
      traceparent: '00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01',
      dataschema: 'https://example.com/schema',
      a1234567890123456789: 'twenty characters',
    };

    const event = expectAccepted(
      decode(structured(structuredEvent('StorageUsageChanged', undefined, extensions))),
    );
    const fromBinary = expectAccepted(
      decode(binary('StorageUsageChanged', undefined, { ce_traceparent: extensions.traceparent })),
    );

    expect(event.envelope).toStrictEqual(ENVELOPE);
    expect(fromBinary.envelope).toStrictEqual(ENVELOPE);
  });

  it('ignores other headers in binary mode', () => {
    const message = binary('StorageUsageChanged', undefined, { traceparent: 'x', 'x-retry': ['1', '2'] });

    expectAccepted(decode(message));
  });

  it('ignores headers in structured mode', () => {
    const headers = { ce_type: 'UnknownType', 'content-type': 'text/plain' };

    expectAccepted(decode(structured(structuredEvent(), '42', headers)));
  });

  it('accepts a single-element header array', () => {
    expectAccepted(decode(binary('StorageUsageChanged', undefined, { ce_id: [Buffer.from('evt-1')] })));
  });

  it.each([
    'application/json',
    'application/json; charset=utf-8',
    'APPLICATION/JSON',
    'Application/Json;x=y',
  ])('accepts datacontenttype %j', (contentType) => {
    expectAccepted(
      decode(structured(structuredEvent('StorageUsageChanged', undefined, { datacontenttype: contentType }))),
    );
    expectAccepted(decode(binary('StorageUsageChanged', undefined, { 'content-type': contentType })));
  });

  it.each([
    '2024-05-01T12:00:00Z',
    '2024-05-01t12:00:00z',
    '1985-04-12T23:20:50.52Z',
    '1996-12-19T16:39:57-08:00',
    '2024-02-29T00:00:00+05:30',
    '2000-02-29T00:00:00Z',
    '0000-02-29T00:00:00Z',
    '1990-12-31T23:59:60Z',
  ])('accepts time %s', (time) => {
    const event = expectAccepted(
      decode(structured(structuredEvent('StorageUsageChanged', undefined, { time }))),
    );

    expect(event.envelope.time).toBe(time);
  });

  it('skips a leading byte order mark in the value', () => {
    const json = stringifyJson(structuredEvent());

    expectAccepted(decode(rawMessage(Buffer.concat([Buffer.from([0xef, 0xbb, 0xbf]), Buffer.from(json)]))));
  });
});

describe('decodeInboundMessage integers', () => {
  it('decodes 2^53 + 1 as a JSON integer exactly', () => {
    const data = { customerId: BEYOND_SAFE_INTEGER, deltaBytes: BEYOND_SAFE_INTEGER };
    const message = structured(structuredEvent('StorageUsageChanged', data), BEYOND_SAFE_INTEGER.toString());

    const event = expectAccepted(decode(message));

    expect(event).toMatchObject({ customerId: BEYOND_SAFE_INTEGER, deltaBytes: BEYOND_SAFE_INTEGER });
  });

  it('decodes 2^53 + 1 as a string exactly', () => {
    const data = { customerId: '9007199254740993', deltaBytes: '-9007199254740993' };
    const message = structured(structuredEvent('StorageUsageChanged', data), '9007199254740993');

    const event = expectAccepted(decode(message));

    expect(event).toMatchObject({ customerId: BEYOND_SAFE_INTEGER, deltaBytes: -BEYOND_SAFE_INTEGER });
  });

  it('reads the JSON text of 2^53 + 1 without going through a number', () => {
    const text =
      '{"specversion":"1.0","id":"e","source":"s","type":"StorageUsageChanged",' +
      '"data":{"customerId":9007199254740993,"deltaBytes":9007199254740993}}';

    const event = expectAccepted(decode(rawMessage(text, '9007199254740993')));

    expect(event).toMatchObject({ customerId: BEYOND_SAFE_INTEGER, deltaBytes: BEYOND_SAFE_INTEGER });
  });

  it('accepts int64 bounds', () => {
    const data = { customerId: INT64_MAX, deltaBytes: INT64_MIN };
    const event = expectAccepted(
      decode(structured(structuredEvent('StorageUsageChanged', data), INT64_MAX.toString())),
    );

    expect(event).toMatchObject({ customerId: INT64_MAX, deltaBytes: INT64_MIN });
  });

  it('fingerprints integer and string forms equally', () => {
    const asIntegers = decode(
      structured(structuredEvent('StorageUsageChanged', { customerId: 42n, deltaBytes: 7n })),
    );
    const asStrings = decode(
      structured(structuredEvent('StorageUsageChanged', { customerId: '42', deltaBytes: '7' })),
    );

    expect(fingerprintOf(asIntegers)).toBe('["StorageUsageChanged",42,7]');
    expect(fingerprintOf(asStrings)).toBe('["StorageUsageChanged",42,7]');
  });

  it.each([
    ['customerId', INT64_MAX + 1n],
    ['customerId', '9223372036854775808'],
    ['deltaBytes', INT64_MAX + 1n],
    ['deltaBytes', '9223372036854775808'],
    ['deltaBytes', INT64_MIN - 1n],
    ['deltaBytes', '-9223372036854775809'],
    ['deltaBytes', 10n ** 30n],
  ])('rejects %s %p above the int64 range', (field, value) => {
    const data = { ...VALID_DATA.StorageUsageChanged, [field]: value };

    const error = expectRejected(
      decode(structured(structuredEvent('StorageUsageChanged', data))),
      'INVALID_DATA',
    );

    expect(error).toContain(`data.${field}`);
  });
});

describe('decodeInboundMessage check order', () => {
  const badKey = Buffer.from('0042');
  const badEnvelope = structuredEvent('StorageUsageChanged', undefined, { specversion: '0.3' });
  const unknownType = structuredEvent('StorageUsageChanged', undefined, {
    type: 'Unknown',
    source: 'urn:evil',
  });
  const badSource = structuredEvent('StorageUsageChanged', { customerId: 'x' }, { source: 'urn:evil' });

  const cases: Array<{
    name: string;
    message: RawInboundMessage;
    topic?: InboundTopicKind;
    rules?: DecodeRules;
    reason: DeadLetterReason;
  }> = [
    {
      name: 'too large beats invalid JSON',
      message: rawMessage('{'.repeat(100), null),
      rules: { ...RULES, maxEventBytes: 99 },
      reason: 'TOO_LARGE',
    },
    {
      name: 'invalid JSON beats a bad key',
      message: rawMessage('{"specversion":', null),
      reason: 'INVALID_JSON',
    },
    {
      name: 'invalid JSON beats bad binary headers',
      message: { key: null, value: Buffer.from('not json'), headers: { ce_specversion: ['1.0', '1.0'] } },
      reason: 'INVALID_JSON',
    },
    {
      name: 'forbidden key beats a bad envelope',
      message: rawMessage('{"specversion":"0.3","data":{"__proto__":{}}}', null),
      reason: 'INVALID_DATA',
    },
    {
      name: 'bad envelope beats a bad key',
      message: structured(badEnvelope, badKey),
      reason: 'INVALID_EVENT',
    },
    {
      name: 'bad envelope beats a wrong topic',
      message: structured(badEnvelope),
      topic: 'admin',
      reason: 'INVALID_EVENT',
    },
    {
      name: 'unknown type beats a bad source',
      message: structured(unknownType, badKey),
      rules: RESTRICTED_RULES,
      reason: 'UNKNOWN_TYPE',
    },
    {
      name: 'wrong topic beats a bad source',
      message: structured(structuredEvent('StorageUsageChanged', undefined, { source: 'urn:evil' })),
      topic: 'users',
      rules: RESTRICTED_RULES,
      reason: 'UNKNOWN_TYPE',
    },
    {
      name: 'bad source beats a bad key and bad data',
      message: structured(badSource, null),
      rules: RESTRICTED_RULES,
      reason: 'SOURCE_NOT_ALLOWED',
    },
    {
      name: 'null key beats bad data',
      message: structured(structuredEvent('StorageUsageChanged', { customerId: 42n, deltaBytes: 0n }), null),
      reason: 'KEY_MISMATCH',
    },
    {
      name: 'non-canonical key beats an invalid customerId',
      message: structured(
        structuredEvent('StorageUsageChanged', { customerId: 'x', deltaBytes: 1n }),
        badKey,
      ),
      reason: 'KEY_MISMATCH',
    },
    {
      name: 'differing customerId beats other bad data',
      message: structured(
        structuredEvent('StorageUsageChanged', { customerId: 43n, deltaBytes: 0n, extra: 1n }),
      ),
      reason: 'KEY_MISMATCH',
    },
    {
      name: 'differing subject beats an invalid customerId',
      message: structured(structuredEvent('StorageUsageChanged', { customerId: 1.5 }, { subject: '43' })),
      reason: 'KEY_MISMATCH',
    },
    {
      name: 'invalid customerId with a good key',
      message: structured(structuredEvent('StorageUsageChanged', { customerId: '042', deltaBytes: 1n })),
      reason: 'INVALID_DATA',
    },
    {
      name: 'missing customerId with a good key',
      message: structured(structuredEvent('StorageUsageChanged', { deltaBytes: 1n })),
      reason: 'INVALID_DATA',
    },
  ];

  it.each(cases)('$name → $reason', ({ message, topic, rules, reason }) => {
    expectRejected(decode(message, topic ?? 'storage', rules ?? RULES), reason);
  });

  it('covers every code that the decoder produces', () => {
    const downstream: DeadLetterReason[] = ['CUSTOMER_NOT_FOUND', 'OUT_OF_RANGE', 'PROCESSING_FAILED'];
    const covered = new Set<DeadLetterReason>([...cases.map((entry) => entry.reason), ...downstream]);

    expect([...covered].sort()).toEqual([...DEAD_LETTER_REASONS].sort());
  });
});

describe('decodeInboundMessage TOO_LARGE and INVALID_JSON', () => {
  it('rejects a 1 MiB value as too large', () => {
    const message = rawMessage(Buffer.alloc(MIB, 0x20));

    const error = expectRejected(
      decode(message, 'storage', { ...RULES, maxEventBytes: MIB - 1 }),
      'TOO_LARGE',
    );

    expect(error).toContain(`${MIB} bytes`);
    expect(error).toContain(`${MIB - 1} bytes`);
  });

  it('rejects a 1 MiB value under the default test limit', () => {
    expectRejected(decode(rawMessage(Buffer.alloc(MIB, 0x7b))), 'TOO_LARGE');
  });

  it('rejects one byte over maxEventBytes', () => {
    const message = structured(structuredEvent());

    expectRejected(
      decode(message, 'storage', { ...RULES, maxEventBytes: message.value!.length - 1 }),
      'TOO_LARGE',
    );
  });

  it.each<[string, Buffer | null]>([
    ['null value', null],
    ['empty value', Buffer.alloc(0)],
    ['invalid UTF-8', Buffer.from([0x7b, 0x22, 0xff, 0x22, 0x7d])],
    ['UTF-8 encoded surrogate', Buffer.from([0x22, 0xed, 0xa0, 0x80, 0x22])],
    ['overlong UTF-8', Buffer.from([0x22, 0xc0, 0xaf, 0x22])],
    ['plain text', Buffer.from('hello')],
    ['truncated JSON', Buffer.from('{"specversion":"1.0"')],
    ['unquoted NaN', Buffer.from('{"data":{"deltaBytes":NaN}}')],
    ['unquoted Infinity', Buffer.from('{"data":{"deltaBytes":Infinity}}')],
    ['33 nested arrays', Buffer.from(nested(33))],
  ])('rejects %s', (_name, value) => {
    expectRejected(decode(rawMessage(value)), 'INVALID_JSON');
  });

  it('passes 32 nested arrays to the envelope check', () => {
    expectRejected(decode(rawMessage(nested(32))), 'INVALID_EVENT');
  });

  it('rejects 50 000 nested arrays quickly', () => {
    const value = Buffer.from(nested(50_000));
    const started = performance.now();

    const error = expectRejected(
      decode(rawMessage(value), 'storage', { ...RULES, maxEventBytes: MIB }),
      'INVALID_JSON',
    );

    expect(performance.now() - started).toBeLessThan(1000);
    expect(error).toContain('32');
  });

  it('keeps a syntax error message on one line', () => {
    const error = expectRejected(decode(rawMessage('{"a":\n\n x}')), 'INVALID_JSON');

    expect(error).toMatch(/^message value is not valid JSON: /);
  });
});

describe('decodeInboundMessage forbidden keys', () => {
  it.each([
    ['__proto__ in data', '{"customerId":42,"deltaBytes":1,"__proto__":{"polluted":true}}'],
    [
      'constructor.prototype in data',
      '{"customerId":42,"deltaBytes":1,"constructor":{"prototype":{"polluted":true}}}',
    ],
    ['prototype in data', '{"customerId":42,"deltaBytes":1,"prototype":1}'],
  ])('rejects %s in structured mode', (_name, dataText) => {
    const text = `{"specversion":"1.0","id":"e","source":"s","type":"StorageUsageChanged","data":${dataText}}`;

    const error = expectRejected(decode(rawMessage(text)), 'INVALID_DATA');

    expect(error).toMatch(/__proto__|constructor|prototype/);
    expect(({} as Record<string, unknown>).polluted).toBeUndefined();
  });

  it('rejects __proto__ in binary-mode data', () => {
    const message = binary();
    message.value = Buffer.from('{"customerId":42,"deltaBytes":1,"__proto__":{"polluted":true}}');

    expectRejected(decode(message), 'INVALID_DATA');
    expect(({} as Record<string, unknown>).polluted).toBeUndefined();
  });

  it('rejects __proto__ in the envelope', () => {
    const text = '{"__proto__":{"polluted":true},"specversion":"1.0","data":{}}';

    expectRejected(decode(rawMessage(text)), 'INVALID_DATA');
    expect(({} as Record<string, unknown>).polluted).toBeUndefined();
    expect(Object.prototype).not.toHaveProperty('polluted');
  });
});

describe('decodeInboundMessage prototype safety', () => {
  const payload = '{"polluted":"yes","toString":"polluted"}';
  const envelope = (members: string, data: string): string =>
    `{"specversion":"1.0","id":"e","source":"s","type":"StorageUsageChanged"${members},"data":${data}}`;
  const hostileValues = [
    envelope(`,"__proto__":${payload}`, '{"customerId":42,"deltaBytes":1}'),
    envelope(`,"constructor":{"prototype":${payload}}`, '{"customerId":42,"deltaBytes":1}'),
    envelope('', `{"customerId":42,"deltaBytes":1,"__proto__":${payload}}`),
    envelope('', `{"customerId":42,"deltaBytes":1,"\\u005f_proto__":${payload}}`),
    envelope('', `{"customerId":42,"deltaBytes":1,"constructor":{"prototype":${payload}}}`),
    envelope('', `{"customerId":42,"deltaBytes":1,"prototype":${payload}}`),
    envelope('', `{"customerId":42,"deltaBytes":[{"__proto__":${payload}}]}`),
    `[{"__proto__":${payload}}]`,
    `{"__proto__":[${payload}]}`,
  ];
  /** Headers as kafkajs 2.2.4 decodes headers named like Object members: own properties, inherited member first. */
  const memberNamedHeaders = Object.fromEntries([
    ['__proto__', [Object.prototype, Buffer.from(payload)]],
    ['constructor', [Object, Buffer.from('x')]],
    ['toString', [Object.prototype.toString, Buffer.from('x')]],
  ]) as Headers;

  type Snapshot = Map<string | symbol, PropertyDescriptor>;

  function snapshot(target: object): Snapshot {
    return new Map(
      Reflect.ownKeys(target).map((key) => [key, Reflect.getOwnPropertyDescriptor(target, key)!]),
    );
  }

  /** Lists the own properties of `target` that were added, removed or replaced since `before`. */
  function changedProperties(target: object, before: Snapshot): string[] {
    const after = snapshot(target);
    const keys = new Set([...before.keys(), ...after.keys()]);
    const isSame = (a?: PropertyDescriptor, b?: PropertyDescriptor): boolean =>
      a !== undefined &&
      b !== undefined &&
      Object.is(a.value, b.value) &&
      Object.is(a.get, b.get) &&
      Object.is(a.set, b.set) &&
      a.writable === b.writable &&
      a.enumerable === b.enumerable &&
      a.configurable === b.configurable;
    return [...keys].filter((key) => !isSame(before.get(key), after.get(key))).map(String);
  }

  it('leaves Object.prototype and Array.prototype untouched', () => {
    const objectBefore = snapshot(Object.prototype);
    const arrayBefore = snapshot(Array.prototype);

    for (const text of hostileValues) {
      expectRejected(decode(rawMessage(text)), 'INVALID_DATA');
      expectRejected(decode({ ...binary(), value: Buffer.from(text) }), 'INVALID_DATA');
    }

    expect(changedProperties(Object.prototype, objectBefore)).toEqual([]);
    expect(changedProperties(Array.prototype, arrayBefore)).toEqual([]);
    expect(({} as Record<string, unknown>).polluted).toBeUndefined();
    expect(Object.getPrototypeOf({})).toBe(Object.prototype);
  });

  it('ignores headers named like Object members', () => {
    const objectBefore = snapshot(Object.prototype);

    const fromStructured = expectAccepted(
      decode(structured(structuredEvent(), '42', { ...memberNamedHeaders })),
    );
    const fromBinary = expectAccepted(
      decode({ ...binary(), headers: { ...binary().headers, ...memberNamedHeaders } }),
    );

    expect(fromStructured).toEqual(fromBinary);
    expect(changedProperties(Object.prototype, objectBefore)).toEqual([]);
  });

  it('returns events with plain prototypes', () => {
    const event = expectAccepted(decode(structured(structuredEvent())));

    expect(Object.getPrototypeOf(event)).toBe(Object.prototype);
    expect(Object.getPrototypeOf(event.envelope)).toBe(Object.prototype);
  });
});

describe('decodeInboundMessage INVALID_EVENT', () => {
  const attributeCases: Array<[string, Record<string, unknown>]> = [
    ['specversion missing', { specversion: undefined }],
    ['specversion 0.3', { specversion: '0.3' }],
    ['specversion as a number', { specversion: rawJson('1.0') }],
    ['id missing', { id: undefined }],
    ['id empty', { id: '' }],
    ['id of 257 bytes', { id: 'x'.repeat(257) }],
    ['id of 258 UTF-8 bytes', { id: 'é'.repeat(129) }],
    ['id with a newline', { id: 'evt\n1' }],
    ['id with NUL', { id: 'evt\u00001' }],
    ['id with DEL', { id: 'evt\u007f' }],
    ['id with an unpaired surrogate', { id: 'evt\ud800' }],
    ['id as a number', { id: 1n }],
    ['id as 2^53 + 1', { id: BEYOND_SAFE_INTEGER }],
    ['id as null', { id: null }],
    ['source missing', { source: undefined }],
    ['source empty', { source: '' }],
    ['source with a tab', { source: 'urn:\tx' }],
    ['type missing', { type: undefined }],
    ['type as an array', { type: ['StorageUsageChanged'] }],
    ['type with a control character', { type: 'StorageUsageChanged\u001f' }],
    ['datacontenttype text/plain', { datacontenttype: 'text/plain' }],
    ['datacontenttype application/jsonx', { datacontenttype: 'application/jsonx' }],
    ['datacontenttype cloudevents', { datacontenttype: 'application/cloudevents+json' }],
    ['data_base64', { data_base64: 'e30=' }],
    ['time without zone', { time: '2024-05-01T12:00:00' }],
    ['time with a space', { time: '2024-05-01 12:00:00Z' }],
    ['time February 30', { time: '2024-02-30T00:00:00Z' }],
    ['time February 29 in 1900', { time: '1900-02-29T00:00:00Z' }],
    ['time month 13', { time: '2024-13-01T00:00:00Z' }],
    ['time hour 24', { time: '2024-05-01T24:00:00Z' }],
    ['time second 61', { time: '2024-05-01T12:00:61Z' }],
    ['time offset +24:00', { time: '2024-05-01T12:00:00+24:00' }],
    ['time as a number', { time: 1714564800n }],
    ['time as free text', { time: 'yesterday' }],
    ['subject as a number', { subject: 42n }],
    ['subject as null', { subject: null }],
    ['extension as a number', { traceparent: 5n }],
    ['extension as a boolean', { sampled: true }],
    ['uppercase attribute name', { traceParent: 'x' }],
    ['attribute name with a dash', { 'trace-parent': 'x' }],
    ['attribute name of 21 characters', { a12345678901234567890: 'x' }],
    ['empty attribute name', { '': 'x' }],
  ];

  it.each(attributeCases)('rejects %s', (_name, attributes) => {
    expectRejected(
      decode(structured(structuredEvent('StorageUsageChanged', undefined, attributes))),
      'INVALID_EVENT',
    );
  });

  it.each<[string, unknown]>([
    ['missing', undefined],
    ['null', null],
    ['an array', [VALID_DATA.StorageUsageChanged]],
    ['a string', '{"customerId":42}'],
    ['a number', 42n],
  ])('rejects data that is %s', (_name, data) => {
    const body = { ...structuredEvent(), data };

    expectRejected(decode(structured(body)), 'INVALID_EVENT');
  });

  it.each<[string, string]>([
    ['a JSON array', '[1,2]'],
    ['a JSON string', '"event"'],
    ['a JSON number', '42'],
    ['JSON null', 'null'],
  ])('rejects a structured value that is %s', (_name, text) => {
    expectRejected(decode(rawMessage(text)), 'INVALID_EVENT');
  });

  it('names the attribute and value in the message', () => {
    const error = expectRejected(
      decode(structured(structuredEvent('StorageUsageChanged', undefined, { id: 123n }))),
      'INVALID_EVENT',
    );

    expect(error).toBe('attribute id must be a string, got 123');
  });

  it('quotes an odd attribute name', () => {
    const error = expectRejected(
      decode(structured(structuredEvent('StorageUsageChanged', undefined, { 'bad name\n': 'x' }))),
      'INVALID_EVENT',
    );

    expect(error).toContain('"bad name\\n"');
  });

  const binaryCases: Array<[string, RawInboundMessage]> = [
    ['a duplicate ce_id header', binary('StorageUsageChanged', undefined, { ce_id: ['evt-1', 'evt-2'] })],
    [
      'a duplicate ce_specversion header',
      binary('StorageUsageChanged', undefined, { ce_specversion: ['1.0', '1.0'] }),
    ],
    [
      'a ce_source header that is not UTF-8',
      binary('StorageUsageChanged', undefined, { ce_source: Buffer.from([0xc3, 0x28]) }),
    ],
    [
      'a ce_time header that is not UTF-8',
      binary('StorageUsageChanged', undefined, { ce_time: Buffer.from([0xff]) }),
    ],
    ['ce_specversion 0.3', binary('StorageUsageChanged', undefined, { ce_specversion: '0.3' })],
    [
      'ce_specversion with a byte order mark',
      binary('StorageUsageChanged', undefined, { ce_specversion: '\ufeff1.0' }),
    ],
    ['a missing ce_id header', binary('StorageUsageChanged', undefined, { ce_id: undefined })],
    ['an empty ce_type header', binary('StorageUsageChanged', undefined, { ce_type: '' })],
    ['content-type text/plain', binary('StorageUsageChanged', undefined, { 'content-type': 'text/plain' })],
    [
      'a duplicate content-type',
      binary('StorageUsageChanged', undefined, { 'content-type': ['application/json', 'application/json'] }),
    ],
    [
      'ce_datacontenttype text/plain',
      binary('StorageUsageChanged', undefined, { ce_datacontenttype: 'text/plain' }),
    ],
    ['a ce_data_base64 header', binary('StorageUsageChanged', undefined, { ce_data_base64: 'e30=' })],
    ['a ce_data header', binary('StorageUsageChanged', undefined, { ce_data: '{}' })],
    ['an uppercase ce_ header', binary('StorageUsageChanged', undefined, { ce_Trace: 'x' })],
    ['a bad ce_time header', binary('StorageUsageChanged', undefined, { ce_time: 'now' })],
    ['a value that is an array', binary('StorageUsageChanged', [VALID_DATA.StorageUsageChanged])],
    ['a value that is a string', binary('StorageUsageChanged', 'data')],
  ];

  it.each(binaryCases)('rejects binary mode with %s', (_name, message) => {
    expectRejected(decode(message), 'INVALID_EVENT');
  });

  it('names the header of a duplicate', () => {
    const error = expectRejected(
      decode(binary('StorageUsageChanged', undefined, { ce_id: ['evt-1', 'evt-2'] })),
      'INVALID_EVENT',
    );

    expect(error).toBe('header ce_id is present 2 times; send it once');
  });

  it.each(['ce_id', 'ce_specversion', 'content-type'])('rejects a %s header without a value', (header) => {
    const error = expectRejected(
      decode(binary('StorageUsageChanged', undefined, { [header]: null })),
      'INVALID_EVENT',
    );

    expect(error).toBe(`header ${header} has no value; send its value as UTF-8 text`);
  });

  it('rejects data_base64 with a message naming it', () => {
    const error = expectRejected(
      decode(structured(structuredEvent('StorageUsageChanged', undefined, { data_base64: 'e30=' }))),
      'INVALID_EVENT',
    );

    expect(error).toContain('data_base64');
  });

  it('uses structured mode when ce_specversion is absent', () => {
    const message = binary();
    delete message.headers!.ce_specversion;

    const error = expectRejected(decode(message), 'INVALID_EVENT');

    expect(error).toMatch(/^attribute customerId is not a valid attribute name/);
  });
});

describe('decodeInboundMessage UNKNOWN_TYPE and SOURCE_NOT_ALLOWED', () => {
  it.each(
    TOPICS.flatMap((topic) =>
      EVENT_TYPES.filter((type) => TOPIC_OF[type] !== topic).map((type) => [type, topic] as const),
    ),
  )('rejects %s on the %s topic', (type, topic) => {
    expectRejected(decode(structured(structuredEvent(type)), topic), 'UNKNOWN_TYPE');
  });

  it.each(['Unknown', 'storageusagechanged', 'StorageUsageChanged ', 'com.example.StorageUsageChanged'])(
    'rejects type %j',
    (type) => {
      expectRejected(
        decode(structured(structuredEvent(type, VALID_DATA.StorageUsageChanged))),
        'UNKNOWN_TYPE',
      );
    },
  );

  it('lists the expected types in the message', () => {
    const error = expectRejected(
      decode(structured(structuredEvent('LockCustomer')), 'users'),
      'UNKNOWN_TYPE',
    );

    expect(error).toBe(
      'event type "LockCustomer" is not handled on the users topic; expected UserAllocated or UserDeallocated',
    );
  });

  it.each(['urn:evil', 'urn:example:producer ', 'URN:EXAMPLE:PRODUCER', 'urn:example:producer\u200b'])(
    'rejects source %j',
    (source) => {
      const message = structured(structuredEvent('StorageUsageChanged', undefined, { source }));

      expectRejected(decode(message, 'storage', RESTRICTED_RULES), 'SOURCE_NOT_ALLOWED');
    },
  );

  it('accepts any source when allowedSources is null', () => {
    expectAccepted(
      decode(structured(structuredEvent('StorageUsageChanged', undefined, { source: 'urn:any' }))),
    );
  });
});

describe('decodeInboundMessage KEY_MISMATCH', () => {
  it.each<[string, string | Buffer | null]>([
    ['null', null],
    ['empty', ''],
    ['not UTF-8', Buffer.from([0x34, 0xff])],
    ['with a byte order mark', '\ufeff42'],
    ['with a leading zero', '042'],
    ['zero', '0'],
    ['negative', '-42'],
    ['with a plus sign', '+42'],
    ['with a space', ' 42'],
    ['a fraction', '42.0'],
    ['above 2^63 - 1', '9223372036854775808'],
    ['another customer', '43'],
  ])('rejects a key that is %s', (_name, key) => {
    expectRejected(decode(structured(structuredEvent(), key)), 'KEY_MISMATCH');
  });

  it('rejects a subject that differs from the key', () => {
    const message = structured(structuredEvent('StorageUsageChanged', undefined, { subject: '43' }));

    const error = expectRejected(decode(message), 'KEY_MISMATCH');

    expect(error).toBe('subject "43" differs from message key "42"; set both to the customer id');
  });

  it('rejects a binary subject that differs from the key', () => {
    expectRejected(decode(binary('StorageUsageChanged', undefined, { ce_subject: '042' })), 'KEY_MISMATCH');
  });

  it('names key and customerId in the message', () => {
    const data = { customerId: 43n, deltaBytes: 1n };

    const error = expectRejected(
      decode(structured(structuredEvent('StorageUsageChanged', data))),
      'KEY_MISMATCH',
    );

    expect(error).toBe(
      'message key "42" differs from data.customerId 43; key each message by its customer id',
    );
  });

  it('compares a string customerId with the key', () => {
    const data = { customerId: '42', deltaBytes: 1n };

    expectAccepted(decode(structured(structuredEvent('StorageUsageChanged', data))));
  });
});

describe('decodeInboundMessage INVALID_DATA', () => {
  const notIntegers: unknown[] = [
    1.5,
    rawJson('1e3'),
    rawJson('1E3'),
    rawJson('1.0'),
    rawJson('-0'),
    '1.5',
    '1e3',
    'NaN',
    'Infinity',
    '-Infinity',
    '042',
    '+42',
    ' 42',
    '42 ',
    '0x2a',
    '',
    '-0',
    true,
    false,
    null,
    [42n],
    { value: 42n },
  ];

  it.each(notIntegers.map((value) => [value]))('rejects deltaBytes %p', (value) => {
    const data = { customerId: 42n, deltaBytes: value };

    const error = expectRejected(
      decode(structured(structuredEvent('StorageUsageChanged', data))),
      'INVALID_DATA',
    );

    expect(error).toMatch(/^data\.deltaBytes must be a non-zero signed 64-bit integer/);
  });

  it.each([0n, '0'])('rejects deltaBytes %p', (value) => {
    const data = { customerId: 42n, deltaBytes: value };

    expectRejected(decode(structured(structuredEvent('StorageUsageChanged', data))), 'INVALID_DATA');
  });

  it('writes the field, the expectation and the value', () => {
    const data = { customerId: 42n, deltaBytes: 1.5 };

    const error = expectRejected(
      decode(structured(structuredEvent('StorageUsageChanged', data))),
      'INVALID_DATA',
    );

    expect(error).toBe(
      'data.deltaBytes must be a non-zero signed 64-bit integer (JSON integer or decimal string), got 1.5',
    );
  });

  it('writes -0 as -0', () => {
    const data = { customerId: 42n, deltaBytes: rawJson('-0') };

    const error = expectRejected(
      decode(structured(structuredEvent('StorageUsageChanged', data))),
      'INVALID_DATA',
    );

    expect(error).toMatch(/, got -0$/);
  });

  it('shortens a long quoted value', () => {
    const data = { customerId: 42n, userId: 'a b'.repeat(100) };

    const error = expectRejected(
      decode(structured(structuredEvent('UserAllocated', data)), 'users'),
      'INVALID_DATA',
    );

    expect(error).toContain('(300 characters)');
    expect(error.length).toBeLessThan(220);
  });

  it.each([0n, -1n, '0', '-1', 1.5, '042', '+42', 'NaN', true, null, [], {}])(
    'rejects customerId %p with a matching key',
    (value) => {
      const data = { customerId: value, deltaBytes: 1n };

      const error = expectRejected(
        decode(structured(structuredEvent('StorageUsageChanged', data))),
        'INVALID_DATA',
      );

      expect(error).toMatch(/^data\.customerId must be a customer id/);
    },
  );

  it.each<[InboundEventType, string]>([
    ['StorageUsageChanged', 'customerId'],
    ['StorageUsageChanged', 'deltaBytes'],
    ['UserAllocated', 'userId'],
    ['UserDeallocated', 'userId'],
  ])('rejects %s without %s', (type, field) => {
    const data = { ...VALID_DATA[type] };
    delete data[field];

    const error = expectRejected(
      decode(structured(structuredEvent(type, data)), TOPIC_OF[type]),
      'INVALID_DATA',
    );

    expect(error).toMatch(new RegExp(`^data\\.${field} is missing`));
  });

  it.each(EVENT_TYPES)('rejects an unknown field in %s', (type) => {
    const data = { ...VALID_DATA[type], extra: 1n };

    const error = expectRejected(
      decode(structured(structuredEvent(type, data)), TOPIC_OF[type]),
      'INVALID_DATA',
    );

    expect(error).toContain('"extra"');
  });

  it('rejects a field of another type', () => {
    const data = { customerId: 42n, deltaBytes: 1n, userId: 'alice' };

    expectRejected(decode(structured(structuredEvent('StorageUsageChanged', data))), 'INVALID_DATA');
  });

  it.each(['', 'a b', 'tab\there', 'é', 'x'.repeat(129), '\u0000', 42n, null, ['alice'], true])(
    'rejects userId %p',
    (userId) => {
      const message = structured(structuredEvent('UserAllocated', { customerId: 42n, userId }));

      expectRejected(decode(message, 'users'), 'INVALID_DATA');
    },
  );

  it.each(['a', '!', '~', 'x'.repeat(128), 'Alice@Example.COM'])('accepts userId %j', (userId) => {
    const event = expectAccepted(
      decode(structured(structuredEvent('UserAllocated', { customerId: 42n, userId })), 'users'),
    );

    expect(event).toMatchObject({ userId });
  });

  it.each(['', 'x'.repeat(1000), '😀'.repeat(1000), 'line 1\nline 2'])(
    'accepts comment of length %#',
    (comment) => {
      const event = expectAccepted(
        decode(structured(structuredEvent('LockCustomer', { customerId: 42n, comment })), 'admin'),
      );

      expect(event).toMatchObject({ comment });
    },
  );

  it.each(['x'.repeat(1001), '😀'.repeat(1001), 'nul\u0000', 'half\ud800', 42n, null, true, ['x']])(
    'rejects comment %#',
    (comment) => {
      const message = structured(structuredEvent('UnlockCustomer', { customerId: 42n, comment }));

      expectRejected(decode(message, 'admin'), 'INVALID_DATA');
    },
  );

  it.each<[Record<string, unknown>, Partial<InboundEvent>]>([
    [{ quotaMax: -1n }, { quotaMax: -1n }],
    [{ quotaMax: '1048576' }, { quotaMax: 1048576n }],
    [{ quotaMax: INT64_MAX }, { quotaMax: INT64_MAX }],
    [{ userMax: -1n }, { userMax: -1n }],
    [{ userMax: 0n }, { userMax: 0n }],
    [{ userMax: '2147483647' }, { userMax: 2147483647n }],
    [
      { quotaMax: -1n, userMax: -1n },
      { quotaMax: -1n, userMax: -1n },
    ],
  ])('accepts limits %p', (limits, expected) => {
    const message = structured(structuredEvent('SetCustomerLimits', { customerId: 42n, ...limits }));

    const event = expectAccepted(decode(message, 'admin'));

    expect(event).toStrictEqual({
      type: 'SetCustomerLimits',
      envelope: { ...ENVELOPE, type: 'SetCustomerLimits' },
      customerId: 42n,
      ...expected,
    });
  });

  it.each<[Record<string, unknown>]>([
    [{}],
    [{ quotaMax: 1048575n }],
    [{ quotaMax: 0n }],
    [{ quotaMax: -2n }],
    [{ quotaMax: INT64_MAX + 1n }],
    [{ quotaMax: 1.5 }],
    [{ quotaMax: null }],
    [{ userMax: 2147483648n }],
    [{ userMax: -2n }],
    [{ userMax: '-0' }],
    [{ userMax: 'unlimited' }],
    [{ quotaMax: -1n, userMax: rawJson('1e2') }],
  ])('rejects limits %p', (limits) => {
    const message = structured(structuredEvent('SetCustomerLimits', { customerId: 42n, ...limits }));

    expectRejected(decode(message, 'admin'), 'INVALID_DATA');
  });

  it('asks for at least one limit', () => {
    const message = structured(structuredEvent('SetCustomerLimits', { customerId: 42n }));

    const error = expectRejected(decode(message, 'admin'), 'INVALID_DATA');

    expect(error).toBe('SetCustomerLimits data must contain quotaMax, userMax or both');
  });

  it('fingerprints absent limits as null', () => {
    const result = decode(
      structured(structuredEvent('SetCustomerLimits', { customerId: 42n, userMax: '5' })),
      'admin',
    );

    expect(fingerprintOf(result)).toBe('["SetCustomerLimits",42,null,5]');
  });
});

// ---------------------------------------------------------------------------------------------
// Property test: generated valid events, valid events with one mutation, and random bytes,
// checked against a separate, deliberately plain implementation of the contract.
// ---------------------------------------------------------------------------------------------

/** A number literal parsed by the oracle, with its source text. */
class NumberLiteral {
  constructor(readonly source: string) {}
}

type OracleResult = { ok: true; event: InboundEvent } | { ok: false; reason: DeadLetterReason };

const ORACLE_TYPES: Record<InboundTopicKind, string[]> = {
  storage: ['StorageUsageChanged'],
  users: ['UserAllocated', 'UserDeallocated'],
  admin: ['LockCustomer', 'UnlockCustomer', 'SetCustomerLimits'],
};

const ORACLE_FIELDS: Record<string, string[]> = {
  StorageUsageChanged: ['customerId', 'deltaBytes'],
  UserAllocated: ['customerId', 'userId'],
  UserDeallocated: ['customerId', 'userId'],
  LockCustomer: ['customerId', 'comment'],
  UnlockCustomer: ['customerId', 'comment'],
  SetCustomerLimits: ['customerId', 'quotaMax', 'userMax'],
};

function oracleUtf8(bytes: Buffer | string): string | undefined {
  if (typeof bytes === 'string') {
    return bytes;
  }
  const text = bytes.toString('utf8');
  return Buffer.from(text, 'utf8').equals(bytes) ? text : undefined;
}

function oracleDepth(value: unknown): number {
  if (value !== null && typeof value === 'object' && !(value instanceof NumberLiteral)) {
    const children = Object.values(value);
    return 1 + Math.max(0, ...children.map(oracleDepth));
  }
  return 0;
}

function isPlainObject(value: unknown): value is Record<string, unknown> {
  return (
    value !== null && typeof value === 'object' && !Array.isArray(value) && !(value instanceof NumberLiteral)
  );
}

function oracleInteger(value: unknown, min: bigint, max: bigint): bigint | undefined {
  let source: string | undefined;
  if (value instanceof NumberLiteral) {
    source = value.source;
  } else if (typeof value === 'string') {
    source = value;
  }
  if (source === undefined || !/^(0|-?[1-9][0-9]*)$/.test(source)) {
    return undefined;
  }
  const integer = BigInt(source);
  return integer >= min && integer <= max ? integer : undefined;
}

function oracleTime(text: string): boolean {
  const match = /^(\d{4})-(\d\d)-(\d\d)[Tt](\d\d):(\d\d):(\d\d)(\.\d+)?([Zz]|[+-](\d\d):(\d\d))$/.exec(text);
  if (!match) {
    return false;
  }
  const [year, month, day, hour, minute, second] = match.slice(1, 7).map(Number);
  const date = new Date(0);
  date.setUTCFullYear(year, month - 1, day);
  const dateExists =
    date.getUTCFullYear() === year && date.getUTCMonth() === month - 1 && date.getUTCDate() === day;
  const offsetOk = match[9] === undefined || (Number(match[9]) < 24 && Number(match[10]) < 60);
  return dateExists && hour < 24 && minute < 60 && second <= 60 && offsetOk;
}

function oracleJsonMediaType(text: string): boolean {
  const mediaType = text.split(';')[0].replace(/^[ \t]+|[ \t]+$/g, '');
  return mediaType.toLowerCase() === 'application/json';
}

function oracleText(text: unknown): boolean {
  if (typeof text !== 'string' || !text.isWellFormed()) {
    return false;
  }
  const bytes = Buffer.byteLength(text);
  const hasControl = [...text].some((character) => character < ' ' || character === '\u007f');
  return bytes >= 1 && bytes <= 256 && !hasControl;
}

/** Returns the header's text, null when absent, or undefined when repeated, without a value or not UTF-8. */
function oracleHeader(headers: Headers, name: string): string | null | undefined {
  const raw = Object.hasOwn(headers, name) ? headers[name] : undefined;
  const list = raw === undefined ? [] : Array.isArray(raw) ? raw : [raw];
  if (list.length === 0) {
    return null;
  }
  const [only] = list;
  return list.length === 1 && only !== null ? oracleUtf8(only) : undefined;
}

function oracle(message: RawInboundMessage, topic: InboundTopicKind, rules: DecodeRules): OracleResult {
  const fail = (reason: DeadLetterReason): OracleResult => ({ ok: false, reason });
  const value = message.value;
  if (value !== null && value.length > rules.maxEventBytes) {
    return fail('TOO_LARGE');
  }
  if (value === null || value.length === 0) {
    return fail('INVALID_JSON');
  }
  let text = oracleUtf8(value);
  if (text === undefined) {
    return fail('INVALID_JSON');
  }
  if (text.startsWith('\ufeff')) {
    text = text.slice(1);
  }
  let forbidden = false;
  let parsed: unknown;
  try {
    parsed = JSON.parse(text, (key: string, parsedValue: unknown, context?: { source?: string }) => {
      if (key === '__proto__' || key === 'constructor' || key === 'prototype') {
        forbidden = true;
      }
      return typeof parsedValue === 'number' ? new NumberLiteral(context!.source!) : parsedValue;
    });
  } catch {
    return fail('INVALID_JSON');
  }
  if (oracleDepth(parsed) > 32) {
    return fail('INVALID_JSON');
  }
  if (forbidden) {
    return fail('INVALID_DATA');
  }

  const headers = message.headers ?? {};
  const attributes = new Map<string, unknown>();
  let data: unknown;
  if (oracleHeader(headers, 'ce_specversion') !== null) {
    for (const name of Object.keys(headers).filter((header) => header.startsWith('ce_'))) {
      const header = oracleHeader(headers, name);
      if (header === undefined || name === 'ce_data') {
        return fail('INVALID_EVENT');
      }
      if (header !== null) {
        attributes.set(name.slice(3), header);
      }
    }
    const contentType = oracleHeader(headers, 'content-type');
    if (contentType === undefined || (contentType !== null && !oracleJsonMediaType(contentType))) {
      return fail('INVALID_EVENT');
    }
    data = parsed;
  } else {
    if (!isPlainObject(parsed)) {
      return fail('INVALID_EVENT');
    }
    for (const [name, attribute] of Object.entries(parsed)) {
      if (name !== 'data') {
        attributes.set(name, attribute);
      }
    }
    data = parsed.data;
  }

  for (const [name, attribute] of attributes) {
    if (!/^[a-z0-9]{1,20}$/.test(name) || typeof attribute !== 'string') {
      return fail('INVALID_EVENT');
    }
  }
  const get = (name: string) => attributes.get(name) as string | undefined;
  const contentType = get('datacontenttype');
  const time = get('time');
  if (
    get('specversion') !== '1.0' ||
    !oracleText(get('id')) ||
    !oracleText(get('source')) ||
    !oracleText(get('type')) ||
    (contentType !== undefined && !oracleJsonMediaType(contentType)) ||
    (time !== undefined && !oracleTime(time)) ||
    !isPlainObject(data)
  ) {
    return fail('INVALID_EVENT');
  }

  const type = get('type')!;
  const source = get('source')!;
  const subject = get('subject');
  if (!ORACLE_TYPES[topic].includes(type)) {
    return fail('UNKNOWN_TYPE');
  }
  if (rules.allowedSources !== null && !rules.allowedSources.has(source)) {
    return fail('SOURCE_NOT_ALLOWED');
  }

  const keyText = message.key === null ? undefined : oracleUtf8(message.key);
  if (keyText === undefined || !/^[1-9][0-9]{0,18}$/.test(keyText) || BigInt(keyText) > INT64_MAX) {
    return fail('KEY_MISMATCH');
  }
  if (subject !== undefined && subject !== keyText) {
    return fail('KEY_MISMATCH');
  }
  const fields = data;
  const field = (name: string): unknown => (Object.hasOwn(fields, name) ? fields[name] : undefined);
  const customerId = oracleInteger(field('customerId'), 1n, INT64_MAX);
  if (customerId !== undefined && customerId.toString() !== keyText) {
    return fail('KEY_MISMATCH');
  }

  if (customerId === undefined || Object.keys(fields).some((name) => !ORACLE_FIELDS[type].includes(name))) {
    return fail('INVALID_DATA');
  }
  const envelope: EventEnvelope = { id: get('id')!, source, type };
  if (time !== undefined) {
    envelope.time = time;
  }
  if (subject !== undefined) {
    envelope.subject = subject;
  }
  const event = oracleEventData(type, field);
  return event === undefined
    ? fail('INVALID_DATA')
    : { ok: true, event: { envelope, customerId, ...event } as InboundEvent };
}

function oracleEventData(
  type: string,
  field: (name: string) => unknown,
): Record<string, unknown> | undefined {
  if (type === 'StorageUsageChanged') {
    const deltaBytes = oracleInteger(field('deltaBytes'), INT64_MIN, INT64_MAX);
    return deltaBytes === undefined || deltaBytes === 0n ? undefined : { type, deltaBytes };
  }
  if (type === 'UserAllocated' || type === 'UserDeallocated') {
    const userId = field('userId');
    return typeof userId === 'string' && /^[!-~]{1,128}$/.test(userId) ? { type, userId } : undefined;
  }
  if (type === 'LockCustomer' || type === 'UnlockCustomer') {
    const comment = field('comment');
    if (comment === undefined) {
      return { type };
    }
    const ok =
      typeof comment === 'string' &&
      comment.isWellFormed() &&
      !comment.includes('\0') &&
      [...comment].length <= 1000;
    return ok ? { type, comment } : undefined;
  }
  const rawQuotaMax = field('quotaMax');
  const rawUserMax = field('userMax');
  const quotaMax = oracleInteger(rawQuotaMax, -1n, INT64_MAX);
  const userMax = oracleInteger(rawUserMax, -1n, 2n ** 31n - 1n);
  const quotaOk =
    rawQuotaMax === undefined || (quotaMax !== undefined && (quotaMax === -1n || quotaMax >= 1048576n));
  const userOk = rawUserMax === undefined || userMax !== undefined;
  if (!quotaOk || !userOk || (rawQuotaMax === undefined && rawUserMax === undefined)) {
    return undefined;
  }
  return {
    type,
    ...(quotaMax === undefined ? {} : { quotaMax }),
    ...(userMax === undefined ? {} : { userMax }),
  };
}

/** Message parts before serialization, which mutations edit. */
interface WireCase {
  topic: InboundTopicKind;
  rules: DecodeRules;
  mode: 'structured' | 'binary';
  attributes: Array<[string, unknown]>;
  data: unknown;
  key: Buffer | null;
  headers: Array<[string, HeaderValue]>;
}

interface ValidCase {
  wire: WireCase;
  expected: InboundEvent;
}

function toMessage(wire: WireCase): RawInboundMessage {
  const headers: Headers = Object.fromEntries(wire.headers);
  if (wire.mode === 'structured') {
    const body = Object.fromEntries(
      wire.data === undefined ? wire.attributes : [...wire.attributes, ['data', wire.data]],
    );
    return { key: wire.key, value: Buffer.from(stringifyJson(body)), headers };
  }
  for (const [name, value] of wire.attributes) {
    headers[`ce_${name}`] = typeof value === 'string' ? value : stringifyJson(value);
  }
  const value = wire.data === undefined ? null : Buffer.from(stringifyJson(wire.data));
  return { key: wire.key, value, headers };
}

const printableAscii = fc.integer({ min: 0x21, max: 0x7e }).map((code) => String.fromCharCode(code));
const customerIdArb = fc.oneof(
  fc.constantFrom(1n, 42n, BEYOND_SAFE_INTEGER, INT64_MAX),
  fc.bigInt({ min: 1n, max: INT64_MAX }),
);
const int64Arb = fc.oneof(
  fc.constantFrom(INT64_MIN, INT64_MAX, -1n, 1n, BEYOND_SAFE_INTEGER, -BEYOND_SAFE_INTEGER),
  fc.bigInt({ min: INT64_MIN, max: INT64_MAX }),
);
const quotaMaxArb = fc.oneof(
  fc.constant(-1n),
  fc.constantFrom(1048576n, INT64_MAX),
  fc.bigInt({ min: 1048576n, max: INT64_MAX }),
);
const userMaxArb = fc.oneof(
  fc.constantFrom(-1n, 0n, 2n ** 31n - 1n),
  fc.bigInt({ min: 0n, max: 2n ** 31n - 1n }),
);
const commentArb = fc.oneof(
  fc.string({ unit: 'binary', maxLength: 40 }).map((text) => text.replaceAll('\0', '')),
  fc.constantFrom('x'.repeat(1000), '😀'.repeat(1000), ''),
);
const timeArb = fc.oneof(
  fc
    .date({
      min: new Date('0001-01-01T00:00:00Z'),
      max: new Date('9999-12-31T23:59:59Z'),
      noInvalidDate: true,
    })
    .map((date) => date.toISOString()),
  fc.constantFrom(
    '1985-04-12t23:20:50.52z',
    '1996-12-19T16:39:57-08:00',
    '1990-12-31T23:59:60Z',
    '2024-02-29T00:00:00+05:30',
  ),
);

/** Writes an integer as a JSON integer or as a decimal string. */
function integerForm(value: bigint, asString: boolean): unknown {
  return asString ? value.toString() : value;
}

const dataArb: fc.Arbitrary<{
  type: InboundEventType;
  data: Record<string, unknown>;
  fields: Record<string, unknown>;
}> = fc.oneof(
  fc
    .record({
      customerId: customerIdArb,
      deltaBytes: int64Arb.filter((delta) => delta !== 0n),
      strings: fc.boolean(),
    })
    .map(({ customerId, deltaBytes, strings }) => ({
      type: 'StorageUsageChanged' as const,
      data: { customerId: integerForm(customerId, strings), deltaBytes: integerForm(deltaBytes, !strings) },
      fields: { customerId, deltaBytes },
    })),
  fc
    .record({
      type: fc.constantFrom('UserAllocated' as const, 'UserDeallocated' as const),
      customerId: customerIdArb,
      userId: fc.string({ unit: printableAscii, minLength: 1, maxLength: 128 }),
    })
    .map(({ type, customerId, userId }) => ({
      type,
      data: { customerId, userId },
      fields: { customerId, userId },
    })),
  fc
    .record(
      {
        type: fc.constantFrom('LockCustomer' as const, 'UnlockCustomer' as const),
        customerId: customerIdArb,
        comment: commentArb,
      },
      { requiredKeys: ['type', 'customerId'] },
    )
    .map(({ type, customerId, comment }) => ({
      type,
      data: comment === undefined ? { customerId: customerId.toString() } : { customerId, comment },
      fields: comment === undefined ? { customerId } : { customerId, comment },
    })),
  fc
    .record({
      customerId: customerIdArb,
      quotaMax: fc.option(quotaMaxArb),
      userMax: fc.option(userMaxArb),
      strings: fc.boolean(),
    })
    .filter(({ quotaMax, userMax }) => quotaMax !== null || userMax !== null)
    .map(({ customerId, quotaMax, userMax, strings }) => {
      const data: Record<string, unknown> = { customerId };
      const fields: Record<string, unknown> = { customerId };
      if (quotaMax !== null) {
        data.quotaMax = integerForm(quotaMax, strings);
        fields.quotaMax = quotaMax;
      }
      if (userMax !== null) {
        data.userMax = integerForm(userMax, strings);
        fields.userMax = userMax;
      }
      return { type: 'SetCustomerLimits' as const, data, fields };
    }),
);

const validCaseArb: fc.Arbitrary<ValidCase> = fc
  .record({
    payload: dataArb,
    mode: fc.constantFrom('structured' as const, 'binary' as const),
    id: fc.oneof(
      fc.string({ unit: printableAscii, minLength: 1, maxLength: 64 }),
      fc.constantFrom('é'.repeat(128), 'x'.repeat(256)),
    ),
    source: fc.constantFrom(...ALLOWED_SOURCES),
    time: fc.option(timeArb),
    withSubject: fc.boolean(),
    extension: fc.option(fc.string({ maxLength: 30 })),
    contentType: fc.option(
      fc.constantFrom('application/json', 'application/json; charset=utf-8', 'Application/JSON'),
    ),
    restricted: fc.boolean(),
  })
  .map(({ payload, mode, id, source, time, withSubject, extension, contentType, restricted }) => {
    const keyText = String(payload.fields.customerId);
    const attributes: Array<[string, unknown]> = [
      ['specversion', '1.0'],
      ['id', id],
      ['source', source],
      ['type', payload.type],
    ];
    const headers: Array<[string, HeaderValue]> = [];
    const envelope: EventEnvelope = { id, source, type: payload.type };
    if (time !== null) {
      attributes.push(['time', time]);
      envelope.time = time;
    }
    if (withSubject) {
      attributes.push(['subject', keyText]);
      envelope.subject = keyText;
    }
    if (extension !== null) {
      attributes.push(['traceparent', extension]);
    }
    if (contentType !== null) {
      if (mode === 'binary') {
        headers.push(['content-type', Buffer.from(contentType)]);
      } else {
        attributes.push(['datacontenttype', contentType]);
      }
    }
    const wire: WireCase = {
      topic: TOPIC_OF[payload.type],
      rules: restricted ? RESTRICTED_RULES : RULES,
      mode,
      attributes,
      data: payload.data,
      key: Buffer.from(keyText),
      headers,
    };
    const expected = { type: payload.type, envelope, ...payload.fields } as InboundEvent;
    return { wire, expected };
  });

const boundaryIntegers = fc.constantFrom<unknown>(
  0n,
  -1n,
  -2n,
  1n,
  42n,
  1048575n,
  1048576n,
  2n ** 31n - 1n,
  2n ** 31n,
  INT64_MAX,
  INT64_MAX + 1n,
  INT64_MIN,
  INT64_MIN - 1n,
  BEYOND_SAFE_INTEGER,
);
const integerLookalikes = fc.constantFrom<unknown>(
  1.5,
  rawJson('1e3'),
  rawJson('-0'),
  rawJson('1.0'),
  rawJson('1e400'),
  '0',
  '-0',
  '-1',
  '-2',
  '42',
  '042',
  '+42',
  ' 42',
  '1.5',
  'NaN',
  'Infinity',
  '',
  '1048575',
  '1048576',
  '2147483648',
  '9223372036854775807',
  '9223372036854775808',
  '-9223372036854775809',
);
const otherJsonValues = fc.constantFrom<unknown>(true, false, null, [], {}, [1n], { a: 1n });
const textValues = fc.constantFrom<unknown>(
  'a b',
  'x'.repeat(128),
  'x'.repeat(129),
  'x'.repeat(256),
  'x'.repeat(257),
  'é'.repeat(128),
  'é'.repeat(129),
  'x'.repeat(1000),
  'x'.repeat(1001),
  '😀'.repeat(1001),
  '\u0000',
  '\ud800',
  'a\nb',
  'é',
  '1.0',
  '0.3',
  'StorageUsageChanged',
  'UserAllocated',
  'LockCustomer',
  'SetCustomerLimits',
  'urn:evil',
  SOURCE,
  'application/json',
  'text/plain',
  'APPLICATION/JSON;charset=utf-8',
  '2024-02-30T00:00:00Z',
  '2024-05-01T12:00:00Z',
  '0000-02-29T00:00:00Z',
  '1900-02-29T00:00:00Z',
  '2024-05-01T12:00:00+24:00',
);
const interestingValue: fc.Arbitrary<unknown> = fc.oneof(
  { arbitrary: boundaryIntegers, weight: 3 },
  { arbitrary: integerLookalikes, weight: 3 },
  { arbitrary: otherJsonValues, weight: 1 },
  { arbitrary: textValues, weight: 3 },
  { arbitrary: fc.bigInt({ min: INT64_MIN - 4n, max: INT64_MAX + 4n }), weight: 1 },
  { arbitrary: fc.string({ maxLength: 12 }), weight: 1 },
);

/** A data field to mutate: a name, or an index into the fields that the event already has. */
type DataField = string | number;

function dataFieldName(entries: Array<[string, unknown]>, field: DataField): string {
  if (typeof field === 'string') {
    return field;
  }
  return entries.length === 0 ? 'customerId' : entries[field % entries.length][0];
}

const dataField: fc.Arbitrary<DataField> = fc.oneof(
  { arbitrary: fc.nat(), weight: 3 },
  fc.constantFrom(
    'customerId',
    'deltaBytes',
    'userId',
    'comment',
    'quotaMax',
    'userMax',
    'extra',
    '__proto__',
    'constructor',
  ),
);
const attributeName = fc.constantFrom(
  'specversion',
  'id',
  'source',
  'type',
  'time',
  'subject',
  'datacontenttype',
  'data_base64',
  'data',
  'traceparent',
  'a'.repeat(21),
  'Trace',
  'prototype',
);
const headerValue: fc.Arbitrary<HeaderValue> = fc.constantFrom<HeaderValue>(
  undefined,
  null,
  [null, '1.0'],
  '1.0',
  'x',
  Buffer.from([0xff]),
  Buffer.from('1.0'),
  ['1.0'],
  ['a', 'b'],
  [],
  'application/json',
  'text/plain',
  '42',
);
const headerName = fc.constantFrom(
  'ce_specversion',
  'ce_id',
  'ce_type',
  'ce_subject',
  'content-type',
  'ce_Trace',
  'ce_',
  'x-other',
);

type Mutation =
  | { kind: 'setData'; field: DataField; value: unknown }
  | { kind: 'deleteData'; field: DataField }
  | { kind: 'replaceData'; value: unknown }
  | { kind: 'setAttribute'; name: string; value: unknown }
  | { kind: 'deleteAttribute'; name: string }
  | { kind: 'key'; key: Buffer | null }
  | { kind: 'topic'; topic: InboundTopicKind }
  | { kind: 'mode' }
  | { kind: 'header'; name: string; value: HeaderValue }
  | { kind: 'limit'; slack: number }
  | { kind: 'flipByte'; position: number; byte: number }
  | { kind: 'truncate'; position: number };

const mutationArb: fc.Arbitrary<Mutation> = fc.oneof(
  {
    arbitrary: fc.record({
      kind: fc.constant('setData' as const),
      field: dataField,
      value: interestingValue,
    }),
    weight: 4,
  },
  fc.record({ kind: fc.constant('deleteData' as const), field: dataField }),
  fc.record({ kind: fc.constant('replaceData' as const), value: interestingValue }),
  {
    arbitrary: fc.record({
      kind: fc.constant('setAttribute' as const),
      name: attributeName,
      value: interestingValue,
    }),
    weight: 3,
  },
  fc.record({ kind: fc.constant('deleteAttribute' as const), name: attributeName }),
  fc.record({
    kind: fc.constant('key' as const),
    key: fc.oneof(
      fc.constant(null),
      fc
        .constantFrom('0', '042', '43', '-1', '\ufeff42', '9223372036854775808')
        .map((text) => Buffer.from(text)),
      fc.uint8Array({ maxLength: 8 }).map((bytes) => Buffer.from(bytes)),
    ),
  }),
  fc.record({ kind: fc.constant('topic' as const), topic: fc.constantFrom(...TOPICS) }),
  fc.record({ kind: fc.constant('mode' as const) }),
  fc.record({ kind: fc.constant('header' as const), name: headerName, value: headerValue }),
  fc.record({ kind: fc.constant('limit' as const), slack: fc.integer({ min: -2, max: 1 }) }),
  fc.record({
    kind: fc.constant('flipByte' as const),
    position: fc.nat(),
    byte: fc.integer({ min: 0, max: 255 }),
  }),
  fc.record({ kind: fc.constant('truncate' as const), position: fc.nat() }),
);

/** Applies a mutation to a copy of the wire case and returns the message to decode. */
function mutate(
  wire: WireCase,
  mutation: Mutation,
): { message: RawInboundMessage; topic: InboundTopicKind; rules: DecodeRules } {
  const next: WireCase = { ...wire, attributes: [...wire.attributes], headers: [...wire.headers] };
  const dataEntries = isPlainObject(wire.data) ? Object.entries(wire.data) : [];
  switch (mutation.kind) {
    case 'setData': {
      const name = dataFieldName(dataEntries, mutation.field);
      next.data = Object.fromEntries([
        ...dataEntries.filter(([entry]) => entry !== name),
        [name, mutation.value],
      ]);
      break;
    }
    case 'deleteData': {
      const name = dataFieldName(dataEntries, mutation.field);
      next.data = Object.fromEntries(dataEntries.filter(([entry]) => entry !== name));
      break;
    }
    case 'replaceData':
      next.data = mutation.value;
      break;
    case 'setAttribute':
      next.attributes = [
        ...next.attributes.filter(([name]) => name !== mutation.name),
        [mutation.name, mutation.value],
      ];
      break;
    case 'deleteAttribute':
      next.attributes = next.attributes.filter(([name]) => name !== mutation.name);
      break;
    case 'key':
      next.key = mutation.key;
      break;
    case 'topic':
      next.topic = mutation.topic;
      break;
    case 'mode':
      next.mode = wire.mode === 'binary' ? 'structured' : 'binary';
      break;
    case 'header':
    case 'limit':
    case 'flipByte':
    case 'truncate':
      break;
  }

  const message = toMessage(next);
  let rules = next.rules;
  const value = message.value;
  if (mutation.kind === 'limit' && value !== null) {
    rules = { ...rules, maxEventBytes: value.length + mutation.slack };
  } else if (mutation.kind === 'flipByte' && value !== null && value.length > 0) {
    value[mutation.position % value.length] = mutation.byte;
  } else if (mutation.kind === 'truncate' && value !== null) {
    message.value = value.subarray(0, mutation.position % (value.length + 1));
  }
  if (mutation.kind === 'header') {
    // Set after serialization, so the header replaces one written from the attributes.
    message.headers![mutation.name] = mutation.value;
  }
  return { message, topic: next.topic, rules };
}

type PropertyCase =
  | { kind: 'valid'; valid: ValidCase }
  | { kind: 'mutated'; valid: ValidCase; mutation: Mutation }
  | {
      kind: 'random';
      source: RandomSource;
      message: RawInboundMessage;
      topic: InboundTopicKind;
      rules: DecodeRules;
    };

type RandomSource = 'bytes' | 'json' | 'null';

const randomCaseArb: fc.Arbitrary<PropertyCase> = fc
  .record({
    value: fc.oneof(
      fc
        .uint8Array({ maxLength: 200 })
        .map((bytes) => ({ source: 'bytes' as const, value: Buffer.from(bytes) })),
      fc.json({ maxDepth: 4 }).map((text) => ({ source: 'json' as const, value: Buffer.from(text) })),
      fc.constant({ source: 'null' as const, value: null }),
    ),
    key: fc.oneof(
      fc.constant(null),
      fc.uint8Array({ maxLength: 6 }).map((bytes) => Buffer.from(bytes)),
      fc.constant(Buffer.from('42')),
    ),
    headers: fc.option(fc.dictionary(headerName, headerValue, { maxKeys: 4, noNullPrototype: true })),
    topic: fc.constantFrom(...TOPICS),
    restricted: fc.boolean(),
  })
  .map(({ value, key, headers, topic, restricted }) => ({
    kind: 'random' as const,
    source: value.source,
    message: { key, value: value.value, headers: headers ?? undefined },
    topic,
    rules: restricted ? RESTRICTED_RULES : RULES,
  }));

const propertyCaseArb: fc.Arbitrary<PropertyCase> = fc.oneof(
  validCaseArb.map((valid) => ({ kind: 'valid' as const, valid })),
  fc
    .record({ valid: validCaseArb, mutation: mutationArb })
    .map(({ valid, mutation }) => ({ kind: 'mutated' as const, valid, mutation })),
  randomCaseArb,
);

describe('decodeInboundMessage property', () => {
  it('matches the oracle on valid, mutated and random messages', () => {
    const seen = { valid: 0, mutated: 0, random: 0, mutatedAccepted: 0, mutatedRejected: 0 };
    const randomSources: Record<RandomSource, number> = { bytes: 0, json: 0, null: 0 };
    const reasons = new Set<string>(DEAD_LETTER_REASONS);

    fc.assert(
      fc.property(propertyCaseArb, (testCase) => {
        seen[testCase.kind]++;
        if (testCase.kind === 'valid') {
          const { wire, expected } = testCase.valid;
          const message = toMessage(wire);
          const result = decodeInboundMessage(message, wire.topic, wire.rules);

          expect(expectAccepted(result)).toEqual(expected);
          expect(oracle(message, wire.topic, wire.rules)).toEqual({ ok: true, event: expected });
          return;
        }

        const { message, topic, rules } =
          testCase.kind === 'mutated' ? mutate(testCase.valid.wire, testCase.mutation) : testCase;
        const result = decodeInboundMessage(message, topic, rules);
        const expected = oracle(message, topic, rules);

        if (result.ok) {
          expect(expected).toEqual({ ok: true, event: result.event });
        } else {
          expect(reasons.has(result.reason)).toBe(true);
          expect(result.error).not.toMatch(/[\r\n]/);
          expect(expected).toEqual({ ok: false, reason: result.reason });
        }
        if (testCase.kind === 'mutated') {
          seen[result.ok ? 'mutatedAccepted' : 'mutatedRejected']++;
        } else {
          randomSources[testCase.source]++;
        }
      }),
      { numRuns: 10_000 },
    );

    // Each class is about a third of the 10 000 runs, and each random source a third of its class.
    expect(seen.valid).toBeGreaterThanOrEqual(1_000);
    expect(seen.mutated).toBeGreaterThanOrEqual(1_000);
    expect(seen.random).toBeGreaterThanOrEqual(1_000);
    expect(seen.mutatedAccepted).toBeGreaterThan(0);
    expect(seen.mutatedRejected).toBeGreaterThanOrEqual(1_000);
    expect(randomSources.bytes).toBeGreaterThanOrEqual(300);
    expect(randomSources.json).toBeGreaterThanOrEqual(300);
    expect(randomSources.null).toBeGreaterThanOrEqual(300);
  });
});
