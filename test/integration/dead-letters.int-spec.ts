import { randomUUID } from 'node:crypto';
import { Message } from 'kafkajs';

import { binaryStorageEvent, storageEvent } from '../support/events';
import { createCustomer, eventually } from '../support/http';
import {
  getCustomer,
  getText,
  metricSample,
  PartitionProducer,
  readDeadLetters,
  waitForAppliedEvent,
  waitForCustomer,
} from '../support/input-helpers';
import { ReadMessage } from '../support/kafka';
import { ServiceFixture } from '../support/service-fixture';
import { ServiceProcess } from '../support/service-process';

const MAX_EVENT_BYTES = 2048;
const TOO_LARGE_BYTES = 6000;
const KEPT_BYTES = 4096;
const INT64_MAX = '9223372036854775807';
/** A valid customer id that no test reaches, because ids come from an identity column that starts at 1. */
const MISSING_CUSTOMER_ID = '9000000000000000001';

/** Each invalid message of the mixed batch and the reason code its dead letter must carry. */
const CASES: [name: string, reason: string][] = [
  ['not-json', 'INVALID_JSON'],
  ['bad-envelope', 'INVALID_EVENT'],
  ['unknown-type', 'UNKNOWN_TYPE'],
  ['missing-customer', 'CUSTOMER_NOT_FOUND'],
  ['key-mismatch', 'KEY_MISMATCH'],
  ['fraction-delta', 'INVALID_DATA'],
  ['too-large', 'TOO_LARGE'],
];
const CASE_NAMES = CASES.map(([name]) => name);
const UNCUT_CASE_NAMES = CASE_NAMES.filter((name) => name !== 'too-large');

/** Adds the test headers that identify a message on the DLQ topic and show that headers are kept. */
function tagged(name: string, message: Message): Message {
  return { ...message, headers: { ...message.headers, 'x-case': name, traceparent: `trace-${name}` } };
}

function asBuffer(value: Message['value']): Buffer {
  return Buffer.isBuffer(value) ? value : Buffer.from(value ?? '', 'utf8');
}

function quotaUsedIs(expected: string) {
  return (customer: { text: string }) => customer.text.includes(`"quotaUsed":${expected},`);
}

function replaceInValue(message: Message, search: string, replacement: string): Message {
  const text = String(message.value);
  if (!text.includes(search)) {
    throw new Error(`the event text does not contain ${search}`);
  }
  return { ...message, value: text.replace(search, replacement) };
}

