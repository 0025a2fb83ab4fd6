import { isIn } from 'class-validator';

import { badRequest, SERVICE_ERROR_CODES } from '../http/api-error';
import type { Customer, CustomerContractType } from './customer.entity';
import { presentCustomer } from './customer.presenter';
import { dateRendererFor } from './date-format';
import {
  booleanField,
  checkRange,
  describeValue,
  integerField,
  MIN_QUOTA_BYTES,
  PROVIDER_CUSTOMER_ID_MAX,
  COMPANY_NAME_MAX,
  textField,
} from './request-fields';

const INT32_MAX = 2_147_483_647n;
const INT64_MAX = 2n ** 63n - 1n;

const UPDATABLE_FIELDS = new Set([
  'companyName',
  'customerContractType',
  'quotaMax',
  'userMax',
  'isLocked',
  'lockStatus',
  'providerCustomerId',
  'webhooksMax',
]);

/** Fields of the Customer model a client may send back unchanged; any other value is a 400 naming the field. */
export const READ_ONLY_FIELDS = [
  'id',
  'quotaUsed',
  'userUsed',
  'cntInternalUser',
  'cntGuestUser',
  'createdAt',
  'updatedAt',
  'lastLoginAt',
  'lockReasons',
  'lockVersion',
  'trialDaysLeft',
  'customerUuid',
  'activationCode',
  'customerAttributes',
] as const;

/**
 * Contract-type changes that are allowed: upgrades only, because a paying customer's data must not
 * fall under the limits of a trial. Everything else is a 400 with -90111.
 */
const CONTRACT_UPGRADES: Record<CustomerContractType, CustomerContractType[]> = {
  demo: ['demo', 'free', 'pay'],
  free: ['free', 'pay'],
  pay: ['pay'],
};

export interface CustomerUpdate {
  companyName?: string;
  customerContractType?: CustomerContractType;
  quotaMax?: bigint;
  userMax?: bigint;
  adminLock?: boolean;
  providerCustomerId?: string | null;
  webhooksMax?: bigint | null;
  /** Read-only fields the client sent, to compare with the stored values. */
  readOnly: Partial<Record<(typeof READ_ONLY_FIELDS)[number], unknown>>;
}

/** Validates an `UpdateCustomerRequest` body; only the fields present change, `{}` changes nothing. */
export function parseUpdateCustomerRequest(raw: unknown): CustomerUpdate {
  if (typeof raw !== 'object' || raw === null || Array.isArray(raw)) {
    throw badRequest(-80000, 'the request body must be a JSON object (UpdateCustomerRequest)');
  }
  const body = raw as Record<string, unknown>;
  const readOnly: CustomerUpdate['readOnly'] = {};
  for (const field of Object.keys(body)) {
    if ((READ_ONLY_FIELDS as readonly string[]).includes(field)) {
      readOnly[field as (typeof READ_ONLY_FIELDS)[number]] = body[field];
    } else if (!UPDATABLE_FIELDS.has(field)) {
      throw badRequest(SERVICE_ERROR_CODES.unknownField, `${field} is not a field of UpdateCustomerRequest`);
    }
  }

  const update: CustomerUpdate = { readOnly };
  const companyName = textField(body, 'companyName', COMPANY_NAME_MAX);
  if (companyName !== undefined) {
    if (companyName.trim() === '') {
      throw badRequest(-80000, 'companyName must not be empty');
    }
    update.companyName = companyName;
  }
  const contractType = body.customerContractType;
  if (contractType !== undefined && contractType !== null) {
    if (typeof contractType !== 'string' || !isIn(contractType, ['demo', 'free', 'pay'])) {
      throw badRequest(
        -80023,
        `customerContractType must be demo, free or pay, got ${describeValue(contractType)}`,
      );
    }
    update.customerContractType = contractType as CustomerContractType;
  }
  const quotaMax = integerField(body, 'quotaMax');
  if (quotaMax !== undefined) {
    if (quotaMax !== -1n && quotaMax < MIN_QUOTA_BYTES) {
      throw badRequest(
        -90510,
        `quotaMax must be -1 or at least ${MIN_QUOTA_BYTES} bytes (1 MiB), got ${quotaMax}`,
      );
    }
    update.quotaMax = checkRange('quotaMax', quotaMax, -1n, INT64_MAX);
  }
  const userMax = integerField(body, 'userMax');
  if (userMax !== undefined) {
    update.userMax = checkRange('userMax', userMax, -1n, INT32_MAX);
  }
  const isLocked = booleanField(body, 'isLocked');
  const lockStatus = booleanField(body, 'lockStatus');
  if (isLocked !== undefined && lockStatus !== undefined && isLocked !== lockStatus) {
    throw badRequest(
      SERVICE_ERROR_CODES.conflictingLockFields,
      'isLocked and lockStatus disagree; send one of them',
    );
  }
  update.adminLock = isLocked ?? lockStatus;
  if ('providerCustomerId' in body) {
    update.providerCustomerId = textField(body, 'providerCustomerId', PROVIDER_CUSTOMER_ID_MAX) ?? null;
  }
  if ('webhooksMax' in body) {
    const webhooksMax = integerField(body, 'webhooksMax');
    update.webhooksMax =
      webhooksMax === undefined ? null : checkRange('webhooksMax', webhooksMax, 0n, INT64_MAX);
  }
  return update;
}

