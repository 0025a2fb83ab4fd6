import { isIn } from 'class-validator';

import { badRequest, SERVICE_ERROR_CODES } from '../http/api-error';
import type { CustomerContractType } from './customer.entity';
import { parseAttributeItems } from './attribute-items';
import {
  booleanField,
  checkRange,
  COMPANY_NAME_MAX,
  describeValue,
  integerField,
  MIN_QUOTA_BYTES,
  PROVIDER_CUSTOMER_ID_MAX,
  textField,
} from './request-fields';

export { COMPANY_NAME_MAX, MIN_QUOTA_BYTES, PROVIDER_CUSTOMER_ID_MAX };

export const ACTIVATION_CODE_MAX = 150;
const INT32_MAX = 2_147_483_647n;
const INT64_MAX = 2n ** 63n - 1n;

const CREATE_FIELDS = new Set([
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
]);

/** Admin user data echoed in the create response; the password is never kept or echoed. */
export type FirstAdminUser = Record<string, unknown>;

export interface NewCustomerInput {
  customerContractType: CustomerContractType;
  quotaMax: bigint;
  userMax: bigint;
  companyName: string;
  attributes: { key: string; value: string }[];
  adminLock: boolean;
  providerCustomerId: string | null;
  trialDays: number | null;
  webhooksMax: bigint | null;
  activationCode: string | null;
  firstAdminUser: FirstAdminUser | null;
}

type Body = Record<string, unknown>;

function quotaMax(value: bigint | undefined): bigint {
  if (value === undefined) {
    throw badRequest(-80000, 'quotaMax is required (bytes, or -1 for unlimited)');
  }
  if (value !== -1n && value < MIN_QUOTA_BYTES) {
    throw badRequest(
      -90510,
      `quotaMax must be -1 or at least ${MIN_QUOTA_BYTES} bytes (1 MiB), got ${value}`,
    );
  }
  return checkRange('quotaMax', value, -1n, INT64_MAX);
}

function userMax(value: bigint | undefined): bigint {
  if (value === undefined) {
    throw badRequest(-80000, 'userMax is required (users, or -1 for unlimited)');
  }
  return checkRange('userMax', value, -1n, INT32_MAX);
}

/**
 * Matches field names that may hold a secret, at any depth and in any case (`password`,
 * `oldPassword`). A boolean under such a name, like `needsToChangePassword`, holds no secret and stays.
 */
const SECRET_FIELD = /passw(or)?d|secret|token/i;

/** Copies a JSON value without the fields that may hold a secret, so they are never echoed or kept. */
function withoutSecrets(value: unknown): unknown {
  if (Array.isArray(value)) {
    return value.map(withoutSecrets);
  }
  if (value && typeof value === 'object') {
    return Object.fromEntries(
      Object.entries(value)
        .filter(([key, item]) => typeof item === 'boolean' || !SECRET_FIELD.test(key))
        .map(([key, item]) => [key, withoutSecrets(item)]),
    );
  }
  return value;
}

function firstAdminUser(body: Body): FirstAdminUser | null {
  const value = body.firstAdminUser;
  if (value === undefined || value === null) {
    return null;
  }
  if (typeof value !== 'object' || Array.isArray(value)) {
    throw badRequest(-80002, 'firstAdminUser must be an object');
  }
  const echo = withoutSecrets(value) as Body;
  for (const field of ['firstName', 'lastName', 'userName', 'email']) {
    textField(echo, field, 150);
  }
  return echo;
}

function companyName(body: Body, admin: FirstAdminUser | null): string {
  const given = textField(body, 'companyName', COMPANY_NAME_MAX);
  if (given !== undefined && given.trim() !== '') {
    return given;
  }
  const first = typeof admin?.firstName === 'string' ? admin.firstName.trim() : '';
  const last = typeof admin?.lastName === 'string' ? admin.lastName.trim() : '';
  if (first !== '' && last !== '') {
    // Count code points, as the varchar column does, so that neither the initial nor the cut at
    // COMPANY_NAME_MAX splits a surrogate pair.
    const initial = String.fromCodePoint(first.codePointAt(0)!);
    return [...`${initial}.${last}`].slice(0, COMPANY_NAME_MAX).join('');
  }
  throw badRequest(-80000, 'companyName is required unless firstAdminUser has firstName and lastName');
}

/** Validates a `NewCustomerRequest` body from the lossless codec; throws an ApiError naming the field. */
export function parseNewCustomerRequest(raw: unknown): NewCustomerInput {
  if (typeof raw !== 'object' || raw === null || Array.isArray(raw)) {
    throw badRequest(-80000, 'the request body must be a JSON object (NewCustomerRequest)');
  }
  const body = raw as Body;
  const unknown = Object.keys(body).find((field) => !CREATE_FIELDS.has(field));
  if (unknown !== undefined) {
    throw badRequest(SERVICE_ERROR_CODES.unknownField, `${unknown} is not a field of NewCustomerRequest`);
  }
  const contractType = body.customerContractType;
  if (contractType === undefined || contractType === null) {
    throw badRequest(-80000, 'customerContractType is required: demo, free or pay');
  }
  if (typeof contractType !== 'string' || !isIn(contractType, ['demo', 'free', 'pay'])) {
    throw badRequest(
      -80023,
      `customerContractType must be demo, free or pay, got ${describeValue(contractType)}`,
    );
  }
  const isLocked = booleanField(body, 'isLocked');
  const lockStatus = booleanField(body, 'lockStatus');
  if (isLocked !== undefined && lockStatus !== undefined && isLocked !== lockStatus) {
    throw badRequest(
      SERVICE_ERROR_CODES.conflictingLockFields,
      'isLocked and lockStatus disagree; send one of them',
    );
  }
  const admin = firstAdminUser(body);
  const trialDays = integerField(body, 'trialDays');
  const webhooksMax = integerField(body, 'webhooksMax');

  return {
    customerContractType: contractType as CustomerContractType,
    quotaMax: quotaMax(integerField(body, 'quotaMax')),
    userMax: userMax(integerField(body, 'userMax')),
    companyName: companyName(body, admin),
    attributes: parseAttributeItems(body.customerAttributes, 'customerAttributes'),
    adminLock: isLocked ?? lockStatus ?? false,
    providerCustomerId: textField(body, 'providerCustomerId', PROVIDER_CUSTOMER_ID_MAX) ?? null,
    trialDays: trialDays === undefined ? null : Number(checkRange('trialDays', trialDays, 0n, INT32_MAX)),
    webhooksMax: webhooksMax === undefined ? null : checkRange('webhooksMax', webhooksMax, 0n, INT64_MAX),
    activationCode: textField(body, 'activationCode', ACTIVATION_CODE_MAX) ?? null,
    firstAdminUser: admin,
  };
}
