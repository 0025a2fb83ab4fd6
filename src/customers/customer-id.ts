import { badRequest } from '../http/api-error';

const CUSTOMER_ID = /^[1-9][0-9]{0,18}$/;
const INT64_MAX = 2n ** 63n - 1n;

/** Parses the `customer_id` path parameter: a positive int64 in canonical decimal form. */
export function parseCustomerId(raw: string): bigint {
  // Zero, negative numbers and leading zeros are not positive ids; longer digit strings are out of range.
  if (/^(-[0-9]+|0[0-9]*)$/.test(raw)) {
    throw badRequest(-80001, `customer_id must be a positive number, got "${raw.slice(0, 32)}"`);
  }
  if (!CUSTOMER_ID.test(raw) || BigInt(raw) > INT64_MAX) {
    throw badRequest(
      -80002,
      `customer_id must be a number from 1 to ${INT64_MAX}, got "${raw.slice(0, 32)}"`,
    );
  }
  return BigInt(raw);
}
