import { IHeaders } from 'kafkajs';

import {
  DeadLetter,
  MAX_KEPT_HEADER_BYTES,
  MAX_KEPT_KEY_BYTES,
  splitBySize,
  TOO_LARGE_KEPT_BYTES,
  toDeadLetterMessage,
} from './dead-letter-publisher';

function letter(overrides: Partial<DeadLetter> = {}): DeadLetter {
  return {
    topic: 'storage.usage',
    partition: 2,
    offset: '17',
    key: Buffer.from('42'),
    value: Buffer.from('not json'),
    headers: undefined,
    reason: 'INVALID_JSON',
    error: 'message value is not valid JSON',
    ...overrides,
  };
}

/** Headers as kafkajs 2.2.4 decodes them: a header named like an Object member gets the inherited member first. */
function consumedHeaders(entries: [string, unknown][]): IHeaders {
  return Object.fromEntries(entries) as IHeaders;
}

function headersOf(overrides: Partial<DeadLetter>): IHeaders {
  return toDeadLetterMessage(letter(overrides)).headers!;
}

describe('toDeadLetterMessage', () => {
  it('keeps key, value and headers', () => {
    const message = toDeadLetterMessage(letter({ headers: { traceparent: Buffer.from('trace-1') } }));

    expect(message.key).toEqual(Buffer.from('42'));
    expect(message.value).toEqual(Buffer.from('not json'));
    expect(message.headers!.traceparent).toEqual(Buffer.from('trace-1'));
  });

  it('adds the reason and the origin', () => {
    const headers = headersOf({});

    expect(headers['x-dlq-reason']).toBe('INVALID_JSON');
    expect(headers['x-dlq-error']).toBe('message value is not valid JSON');
    expect(headers['x-original-topic']).toBe('storage.usage');
    expect(headers['x-original-partition']).toBe('2');
    expect(headers['x-original-offset']).toBe('17');
  });

  it('replaces origin headers the producer sent', () => {
    const headers = headersOf({
      headers: {
        'x-dlq-reason': Buffer.from('NONE'),
        'x-original-offset': [Buffer.from('1'), Buffer.from('2')],
      },
    });

    expect(headers['x-dlq-reason']).toBe('INVALID_JSON');
    expect(headers['x-original-offset']).toBe('17');
  });

  it('keeps the first 4 KiB of a value that is too large', () => {
    const value = Buffer.alloc(TOO_LARGE_KEPT_BYTES * 3, 0x7b);
    const message = toDeadLetterMessage(letter({ value, reason: 'TOO_LARGE' }));

    expect(message.value).toEqual(value.subarray(0, TOO_LARGE_KEPT_BYTES));
    expect(message.headers!['x-dlq-original-size']).toBe(String(value.length));
  });

  it('cuts an oversized key', () => {
    const key = Buffer.alloc(MAX_KEPT_KEY_BYTES + 1, 0x31);
    const message = toDeadLetterMessage(letter({ key }));

    expect(message.key).toEqual(key.subarray(0, TOO_LARGE_KEPT_BYTES));
    expect(message.headers!['x-dlq-original-key-size']).toBe(String(key.length));
  });

  it('keeps a key at the limit whole', () => {
    const key = Buffer.alloc(MAX_KEPT_KEY_BYTES, 0x31);
    const message = toDeadLetterMessage(letter({ key }));

    expect(message.key).toEqual(key);
    expect(message.headers!['x-dlq-original-key-size']).toBeUndefined();
  });

  it('drops headers beyond the kept bytes', () => {
    const pad = Buffer.alloc(4 * 1_048_576, 0x61);
    const headers = headersOf({
      headers: { first: Buffer.from('kept'), pad, last: Buffer.from('kept too') },
    });

    expect(headers.first).toEqual(Buffer.from('kept'));
    expect(headers.last).toEqual(Buffer.from('kept too'));
    expect(headers.pad).toBeUndefined();
    expect(headers['x-dlq-dropped-header-bytes']).toBe(String(pad.length + 'pad'.length));
  });

  it('fits the DLQ topic with every part at its limit', () => {
    const message = toDeadLetterMessage(
      letter({
        key: Buffer.alloc(MAX_KEPT_KEY_BYTES, 0x31),
        value: Buffer.alloc(1_048_576, 0x7b),
        headers: { a: Buffer.alloc(MAX_KEPT_HEADER_BYTES - 1, 0x61), b: Buffer.alloc(2 * 1_048_576) },
      }),
    );
    const headerBytes = Object.entries(message.headers!).reduce(
      (sum, [name, value]) => sum + name.length + Buffer.byteLength(value as Buffer | string),
      0,
    );
    const total = (message.key as Buffer).length + (message.value as Buffer).length + headerBytes;

    expect(total).toBeLessThan(3 * 1_048_576 - 65_536);
  });

  it('puts the error on one line', () => {
    expect(headersOf({ error: 'line 1\r\nline 2\nline 3' })['x-dlq-error']).toBe('line 1 line 2 line 3');
  });

  it('drops inherited Object members from header values', () => {
    const headers = headersOf({
      headers: consumedHeaders([
        ['__proto__', [Object.prototype, Buffer.from('p')]],
        ['constructor', [Object, Buffer.from('c1'), Buffer.from('c2')]],
        ['toString', [Object.prototype.toString, Buffer.from('t')]],
      ]),
    });

    expect(Object.getOwnPropertyDescriptor(headers, '__proto__')?.value).toEqual(Buffer.from('p'));
    expect(headers.constructor).toEqual([Buffer.from('c1'), Buffer.from('c2')]);
    expect(headers.toString).toEqual(Buffer.from('t'));
  });

  it('writes null header values as empty values', () => {
    const headers = headersOf({
      headers: consumedHeaders([
        ['ce_id', null],
        ['traceparent', [null, Buffer.from('x')]],
      ]),
    });

    expect(headers.ce_id).toEqual(Buffer.alloc(0));
    expect(headers.traceparent).toEqual([Buffer.alloc(0), Buffer.from('x')]);
  });

  it('writes only strings and Buffers', () => {
    const headers = headersOf({
      headers: consumedHeaders([
        ['__proto__', [Object.prototype, Buffer.from('p')]],
        ['valueOf', [Object.prototype.valueOf, null]],
        ['plain', Buffer.from('x')],
      ]),
    });

    const values = Object.keys(headers).flatMap((name) => {
      const value = headers[name];
      return Array.isArray(value) ? value : [value];
    });
    expect(values.every((value) => typeof value === 'string' || Buffer.isBuffer(value))).toBe(true);
    expect(Object.keys(headers)).toEqual(expect.arrayContaining(['__proto__', 'valueOf', 'plain']));
  });

  it('leaves Object.prototype untouched', () => {
    const before = Object.getOwnPropertyNames(Object.prototype);

    headersOf({
      headers: consumedHeaders([['__proto__', [Object.prototype, Buffer.from('{"polluted":1}')]]]),
    });

    expect(Object.getOwnPropertyNames(Object.prototype)).toEqual(before);
    expect(({} as Record<string, unknown>).polluted).toBeUndefined();
  });
});

