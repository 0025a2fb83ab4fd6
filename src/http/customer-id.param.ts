import { Injectable, PipeTransform } from '@nestjs/common';

import { badRequest } from './api-error';

const CUSTOMER_ID = /^[1-9][0-9]{0,18}$/;
const NOT_POSITIVE = /^(-[0-9]+|0[0-9]*)$/;
const INT64_MAX = 2n ** 63n - 1n;

/**
 * Reads the `customer_id` path parameter: 1 to 2^63-1 in plain decimal digits. Zero, negative
 * numbers and leading zeros get -80001; anything else that is not such a number gets -80002.
 */
export function parseCustomerIdParam(raw: string): bigint {
  if (NOT_POSITIVE.test(raw)) {
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

/** `@Param('customer_id', CustomerIdPipe) id: bigint` in a controller. */
@Injectable()
export class CustomerIdPipe implements PipeTransform<string, bigint> {
  transform(value: string): bigint {
    return parseCustomerIdParam(value);
  }
}
