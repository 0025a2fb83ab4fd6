/**
 * Filter and sort fields of DRACOON's customer list and customer attribute list, mapped to this
 * service's tables `customer` and `customer_attribute`.
 */
import { buildListSql, type ListSql } from './list-query-sql';
import {
  defineFilterSpec,
  defineSortSpec,
  type FilterFieldSpec,
  type FilterValueSpec,
  type ListSpec,
  parseListQuery,
} from './list-query';

const INT32_MIN = -(2n ** 31n);
const INT32_MAX = 2n ** 31n - 1n;
const INT64_MIN = -(2n ** 63n);
const INT64_MAX = 2n ** 63n - 1n;

const INT32 = { type: 'integer', min: INT32_MIN, max: INT32_MAX } as const;
const INT64 = { type: 'integer', min: INT64_MIN, max: INT64_MAX } as const;
const TEXT = { type: 'text' } as const;
const DATE = { type: 'date' } as const;
const IS_LOCKED = 'cardinality(customer.lock_reasons) > 0';

// The table's CHECK allows only these characters in keys, so any other character can never match.
const ATTRIBUTE_KEY = {
  type: 'text',
  ignoreCase: true,
  allowed: { pattern: /^[a-zA-Z0-9_-]+$/, description: 'letters a-z and A-Z, digits, _ and -' },
} as const;

const ATTRIBUTE_OF_CUSTOMER = 'SELECT 1 FROM customer_attribute a WHERE a.customer_id = customer.id';

function range(column: string, value: FilterValueSpec): FilterFieldSpec {
  return { operators: ['ge', 'le'], value, column };
}

export const CUSTOMER_LIST: ListSpec = {
  filter: defineFilterSpec({
    id: { operators: ['eq'], value: { type: 'integer', min: 1n, max: INT64_MAX }, column: 'customer.id' },
    companyName: { operators: ['cn'], value: TEXT, column: 'customer.company_name' },
    customerContractType: {
      operators: ['eq'],
      value: { type: 'enum', values: ['demo', 'free', 'pay'] },
      column: 'customer.customer_contract_type',
    },
    trialDaysLeft: range('customer.trial_days_left', INT32),
    providerCustomerId: { operators: ['cn', 'eq'], value: TEXT, column: 'customer.provider_customer_id' },
    // Raw values are compared, so the unlimited marker -1 sorts below every real limit.
    quotaMax: range('customer.quota_max', INT64),
    quotaUsed: range('customer.quota_used', INT64),
    userMax: range('customer.user_max', INT32),
    userUsed: range('customer.user_used', INT32),
    isLocked: {
      operators: ['eq'],
      value: { type: 'boolean', trueText: 'true', falseText: 'false' },
      column: IS_LOCKED,
    },
    lockStatus: {
      operators: ['eq'],
      value: { type: 'boolean', trueText: '1', falseText: '0' },
      column: IS_LOCKED,
    },
    createdAt: range('customer.created_at', DATE),
    updatedAt: range('customer.updated_at', DATE),
    lastLoginAt: range('customer.last_login_at', DATE),
    attributeKey: {
      operators: ['eq', 'nex'],
      value: ATTRIBUTE_KEY,
      column: 'a.key',
      lowerColumn: 'a.key_lower',
      existsIn: ATTRIBUTE_OF_CUSTOMER,
    },
    attributeValue: { operators: ['eq'], value: TEXT, column: 'a.value', existsIn: ATTRIBUTE_OF_CUSTOMER },
    activationCode: { operators: ['cn', 'eq'], value: TEXT, column: 'customer.activation_code' },
    // Deviation from DRACOON: users and their logins live in DRACOON itself, and this service only
    // counts user ids, so a clause on userLogin is rejected rather than silently matching nothing.
    userLogin: {
      unsupported:
        'this service stores no user logins, so it cannot filter customers by userLogin. ' +
        'Remove the clause, or look up the customer of the user in DRACOON and filter by id.',
    },
  }),
  sort: defineSortSpec(
    {
      // Names sort without regard to case, as a person reading the list expects.
      companyName: 'lower(customer.company_name)',
      customerContractType: 'customer.customer_contract_type',
      trialDaysLeft: 'customer.trial_days_left',
      providerCustomerId: 'lower(customer.provider_customer_id)',
      quotaMax: 'customer.quota_max',
      quotaUsed: 'customer.quota_used',
      userMax: 'customer.user_max',
      userUsed: 'customer.user_used',
      isLocked: `(${IS_LOCKED})`,
      createdAt: 'customer.created_at',
      updatedAt: 'customer.updated_at',
      lastLoginAt: 'customer.last_login_at',
      lockStatus: `(${IS_LOCKED})`,
    },
    'customer.id',
  ),
};

const ATTRIBUTE_TEXT = { type: 'text', ignoreCase: true } as const;

/** The attributes of one customer; the caller adds `customer_attribute.customer_id = $n` itself. */
export const CUSTOMER_ATTRIBUTE_LIST: ListSpec = {
  filter: defineFilterSpec({
    key: {
      operators: ['cn', 'eq', 'sw'],
      value: ATTRIBUTE_KEY,
      column: 'customer_attribute.key',
      lowerColumn: 'customer_attribute.key_lower',
    },
    value: { operators: ['cn', 'eq', 'sw'], value: ATTRIBUTE_TEXT, column: 'customer_attribute.value' },
  }),
  sort: defineSortSpec(
    { key: 'customer_attribute.key_lower', value: 'customer_attribute.value' },
    'customer_attribute.key_lower',
  ),
};

/** Parses the query parameters of `GET .../customers` and builds its SQL, parameters from `$firstIndex`. */
export function buildCustomerListQuery(query: Record<string, unknown>, firstIndex = 1): ListSql {
  return buildListSql(parseListQuery(query, CUSTOMER_LIST), CUSTOMER_LIST, firstIndex);
}

/** Parses the query parameters of `GET .../customerAttributes` and builds its SQL. */
export function buildCustomerAttributeListQuery(query: Record<string, unknown>, firstIndex = 1): ListSql {
  return buildListSql(parseListQuery(query, CUSTOMER_ATTRIBUTE_LIST), CUSTOMER_ATTRIBUTE_LIST, firstIndex);
}
