/**
 * Classes that describe the REST API's JSON bodies for the OpenAPI document and nothing else. Names
 * and field types follow DRACOON's provisioning models, except for this service's lock fields.
 */
import { ApiProperty, ApiPropertyOptional, ApiSchema } from '@nestjs/swagger';

import { ATTRIBUTE_KEY_MAX, ATTRIBUTE_VALUE_MAX, MAX_ATTRIBUTES } from '../customers/attribute-items';
import { MAX_LIMIT } from '../customers/list-query';
import { ACTIVATION_CODE_MAX } from '../customers/new-customer.request';
import { COMPANY_NAME_MAX, PROVIDER_CUSTOMER_ID_MAX } from '../customers/request-fields';
import { LOCK_REASONS } from '../locking/lock-reason';

/** JSON integers of up to 64 bits, which the service reads and writes with their exact digits. */
export const INT64 = { type: 'integer', format: 'int64' } as const;
export const INT32 = { type: 'integer', format: 'int32' } as const;

const CONTRACT_TYPES = ['demo', 'free', 'pay'];
const INTEGER_INPUT = 'A JSON integer, or the same number as a decimal string without leading zeros.';

/**
 * Describes a timestamp: RFC 3339 in UTC with milliseconds, or integer milliseconds since 1970 when
 * the request sent `X-Sds-Date-Format: EPOCH`.
 */
function timestamp(description: string, nullable = false): Parameters<typeof ApiProperty>[0] {
  return {
    description: `${description} RFC 3339 in UTC, or epoch milliseconds with X-Sds-Date-Format: EPOCH.`,
    example: '2026-12-04T10:00:00.000Z',
    oneOf: [
      { type: 'string', format: 'date-time', ...(nullable ? { nullable: true } : {}) },
      { ...INT64, minimum: 0 },
    ],
  };
}

const LOCK_REASONS_PROPERTY = {
  description:
    'Why the customer is locked, in the order ADMIN, QUOTA_EXCEEDED, USER_LIMIT_EXCEEDED; empty while unlocked.',
  isArray: true,
  enum: [...LOCK_REASONS],
  uniqueItems: true,
} as const;

const LOCK_VERSION_PROPERTY = {
  ...INT64,
  minimum: 0,
  description:
    'Grows by one with every published lock event of the customer, so subscribers can drop stale ones.',
} as const;

@ApiSchema({ name: 'ErrorResponse', description: 'The body of every error response.' })
export class ErrorResponseModel {
  @ApiProperty({ ...INT32, description: 'The HTTP status.', example: 400 })
  code!: number;

  @ApiProperty({ description: 'The HTTP reason phrase.', example: 'Bad Request' })
  message!: string;

  @ApiProperty({ description: 'What was wrong and how to fix it.', example: 'quotaMax is required' })
  debugInfo!: string;

  @ApiProperty({
    ...INT32,
    nullable: true,
    description:
      "DRACOON's error code, or one of the service's own, -80900 to -80999; null where none applies, as for 406, 413, 415 and 500.",
    example: -80000,
  })
  errorCode!: number | null;
}

@ApiSchema({ name: 'KeyValueEntry', description: 'One customer attribute.' })
export class KeyValueEntryModel {
  @ApiProperty({
    description: 'Letters, digits, _ and -; unique per customer regardless of case.',
    pattern: '^[a-zA-Z0-9_-]+$',
    minLength: 1,
    maxLength: ATTRIBUTE_KEY_MAX,
    example: 'region',
  })
  key!: string;

  @ApiProperty({ maxLength: ATTRIBUTE_VALUE_MAX, example: 'eu-central' })
  value!: string;
}

@ApiSchema({ name: 'CustomerAttributes', description: "A customer's attributes." })
export class CustomerAttributesModel {
  @ApiProperty({ type: [KeyValueEntryModel], maxItems: MAX_ATTRIBUTES })
  items!: KeyValueEntryModel[];
}

