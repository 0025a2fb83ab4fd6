import type { Customer } from './customer.entity';

/** A `customer` row as node-postgres returns it (`SELECT *`); bigint columns arrive as text. */
export interface CustomerRow {
  id: string;
  customer_uuid: string;
  company_name: string;
  customer_contract_type: Customer['customerContractType'];
  quota_max: string;
  quota_used: string;
  user_max: string;
  user_used: string;
  lock_reasons: string[];
  lock_version: string;
  trial_days_left: number | null;
  provider_customer_id: string | null;
  webhooks_max: string | null;
  activation_code: string | null;
  last_login_at: Date | null;
  created_at: Date;
  updated_at: Date;
}

/** Maps a row and its attributes to the entity the presenters render. */
export function toCustomer(row: CustomerRow, attributes: { key: string; value: string }[]): Customer {
  return {
    id: BigInt(row.id),
    customerUuid: row.customer_uuid,
    companyName: row.company_name,
    customerContractType: row.customer_contract_type,
    quotaMax: BigInt(row.quota_max),
    quotaUsed: BigInt(row.quota_used),
    userMax: BigInt(row.user_max),
    userUsed: BigInt(row.user_used),
    lockReasons: row.lock_reasons,
    lockVersion: BigInt(row.lock_version),
    trialDaysLeft: row.trial_days_left,
    providerCustomerId: row.provider_customer_id,
    webhooksMax: row.webhooks_max === null ? null : BigInt(row.webhooks_max),
    activationCode: row.activation_code,
    lastLoginAt: row.last_login_at,
    createdAt: row.created_at,
    updatedAt: row.updated_at,
    attributes: attributes.map((item) => ({
      ...item,
      customerId: BigInt(row.id),
      keyLower: item.key.toLowerCase(),
    })),
  };
}
