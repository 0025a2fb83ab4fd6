import fc from 'fast-check';

import { INT64_MAX, JsonDecodeError, parseJson, stringifyJson } from '../common/json/lossless-json';
import { ApiError, badRequest, SERVICE_ERROR_CODES } from '../http/api-error';
import type { Customer, CustomerContractType } from './customer.entity';
import { presentCustomer } from './customer.presenter';
import {
  checkContractChange,
  checkReadOnlyFields,
  CustomerUpdate,
  parseUpdateCustomerRequest,
  READ_ONLY_FIELDS,
} from './update-customer.request';

// Property test of the PUT /customers/{id} body: text as the HTTP layer decodes it, then the pure
// checks of an update in the order the service runs them (parse, read-only fields against the
// stored customer, contract-type change), compared with an oracle that restates the README's rules.

const INT32_MAX = 2n ** 31n - 1n;
const MIB = 1_048_576n;

/** Values on and just outside the limits of each integer field. */
const INTEGER_BOUNDARIES: Record<string, bigint[]> = {
  quotaMax: [-2n, -1n, 0n, MIB - 1n, MIB, INT64_MAX, INT64_MAX + 1n],
  userMax: [-2n, -1n, 0n, INT32_MAX, INT32_MAX + 1n],
  webhooksMax: [-1n, 0n, INT64_MAX, INT64_MAX + 1n],
};
const RUNS = 10_000;
const MIN_PER_CLASS = 1_000;

const UPDATABLE_FIELDS = [
  'companyName',
  'customerContractType',
  'quotaMax',
  'userMax',
  'isLocked',
  'lockStatus',
  'providerCustomerId',
  'webhooksMax',
];
const INTEGER_READ_ONLY_FIELDS = [
  'id',
  'quotaUsed',
  'userUsed',
  'cntInternalUser',
  'cntGuestUser',
  'lockVersion',
];
const FORBIDDEN_KEYS = ['__proto__', 'constructor', 'prototype'];
const CONTRACT_TYPES: CustomerContractType[] = ['demo', 'free', 'pay'];

/** Contract-type changes the README allows: demo to free or pay, free to pay, or no change. */
function isUpgrade(from: CustomerContractType, to: CustomerContractType): boolean {
  return CONTRACT_TYPES.indexOf(to) >= CONTRACT_TYPES.indexOf(from);
}

/** Every errorCode a rejected body may carry. */
const REJECTION_CODES = [
  -80000,
  -80001,
  -80002,
  -80005,
  -80007,
  -80023,
  -90111,
  -90510,
  SERVICE_ERROR_CODES.invalidJsonBody,
  SERVICE_ERROR_CODES.unknownField,
  SERVICE_ERROR_CODES.readOnlyField,
  SERVICE_ERROR_CODES.conflictingLockFields,
];

// ---------------------------------------------------------------------------------------------
// The HTTP layer's decoding, the pure checks of CustomerUpdateService, and their outcome.

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

/** Runs the checks that PUT makes before it touches the database, in the service's order. */
function validateUpdate(body: unknown, stored: Customer): CustomerUpdate {
  const update = parseUpdateCustomerRequest(body);
  checkReadOnlyFields(stored, update);
  if (update.customerContractType !== undefined) {
    checkContractChange(stored.customerContractType, update.customerContractType);
  }
  return update;
}

type BodyInput = { text: string } | { value: unknown };
type Outcome = { accepted: true; value: CustomerUpdate } | { accepted: false; error: ApiError };

/** Runs the decoder and the checks. An exception other than an ApiError escapes and fails the property. */
function runChecks(input: BodyInput, stored: Customer): Outcome {
  try {
    const body = 'text' in input ? decodeBody(input.text) : input.value;
    return { accepted: true, value: validateUpdate(body, stored) };
  } catch (error) {
    if (error instanceof ApiError) {
      return { accepted: false, error };
    }
    throw error;
  }
}

// ---------------------------------------------------------------------------------------------
// The oracle.

/**
 * Either the update, or the names of which at least one must appear in the error message, or
 * `either` where the contract does not decide (a float above 2^53 sent for a read-only integer).
 */
type Verdict =
  { ok: true; value: CustomerUpdate } | { ok: false; names: string[] } | { ok: 'either'; names: string[] };

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