/** Rejects a contract-type change that is not an upgrade. */
export function checkContractChange(from: CustomerContractType, to: CustomerContractType): void {
  if (!CONTRACT_UPGRADES[from].includes(to)) {
    throw badRequest(
      -90111,
      `customerContractType cannot change from ${from} to ${to}; only demo to free or pay, and free to pay are allowed`,
    );
  }
}

/**
 * Compares a value a client sent back with the stored one as JSON values: numbers may come as JSON
 * integers or decimal strings, and the key order of objects does not matter.
 */
function sameValue(sent: unknown, stored: unknown): boolean {
  if (typeof stored === 'bigint' || typeof stored === 'number') {
    return (
      (typeof sent === 'bigint' || typeof sent === 'string' || typeof sent === 'number') &&
      String(sent) === String(stored)
    );
  }
  if (stored === null || stored === undefined) {
    return sent === null || sent === undefined;
  }
  if (Array.isArray(stored)) {
    return (
      Array.isArray(sent) &&
      sent.length === stored.length &&
      stored.every((item: unknown, index) => sameValue(sent[index], item))
    );
  }
  if (typeof stored === 'object') {
    if (typeof sent !== 'object' || sent === null || Array.isArray(sent)) {
      return false;
    }
    const sentObject = sent as Record<string, unknown>;
    const storedObject = stored as Record<string, unknown>;
    const sentKeys = Object.keys(sentObject).filter((key) => sentObject[key] !== undefined);
    const storedKeys = Object.keys(storedObject).filter((key) => storedObject[key] !== undefined);
    return (
      sentKeys.length === storedKeys.length &&
      storedKeys.every(
        (key) => Object.hasOwn(sentObject, key) && sameValue(sentObject[key], storedObject[key]),
      )
    );
  }
  return sent === stored;
}

/**
 * Rejects a read-only field whose value differs from the stored customer's presented value. Dates
 * may come back in either rendering a GET offers (RFC 3339 or, after `X-Sds-Date-Format: EPOCH`,
 * epoch milliseconds).
 */
export function checkReadOnlyFields(stored: Customer, update: CustomerUpdate): void {
  const presented = presentCustomer(stored, true);
  const presentedAsEpoch = presentCustomer(stored, true, dateRendererFor('EPOCH'));
  for (const field of READ_ONLY_FIELDS) {
    const sent = update.readOnly[field];
    if (
      field in update.readOnly &&
      !sameValue(sent, presented[field]) &&
      !sameValue(sent, presentedAsEpoch[field])
    ) {
      throw badRequest(
        SERVICE_ERROR_CODES.readOnlyField,
        `${field} is read-only; send its stored value or leave it out`,
      );
    }
  }
}
