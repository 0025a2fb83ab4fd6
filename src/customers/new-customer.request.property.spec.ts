import fc from 'fast-check';
import { isDeepStrictEqual } from 'node:util';

import { INT64_MAX, JsonDecodeError, parseJson, stringifyJson } from '../common/json/lossless-json';
import { ApiError, badRequest, SERVICE_ERROR_CODES } from '../http/api-error';
import type { AttributeItem } from './attribute-items';
import type { CustomerContractType } from './customer.entity';
import { NewCustomerInput, parseNewCustomerRequest } from './new-customer.request';

// Property test of the POST /customers body: text as the HTTP layer decodes it, then
// parseNewCustomerRequest, compared with an oracle that restates the README's field rules.

const INT32_MAX = 2n ** 31n - 1n;
const MIB = 1_048_576n;

/** Values on and just outside the limits of each integer field. */
const INTEGER_BOUNDARIES: Record<string, bigint[]> = {
  quotaMax: [-2n, -1n, 0n, MIB - 1n, MIB, INT64_MAX, INT64_MAX + 1n],
  userMax: [-2n, -1n, 0n, INT32_MAX, INT32_MAX + 1n],
  webhooksMax: [-1n, 0n, INT64_MAX, INT64_MAX + 1n],
  trialDays: [-1n, 0n, INT32_MAX, INT32_MAX + 1n],
};
const RUNS = 10_000;
const MIN_PER_CLASS = 1_000;

const CREATE_FIELDS = [
  'customerContractType',
  'quotaMax',
  'userMax',
  'firstAdminUser',
  'companyName',
  'customerAttributes',
  'isLocked',
  'lockStatus',
  'providerCustomerId',
  'trialDays',
  'webhooksMax',
  'activationCode',
];
const ADMIN_TEXT_FIELDS = ['firstName', 'lastName', 'userName', 'email'];
const FORBIDDEN_KEYS = ['__proto__', 'constructor', 'prototype'];

