import { Customer } from './customer.entity';
import type { FirstAdminUser } from './new-customer.request';

function isoOrNull(date: Date | null): string | null {
  return date ? date.toISOString() : null;
}

function attributesOf(customer: Customer): { items: { key: string; value: string }[] } {
  return {
    items: (customer.attributes ?? []).map((attribute) => ({ key: attribute.key, value: attribute.value })),
  };
}

/** DRACOON's `Customer` model plus the lock extensions; int64 fields stay `bigint` for the lossless codec. */
export function presentCustomer(customer: Customer, withAttributes: boolean): Record<string, unknown> {
  const isLocked = customer.lockReasons.length > 0;
  return {
    id: customer.id,
    companyName: customer.companyName,
    customerContractType: customer.customerContractType,
    quotaMax: customer.quotaMax,
    quotaUsed: customer.quotaUsed,
    userMax: customer.userMax,
    userUsed: customer.userUsed,
    cntInternalUser: customer.userUsed,
    cntGuestUser: 0,
    createdAt: customer.createdAt.toISOString(),
    updatedAt: isoOrNull(customer.updatedAt),
    lastLoginAt: isoOrNull(customer.lastLoginAt),
    isLocked,
    lockStatus: isLocked,
    lockReasons: customer.lockReasons,
    lockVersion: customer.lockVersion,
    trialDaysLeft: customer.trialDaysLeft,
    providerCustomerId: customer.providerCustomerId,
    ...(withAttributes ? { customerAttributes: attributesOf(customer) } : {}),
    webhooksMax: customer.webhooksMax,
    customerUuid: customer.customerUuid,
    activationCode: customer.activationCode,
  };
}

/** DRACOON's `NewCustomerResponse`, echoing `firstAdminUser` (without any password) when it was sent. */
export function presentNewCustomer(
  customer: Customer,
  firstAdminUser: FirstAdminUser | null,
): Record<string, unknown> {
  const isLocked = customer.lockReasons.length > 0;
  return {
    id: customer.id,
    companyName: customer.companyName,
    customerContractType: customer.customerContractType,
    quotaMax: customer.quotaMax,
    userMax: customer.userMax,
    isLocked,
    lockStatus: isLocked,
    lockReasons: customer.lockReasons,
    lockVersion: customer.lockVersion,
    trialDays: customer.trialDaysLeft,
    providerCustomerId: customer.providerCustomerId,
    webhooksMax: customer.webhooksMax,
    customerAttributes: attributesOf(customer),
    createdAt: customer.createdAt.toISOString(),
    customerUuid: customer.customerUuid,
    activationCode: customer.activationCode,
    ...(firstAdminUser ? { firstAdminUser } : {}),
  };
}

/** DRACOON's `UpdateCustomerResponse` plus the lock extensions: the state after the commit. */
export function presentUpdatedCustomer(customer: Customer): Record<string, unknown> {
  const isLocked = customer.lockReasons.length > 0;
  return {
    id: customer.id,
    companyName: customer.companyName,
    customerContractType: customer.customerContractType,
    quotaMax: customer.quotaMax,
    userMax: customer.userMax,
    isLocked,
    lockStatus: isLocked,
    lockReasons: customer.lockReasons,
    lockVersion: customer.lockVersion,
    trialDays: customer.trialDaysLeft,
    providerCustomerId: customer.providerCustomerId,
    webhooksMax: customer.webhooksMax,
    customerAttributes: attributesOf(customer),
    createdAt: customer.createdAt.toISOString(),
    updatedAt: customer.updatedAt.toISOString(),
    customerUuid: customer.customerUuid,
    activationCode: customer.activationCode,
  };
}