/** Reads a JSON integer (bigint) or a canonical decimal string; returns undefined outside [min, max]. */
function integerWithin(value: unknown, min: bigint, max: bigint): bigint | undefined {
  let integer: bigint;
  if (typeof value === 'bigint') {
    integer = value;
  } else if (typeof value === 'string' && /^(0|-?[1-9][0-9]*)$/.test(value)) {
    integer = BigInt(value);
  } else {
    return undefined;
  }
  return integer >= min && integer <= max ? integer : undefined;
}

/** Returns a field's value, reading absent and null both as not sent. */
function sent(body: Record<string, unknown>, field: string): unknown {
  return Object.hasOwn(body, field) ? (body[field] ?? undefined) : undefined;
}

/**
 * Compares a value sent for a read-only field with what GET shows: the same JSON value, where an
 * integer may also come as a decimal string and key order does not matter. Returns undefined for a
 * float above 2^53 that rounds to the stored integer, because such a float does not fix the integer sent.
 */
function sameJsonValue(sentValue: unknown, storedValue: unknown): boolean | undefined {
  if (typeof storedValue === 'bigint' || typeof storedValue === 'number') {
    const stored = BigInt(storedValue);
    if (typeof sentValue === 'number') {
      if (!Number.isInteger(sentValue)) {
        return false;
      }
      if (Number.isSafeInteger(sentValue)) {
        return BigInt(sentValue) === stored;
      }
      return Number(stored) === sentValue ? undefined : false;
    }
    return integerWithin(sentValue, stored, stored) !== undefined;
  }
  if (storedValue === null) {
    return sentValue === null || sentValue === undefined;
  }
  if (Array.isArray(storedValue)) {
    if (!Array.isArray(sentValue) || sentValue.length !== storedValue.length) {
      return false;
    }
    return everySame(storedValue.map((item, index) => sameJsonValue(sentValue[index], item)));
  }
  if (isRecord(storedValue)) {
    if (!isRecord(sentValue)) {
      return false;
    }
    const sentKeys = Object.keys(sentValue).filter((key) => sentValue[key] !== undefined);
    const storedKeys = Object.keys(storedValue);
    if (sentKeys.length !== storedKeys.length || !sentKeys.every((key) => Object.hasOwn(storedValue, key))) {
      return false;
    }
    return everySame(storedKeys.map((key) => sameJsonValue(sentValue[key], storedValue[key])));
  }
  return sentValue === storedValue;
}

function everySame(results: (boolean | undefined)[]): boolean | undefined {
  if (results.includes(false)) {
    return false;
  }
  return results.includes(undefined) ? undefined : true;
}

