import { isIn } from 'class-validator';

import { badRequest, SERVICE_ERROR_CODES } from '../http/api-error';
import type { CustomerContractType } from './customer.entity';
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