/** Every errorCode a rejected body may carry: DRACOON's validation codes and the service's own. */
const REJECTION_CODES = [
  -80000,
  -80001,
  -80002,
  -80005,
  -80007,
  -80015,
  -80023,
  -90510,
  SERVICE_ERROR_CODES.invalidJsonBody,
  SERVICE_ERROR_CODES.unknownField,
  SERVICE_ERROR_CODES.conflictingLockFields,
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
// The oracle: the README's contract restated without the service's code.

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

/** Classifies JSON text with the platform's own parser: `undefined` means the decoder must accept it. */
function jsonProblem(text: string): string | undefined {
  if (text.trim() === '') {
    return undefined;
  }
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch {
    return 'syntax';
  }
  return hasForbiddenKey(parsed) ? 'forbidden key' : undefined;
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

function isSecretKey(key: string): boolean {
  return /password|passwd|secret|token/i.test(key);
}

function withoutSecretKeys(value: unknown): unknown {
  if (Array.isArray(value)) {
    return value.map(withoutSecretKeys);
  }
  if (isRecord(value)) {
    const copy: Record<string, unknown> = {};
    for (const key of Object.keys(value)) {
      // A flag such as needsToChangePassword reveals no secret, so only non-boolean values go.
      if (typeof value[key] === 'boolean' || !isSecretKey(key)) {
        copy[key] = withoutSecretKeys(value[key]);
      }
    }
    return copy;
  }
  return value;
}

/** DRACOON's derived company name: the first name's first character, a dot and the last name. */
function derivedCompanyName(admin: Record<string, unknown> | null): string | undefined {
  const first = typeof admin?.firstName === 'string' ? admin.firstName.trim() : '';
  const last = typeof admin?.lastName === 'string' ? admin.lastName.trim() : '';
  if (first === '' || last === '') {
    return undefined;
  }
  const initial = String.fromCodePoint(first.codePointAt(0)!);
  return [...`${initial}.${last}`].slice(0, 150).join('');
}

/** Checks a `CustomerAttributes` object, which error messages name by `path`. */
function attributesVerdict(container: unknown, path: string): Verdict<AttributeItem[]> {
  if (container === undefined || container === null) {
    return { ok: true, value: [] };
  }
  if (!isRecord(container)) {
    return { ok: false, names: [path] };
  }
  const names = Object.keys(container)
    .filter((key) => key !== 'items')
    .map((key) => `${path}.${key}`);
  const items = container.items;
  if (!Array.isArray(items)) {
    return { ok: false, names: [...names, `${path}.items`] };
  }
  if (items.length > 100) {
    names.push(`${path}.items`);
  }
  const parsed: AttributeItem[] = [];
  const seen = new Set<string>();
  items.forEach((item: unknown, index) => {
    const itemPath = `${path}.items[${index}]`;
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
    } else if (!isValidText(key, 255)) {
      itemNames.push('key');
    } else if (!/^[a-zA-Z0-9_-]+$/.test(key)) {
      itemNames.push('attribute key');
    } else if (seen.has(key.toLowerCase())) {
      itemNames.push('attribute key');
    } else {
      seen.add(key.toLowerCase());
    }
    if (value === undefined) {
      itemNames.push(itemPath);
    } else if (!isValidText(value, 4096)) {
      itemNames.push('value');
    }
    if (itemNames.length === 0) {
      parsed.push({ key: key as string, value: value as string });
    }
    names.push(...itemNames);
  });
  return names.length > 0 ? { ok: false, names } : { ok: true, value: parsed };
}

/** Checks a body against the README's NewCustomerRequest rules and collects every violation. */
function newCustomerVerdict(body: unknown): Verdict<NewCustomerInput> {
  if (!isRecord(body)) {
    return { ok: false, names: ['request body'] };
  }
  const names = Object.keys(body).filter((key) => !CREATE_FIELDS.includes(key));

  const contractType = sent(body, 'customerContractType');
  if (typeof contractType !== 'string' || !['demo', 'free', 'pay'].includes(contractType)) {
    names.push('customerContractType');
  }
  const quotaMaxSent = sent(body, 'quotaMax');
  const quotaMax = integerWithin(quotaMaxSent, -1n, -1n) ?? integerWithin(quotaMaxSent, MIB, INT64_MAX);
  if (quotaMax === undefined) {
    names.push('quotaMax');
  }
  const userMax = integerWithin(sent(body, 'userMax'), -1n, INT32_MAX);
  if (userMax === undefined) {
    names.push('userMax');
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

  const adminSent = sent(body, 'firstAdminUser');
  let admin: Record<string, unknown> | null = null;
  if (adminSent !== undefined) {
    if (!isRecord(adminSent)) {
      names.push('firstAdminUser');
    } else {
      admin = withoutSecretKeys(adminSent) as Record<string, unknown>;
      for (const field of ADMIN_TEXT_FIELDS) {
        const value = sent(admin, field);
        if (value !== undefined && !isValidText(value, 150)) {
          names.push(field);
        }
      }
    }
  }

  const givenName = sent(body, 'companyName');
  let companyName: string | undefined;
  if (givenName !== undefined && !isValidText(givenName, 150)) {
    names.push('companyName');
  } else {
    companyName =
      typeof givenName === 'string' && givenName.trim() !== '' ? givenName : derivedCompanyName(admin);
    if (companyName === undefined) {
      names.push('companyName');
    }
  }

  const attributes = attributesVerdict(sent(body, 'customerAttributes'), 'customerAttributes');
  if (!attributes.ok) {
    names.push(...attributes.names);
  }

  const optionalText = (field: string): string | null => {
    const value = sent(body, field);
    if (value === undefined) {
      return null;
    }
    if (!isValidText(value, 150)) {
      names.push(field);
      return null;
    }
    return value;
  };
  const providerCustomerId = optionalText('providerCustomerId');
  const activationCode = optionalText('activationCode');

  const optionalInteger = (field: string, max: bigint): bigint | null => {
    const value = sent(body, field);
    if (value === undefined) {
      return null;
    }
    const integer = integerWithin(value, 0n, max);
    if (integer === undefined) {
      names.push(field);
      return null;
    }
    return integer;
  };
  const trialDays = optionalInteger('trialDays', INT32_MAX);
  const webhooksMax = optionalInteger('webhooksMax', INT64_MAX);

  if (names.length > 0) {
    return { ok: false, names };
  }
  return {
    ok: true,
    value: {
      customerContractType: contractType as CustomerContractType,
      quotaMax: quotaMax!,
      userMax: userMax!,
      companyName: companyName!,
      attributes: attributes.ok ? attributes.value : [],
      adminLock: (isLocked ?? lockStatus ?? false) as boolean,
      providerCustomerId,
      trialDays: trialDays === null ? null : Number(trialDays),
      webhooksMax,
      activationCode,
      firstAdminUser: admin,
    },
  };
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
  // Plain checks instead of expect(), which costs a stack trace per call on this hot path.
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

/** Decodes the input as the HTTP layer would and returns the oracle's verdict on it. */
function verdictFor<T>(input: BodyInput, bodyVerdict: (body: unknown) => Verdict<T>): Verdict<T> {
  if (!('text' in input)) {
    return bodyVerdict(input.value);
  }
  const problem = jsonProblem(input.text);
  if (problem !== undefined) {
    return { ok: false, names: [] };
  }
  return bodyVerdict(decodeBody(input.text));
}

// ---------------------------------------------------------------------------------------------
// Serialization: exact int64 digits, shuffled key order and optional indentation.

interface RawJsonApi {
  rawJSON(text: string): unknown;
  isRawJSON(value: unknown): boolean;
}
const rawJson = JSON as unknown as RawJsonApi;

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
// Class (a): valid bodies with the values the parser must return.

const TEXT_UNITS = [
  'a',
  'Z',
  '7',
  ' ',
  '-',
  '.',
  'é',
  'ß',
  '中',
  '😀',
  '\uFE0F',
  '\u00A0',
  '\u0085',
  "'",
  '"',
  '\\',
  '<',
  '&',
];
const textUnit = fc.constantFrom(...TEXT_UNITS);

/** Text of `length` code points from TEXT_UNITS. */
function textOfLength(length: number): fc.Arbitrary<string> {
  return fc.string({ unit: textUnit, minLength: length, maxLength: length });
}

/** Text that passes the text rules for `max`, with lengths near both ends. */
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

const quotaMaxArb = fc.oneof(
  fc.constantFrom(-1n, MIB, MIB + 1n, INT64_MAX),
  fc.bigInt({ min: MIB, max: INT64_MAX }),
);
const userMaxArb = fc.oneof(fc.constantFrom(-1n, 0n, INT32_MAX), fc.bigInt({ min: 0n, max: INT32_MAX }));
const trialDaysArb = fc.oneof(fc.constantFrom(0n, INT32_MAX), fc.bigInt({ min: 0n, max: INT32_MAX }));
const webhooksMaxArb = fc.oneof(fc.constantFrom(0n, INT64_MAX), fc.bigInt({ min: 0n, max: INT64_MAX }));

const attributeKeyUnit = fc.constantFrom(...'abcXYZ019_-');
const attributeKeyArb = fc.oneof(
  { arbitrary: fc.string({ unit: attributeKeyUnit, minLength: 1, maxLength: 12 }), weight: 9 },
  { arbitrary: fc.string({ unit: attributeKeyUnit, minLength: 254, maxLength: 255 }), weight: 1 },
);
const attributeValueArb = fc.oneof(
  { arbitrary: validText(64), weight: 19 },
  { arbitrary: fc.integer({ min: 4094, max: 4096 }).chain(textOfLength), weight: 1 },
);
const attributeItemArb = fc.record({ key: attributeKeyArb, value: validText(64) });
const attributeItemsArb: fc.Arbitrary<AttributeItem[]> = fc.oneof(
  {
    arbitrary: fc.uniqueArray(attributeItemArb, { maxLength: 6, selector: (item) => item.key.toLowerCase() }),
    weight: 18,
  },
  {
    arbitrary: fc.uniqueArray(fc.record({ key: attributeKeyArb, value: attributeValueArb }), {
      maxLength: 2,
      selector: (item) => item.key.toLowerCase(),
    }),
    weight: 1,
  },
  {
    arbitrary: fc.uniqueArray(attributeItemArb, {
      minLength: 99,
      maxLength: 100,
      selector: (item) => item.key.toLowerCase(),
    }),
    weight: 1,
  },
);

interface AdminSpec {
  names: Record<string, string>;
  other: Record<string, unknown>;
  secret: string | null;
  secretInAuthData: boolean;
}

/** A first admin user: public fields to echo and secret fields the parser must drop. */
const adminArb = (withNames: boolean): fc.Arbitrary<AdminSpec> =>
  fc.record({
    names: withNames
      ? fc.record({ firstName: nonBlankText(150), lastName: nonBlankText(150) })
      : fc.record({ firstName: validText(150), lastName: validText(150) }, { requiredKeys: [] }),
    other: fc.record(
      {
        userName: validText(150),
        email: fc.constantFrom('jane.doe@example.com', 'x@example.org'),
        language: fc.constantFrom('en-US', 'de'),
        notifyUser: fc.boolean(),
        needsToChangePassword: fc.boolean(),
        phone: fc.constantFrom('+49 30 1234567', ''),
        authData: fc.record({ method: fc.constantFrom('basic', 'openid'), username: validText(20) }),
      },
      { requiredKeys: [] },
    ),
    secret: fc.option(
      fc.constantFrom('password', 'oldPassword', 'PASSWORD', 'passwd', 'clientSecret', 'token'),
    ),
    secretInAuthData: fc.boolean(),
  });

function buildAdmin(spec: AdminSpec): {
  sent: Record<string, unknown>;
  echo: Record<string, unknown>;
} {
  const echo: Record<string, unknown> = { ...spec.names, ...spec.other };
  const sentAdmin: Record<string, unknown> = structuredClone(echo);
  if (spec.secret !== null) {
    sentAdmin[spec.secret] = 'Secret&Passw0rd';
  }
  if (spec.secretInAuthData) {
    const authData = isRecord(sentAdmin.authData) ? sentAdmin.authData : {};
    sentAdmin.authData = { ...authData, password: 'hunter2' };
    echo.authData = isRecord(echo.authData) ? echo.authData : {};
  }
  return { sent: sentAdmin, echo };
}

const ABSENT = Symbol('absent');
type Optional<T> = T | null | typeof ABSENT;
const optional = <T>(arbitrary: fc.Arbitrary<T>): fc.Arbitrary<Optional<T>> =>
  fc.oneof(fc.constant(ABSENT), fc.constant(null), arbitrary);

interface ValidCase {
  body: Record<string, unknown>;
  expected: NewCustomerInput;
}

const validCaseArb: fc.Arbitrary<ValidCase> = fc
  .record({
    contractType: fc.constantFrom<CustomerContractType>('demo', 'free', 'pay'),
    quotaMax: quotaMaxArb,
    userMax: userMaxArb,
    naming: fc.oneof(
      fc.record({ companyName: nonBlankText(150), admin: fc.option(adminArb(false)) }),
      fc.record({
        companyName: fc.constantFrom<Optional<string>>(ABSENT, null, '', '  \u00A0'),
        admin: adminArb(true),
      }),
    ),
    attributes: optional(attributeItemsArb),
    lockValue: fc.boolean(),
    lockFields: fc.constantFrom('none', 'isLocked', 'lockStatus', 'both'),
    providerCustomerId: optional(validText(150)),
    activationCode: optional(validText(150)),
    trialDays: optional(trialDaysArb),
    webhooksMax: optional(webhooksMaxArb),
    integersAsStrings: fc.array(fc.boolean(), { minLength: 4, maxLength: 4 }),
  })
  .map((spec) => {
    const asJson = (value: bigint, index: number): unknown =>
      spec.integersAsStrings[index] ? value.toString() : value;
    const body: Record<string, unknown> = {
      customerContractType: spec.contractType,
      quotaMax: asJson(spec.quotaMax, 0),
      userMax: asJson(spec.userMax, 1),
    };
    const admin = spec.naming.admin === null ? null : buildAdmin(spec.naming.admin);
    if (admin !== null) {
      body.firstAdminUser = admin.sent;
    }
    if (spec.naming.companyName !== ABSENT) {
      body.companyName = spec.naming.companyName;
    }
    const setOptional = (field: string, value: Optional<unknown>, index?: number): void => {
      if (value !== ABSENT) {
        body[field] = typeof value === 'bigint' && index !== undefined ? asJson(value, index) : value;
      }
    };
    if (spec.attributes !== ABSENT) {
      body.customerAttributes = spec.attributes === null ? null : { items: spec.attributes };
    }
    setOptional('providerCustomerId', spec.providerCustomerId);
    setOptional('activationCode', spec.activationCode);
    setOptional('trialDays', spec.trialDays, 2);
    setOptional('webhooksMax', spec.webhooksMax, 3);
    if (spec.lockFields === 'isLocked' || spec.lockFields === 'both') {
      body.isLocked = spec.lockValue;
    }
    if (spec.lockFields === 'lockStatus' || spec.lockFields === 'both') {
      body.lockStatus = spec.lockValue;
    }

    const sentName = spec.naming.companyName;
    const companyName =
      typeof sentName === 'string' && sentName.trim() !== ''
        ? sentName
        : derivedCompanyName(admin === null ? null : admin.echo);
    const present = <T>(value: Optional<T>): T | null => (value === ABSENT ? null : value);
    const expected: NewCustomerInput = {
      customerContractType: spec.contractType,
      quotaMax: spec.quotaMax,
      userMax: spec.userMax,
      companyName: companyName!,
      attributes: present(spec.attributes) ?? [],
      adminLock: spec.lockFields === 'none' ? false : spec.lockValue,
      providerCustomerId: present(spec.providerCustomerId),
      trialDays: spec.trialDays === ABSENT || spec.trialDays === null ? null : Number(spec.trialDays),
      webhooksMax: present(spec.webhooksMax),
      activationCode: present(spec.activationCode),
      firstAdminUser: admin === null ? null : admin.echo,
    };
    return { body, expected };
  });

// ---------------------------------------------------------------------------------------------
// Class (b): a valid body with exactly one mutation.

const numberLiteralArb = fc
  .constantFrom('1048576.0', '1.048576e6', '-0', '0.5', '-1.0', '1E3', '1e400', '2147483647.0', '5e-324')
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
    MIB,
    INT32_MAX,
    INT32_MAX + 1n,
    INT64_MAX,
    INT64_MAX + 1n,
    -(2n ** 63n),
    2n ** 64n,
    10n ** 30n,
    '',
    '   ',
    'demo',
    'free',
    'pay',
    'PAY',
    'trial',
    '0',
    '-1',
    '1048576',
    '2147483648',
    '9223372036854775808',
    '01',
    '+5',
    '1.5',
    '1e6',
    ' 5',
    'tab\there',
    'nul\u0000',
    'del\u007f',
    'lone\uD800',
    '\uDC00x',
    [],
    [1n],
    ['pay'],
    {},
    { items: [] },
    { firstName: 'Jane', lastName: 'Doe' },
  ),
  numberLiteralArb,
  fc.constantFrom(150, 151, 255, 256, 4096, 4097).chain(textOfLength),
  fc.bigInt({ min: -(2n ** 64n), max: 2n ** 64n }),
  fc.string({ unit: textUnit, maxLength: 8 }),
);

const unknownFieldArb = fc.constantFrom(
  'foo',
  'id',
  'quotaUsed',
  'QuotaMax',
  'isLocked ',
  'lockReasons',
  'toString',
  'hasOwnProperty',
  '',
);

type Mutation =
  | { kind: 'drop'; index: number }
  | { kind: 'boundary'; field: string; index: number; asString: boolean }
  | { kind: 'set'; field: string; value: unknown }
  | { kind: 'unknown'; field: string; value: unknown }
  | { kind: 'forbidden'; key: string; where: 'top' | 'admin' | 'attributes' | 'item' }
  | { kind: 'lockConflict'; value: boolean }
  | { kind: 'admin'; field: string; value: unknown }
  | { kind: 'dropAdminName'; field: 'firstName' | 'lastName' }
  | { kind: 'attribute'; change: AttributeChange; index: number; value: unknown }
  | { kind: 'truncate'; position: number };

type AttributeChange =
  | 'duplicate'
  | 'setKey'
  | 'setValue'
  | 'dropKey'
  | 'dropValue'
  | 'extraItemField'
  | 'extraContainerField'
  | 'tooMany'
  | 'setItems'
  | 'setItem';

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
      field: fc.constantFrom(...CREATE_FIELDS),
      value: mutantValueArb,
    }),
    weight: 4,
  },
  fc.record({ kind: fc.constant('unknown' as const), field: unknownFieldArb, value: mutantValueArb }),
  fc.record({
    kind: fc.constant('forbidden' as const),
    key: fc.constantFrom(...FORBIDDEN_KEYS),
    where: fc.constantFrom('top' as const, 'admin' as const, 'attributes' as const, 'item' as const),
  }),
  fc.record({ kind: fc.constant('lockConflict' as const), value: fc.boolean() }),
  fc.record({
    kind: fc.constant('admin' as const),
    field: fc.constantFrom(...ADMIN_TEXT_FIELDS, 'password', 'authData'),
    value: mutantValueArb,
  }),
  fc.record({
    kind: fc.constant('dropAdminName' as const),
    field: fc.constantFrom('firstName' as const, 'lastName' as const),
  }),
  {
    arbitrary: fc.record({
      kind: fc.constant('attribute' as const),
      change: fc.constantFrom<AttributeChange>(
        'duplicate',
        'setKey',
        'setValue',
        'dropKey',
        'dropValue',
        'extraItemField',
        'extraContainerField',
        'tooMany',
        'setItems',
        'setItem',
      ),
      index: fc.nat(),
      value: mutantValueArb,
    }),
    weight: 2,
  },
  fc.record({ kind: fc.constant('truncate' as const), position: fc.nat() }),
);