/** Checks a body against the README's UpdateCustomerRequest rules for a stored customer and collects every violation. */
function updateVerdict(body: unknown, stored: Customer): Verdict {
  if (!isRecord(body)) {
    return { ok: false, names: ['request body'] };
  }
  const readOnlyFields: readonly string[] = READ_ONLY_FIELDS;
  const names = Object.keys(body).filter(
    (key) => !UPDATABLE_FIELDS.includes(key) && !readOnlyFields.includes(key),
  );
  const update: CustomerUpdate = { readOnly: {} };

  const companyName = sent(body, 'companyName');
  if (companyName !== undefined) {
    if (!isValidText(companyName, 150) || companyName.trim() === '') {
      names.push('companyName');
    } else {
      update.companyName = companyName;
    }
  }
  const contractType = sent(body, 'customerContractType');
  if (contractType !== undefined) {
    if (
      typeof contractType !== 'string' ||
      !CONTRACT_TYPES.includes(contractType as CustomerContractType) ||
      !isUpgrade(stored.customerContractType, contractType as CustomerContractType)
    ) {
      names.push('customerContractType');
    } else {
      update.customerContractType = contractType as CustomerContractType;
    }
  }
  const quotaMax = sent(body, 'quotaMax');
  if (quotaMax !== undefined) {
    const value = integerWithin(quotaMax, -1n, -1n) ?? integerWithin(quotaMax, MIB, INT64_MAX);
    if (value === undefined) {
      names.push('quotaMax');
    } else {
      update.quotaMax = value;
    }
  }
  const userMax = sent(body, 'userMax');
  if (userMax !== undefined) {
    const value = integerWithin(userMax, -1n, INT32_MAX);
    if (value === undefined) {
      names.push('userMax');
    } else {
      update.userMax = value;
    }
  }

  const isLocked = sent(body, 'isLocked');
  const lockStatus = sent(body, 'lockStatus');
  for (const [field, value] of [
    ['isLocked', isLocked],
    ['lockStatus', lockStatus],
  ] as const) {
    if (value !== undefined && typeof value !== 'boolean') {
      names.push(field);
    }
  }
  if (typeof isLocked === 'boolean' && typeof lockStatus === 'boolean' && isLocked !== lockStatus) {
    names.push('isLocked');
  }
  update.adminLock = (isLocked ?? lockStatus) as boolean | undefined;

  if (Object.hasOwn(body, 'providerCustomerId')) {
    const value = sent(body, 'providerCustomerId');
    if (value !== undefined && !isValidText(value, 150)) {
      names.push('providerCustomerId');
    } else {
      update.providerCustomerId = value ?? null;
    }
  }
  if (Object.hasOwn(body, 'webhooksMax')) {
    const value = sent(body, 'webhooksMax');
    const integer = value === undefined ? null : integerWithin(value, 0n, INT64_MAX);
    if (integer === undefined) {
      names.push('webhooksMax');
    } else {
      update.webhooksMax = integer;
    }
  }

  const presented = presentCustomer(stored, true);
  const undecided: string[] = [];
  for (const field of READ_ONLY_FIELDS) {
    if (Object.hasOwn(body, field)) {
      update.readOnly[field] = body[field];
      const same = sameJsonValue(body[field], presented[field]);
      if (same === false) {
        names.push(field);
      } else if (same === undefined) {
        undecided.push(field);
      }
    }
  }

  if (names.length > 0) {
    return { ok: false, names: [...names, ...undecided] };
  }
  return undecided.length > 0 ? { ok: 'either', names: undecided } : { ok: true, value: update };
}

function verdictFor(input: BodyInput, stored: Customer): Verdict {
  if (!('text' in input)) {
    return updateVerdict(input.value, stored);
  }
  if (isRejectedJson(input.text)) {
    return { ok: false, names: [] };
  }
  return updateVerdict(decodeBody(input.text), stored);
}