describe('splitBySize', () => {
  const message = (valueBytes: number, key = 'k') => ({ key, value: Buffer.alloc(valueBytes) });

  it('keeps small messages in one group', () => {
    const messages = [message(10), message(20), message(30)];

    expect(splitBySize(messages, 1000)).toEqual([messages]);
  });

  it('starts a new group before the limit', () => {
    const messages = [message(400), message(400), message(400)];

    expect(splitBySize(messages, 1000)).toEqual([[messages[0], messages[1]], [messages[2]]]);
  });

  it('sends a message above the limit alone', () => {
    const messages = [message(10), message(5000), message(10)];

    expect(splitBySize(messages, 1000)).toEqual([[messages[0]], [messages[1]], [messages[2]]]);
  });

  it('counts keys and headers', () => {
    const withHeaders = {
      key: 'x'.repeat(300),
      value: null,
      headers: { trace: ['y'.repeat(300), 'z'.repeat(300)] },
    };

    expect(splitBySize([withHeaders, withHeaders], 1000)).toEqual([[withHeaders], [withHeaders]]);
  });

  it('keeps the order', () => {
    const messages = Array.from({ length: 50 }, (_, index) => message(100 + index, String(index)));

    expect(splitBySize(messages, 1000).flat()).toEqual(messages);
  });

  it('returns no group for no messages', () => {
    expect(splitBySize([], 1000)).toEqual([]);
  });
});
