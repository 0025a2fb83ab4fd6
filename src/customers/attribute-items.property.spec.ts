import fc from 'fast-check';
import { isDeepStrictEqual } from 'node:util';

import { JsonDecodeError, parseJson, stringifyJson } from '../common/json/lossless-json';
import { ApiError, badRequest, SERVICE_ERROR_CODES } from '../http/api-error';
import { AttributeItem, parseCustomerAttributesRequest } from './attribute-items';

// Property test of the PUT and POST .../customerAttributes body, a CustomerAttributes object: text
// as the HTTP layer decodes it, then parseCustomerAttributesRequest, compared with an oracle.
// The oracle restates the README's rules: keys [a-zA-Z0-9_-], at most 255 characters and unique
// regardless of case, values at most 4 096 characters, and at most 100 items.

const RUNS = 10_000;
const MIN_PER_CLASS = 1_000;
const KEY_MAX = 255;
const VALUE_MAX = 4096;
const ITEMS_MAX = 100;
const FORBIDDEN_KEYS = ['__proto__', 'constructor', 'prototype'];

/** Every errorCode a rejected body may carry. */
const REJECTION_CODES = [
  -80000,
  -80002,
  -80007,
  -80015,
  -80023,
  SERVICE_ERROR_CODES.invalidJsonBody,
  SERVICE_ERROR_CODES.unknownField,
];

// ---------------------------------------------------------------------------------------------
// The HTTP layer's decoding, and the outcome of one request body.

/** Decodes a body as jsonBodyMiddleware does: blank text is no body, bad JSON is a 400 with -80900. */
function decodeBody(text: string): unknown {
  if (text.trim() === '') {
    return undefined;
  }
  try {
    return parseJson(text);
  } catch (error) {
    if (error instanceof JsonDecodeError) {
      throw badRequest(
        SERVICE_ERROR_CODES.invalidJsonBody,
        `request body is not valid JSON: ${error.message}`,
      );
    }
    throw error;
  }
}

type BodyInput = { text: string } | { value: unknown };
type Outcome<T> = { accepted: true; value: T } | { accepted: false; error: ApiError };

/** Runs the decoder and the parser. An exception other than an ApiError escapes and fails the property. */
function runParser<T>(parse: (body: unknown) => T, input: BodyInput): Outcome<T> {
  try {
    const body = 'text' in input ? decodeBody(input.text) : input.value;
    return { accepted: true, value: parse(body) };
  } catch (error) {
    if (error instanceof ApiError) {
      return { accepted: false, error };
    }
    throw error;
  }
}

// ---------------------------------------------------------------------------------------------
// The oracle.

/** Either the parsed value, or the names of which at least one must appear in the error message. */
type Verdict<T> = { ok: true; value: T } | { ok: false; names: string[] };

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

function hasForbiddenKey(value: unknown): boolean {
  if (Array.isArray(value)) {
    return value.some(hasForbiddenKey);
  }
  if (isRecord(value)) {
    return Object.keys(value).some((key) => FORBIDDEN_KEYS.includes(key) || hasForbiddenKey(value[key]));
  }
  return false;
}

/** Returns whether the platform's own JSON parser rejects the text or finds a forbidden key in it. */
function isRejectedJson(text: string): boolean {
  if (text.trim() === '') {
    return false;
  }
  try {
    return hasForbiddenKey(JSON.parse(text));
  } catch {
    return true;
  }
}

/** Text rules: at most `max` code points (as PostgreSQL's varchar counts), no C0 control or DEL, well-formed UTF-16. */
function isValidText(value: unknown, max: number): value is string {
  return (
    typeof value === 'string' &&
    [...value].length <= max &&
    !/[\u0000-\u001f\u007f]/.test(value) &&
    value.isWellFormed()
  );
}

/** Returns a field's value, reading absent and null both as not sent. */
function sent(body: Record<string, unknown>, field: string): unknown {
  return Object.hasOwn(body, field) ? (body[field] ?? undefined) : undefined;
}