const PLACEHOLDER = 'forbidden-key-placeholder';

function toggleCase(text: string): string {
  return [...text]
    .map((char) => (char === char.toLowerCase() ? char.toUpperCase() : char.toLowerCase()))
    .join('');
}

/** Applies one mutation to a copy of a valid body and returns the request text. */
function mutateBody(valid: Record<string, unknown>, mutation: Mutation, layout: Layout): string {
  const body = structuredClone(valid);
  const attributes = (): Record<string, unknown> => {
    if (!isRecord(body.customerAttributes)) {
      body.customerAttributes = { items: [{ key: 'region', value: 'eu' }] };
    }
    return body.customerAttributes as Record<string, unknown>;
  };
  const items = (): Record<string, unknown>[] => {
    const container = attributes();
    if (!Array.isArray(container.items) || container.items.length === 0) {
      container.items = [{ key: 'region', value: 'eu' }];
    }
    return container.items as Record<string, unknown>[];
  };
  const admin = (): Record<string, unknown> => {
    if (!isRecord(body.firstAdminUser)) {
      body.firstAdminUser = { firstName: 'Jane', lastName: 'Doe' };
    }
    return body.firstAdminUser as Record<string, unknown>;
  };

  switch (mutation.kind) {
    case 'drop': {
      const keys = Object.keys(body);
      delete body[keys[mutation.index % keys.length]];
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
    case 'forbidden': {
      const target =
        mutation.where === 'admin'
          ? admin()
          : mutation.where === 'attributes'
            ? attributes()
            : mutation.where === 'item'
              ? items()[0]
              : body;
      target[PLACEHOLDER] = { value: 1n };
      const text = writeBody(body, layout);
      return text.replace(`"${PLACEHOLDER}"`, JSON.stringify(mutation.key));
    }
    case 'lockConflict':
      body.isLocked = mutation.value;
      body.lockStatus = !mutation.value;
      break;
    case 'admin':
      admin()[mutation.field] = mutation.value;
      break;
    case 'dropAdminName':
      delete body.companyName;
      delete admin()[mutation.field];
      break;
    case 'attribute': {
      const list = items();
      const item = list[mutation.index % list.length];
      switch (mutation.change) {
        case 'duplicate':
          list.push({ key: toggleCase(String(item.key)), value: 'copy' });
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
        case 'extraContainerField':
          attributes().range = mutation.value;
          break;
        case 'tooMany':
          attributes().items = Array.from({ length: 101 }, (_, index) => ({ key: `k${index}`, value: 'v' }));
          break;
        case 'setItems':
          attributes().items = mutation.value;
          break;
        case 'setItem':
          list[mutation.index % list.length] = mutation.value as Record<string, unknown>;
          break;
      }
      break;
    }
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
      fc.constantFrom(...CREATE_FIELDS, 'foo'),
      fc.oneof(mutantValueArb, fc.jsonValue({ maxDepth: 2 })),
      {
        maxKeys: 12,
      },
    )
    .map((value) => ({ text: stringifyJson(value) })),
);

type PropertyCase =
  | { kind: 'valid'; valid: ValidCase; layout: Layout }
  | { kind: 'mutated'; valid: ValidCase; mutation: Mutation; layout: Layout }
  | { kind: 'random'; input: BodyInput };

const propertyCaseArb: fc.Arbitrary<PropertyCase> = fc.oneof(
  fc.record({ kind: fc.constant('valid' as const), valid: validCaseArb, layout: layoutArb }),
  fc.record({
    kind: fc.constant('mutated' as const),
    valid: validCaseArb,
    mutation: mutationArb,
    layout: layoutArb,
  }),
  fc.record({ kind: fc.constant('random' as const), input: randomInputArb }),
);

describe('parseNewCustomerRequest property', () => {
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
          input = { text: writeBody(testCase.valid.body, testCase.layout) };
          expectVerdict(runParser(parseNewCustomerRequest, input), {
            ok: true,
            value: testCase.valid.expected,
          });
        } else if (testCase.kind === 'mutated') {
          input = { text: mutateBody(testCase.valid.body, testCase.mutation, testCase.layout) };
        } else {
          input = testCase.input;
        }

        const outcome = runParser(parseNewCustomerRequest, input);
        const verdict = verdictFor(input, newCustomerVerdict);
        expectVerdict(outcome, verdict);
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

describe('parseNewCustomerRequest examples', () => {
  const base = { customerContractType: 'pay', quotaMax: MIB, userMax: 5n };

  it('derives a well-formed initial from an emoji', () => {
    const input = parseNewCustomerRequest({
      ...base,
      firstAdminUser: { firstName: '😀mma', lastName: 'Doe' },
    });
    expect(input.companyName).toBe('😀.Doe');
  });

  it('cuts a derived name at 150 code points', () => {
    const lastName = `${'a'.repeat(147)}😀`;
    const input = parseNewCustomerRequest({ ...base, firstAdminUser: { firstName: 'J', lastName } });
    expect(input.companyName).toBe(`J.${lastName}`);
    expect(input.companyName.isWellFormed()).toBe(true);
  });

  it('counts a variation selector as a character', () => {
    const companyName = `${'a'.repeat(150)}\uFE0F`;
    expect(() => parseNewCustomerRequest({ ...base, companyName })).toThrow(
      'companyName is longer than 150 characters',
    );
  });

  it('accepts 150 emoji as companyName', () => {
    const companyName = '😀'.repeat(150);
    expect(parseNewCustomerRequest({ ...base, companyName }).companyName).toBe(companyName);
  });
});