describe('dead letters', () => {
  const fixture = new ServiceFixture('dlq');
  const producer = new PartitionProducer(fixture.kafka.kafka);
  let service: ServiceProcess;

  beforeAll(async () => {
    await fixture.setUp();
    service = await fixture.start({ MAX_EVENT_BYTES: String(MAX_EVENT_BYTES) });
  });

  afterAll(async () => {
    await producer.disconnect();
    await fixture.tearDown();
  });

  describe('one partition with invalid and valid messages', () => {
    let customerId: string;
    const messages = new Map<string, Message>();
    const errors = new Map<string, RegExp>();
    const sentOffsets = new Map<string, string>();
    let deadLetters: Map<string, ReadMessage>;

    beforeAll(async () => {
      customerId = await createCustomer(service.baseUrl, { quotaMax: '-1', userMax: '10' });
      const otherCustomerId = await createCustomer(service.baseUrl, { quotaMax: '-1', userMax: '10' });
      const event = storageEvent(customerId, '7');

      // An otherwise valid event, padded with an extension attribute until it is too large.
      const unpadded = String(storageEvent(customerId, '5').value);
      const padding = 'x'.repeat(TOO_LARGE_BYTES - Buffer.byteLength(unpadded) - '"padding":"",'.length);
      const invalid: [string, Message, RegExp][] = [
        ['not-json', { key: customerId, value: 'this is not JSON {' }, /not valid JSON/],
        [
          'bad-envelope',
          replaceInValue(event, '"specversion":"1.0"', '"specversion":"0.3"'),
          /specversion must be "1\.0", got "0\.3"/,
        ],
        [
          'unknown-type',
          replaceInValue(event, '"type":"StorageUsageChanged"', '"type":"StorageUsageReset"'),
          /"StorageUsageReset" is not handled on the storage topic/,
        ],
        [
          'missing-customer',
          storageEvent(MISSING_CUSTOMER_ID, '7'),
          new RegExp(`customer ${MISSING_CUSTOMER_ID} does not exist`),
        ],
        [
          'key-mismatch',
          storageEvent(customerId, '7', { key: otherCustomerId }),
          new RegExp(`message key "${otherCustomerId}" differs from data.customerId ${customerId}`),
        ],
        [
          'fraction-delta',
          storageEvent(customerId, '1.5'),
          /data\.deltaBytes must be a non-zero signed 64-bit integer .*got 1\.5/,
        ],
        [
          'too-large',
          { key: customerId, value: unpadded.replace('"data":', `"padding":"${padding}","data":`) },
          new RegExp(`${TOO_LARGE_BYTES} bytes, above the limit of ${MAX_EVENT_BYTES} bytes`),
        ],
      ];
      for (const [name, message, error] of invalid) {
        messages.set(name, tagged(name, message));
        errors.set(name, error);
      }

      // Valid events sit between and after the invalid ones, all on partition 0 in one record batch.
      const lastEventId = randomUUID();
      const sequence: [string, Message][] = [
        ['valid-100', storageEvent(customerId, '100')],
        ['not-json', messages.get('not-json')!],
        ['bad-envelope', messages.get('bad-envelope')!],
        ['valid-200', storageEvent(customerId, '200')],
        ['unknown-type', messages.get('unknown-type')!],
        ['missing-customer', messages.get('missing-customer')!],
        ['key-mismatch', messages.get('key-mismatch')!],
        ['valid-400', storageEvent(customerId, '400')],
        ['fraction-delta', messages.get('fraction-delta')!],
        ['too-large', messages.get('too-large')!],
        ['valid-800', storageEvent(customerId, '800', { id: lastEventId })],
      ];
      const offsets = await producer.send(
        fixture.kafka.topics.storage,
        0,
        sequence.map(([, message]) => message),
      );
      sequence.forEach(([name], index) => sentOffsets.set(name, offsets[index]));

      // The batch handler commits, then publishes all dead letters of the batch in one send and logs
      // them. After the first log line, every dead letter of the batch is on the topic.
      await waitForAppliedEvent(service, lastEventId);
      await service.waitForLog(
        (line) => line.msg === 'dead-lettered message' && line.offset === sentOffsets.get('not-json'),
      );
      const all = await fixture.kafka.readAll(fixture.kafka.topics.deadLetters);
      deadLetters = new Map(all.map((letter) => [letter.headers['x-case'], letter]));
    });

    it('applies valid events around them', async () => {
      const customer = await getCustomer(service, customerId);

      // 100 + 200 + 400 + 800: the valid events only.
      expect(customer.text).toContain('"quotaUsed":1500,');
    });

    it('writes one dead letter each', async () => {
      const all = await fixture.kafka.readAll(fixture.kafka.topics.deadLetters);
      const fromBatch = all.filter((letter) => CASE_NAMES.includes(letter.headers['x-case']));

      expect(fromBatch.map((letter) => letter.headers['x-case']).sort()).toEqual([...CASE_NAMES].sort());
    });

    it.each(CASES)('dead-letters %s as %s', (name, reason) => {
      expect(deadLetters.get(name)!.headers['x-dlq-reason']).toBe(reason);
    });

    it.each(CASE_NAMES)('dead letter %s names its origin', (name) => {
      const letter = deadLetters.get(name)!;

      expect(letter.headers['x-original-topic']).toBe(fixture.kafka.topics.storage);
      expect(letter.headers['x-original-partition']).toBe('0');
      expect(letter.headers['x-original-offset']).toBe(sentOffsets.get(name));
    });

    it.each(UNCUT_CASE_NAMES)('dead letter %s keeps the message', (name) => {
      const original = messages.get(name)!;
      const letter = deadLetters.get(name)!;

      expect(letter.key).toBe(String(original.key));
      expect(letter.value).toEqual(asBuffer(original.value));
      expect(letter.headers['traceparent']).toBe(`trace-${name}`);
      expect(letter.headers['x-dlq-original-size']).toBeUndefined();
    });

    it('too-large letter keeps the first 4 KiB', () => {
      const original = asBuffer(messages.get('too-large')!.value);
      const letter = deadLetters.get('too-large')!;

      expect(original.length).toBe(TOO_LARGE_BYTES);
      expect(letter.key).toBe(customerId);
      expect(letter.value).toEqual(original.subarray(0, KEPT_BYTES));
      expect(letter.headers['x-dlq-original-size']).toBe(String(TOO_LARGE_BYTES));
      expect(letter.headers['traceparent']).toBe('trace-too-large');
    });

    it.each(CASE_NAMES)('dead letter %s explains the error', (name) => {
      const error = deadLetters.get(name)!.headers['x-dlq-error'];

      expect(error).toMatch(errors.get(name)!);
      expect(error).not.toMatch(/[\r\n]/);
    });

    it.each(CASES)('logs dead letter %s with its offset', (name, reason) => {
      const lines = service.logs.filter(
        (line) =>
          line.msg === 'dead-lettered message' &&
          line.topic === fixture.kafka.topics.storage &&
          line.offset === sentOffsets.get(name),
      );

      expect(lines.map((line) => line.reason)).toEqual([reason]);
    });

    it.each(['INVALID_JSON', 'INVALID_EVENT', 'UNKNOWN_TYPE', 'KEY_MISMATCH', 'TOO_LARGE'])(
      'counts %s dead letters',
      async (reason) => {
        // These reasons occur only in this batch, so each counter is exactly 1.
        const sample = `quota_dead_letters_total{reason="${reason}"}`;
        const metrics = await eventually(async () => {
          const result = await getText(service.baseUrl, '/metrics');
          return result.text.includes(sample) ? result.text : undefined;
        }, 10_000);

        expect(metricSample(metrics, sample)).toBe(1);
      },
    );
  });

  it('applies binary-mode event', async () => {
    const customerId = await createCustomer(service.baseUrl, { quotaMax: '-1', userMax: '10' });
    const eventId = randomUUID();

    await producer.send(fixture.kafka.topics.storage, 0, [
      binaryStorageEvent(customerId, '2048', { id: eventId }),
    ]);
    await waitForAppliedEvent(service, eventId);
    const customer = await waitForCustomer(service, customerId, quotaUsedIs('2048'), 'quotaUsed 2048');

    expect(customer.text).toContain('"quotaUsed":2048,');
  });

  describe('corrected re-send under the same id', () => {
    it('applies after INVALID_DATA', async () => {
      const customerId = await createCustomer(service.baseUrl, { quotaMax: '-1', userMax: '10' });
      const eventId = randomUUID();

      await producer.send(fixture.kafka.topics.storage, 0, [
        tagged('resend-invalid-data', storageEvent(customerId, '2.5', { id: eventId })),
      ]);
      const letters = await readDeadLetters(fixture.kafka, ['resend-invalid-data']);
      await producer.send(fixture.kafka.topics.storage, 0, [
        storageEvent(customerId, '300', { id: eventId }),
      ]);
      const customer = await waitForCustomer(service, customerId, quotaUsedIs('300'), 'quotaUsed 300');

      expect(letters.get('resend-invalid-data')!.headers['x-dlq-reason']).toBe('INVALID_DATA');
      expect(customer.text).toContain('"quotaUsed":300,');
    });

    it('applies after CUSTOMER_NOT_FOUND', async () => {
      const previousId = await createCustomer(service.baseUrl, { quotaMax: '-1', userMax: '10' });
      // The identity column hands out the next id to the next customer this file creates.
      const nextId = (BigInt(previousId) + 1n).toString();
      const eventId = randomUUID();

      await producer.send(fixture.kafka.topics.storage, 0, [
        tagged('resend-missing-customer', storageEvent(nextId, '300', { id: eventId })),
      ]);
      const letters = await readDeadLetters(fixture.kafka, ['resend-missing-customer']);
      const createdId = await createCustomer(service.baseUrl, { quotaMax: '-1', userMax: '10' });
      await producer.send(fixture.kafka.topics.storage, 0, [storageEvent(nextId, '300', { id: eventId })]);
      const customer = await waitForCustomer(service, nextId, quotaUsedIs('300'), 'quotaUsed 300');

      expect(letters.get('resend-missing-customer')!.headers['x-dlq-reason']).toBe('CUSTOMER_NOT_FOUND');
      expect(createdId).toBe(nextId);
      expect(customer.text).toContain('"quotaUsed":300,');
    });

    it('applies after OUT_OF_RANGE', async () => {
      const customerId = await createCustomer(service.baseUrl, { quotaMax: '-1', userMax: '10' });
      const eventId = randomUUID();

      await producer.send(fixture.kafka.topics.storage, 0, [storageEvent(customerId, INT64_MAX)]);
      await waitForCustomer(service, customerId, quotaUsedIs(INT64_MAX), 'quotaUsed at the int64 maximum');
      await producer.send(fixture.kafka.topics.storage, 0, [
        tagged('resend-out-of-range', storageEvent(customerId, '1', { id: eventId })),
      ]);
      const letters = await readDeadLetters(fixture.kafka, ['resend-out-of-range']);
      await producer.send(fixture.kafka.topics.storage, 0, [storageEvent(customerId, '-7', { id: eventId })]);
      const customer = await waitForCustomer(
        service,
        customerId,
        quotaUsedIs('9223372036854775800'),
        'quotaUsed 2^63 - 1 - 7',
      );

      expect(letters.get('resend-out-of-range')!.headers['x-dlq-reason']).toBe('OUT_OF_RANGE');
      expect(customer.text).toContain('"quotaUsed":9223372036854775800,');
    });

    it('applies after OUT_OF_RANGE in one batch', async () => {
      const customerId = await createCustomer(service.baseUrl, { quotaMax: '-1', userMax: '10' });
      const eventId = randomUUID();

      await producer.send(fixture.kafka.topics.storage, 0, [storageEvent(customerId, INT64_MAX)]);
      await waitForCustomer(service, customerId, quotaUsedIs(INT64_MAX), 'quotaUsed at the int64 maximum');
      // One request puts both in one record batch, so the service handles them in one transaction.
      await producer.send(fixture.kafka.topics.storage, 0, [
        tagged('same-batch-out-of-range', storageEvent(customerId, '1', { id: eventId })),
        storageEvent(customerId, '-7', { id: eventId }),
      ]);
      const letters = await readDeadLetters(fixture.kafka, ['same-batch-out-of-range']);
      // The service publishes dead letters only after the batch committed, so the result is final now.
      const customer = await getCustomer(service, customerId);
      const skipped = service.countLogs(
        (line) => line.msg === 'skipped duplicate event' && line.eventId === eventId,
      );

      expect(letters.get('same-batch-out-of-range')!.headers['x-dlq-reason']).toBe('OUT_OF_RANGE');
      expect(skipped).toBe(0);
      expect(customer.text).toContain('"quotaUsed":9223372036854775800,');
    });
  });
});