/** Checks a body against the README's CustomerAttributes rules and collects every violation. */
function attributesBodyVerdict(body: unknown): Verdict<AttributeItem[]> {
  if (!isRecord(body)) {
    return { ok: false, names: ['body'] };
  }
  const names = Object.keys(body)
    .filter((key) => key !== 'items')
    .map((key) => `body.${key}`);
  const items = body.items;
  if (!Array.isArray(items)) {
    return { ok: false, names: [...names, 'body.items'] };
  }
  if (items.length > ITEMS_MAX) {
    names.push('body.items');
  }
  const parsed: AttributeItem[] = [];
  const seen = new Set<string>();
  items.forEach((item: unknown, index) => {
    const itemPath = `body.items[${index}]`;
    if (!isRecord(item)) {
      names.push(itemPath);
      return;
    }
    const itemNames: string[] = [];
    if (Object.keys(item).some((key) => key !== 'key' && key !== 'value')) {
      itemNames.push(itemPath);
    }
    const key = sent(item, 'key');
    const value = sent(item, 'value');
    if (key === undefined || key === '') {
      itemNames.push(itemPath);
    } else if (!isValidText(key, KEY_MAX)) {
      itemNames.push('key');
    } else if (!/^[a-zA-Z0-9_-]+$/.test(key) || seen.has(key.toLowerCase())) {
      itemNames.push('attribute key');
    } else {
      seen.add(key.toLowerCase());
    }
    if (value === undefined) {
      itemNames.push(itemPath);
    } else if (!isValidText(value, VALUE_MAX)) {
      itemNames.push('value');
    }
    if (itemNames.length === 0) {
      parsed.push({ key: key as string, value: value as string });
    }
    names.push(...itemNames);
  });
  return names.length > 0 ? { ok: false, names } : { ok: true, value: parsed };
}

function verdictFor(input: BodyInput): Verdict<AttributeItem[]> {
  if (!('text' in input)) {
    return attributesBodyVerdict(input.value);
  }
  if (isRejectedJson(input.text)) {
    return { ok: false, names: [] };
  }
  return attributesBodyVerdict(decodeBody(input.text));
}

/** Checks an outcome against the oracle's verdict, with a message that names the side that was wrong. */
function expectVerdict<T>(outcome: Outcome<T>, verdict: Verdict<T>): void {
  if (verdict.ok) {
    if (!outcome.accepted) {
      throw new Error(`valid body rejected with ${outcome.error.apiErrorCode}: ${outcome.error.debugInfo}`);
    }
    // isDeepStrictEqual first, because expect() is slow on this hot path. toEqual then shows the diff.
    if (!isDeepStrictEqual(outcome.value, verdict.value)) {
      expect(outcome.value).toEqual(verdict.value);
    }
    return;
  }
  if (outcome.accepted) {
    throw new Error(`invalid body accepted; the oracle rejects it for ${verdict.names.join(', ')}`);
  }
  const { apiErrorCode, debugInfo } = outcome.error;
  if (outcome.error.getStatus() !== 400 || !REJECTION_CODES.includes(apiErrorCode as number)) {
    throw new Error(
      `rejected with status ${outcome.error.getStatus()} and errorCode ${apiErrorCode}: ${debugInfo}`,
    );
  }
  if (verdict.names.length > 0 && !verdict.names.some((name) => debugInfo.includes(name))) {
    throw new Error(`the message ${JSON.stringify(debugInfo)} names none of ${verdict.names.join(', ')}`);
  }
}

// ---------------------------------------------------------------------------------------------
// Serialization with a reproducible key order.

/** Hashes a key with a seed, so that sorting by it gives a reproducible shuffle. */
function keyRank(key: string, seed: number): number {
  let hash = seed | 0;
  for (let index = 0; index < key.length; index++) {
    hash = Math.imul(hash ^ key.charCodeAt(index), 0x9e3779b1);
  }
  return hash >>> 0;
}

