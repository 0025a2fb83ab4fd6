import { HttpException } from '@nestjs/common';

/** An HTTP error in DRACOON's `ErrorResponse` shape; `errorCode` is DRACOON's code or one of the service's own. */
export class ApiError extends HttpException {
  constructor(
    status: number,
    readonly apiErrorCode: number | null,
    readonly debugInfo: string,
    /** Response headers that belong to this error, such as `Retry-After` on a 429. */
    readonly headers: Readonly<Record<string, string>> = {},
  ) {
    super(debugInfo, status);
  }
}

/** Error codes of the service's own, for cases DRACOON's API does not define. */
export const SERVICE_ERROR_CODES = {
  invalidJsonBody: -80900,
  unknownField: -80901,
  readOnlyField: -80902,
  conflictingLockFields: -80903,
  unknownRoute: -80904,
  rateLimited: -80905,
  repeatedQueryParameter: -80906,
  internal: null,
} as const;

export const BAD_REQUEST = 400;

export function badRequest(errorCode: number, debugInfo: string): ApiError {
  return new ApiError(BAD_REQUEST, errorCode, debugInfo);
}