@ApiSchema({ name: 'Range', description: 'Where a page lies in the whole list.' })
export class RangeModel {
  @ApiProperty({ ...INT64, minimum: 0, description: 'Items skipped before this page.' })
  offset!: number;

  @ApiProperty({ ...INT64, minimum: 1, maximum: MAX_LIMIT, description: 'Requested page size.' })
  limit!: number;

  @ApiProperty({ ...INT64, minimum: 0, description: 'Items in the whole list.' })
  total!: number;
}

@ApiSchema({ name: 'AttributesResponse', description: 'One page of a customer attribute list.' })
export class AttributesResponseModel {
  @ApiProperty({ type: [KeyValueEntryModel] })
  items!: KeyValueEntryModel[];

  @ApiProperty({ type: RangeModel })
  range!: RangeModel;
}

@ApiSchema({ name: 'Customer', description: 'A customer with its limits, usage and lock state.' })
export class CustomerModel {
  @ApiProperty({ ...INT64, minimum: 1 })
  id!: number;

  @ApiProperty({ maxLength: COMPANY_NAME_MAX, example: 'Acme Ltd' })
  companyName!: string;

  @ApiProperty({ enum: CONTRACT_TYPES })
  customerContractType!: string;

  @ApiProperty({ ...INT64, minimum: -1, description: 'Storage limit in bytes; -1 is unlimited.' })
  quotaMax!: number;

  @ApiProperty({ ...INT64, minimum: 0, description: 'Bytes in use.' })
  quotaUsed!: number;

  @ApiProperty({ ...INT32, minimum: -1, description: 'User limit; -1 is unlimited.' })
  userMax!: number;

  @ApiProperty({ ...INT32, minimum: 0, description: 'Users allocated.' })
  userUsed!: number;

  @ApiProperty({
    ...INT32,
    minimum: 0,
    description: 'Equal to userUsed: every user counted here is internal.',
  })
  cntInternalUser!: number;

  @ApiProperty({ ...INT32, minimum: 0, description: 'Always 0: guest users are not counted.' })
  cntGuestUser!: number;

  @ApiProperty(timestamp('When the customer was created.'))
  createdAt!: string;

  @ApiProperty(timestamp('When the customer was last changed.', true))
  updatedAt!: string | null;

  @ApiProperty(timestamp('Last login of any of its users; this service never sets it.', true))
  lastLoginAt!: string | null;

  @ApiProperty({ description: 'True while lockReasons is not empty.' })
  isLocked!: boolean;

  @ApiProperty({ deprecated: true, description: 'Same as isLocked.' })
  lockStatus!: boolean;

  @ApiProperty(LOCK_REASONS_PROPERTY)
  lockReasons!: string[];

  @ApiProperty(LOCK_VERSION_PROPERTY)
  lockVersion!: number;

  @ApiProperty({ ...INT32, nullable: true, description: 'Not used.' })
  trialDaysLeft!: number | null;

  @ApiProperty({ type: 'string', nullable: true, maxLength: PROVIDER_CUSTOMER_ID_MAX })
  providerCustomerId!: string | null;

  @ApiPropertyOptional({
    type: CustomerAttributesModel,
    description: 'Only with include_attributes=true, and always in attribute write responses.',
  })
  customerAttributes?: CustomerAttributesModel;

  @ApiProperty({ ...INT64, minimum: 0, nullable: true, description: 'Webhook limit.' })
  webhooksMax!: number | null;

  @ApiProperty({ format: 'uuid' })
  customerUuid!: string;

  @ApiProperty({ type: 'string', nullable: true, deprecated: true, maxLength: ACTIVATION_CODE_MAX })
  activationCode!: string | null;
}

@ApiSchema({ name: 'CustomerList', description: 'One page of the customer list.' })
export class CustomerListModel {
  @ApiProperty({ type: [CustomerModel] })
  items!: CustomerModel[];

  @ApiProperty({ type: RangeModel })
  range!: RangeModel;
}

@ApiSchema({
  name: 'FirstAdminUser',
  description:
    'Optional here, unlike in DRACOON: this service keeps no users. Echoed in the response without any password.',
})
export class FirstAdminUserModel {
  @ApiPropertyOptional({ maxLength: 150 })
  firstName?: string;

