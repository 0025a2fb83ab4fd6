import { matches } from 'class-validator';

import { badRequest, SERVICE_ERROR_CODES } from '../http/api-error';
import { describeValue, textField } from './request-fields';

export const ATTRIBUTE_KEY_MAX = 255;
export const ATTRIBUTE_VALUE_MAX = 4096;
export const MAX_ATTRIBUTES = 100;
export const ATTRIBUTE_KEY_PATTERN = /^[a-zA-Z0-9_-]+$/;

export interface AttributeItem {
  key: string;
  value: string;
}

/**
 * Validates a `CustomerAttributes` object {items: [{key, value}]}. Keys are letters, digits, `_` and
 * `-`, and unique regardless of case; `path` names the object in error messages.
 */
export function parseAttributeItems(container: unknown, path: string): AttributeItem[] {
  if (container === undefined || container === null) {
    return [];
  }
  if (typeof container !== 'object' || Array.isArray(container)) {
    throw badRequest(-80002, `${path} must be an object {"items": [{"key": ..., "value": ...}]}`);
  }
  const { items, ...rest } = container as Record<string, unknown>;
  const extra = Object.keys(rest)[0];
  if (extra !== undefined) {
    throw badRequest(SERVICE_ERROR_CODES.unknownField, `${path}.${extra} is not a known field`);
  }
  if (!Array.isArray(items)) {
    throw badRequest(-80000, `${path}.items must be an array`);
  }
  if (items.length > MAX_ATTRIBUTES) {
    throw badRequest(-80007, `${path}.items has more than ${MAX_ATTRIBUTES} entries`);
  }
  const seen = new Set<string>();
  return items.map((item: unknown, index) => {
    if (typeof item !== 'object' || item === null || Array.isArray(item)) {
      throw badRequest(-80002, `${path}.items[${index}] must be an object with key and value`);
    }
    const entry = item as Record<string, unknown>;
    const unknown = Object.keys(entry).find((name) => name !== 'key' && name !== 'value');
    if (unknown !== undefined) {
      throw badRequest(
        SERVICE_ERROR_CODES.unknownField,
        `${path}.items[${index}].${unknown} is not a known field`,
      );
    }
    const key = textField(entry, 'key', ATTRIBUTE_KEY_MAX);
    const value = textField(entry, 'value', ATTRIBUTE_VALUE_MAX);
    if (!key || value === undefined) {
      throw badRequest(-80000, `${path}.items[${index}] needs a non-empty key and a value`);
    }
    if (!matches(key, ATTRIBUTE_KEY_PATTERN)) {
      throw badRequest(
        -80023,
        `attribute key ${describeValue(key)} may contain only letters, digits, '_' and '-'`,
      );
    }
    if (seen.has(key.toLowerCase())) {
      throw badRequest(
        -80015,
        `attribute key ${describeValue(key)} appears more than once (keys ignore case)`,
      );
    }
    seen.add(key.toLowerCase());
    return { key, value };
  });
}

/** Validates the body of PUT and POST `customerAttributes`, which must be a `CustomerAttributes` object. */
export function parseCustomerAttributesRequest(body: unknown): AttributeItem[] {
  // parseAttributeItems reads null as "no attributes", which would let a POST of `null` delete them all.
  if (body === undefined || body === null) {
    throw badRequest(-80000, 'the request body must be a CustomerAttributes object {"items": [...]}');
  }
  return parseAttributeItems(body, 'body');
}