function shuffleKeys(value: unknown, seed: number): unknown {
  if (Array.isArray(value)) {
    return value.map((item) => shuffleKeys(item, seed));
  }
  if (isRecord(value)) {
    const ranks = new Map(Object.keys(value).map((key) => [key, keyRank(key, seed)]));
    const keys = [...ranks.keys()].sort((left, right) => ranks.get(left)! - ranks.get(right)!);
    const copy: Record<string, unknown> = {};
    // Plain assignment is safe: generated bodies get forbidden keys only through PLACEHOLDER.
    for (const key of keys) {
      copy[key] = shuffleKeys(value[key], seed);
    }
    return copy;
  }
  return value;
}

interface Layout {
  seed: number;
  indent: boolean;
}

function writeBody(body: unknown, layout: Layout): string {
  return stringifyJson(shuffleKeys(body, layout.seed), layout.indent ? 2 : undefined);
}

const layoutArb: fc.Arbitrary<Layout> = fc.record({ seed: fc.integer(), indent: fc.boolean() });

// ---------------------------------------------------------------------------------------------
// Class (a): valid bodies.

const TEXT_UNITS = ['a', 'Z', '7', ' ', '-', 'é', '中', '😀', '\uFE0F', '\u00A0', '\u0085', '"', '\\', '<'];
const textUnit = fc.constantFrom(...TEXT_UNITS);

function textOfLength(length: number): fc.Arbitrary<string> {
  return fc.string({ unit: textUnit, minLength: length, maxLength: length });
}

const shortValueArb = fc.oneof(
  { arbitrary: fc.string({ unit: textUnit, maxLength: 16 }), weight: 3 },
  {
    arbitrary: fc.string({ unit: 'grapheme', maxLength: 12 }).filter((text) => isValidText(text, VALUE_MAX)),
    weight: 1,
  },
);

const keyUnit = fc.constantFrom(...'abcXYZ019_-');
const keyArb = fc.oneof(
  { arbitrary: fc.string({ unit: keyUnit, minLength: 1, maxLength: 12 }), weight: 9 },
  { arbitrary: fc.string({ unit: keyUnit, minLength: KEY_MAX - 1, maxLength: KEY_MAX }), weight: 1 },
);
const uniqueByKey = { selector: (item: AttributeItem) => item.key.toLowerCase() };

const validItemsArb: fc.Arbitrary<AttributeItem[]> = fc.oneof(
  {
    arbitrary: fc.uniqueArray(fc.record({ key: keyArb, value: shortValueArb }), {
      ...uniqueByKey,
      maxLength: 8,
    }),
    weight: 16,
  },
  {
    arbitrary: fc.uniqueArray(
      fc.record({
        key: keyArb,
        value: fc.integer({ min: VALUE_MAX - 2, max: VALUE_MAX }).chain(textOfLength),
      }),
      { ...uniqueByKey, minLength: 1, maxLength: 2 },
    ),
    weight: 2,
  },
  {
    arbitrary: fc.uniqueArray(fc.record({ key: keyArb, value: shortValueArb }), {
      ...uniqueByKey,
      minLength: ITEMS_MAX - 1,
      maxLength: ITEMS_MAX,
    }),
    weight: 1,
  },
);

// ---------------------------------------------------------------------------------------------
// Class (b): a valid body with exactly one mutation.

const mutantValueArb: fc.Arbitrary<unknown> = fc.oneof(
  fc.constantFrom<unknown>(
    null,
    true,
    0n,
    -1n,
    2n ** 64n,
    '',
    ' ',
    'a b',
    'a.b',
    'ä',
    'key/with/slash',
    '-',
    '_',
    'tab\there',
    'nul\u0000',
    'lone\uD800',
    [],
    ['k'],
    {},
    { key: 'k', value: 'v' },
  ),
  fc.constantFrom(KEY_MAX, KEY_MAX + 1, VALUE_MAX, VALUE_MAX + 1).chain(textOfLength),
  fc
    .constantFrom(KEY_MAX, KEY_MAX + 1)
    .chain((length) => fc.string({ unit: keyUnit, minLength: length, maxLength: length })),
  fc
    .constantFrom('1.5', '-0', '1e3')
    .map((text) => (JSON as unknown as { rawJSON(text: string): unknown }).rawJSON(text)),
  fc.string({ unit: textUnit, maxLength: 8 }),
);