  @ApiPropertyOptional({ maxLength: 150 })
  lastName?: string;

  @ApiPropertyOptional({ maxLength: 150 })
  userName?: string;

  @ApiPropertyOptional({ maxLength: 150 })
  email?: string;

  @ApiPropertyOptional({ writeOnly: true, description: 'Dropped at once; never stored or echoed.' })
  password?: string;

  @ApiPropertyOptional({
    type: 'object',
    additionalProperties: true,
    description: 'Echoed without its password field.',
  })
  authData?: Record<string, unknown>;
}

@ApiSchema({
  name: 'NewCustomerRequest',
  description: `Any other field is a 400 (-80901). ${INTEGER_INPUT}`,
})
export class NewCustomerRequestModel {
  @ApiProperty({ enum: CONTRACT_TYPES })
  customerContractType!: string;

  @ApiProperty({
    ...INT64,
    minimum: -1,
    description: 'Storage limit in bytes: -1 (unlimited) or at least 1048576 (1 MiB); otherwise 400 -90510.',
    example: 1073741824,
  })
  quotaMax!: number;

  @ApiProperty({ ...INT32, minimum: -1, description: 'User limit; -1 is unlimited.', example: 100 })
  userMax!: number;

  @ApiPropertyOptional({
    maxLength: COMPANY_NAME_MAX,
    description: 'Required unless firstAdminUser has firstName and lastName, from which J.Doe is built.',
  })
  companyName?: string;

  @ApiPropertyOptional({ type: FirstAdminUserModel })
  firstAdminUser?: FirstAdminUserModel;

  @ApiPropertyOptional({ type: CustomerAttributesModel })
  customerAttributes?: CustomerAttributesModel;

  @ApiPropertyOptional({ default: false, description: 'True sets lock reason ADMIN.' })
  isLocked?: boolean;

  @ApiPropertyOptional({
    deprecated: true,
    description: 'Same as isLocked; must agree with it (else -80903).',
  })
  lockStatus?: boolean;

  @ApiPropertyOptional({ type: 'string', nullable: true, maxLength: PROVIDER_CUSTOMER_ID_MAX })
  providerCustomerId?: string | null;

  @ApiPropertyOptional({
    ...INT32,
    minimum: 0,
    nullable: true,
    description: 'Not used; kept as trialDaysLeft.',
  })
  trialDays?: number | null;

  @ApiPropertyOptional({ ...INT64, minimum: 0, nullable: true })
  webhooksMax?: number | null;

  @ApiPropertyOptional({ type: 'string', nullable: true, deprecated: true, maxLength: ACTIVATION_CODE_MAX })
  activationCode?: string | null;
}

@ApiSchema({ name: 'NewCustomerResponse', description: 'The customer just created.' })
export class NewCustomerResponseModel {
  @ApiProperty({ ...INT64, minimum: 1 })
  id!: number;

  @ApiProperty()
  companyName!: string;

  @ApiProperty({ enum: CONTRACT_TYPES })
  customerContractType!: string;

  @ApiProperty({ ...INT64, minimum: -1 })
  quotaMax!: number;

  @ApiProperty({ ...INT32, minimum: -1 })
  userMax!: number;

  @ApiProperty()
  isLocked!: boolean;

  @ApiProperty({ deprecated: true })
  lockStatus!: boolean;

  @ApiProperty(LOCK_REASONS_PROPERTY)
  lockReasons!: string[];

  @ApiProperty(LOCK_VERSION_PROPERTY)
  lockVersion!: number;

  @ApiProperty({ ...INT32, nullable: true })
  trialDays!: number | null;

  @ApiProperty({ type: 'string', nullable: true })
  providerCustomerId!: string | null;

  @ApiProperty({ ...INT64, nullable: true })
  webhooksMax!: number | null;

  @ApiProperty({ type: CustomerAttributesModel })
  customerAttributes!: CustomerAttributesModel;

