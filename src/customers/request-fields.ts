import { badRequest } from '../http/api-error';

/** Field readers shared by the customer request bodies; each throws an ApiError naming the field. */

export const COMPANY_NAME_MAX = 150;
export const PROVIDER_CUSTOMER_ID_MAX = 150;
export const MIN_QUOTA_BYTES = 1_048_576n;

type Body = Record<string, unknown>;

/** Reads an integer field: a JSON integer (bigint from the lossless codec) or a canonical decimal string. */
export function integerField(body: Body, field: string): bigint | undefined {
  const value = body[field];
  if (value === undefined || value === null) {
    return undefined;
  }
  if (typeof value === 'bigint') {
    return value;
  }
  if (typeof value === 'string' && /^(0|-?[1-9][0-9]{0,19})$/.test(value)) {
    return BigInt(value);
  }
  throw badRequest(-80002, `${field} must be an integer, got ${describeValue(value)}`);
}

export function describeValue(value: unknown): string {
  if (typeof value === 'string') {
    return JSON.stringify(value.length > 64 ? `${value.slice(0, 64)}...` : value);
  }
  if (typeof value === 'bigint') {
    return value.toString();
  }
  if (Array.isArray(value)) {
    return 'an array';
  }
  if (value === null) {
    return 'null';
  }
  return typeof value === 'object' ? 'an object' : (JSON.stringify(value) ?? typeof value);
}

function codePointLength(text: string): number {
  let length = 0;
  for (const _codePoint of text) {
    length++;
  }
  return length;
}

export function textField(body: Body, field: string, max: number): string | undefined {
  const value = body[field];
  if (value === undefined || value === null) {
    return undefined;
  }
  if (typeof value !== 'string') {
    throw badRequest(-80002, `${field} must be a string, got ${describeValue(value)}`);
  }
  // Count code points, as PostgreSQL's varchar(n) does. class-validator's maxLength leaves out
  // U+FE0E and U+FE0F, which the column counts.
  if (codePointLength(value) > max) {
    throw badRequest(-80007, `${field} is longer than ${max} characters`);
  }
  if (/[\u0000-\u001f\u007f]/.test(value)) {
    throw badRequest(-80023, `${field} contains control characters`);
  }
  // A lone surrogate cannot be stored as UTF-8; PostgreSQL would keep U+FFFD instead.
  if (!value.isWellFormed()) {
    throw badRequest(-80023, `${field} contains an unpaired UTF-16 surrogate`);
  }
  return value;
}

export function booleanField(body: Body, field: string): boolean | undefined {
  const value = body[field];
  if (value === undefined || value === null) {
    return undefined;
  }
  if (typeof value !== 'boolean') {
    throw badRequest(-80005, `${field} must be true or false, got ${describeValue(value)}`);
  }
  return value;
}

export function checkRange(field: string, value: bigint, min: bigint, max: bigint): bigint {
  if (value < min || value > max) {
    throw badRequest(-80001, `${field} must be from ${min} to ${max}, got ${value}`);
  }
  return value;
}