type AttributeChange =
  | 'duplicate'
  | 'setKey'
  | 'setValue'
  | 'dropKey'
  | 'dropValue'
  | 'extraItemField'
  | 'extraBodyField'
  | 'tooMany'
  | 'setItems'
  | 'dropItems'
  | 'setItem'
  | 'setBody';

type Mutation =
  | { kind: 'change'; change: AttributeChange; index: number; value: unknown }
  | { kind: 'forbidden'; key: string; inItem: boolean }
  | { kind: 'truncate'; position: number };

const mutationArb: fc.Arbitrary<Mutation> = fc.oneof(
  {
    arbitrary: fc.record({
      kind: fc.constant('change' as const),
      change: fc.constantFrom<AttributeChange>(
        'duplicate',
        'setKey',
        'setValue',
        'dropKey',
        'dropValue',
        'extraItemField',
        'extraBodyField',
        'tooMany',
        'setItems',
        'dropItems',
        'setItem',
        'setBody',
      ),
      index: fc.nat(),
      value: mutantValueArb,
    }),
    weight: 8,
  },
  fc.record({
    kind: fc.constant('forbidden' as const),
    key: fc.constantFrom(...FORBIDDEN_KEYS),
    inItem: fc.boolean(),
  }),
  fc.record({ kind: fc.constant('truncate' as const), position: fc.nat() }),
);

const PLACEHOLDER = 'forbidden-key-placeholder';

function toggleCase(text: string): string {
  return [...text]
    .map((char) => (char === char.toLowerCase() ? char.toUpperCase() : char.toLowerCase()))
    .join('');
}

/** Applies one mutation to a copy of a valid item list and returns the request text. */
function mutateBody(validItems: AttributeItem[], mutation: Mutation, layout: Layout): string {
  const items: Record<string, unknown>[] =
    validItems.length > 0 ? validItems.map((item) => ({ ...item })) : [{ key: 'region', value: 'eu' }];
  let body: unknown = { items };
  const item = items[(mutation.kind === 'change' ? mutation.index : 0) % items.length];

  if (mutation.kind === 'forbidden') {
    (mutation.inItem ? item : (body as Record<string, unknown>))[PLACEHOLDER] = 1n;
    return writeBody(body, layout).replace(`"${PLACEHOLDER}"`, JSON.stringify(mutation.key));
  }
  if (mutation.kind === 'truncate') {
    const text = writeBody(body, layout);
    return text.slice(0, mutation.position % (text.length + 1));
  }
  switch (mutation.change) {
    case 'duplicate':
      items.push({ key: toggleCase(String(item.key)), value: 'copy' });
      break;
    case 'setKey':
      item.key = mutation.value;
      break;
    case 'setValue':
      item.value = mutation.value;
      break;
    case 'dropKey':
      delete item.key;
      break;
    case 'dropValue':
      delete item.value;
      break;
    case 'extraItemField':
      item.comment = mutation.value;
      break;
    case 'extraBodyField':
      body = { items, range: mutation.value };
      break;
    case 'tooMany':
      body = {
        items: Array.from({ length: ITEMS_MAX + 1 + (mutation.index % 5) }, (_, index) => ({
          key: `k${index}`,
          value: 'v',
        })),
      };
      break;
    case 'setItems':
      body = { items: mutation.value };
      break;
    case 'dropItems':
      body = {};
      break;
    case 'setItem':
      items[mutation.index % items.length] = mutation.value as Record<string, unknown>;
      break;
    case 'setBody':
      body = mutation.value;
      break;
  }
  return writeBody(body, layout);
}

// ---------------------------------------------------------------------------------------------
// Class (c): random bytes, random JSON and arbitrary values.

const randomInputArb: fc.Arbitrary<BodyInput> = fc.oneof(
  fc.uint8Array({ maxLength: 256 }).map((bytes) => ({ text: new TextDecoder().decode(bytes) })),
  fc.jsonValue({ maxDepth: 4 }).map((value) => ({ text: JSON.stringify(value) ?? '' })),
  fc.anything({ maxDepth: 3 }).map((value) => ({ value })),
  fc
    .record({
      items: fc.array(
        fc.dictionary(fc.constantFrom('key', 'value', 'x'), fc.oneof(mutantValueArb, fc.jsonValue())),
        {
          maxLength: 4,
        },
      ),
    })
    .map((value) => ({ text: stringifyJson(value) })),
);