  @ApiProperty(timestamp('When the customer was created.'))
  createdAt!: string;

  @ApiProperty({ format: 'uuid' })
  customerUuid!: string;

  @ApiProperty({ type: 'string', nullable: true, deprecated: true })
  activationCode!: string | null;

  @ApiPropertyOptional({
    type: FirstAdminUserModel,
    description: "The request's firstAdminUser without passwords.",
  })
  firstAdminUser?: FirstAdminUserModel;
}

@ApiSchema({
  name: 'UpdateCustomerRequest',
  description:
    'Only the fields sent change; {} changes nothing. Read-only Customer fields may be sent with their stored ' +
    `value and are then ignored; another value is a 400 (-80902). Any other field is a 400 (-80901). ${INTEGER_INPUT}`,
})
export class UpdateCustomerRequestModel {
  @ApiPropertyOptional({ maxLength: COMPANY_NAME_MAX, minLength: 1 })
  companyName?: string;

  @ApiPropertyOptional({
    enum: CONTRACT_TYPES,
    description: 'Upgrades only: demo to free or pay, free to pay; otherwise 400 -90111.',
  })
  customerContractType?: string;

  @ApiPropertyOptional({
    ...INT64,
    minimum: -1,
    description: '-1 or at least 1048576; re-evaluates the lock.',
  })
  quotaMax?: number;

  @ApiPropertyOptional({ ...INT32, minimum: -1, description: '-1 or more; re-evaluates the lock.' })
  userMax?: number;

  @ApiPropertyOptional({ description: 'True adds lock reason ADMIN, false removes it.' })
  isLocked?: boolean;

  @ApiPropertyOptional({
    deprecated: true,
    description: 'Same as isLocked; must agree with it (else -80903).',
  })
  lockStatus?: boolean;

  @ApiPropertyOptional({
    type: 'string',
    nullable: true,
    maxLength: PROVIDER_CUSTOMER_ID_MAX,
    description: 'null clears it.',
  })
  providerCustomerId?: string | null;

  @ApiPropertyOptional({ ...INT64, minimum: 0, nullable: true, description: 'null clears it.' })
  webhooksMax?: number | null;
}

@ApiSchema({ name: 'UpdateCustomerResponse', description: 'The customer after the change was committed.' })
export class UpdateCustomerResponseModel {
  @ApiProperty({ ...INT64, minimum: 1 })
  id!: number;

  @ApiProperty()
  companyName!: string;

  @ApiProperty({ enum: CONTRACT_TYPES })
  customerContractType!: string;

  @ApiProperty({ ...INT64, minimum: -1 })
  quotaMax!: number;

  @ApiProperty({ ...INT32, minimum: -1 })
  userMax!: number;

  @ApiProperty()
  isLocked!: boolean;

  @ApiProperty({ deprecated: true })
  lockStatus!: boolean;

  @ApiProperty(LOCK_REASONS_PROPERTY)
  lockReasons!: string[];

  @ApiProperty(LOCK_VERSION_PROPERTY)
  lockVersion!: number;

  @ApiProperty({ ...INT32, nullable: true })
  trialDays!: number | null;

  @ApiProperty({ type: 'string', nullable: true })
  providerCustomerId!: string | null;

  @ApiProperty({ ...INT64, nullable: true })
  webhooksMax!: number | null;

  @ApiProperty({ type: CustomerAttributesModel })
  customerAttributes!: CustomerAttributesModel;

  @ApiProperty(timestamp('When the customer was created.'))
  createdAt!: string;

  @ApiProperty(timestamp('When the customer was last changed.'))
  updatedAt!: string;

  @ApiProperty({ format: 'uuid' })
  customerUuid!: string;

  @ApiProperty({ type: 'string', nullable: true, deprecated: true })
  activationCode!: string | null;
}

@ApiSchema({ name: 'AllocatedUser', description: 'A user id that counts toward userUsed.' })
export class AllocatedUserModel {
  @ApiProperty({ minLength: 1, maxLength: 128, pattern: '^[\\x21-\\x7e]+$' })
  userId!: string;