/** Checks an outcome against the oracle's verdict, with a message that names the side that was wrong. */
function expectVerdict(outcome: Outcome, verdict: Verdict): void {
  if (verdict.ok === true) {
    if (!outcome.accepted) {
      throw new Error(`valid body rejected with ${outcome.error.apiErrorCode}: ${outcome.error.debugInfo}`);
    }
    // The parser leaves keys with undefined values, so compare the way toEqual does.
    expect(outcome.value).toEqual(verdict.value);
    return;
  }
  if (outcome.accepted) {
    if (verdict.ok === 'either') {
      return;
    }
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

interface RawJsonApi {
  rawJSON(text: string): unknown;
  isRawJSON(value: unknown): boolean;
}
const rawJson = JSON as unknown as RawJsonApi;

function shuffleKeys(value: unknown, seed: number): unknown {
  if (Array.isArray(value)) {
    return value.map((item) => shuffleKeys(item, seed));
  }
  if (isRecord(value) && !rawJson.isRawJSON(value)) {
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
// The stored customer.

const TEXT_UNITS = ['a', 'Z', '7', ' ', '-', 'é', '中', '😀', '\uFE0F', '\u00A0', '\u0085', '"', '\\', '<'];
const textUnit = fc.constantFrom(...TEXT_UNITS);

function textOfLength(length: number): fc.Arbitrary<string> {
  return fc.string({ unit: textUnit, minLength: length, maxLength: length });
}

function validText(max: number): fc.Arbitrary<string> {
  return fc.oneof(
    { arbitrary: fc.string({ unit: textUnit, maxLength: 16 }), weight: 4 },
    { arbitrary: fc.integer({ min: max - 2, max }).chain(textOfLength), weight: 1 },
    {
      arbitrary: fc.string({ unit: 'grapheme', maxLength: 12 }).filter((text) => isValidText(text, max)),
      weight: 2,
    },
  );
}

const nonBlankText = (max: number): fc.Arbitrary<string> =>
  validText(max).filter((text) => text.trim() !== '');

const quotaMaxArb = fc.oneof(fc.constantFrom(-1n, MIB, INT64_MAX), fc.bigInt({ min: MIB, max: INT64_MAX }));
const userMaxArb = fc.oneof(fc.constantFrom(-1n, 0n, INT32_MAX), fc.bigInt({ min: 0n, max: INT32_MAX }));
const webhooksMaxArb = fc.oneof(fc.constantFrom(0n, INT64_MAX), fc.bigInt({ min: 0n, max: INT64_MAX }));
const counterArb = fc.oneof(
  fc.constantFrom(0n, 1n, 2n ** 53n + 1n, INT64_MAX),
  fc.bigInt({ min: 0n, max: INT64_MAX }),
);
const dateArb = fc.date({
  min: new Date('2000-01-01T00:00:00.000Z'),
  max: new Date('2100-01-01T00:00:00.000Z'),
  noInvalidDate: true,
});
const attributeKeyArb = fc.string({ unit: fc.constantFrom(...'abXY09_-'), minLength: 1, maxLength: 10 });

const storedArb: fc.Arbitrary<Customer> = fc
  .record({
    id: fc.oneof(fc.constantFrom(1n, INT64_MAX), fc.bigInt({ min: 1n, max: INT64_MAX })),
    customerUuid: fc.uuid(),
    companyName: nonBlankText(150),
    customerContractType: fc.constantFrom(...CONTRACT_TYPES),
    quotaMax: quotaMaxArb,
    quotaUsed: counterArb,
    userMax: userMaxArb,
    userUsed: fc.bigInt({ min: 0n, max: INT32_MAX }),
    lockReasons: fc.subarray(['ADMIN', 'QUOTA_EXCEEDED', 'USER_LIMIT_EXCEEDED']),
    lockVersion: counterArb,
    trialDaysLeft: fc.option(fc.integer({ min: 0, max: 365 })),
    providerCustomerId: fc.option(validText(150)),
    webhooksMax: fc.option(webhooksMaxArb),
    activationCode: fc.option(validText(150)),
    lastLoginAt: fc.option(dateArb),
    createdAt: dateArb,
    updatedAt: dateArb,
    attributes: fc.uniqueArray(fc.record({ key: attributeKeyArb, value: validText(40) }), {
      maxLength: 4,
      selector: (item) => item.key.toLowerCase(),
    }),
  })
  .map((fields) => fields as unknown as Customer);

// ---------------------------------------------------------------------------------------------
// Class (a): valid bodies with the update the checks must return.

interface ValidCase {
  stored: Customer;
  body: Record<string, unknown>;
  expected: CustomerUpdate;
}

/** Writes an integer as a JSON integer or as a decimal string. */
function integerForm(value: bigint, asString: boolean): bigint | string {
  return asString ? value.toString() : value;
}

/** A body with some updatable fields and some read-only fields sent back with their stored values. */
const partialCaseArb: fc.Arbitrary<ValidCase> = storedArb.chain((stored) =>
  fc
    .record(
      {
        companyName: fc.oneof(nonBlankText(150), fc.constant(null)),
        customerContractType: fc.oneof(
          fc.constantFrom(...CONTRACT_TYPES.filter((to) => isUpgrade(stored.customerContractType, to))),
          fc.constant(null),
        ),
        quotaMax: fc.option(quotaMaxArb),
        userMax: fc.option(userMaxArb),
        providerCustomerId: fc.option(validText(150)),
        webhooksMax: fc.option(webhooksMaxArb),
        lock: fc.record({
          value: fc.boolean(),
          fields: fc.constantFrom('isLocked', 'lockStatus', 'both'),
        }),
        readOnly: fc.subarray([...READ_ONLY_FIELDS]),
      },
      { requiredKeys: ['readOnly'] },
    )
    .chain((spec) =>
      fc.array(fc.boolean(), { minLength: 12, maxLength: 12 }).map((asString) => {
        const body: Record<string, unknown> = {};
        const expected: CustomerUpdate = { readOnly: {} };
        if (spec.companyName !== undefined) {
          body.companyName = spec.companyName;
          expected.companyName = spec.companyName ?? undefined;
        }
        if (spec.customerContractType !== undefined) {
          body.customerContractType = spec.customerContractType;
          expected.customerContractType = spec.customerContractType ?? undefined;
        }
        if (spec.quotaMax !== undefined) {
          body.quotaMax = spec.quotaMax === null ? null : integerForm(spec.quotaMax, asString[0]);
          expected.quotaMax = spec.quotaMax ?? undefined;
        }
        if (spec.userMax !== undefined) {
          body.userMax = spec.userMax === null ? null : integerForm(spec.userMax, asString[1]);
          expected.userMax = spec.userMax ?? undefined;
        }
        if (spec.providerCustomerId !== undefined) {
          body.providerCustomerId = spec.providerCustomerId;
          expected.providerCustomerId = spec.providerCustomerId;
        }
        if (spec.webhooksMax !== undefined) {
          body.webhooksMax = spec.webhooksMax === null ? null : integerForm(spec.webhooksMax, asString[2]);
          expected.webhooksMax = spec.webhooksMax;
        }
        if (spec.lock !== undefined) {
          if (spec.lock.fields !== 'lockStatus') {
            body.isLocked = spec.lock.value;
          }
          if (spec.lock.fields !== 'isLocked') {
            body.lockStatus = spec.lock.value;
          }
          expected.adminLock = spec.lock.value;
        }
        const presented = presentCustomer(stored, true);
        spec.readOnly.forEach((field, index) => {
          const value = presented[field];
          if (typeof value === 'bigint' || typeof value === 'number') {
            body[field] = integerForm(BigInt(value), asString[3 + (index % 9)]);
          } else {
            body[field] = value;
          }
          // The decoder turns every JSON integer into a bigint.
          expected.readOnly[field] = typeof body[field] === 'number' ? BigInt(body[field]) : body[field];
        });
        return { stored, body, expected };
      }),
    ),
);

/** The whole GET representation sent back unchanged, as the README allows. */
const roundTripCaseArb: fc.Arbitrary<ValidCase> = fc
  .record({ stored: storedArb, withAttributes: fc.boolean() })
  .map(({ stored, withAttributes }) => {
    const body = presentCustomer(stored, withAttributes);
    const isLocked = stored.lockReasons.length > 0;
    const readOnly: CustomerUpdate['readOnly'] = {};
    for (const field of READ_ONLY_FIELDS) {
      if (Object.hasOwn(body, field)) {
        readOnly[field] = typeof body[field] === 'number' ? BigInt(body[field]) : body[field];
      }
    }
    const expected: CustomerUpdate = {
      companyName: stored.companyName,
      customerContractType: stored.customerContractType,
      quotaMax: stored.quotaMax,
      userMax: stored.userMax,
      adminLock: isLocked,
      providerCustomerId: stored.providerCustomerId,
      webhooksMax: stored.webhooksMax,
      readOnly,
    };
    return { stored, body, expected };
  });

const validCaseArb: fc.Arbitrary<ValidCase> = fc.oneof(
  { arbitrary: partialCaseArb, weight: 3 },
  { arbitrary: roundTripCaseArb, weight: 1 },
);

// ---------------------------------------------------------------------------------------------
// Class (b): a valid body with exactly one mutation.

const numberLiteralArb = fc
  .constantFrom('1048576.0', '1.048576e6', '-0', '0.5', '-1.0', '1E3', '1e400', '1.0', '0.0')
  .map((text) => rawJson.rawJSON(text));

const mutantValueArb: fc.Arbitrary<unknown> = fc.oneof(
  fc.constantFrom<unknown>(
    null,
    true,
    false,
    0n,
    1n,
    -1n,
    -2n,
    MIB - 1n,
    INT32_MAX + 1n,
    INT64_MAX + 1n,
    2n ** 64n,
    '',
    '   ',
    'demo',
    'free',
    'pay',
    'PAY',
    '1048576',
    '01',
    '1.5',
    'tab\there',
    'lone\uD800',
    [],
    ['ADMIN'],
    {},
    { items: [] },
  ),
  numberLiteralArb,
  fc.constantFrom(150, 151, 256).chain(textOfLength),
  fc.bigInt({ min: -(2n ** 64n), max: 2n ** 64n }),
  fc.string({ unit: textUnit, maxLength: 8 }),
);

type Mutation =
  | { kind: 'drop'; index: number }
  | { kind: 'boundary'; field: string; index: number; asString: boolean }
  | { kind: 'set'; field: string; value: unknown }
  | { kind: 'unknown'; field: string; value: unknown }
  | { kind: 'readOnlyOffByOne'; field: string; delta: bigint }
  | { kind: 'readOnlyAsFloat'; field: string }
  | { kind: 'contractType'; to: CustomerContractType }
  | { kind: 'forbidden'; key: string; nested: boolean }
  | { kind: 'lockConflict'; value: boolean }
  | { kind: 'blankName'; name: string }
  | { kind: 'truncate'; position: number };

const mutationArb: fc.Arbitrary<Mutation> = fc.oneof(
  fc.record({ kind: fc.constant('drop' as const), index: fc.nat() }),
  {
    arbitrary: fc.record({
      kind: fc.constant('boundary' as const),
      field: fc.constantFrom(...Object.keys(INTEGER_BOUNDARIES)),
      index: fc.nat(),
      asString: fc.boolean(),
    }),
    weight: 2,
  },
  {
    arbitrary: fc.record({
      kind: fc.constant('set' as const),
      field: fc.constantFrom(...UPDATABLE_FIELDS, ...READ_ONLY_FIELDS),
      value: mutantValueArb,
    }),
    weight: 4,
  },
  fc.record({
    kind: fc.constant('unknown' as const),
    field: fc.constantFrom('foo', 'trialDays', 'firstAdminUser', 'QuotaMax', 'toString', ''),
    value: mutantValueArb,
  }),
  fc.record({
    kind: fc.constant('readOnlyOffByOne' as const),
    field: fc.constantFrom(...INTEGER_READ_ONLY_FIELDS),
    delta: fc.constantFrom(-1n, 1n),
  }),
  fc.record({
    kind: fc.constant('readOnlyAsFloat' as const),
    field: fc.constantFrom(...INTEGER_READ_ONLY_FIELDS),
  }),
  fc.record({ kind: fc.constant('contractType' as const), to: fc.constantFrom(...CONTRACT_TYPES) }),
  fc.record({
    kind: fc.constant('forbidden' as const),
    key: fc.constantFrom(...FORBIDDEN_KEYS),
    nested: fc.boolean(),
  }),
  fc.record({ kind: fc.constant('lockConflict' as const), value: fc.boolean() }),
  fc.record({ kind: fc.constant('blankName' as const), name: fc.constantFrom('', ' ', '\u00A0\u3000') }),
  fc.record({ kind: fc.constant('truncate' as const), position: fc.nat() }),
);

const PLACEHOLDER = 'forbidden-key-placeholder';

/** Applies one mutation to a copy of a valid body and returns the request text. */
function mutateBody(valid: ValidCase, mutation: Mutation, layout: Layout): string {
  const body: Record<string, unknown> = { ...valid.body };
  const presented = presentCustomer(valid.stored, true);
  switch (mutation.kind) {
    case 'drop': {
      const keys = Object.keys(body);
      if (keys.length > 0) {
        delete body[keys[mutation.index % keys.length]];
      }
      break;
    }
    case 'boundary': {
      const values = INTEGER_BOUNDARIES[mutation.field];
      const value = values[mutation.index % values.length];
      body[mutation.field] = mutation.asString ? value.toString() : value;
      break;
    }
    case 'set':
    case 'unknown':
      body[mutation.field] = mutation.value;
      break;
    case 'readOnlyOffByOne':
      body[mutation.field] = BigInt(presented[mutation.field] as bigint | number) + mutation.delta;
      break;
    case 'readOnlyAsFloat': {
      const text = `${BigInt(presented[mutation.field] as bigint | number)}.0`;
      body[mutation.field] = rawJson.rawJSON(text);
      break;
    }
    case 'contractType':
      body.customerContractType = mutation.to;
      break;
    case 'forbidden': {
      const target: Record<string, unknown> = mutation.nested ? { items: [{ key: 'k', value: 'v' }] } : body;
      if (mutation.nested) {
        body.customerAttributes = target;
      }
      target[PLACEHOLDER] = [];
      return writeBody(body, layout).replace(`"${PLACEHOLDER}"`, JSON.stringify(mutation.key));
    }
    case 'lockConflict':
      body.isLocked = mutation.value;
      body.lockStatus = !mutation.value;
      break;
    case 'blankName':
      body.companyName = mutation.name;
      break;
    case 'truncate': {
      const text = writeBody(body, layout);
      return text.slice(0, mutation.position % (text.length + 1));
    }
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
    .dictionary(
      fc.constantFrom(...UPDATABLE_FIELDS, ...READ_ONLY_FIELDS, 'foo'),
      fc.oneof(mutantValueArb, fc.jsonValue({ maxDepth: 2 })),
      { maxKeys: 10 },
    )
    .map((value) => ({ text: stringifyJson(value) })),
);

type PropertyCase =
  | { kind: 'valid'; valid: ValidCase; layout: Layout }
  | { kind: 'mutated'; valid: ValidCase; mutation: Mutation; layout: Layout }
  | { kind: 'random'; stored: Customer; input: BodyInput };

const propertyCaseArb: fc.Arbitrary<PropertyCase> = fc.oneof(
  fc.record({ kind: fc.constant('valid' as const), valid: validCaseArb, layout: layoutArb }),
  fc.record({
    kind: fc.constant('mutated' as const),
    valid: validCaseArb,
    mutation: mutationArb,
    layout: layoutArb,
  }),
  fc.record({ kind: fc.constant('random' as const), stored: storedArb, input: randomInputArb }),
);

describe('parseUpdateCustomerRequest property', () => {
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
        let stored: Customer;
        if (testCase.kind === 'valid') {
          stored = testCase.valid.stored;
          input = { text: writeBody(testCase.valid.body, testCase.layout) };
          expectVerdict(runChecks(input, stored), { ok: true, value: testCase.valid.expected });
        } else if (testCase.kind === 'mutated') {
          stored = testCase.valid.stored;
          input = { text: mutateBody(testCase.valid, testCase.mutation, testCase.layout) };
        } else {
          stored = testCase.stored;
          input = testCase.input;
        }

        const outcome = runChecks(input, stored);
        expectVerdict(outcome, verdictFor(input, stored));
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

describe('checkReadOnlyFields examples', () => {
  const stored = {
    id: 7n,
    customerUuid: '6f1c7f0e-4c1a-4d7e-9a43-0b5d2c1e8f00',
    companyName: 'Example Ltd',
    customerContractType: 'pay',
    quotaMax: MIB,
    quotaUsed: 0n,
    userMax: 5n,
    userUsed: 0n,
    lockReasons: [],
    lockVersion: 0n,
    trialDaysLeft: null,
    providerCustomerId: null,
    webhooksMax: null,
    activationCode: null,
    lastLoginAt: null,
    createdAt: new Date('2026-01-01T00:00:00.000Z'),
    updatedAt: new Date('2026-01-01T00:00:00.000Z'),
    attributes: [{ key: 'region', value: 'eu' }],
  } as unknown as Customer;

  it('ignores the key order of attribute items', () => {
    const body = { customerAttributes: { items: [{ value: 'eu', key: 'region' }] } };
    expect(() => validateUpdate(body, stored)).not.toThrow();
  });

  it('rejects another attribute value', () => {
    const body = { customerAttributes: { items: [{ key: 'region', value: 'us' }] } };
    expect(() => validateUpdate(body, stored)).toThrow('customerAttributes is read-only');
  });

  it('accepts dates as epoch milliseconds', () => {
    const createdAt = BigInt(Date.parse('2026-01-01T00:00:00.000Z'));
    expect(() => validateUpdate({ createdAt, updatedAt: createdAt }, stored)).not.toThrow();
  });

  it('rejects another epoch date', () => {
    const body = { createdAt: BigInt(Date.parse('2026-01-01T00:00:00.001Z')) };
    expect(() => validateUpdate(body, stored)).toThrow('createdAt is read-only');
  });

  it('rejects an integer for a stored string', () => {
    const withDigits = { ...stored, attributes: [{ key: 'tier', value: '5' }] } as unknown as Customer;
    const body = { customerAttributes: { items: [{ key: 'tier', value: 5n }] } };
    expect(() => validateUpdate(body, withDigits)).toThrow('customerAttributes is read-only');
  });
});
