import { ApiError } from './api-error';
import { CustomerIdPipe, parseCustomerIdParam } from './customer-id.param';

function errorCodeOf(raw: string): number | null | undefined {
  try {
    parseCustomerIdParam(raw);
    return undefined;
  } catch (error) {
    return error instanceof ApiError ? error.apiErrorCode : undefined;
  }
}

function statusOf(raw: string): number | undefined {
  try {
    parseCustomerIdParam(raw);
    return undefined;
  } catch (error) {
    return error instanceof ApiError ? error.getStatus() : undefined;
  }
}

describe('parseCustomerIdParam', () => {
  it.each([
    ['1', 1n],
    ['42', 42n],
    ['9223372036854775807', 9_223_372_036_854_775_807n],
  ])('reads %s', (raw, id) => {
    expect(parseCustomerIdParam(raw)).toBe(id);
  });

  it.each(['0', '00', '007', '-1', '-9223372036854775808'])('%s is not positive', (raw) => {
    expect(errorCodeOf(raw)).toBe(-80001);
  });

  it.each(['abc', '', '1.5', '1e3', ' 1', '+1', '9223372036854775808', '12345678901234567890', '١٢'])(
    '%p is no customer id',
    (raw) => {
      expect(errorCodeOf(raw)).toBe(-80002);
    },
  );

  it('answers with status 400', () => {
    expect(() => parseCustomerIdParam('x')).toThrow(ApiError);
    expect(statusOf('x')).toBe(400);
  });

  it('quotes at most 32 characters', () => {
    let debugInfo = '';
    try {
      parseCustomerIdParam('9'.repeat(40));
    } catch (error) {
      debugInfo = (error as ApiError).debugInfo;
    }

    expect(debugInfo).toContain(`"${'9'.repeat(32)}"`);
    expect(debugInfo).not.toContain('9'.repeat(33));
  });

  it('pipe returns a bigint', () => {
    expect(new CustomerIdPipe().transform('77')).toBe(77n);
  });
});