type PropertyCase =
  | { kind: 'valid'; items: AttributeItem[]; layout: Layout }
  | { kind: 'mutated'; items: AttributeItem[]; mutation: Mutation; layout: Layout }
  | { kind: 'random'; input: BodyInput };

const propertyCaseArb: fc.Arbitrary<PropertyCase> = fc.oneof(
  fc.record({ kind: fc.constant('valid' as const), items: validItemsArb, layout: layoutArb }),
  fc.record({
    kind: fc.constant('mutated' as const),
    items: validItemsArb,
    mutation: mutationArb,
    layout: layoutArb,
  }),
  fc.record({ kind: fc.constant('random' as const), input: randomInputArb }),
);

describe('parseCustomerAttributesRequest property', () => {
  it('matches the oracle on three classes', () => {
    const seen = {
      valid: 0,
      mutated: 0,
      random: 0,
      mutatedAccepted: 0,
      mutatedRejected: 0,
      randomRejected: 0,
    };
    const mutationCodes = new Set<number | null>();

    fc.assert(
      fc.property(propertyCaseArb, (testCase) => {
        seen[testCase.kind]++;
        let input: BodyInput;
        if (testCase.kind === 'valid') {
          input = { text: writeBody({ items: testCase.items }, testCase.layout) };
          expectVerdict(runParser(parseCustomerAttributesRequest, input), {
            ok: true,
            value: testCase.items,
          });
        } else if (testCase.kind === 'mutated') {
          input = { text: mutateBody(testCase.items, testCase.mutation, testCase.layout) };
        } else {
          input = testCase.input;
        }

        const outcome = runParser(parseCustomerAttributesRequest, input);
        expectVerdict(outcome, verdictFor(input));
        if (testCase.kind === 'mutated') {
          seen[outcome.accepted ? 'mutatedAccepted' : 'mutatedRejected']++;
          if (!outcome.accepted) {
            mutationCodes.add(outcome.error.apiErrorCode);
          }
        } else if (testCase.kind === 'random' && !outcome.accepted) {
          seen.randomRejected++;
        }
      }),
      { numRuns: RUNS },
    );

    expect(seen.valid).toBeGreaterThanOrEqual(MIN_PER_CLASS);
    expect(seen.mutated).toBeGreaterThanOrEqual(MIN_PER_CLASS);
    expect(seen.random).toBeGreaterThanOrEqual(MIN_PER_CLASS);
    expect(seen.mutatedAccepted).toBeGreaterThanOrEqual(100);
    expect(seen.mutatedRejected).toBeGreaterThanOrEqual(MIN_PER_CLASS);
    expect(seen.randomRejected).toBeGreaterThanOrEqual(MIN_PER_CLASS);
    // Each rejection code occurred, so no part of the mutation generator went dead.
    expect([...mutationCodes].sort()).toEqual([...REJECTION_CODES].sort());
  });
});

describe('parseCustomerAttributesRequest examples', () => {
  it('rejects a null body', () => {
    expect(() => parseCustomerAttributesRequest(null)).toThrow(ApiError);
  });

  it('rejects a missing body', () => {
    expect(() => parseCustomerAttributesRequest(undefined)).toThrow(ApiError);
  });

  it('counts a variation selector as a character', () => {
    const value = `${'a'.repeat(VALUE_MAX)}\uFE0F`;
    expect(() => parseCustomerAttributesRequest({ items: [{ key: 'k', value }] })).toThrow(
      'value is longer than 4096 characters',
    );
  });

  it('accepts a value of 4096 emoji', () => {
    const value = '😀'.repeat(VALUE_MAX);
    expect(parseCustomerAttributesRequest({ items: [{ key: 'k', value }] })).toEqual([{ key: 'k', value }]);
  });
});
