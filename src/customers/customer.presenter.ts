import { Customer } from './customer.entity';
import { DateRenderer, DEFAULT_DATE_RENDERER } from './date-format';
import type { FirstAdminUser } from './new-customer.request';

function dateOrNull(date: Date | null, render: DateRenderer): string | number | null {
  return date ? render(date) : null;
}

function attributesOf(customer: Customer): { items: { key: string; value: string }[] } {
  return {
    items: (customer.attributes ?? []).map((attribute) => ({ key: attribute.key, value: attribute.value })),
  };
}

/** DRACOON's `Customer` model plus the lock extensions; int64 fields stay `bigint` for the lossless codec. */
export function presentCustomer(
  customer: Customer,
  withAttributes: boolean,
  render: DateRenderer = DEFAULT_DATE_RENDERER,
): Record<string, unknown> {
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
    createdAt: render(customer.createdAt),
    updatedAt: dateOrNull(customer.updatedAt, render),
    lastLoginAt: dateOrNull(customer.lastLoginAt, render),
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
  render: DateRenderer = DEFAULT_DATE_RENDERER,
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
    createdAt: render(customer.createdAt),
    customerUuid: customer.customerUuid,
    activationCode: customer.activationCode,
    ...(firstAdminUser ? { firstAdminUser } : {}),
  };
}

/** DRACOON's `UpdateCustomerResponse` plus the lock extensions: the state after the commit. */
export function presentUpdatedCustomer(
  customer: Customer,
  render: DateRenderer = DEFAULT_DATE_RENDERER,
): Record<string, unknown> {
  // The update response has the create response's fields, without firstAdminUser, plus updatedAt.
  return { ...presentNewCustomer(customer, null, render), updatedAt: render(customer.updatedAt) };
}