  @ApiProperty(timestamp('When the user was allocated.'))
  allocatedAt!: string;
}

@ApiSchema({
  name: 'UserList',
  description: "One page of a customer's allocated users, by allocation time, then user id.",
})
export class UserListModel {
  @ApiProperty({ type: [AllocatedUserModel] })
  items!: AllocatedUserModel[];

  @ApiProperty({ type: RangeModel })
  range!: RangeModel;
}

@ApiSchema({ name: 'LockHistoryEntry', description: "One change of a customer's set of lock reasons." })
export class LockHistoryEntryModel {
  @ApiProperty({ ...INT64, minimum: 1 })
  id!: number;

  @ApiProperty({ enum: ['added', 'removed', 'deleted'] })
  change!: string;

  @ApiProperty({
    type: 'string',
    enum: [...LOCK_REASONS, null],
    nullable: true,
    description: 'The reason added or removed; null for deleted.',
  })
  reason!: string | null;

  @ApiProperty(LOCK_REASONS_PROPERTY)
  reasonsBefore!: string[];

  @ApiProperty(LOCK_REASONS_PROPERTY)
  reasonsAfter!: string[];

  @ApiProperty({ description: 'True when reasonsAfter is not empty.' })
  isLocked!: boolean;

  @ApiProperty(LOCK_VERSION_PROPERTY)
  lockVersion!: number;

  @ApiProperty({
    type: 'string',
    enum: ['CustomerLocked', 'CustomerUnlocked', 'CustomerDeleted', null],
    nullable: true,
    description:
      'The event published for this change; null when none was, as when one of several reasons goes.',
  })
  eventType!: string | null;

  @ApiProperty({ type: 'string', format: 'uuid', nullable: true })
  eventId!: string | null;

  @ApiProperty({ description: 'system, command:<source> or admin:<token name>.' })
  actor!: string;

  @ApiProperty({ description: '<source>#<event id> of the cause, or <service source>/http#<request id>.' })
  causationId!: string;

  @ApiProperty({ type: 'string', nullable: true, maxLength: 1000 })
  comment!: string | null;

  @ApiProperty(timestamp('When the change happened.'))
  occurredAt!: string;
}

@ApiSchema({ name: 'LockHistoryList', description: "One page of a customer's lock history, newest first." })
export class LockHistoryListModel {
  @ApiProperty({ type: [LockHistoryEntryModel] })
  items!: LockHistoryEntryModel[];

  @ApiProperty({ type: RangeModel })
  range!: RangeModel;
}

@ApiSchema({ name: 'Liveness' })
export class LivenessModel {
  @ApiProperty({ enum: ['up'] })
  status!: string;
}

@ApiSchema({ name: 'ComponentStatus' })
export class ComponentStatusModel {
  @ApiProperty({ enum: ['up', 'down'] })
  status!: string;

  @ApiPropertyOptional({ description: 'Why the database is down.' })
  error?: string;
}

@ApiSchema({ name: 'ConsumerComponentStatus' })
export class ConsumerComponentStatusModel {
  @ApiProperty({ enum: ['up', 'down'], description: 'up while the consumer is a member of its group.' })
  status!: string;

  @ApiProperty({
    type: 'object',
    additionalProperties: { type: 'array', items: INT32 },
    description: 'Assigned partitions by topic.',
  })
  partitions!: Record<string, number[]>;

  @ApiProperty({ type: 'string', nullable: true })
  lastError!: string | null;
}

@ApiSchema({ name: 'ReadinessComponents' })
export class ReadinessComponentsModel {
  @ApiProperty({ type: ComponentStatusModel })
  database!: ComponentStatusModel;

  @ApiProperty({ type: ConsumerComponentStatusModel })
  consumer!: ConsumerComponentStatusModel;
}

@ApiSchema({ name: 'Readiness' })
export class ReadinessModel {
  @ApiProperty({ enum: ['up', 'down'] })
  status!: string;

  @ApiProperty({ type: ReadinessComponentsModel })
  components!: ReadinessComponentsModel;
}
