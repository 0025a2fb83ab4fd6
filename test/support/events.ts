import { randomUUID } from 'node:crypto';
import { Message } from 'kafkajs';

/** Builders of inbound CloudEvents for tests. Numbers are passed as text so they stay exact. */
export interface EventOptions {
  id?: string;
  source?: string;
  key?: string | null;
}

function structured(type: string, customerId: string, dataJson: string, options: EventOptions): Message {
  const id = options.id ?? randomUUID();
  const source = options.source ?? '/test-producer';
  return {
    key: options.key === undefined ? customerId : options.key,
    value:
      `{"specversion":"1.0","id":${JSON.stringify(id)},"source":${JSON.stringify(source)},` +
      `"type":"${type}","time":"2026-12-04T10:00:00Z","datacontenttype":"application/json","data":${dataJson}}`,
  };
}

/** Builds a StorageUsageChanged event; `delta` goes into the JSON as given (a number literal or a quoted string). */
export function storageEvent(
  customerId: string,
  delta: string | number | bigint,
  options: EventOptions = {},
): Message {
  return structured(
    'StorageUsageChanged',
    customerId,
    `{"customerId":${customerId},"deltaBytes":${String(delta)}}`,
    options,
  );
}

export function userAllocated(customerId: string, userId: string, options: EventOptions = {}): Message {
  return structured(
    'UserAllocated',
    customerId,
    `{"customerId":${customerId},"userId":${JSON.stringify(userId)}}`,
    options,
  );
}

export function userDeallocated(customerId: string, userId: string, options: EventOptions = {}): Message {
  return structured(
    'UserDeallocated',
    customerId,
    `{"customerId":${customerId},"userId":${JSON.stringify(userId)}}`,
    options,
  );
}

/** Builds a StorageUsageChanged event in binary content mode, with the attributes in `ce_*` headers and `data` as the value. */
export function binaryStorageEvent(customerId: string, delta: string, options: EventOptions = {}): Message {
  return {
    key: options.key === undefined ? customerId : options.key,
    value: `{"customerId":${customerId},"deltaBytes":${delta}}`,
    headers: {
      ce_specversion: '1.0',
      ce_id: options.id ?? randomUUID(),
      ce_source: options.source ?? '/test-producer',
      ce_type: 'StorageUsageChanged',
      'content-type': 'application/json',
    },
  };
}

/** Builds an admin command (LockCustomer, UnlockCustomer or SetCustomerLimits) with `dataFields` as raw JSON members. */
export function adminCommand(
  type: 'LockCustomer' | 'UnlockCustomer' | 'SetCustomerLimits',
  customerId: string,
  dataFields: string,
  options: EventOptions = {},
): Message {
  const data = `{"customerId":${customerId}${dataFields === '' ? '' : `,${dataFields}`}}`;
  return structured(type, customerId, data, { source: '/ops-console', ...options });
}
