/**
 * Groups of `@nestjs/swagger` decorators that several provisioning routes share. Each controller
 * method then names only what differs, such as its body, its 404 and the headers it reads.
 */
import { applyDecorators, Type } from '@nestjs/common';
import { STATUS_CODES } from 'node:http';
import {
  ApiBody,
  ApiExtraModels,
  ApiHeader,
  ApiParam,
  ApiQuery,
  ApiResponse,
  ApiSecurity,
  ApiTags,
  getSchemaPath,
  type HeadersObject,
} from '@nestjs/swagger';

import { SERVICE_ERROR_CODES } from '../http/api-error';
import { MAX_BODY_BYTES } from '../http/json-body.middleware';
import { INVALID_TOKEN_ERROR_CODE } from '../http/service-token.guard';
import {
  DEFAULT_LIMIT,
  type FilterFieldSpec,
  type ListSpec,
  MAX_LIMIT,
  MAX_OFFSET,
} from '../customers/list-query';
import { IDEMPOTENCY_KEY_REUSED, INVALID_IDEMPOTENCY_KEY } from '../customers/idempotency.service';
import { ErrorResponseModel } from './openapi-models';

export const PROVISIONING_TAG = 'provisioning';
export const OPERATIONS_TAG = 'operations';
/** The security scheme's name in the document, the same as the header it describes. */
export const SERVICE_TOKEN_SCHEME = 'X-Sds-Service-Token';

type Decorator = ClassDecorator & MethodDecorator;

/** Response headers that the document defines once, in `components.headers`. */
export const SHARED_RESPONSE_HEADERS: HeadersObject = {
  'X-Request-Id': {
    description: "The request's id: the client's X-Request-Id when it was valid, else a new UUID.",
    schema: { type: 'string' },
  },
};

const REQUEST_ID_RESPONSE_HEADER: HeadersObject = {
  'X-Request-Id': { $ref: '#/components/headers/X-Request-Id' },
};

interface ErrorExample {
  errorCode: number | null;
  debugInfo: string;
}

/** Documents an error response in the ErrorResponse shape, with an example body for this status. */
function errorResponse(
  status: number,
  description: string,
  example: ErrorExample,
  headers: HeadersObject = {},
): Decorator {
  return ApiResponse({
    status,
    description,
    headers: { ...REQUEST_ID_RESPONSE_HEADER, ...headers },
    content: {
      'application/json': {
        schema: { $ref: getSchemaPath(ErrorResponseModel) },
        example: { code: status, message: STATUS_CODES[status], ...example },
      },
    },
  });
}

/** Documents a success response and the X-Request-Id header that every response carries. */
export function ApiSuccess(status: number, description: string, type?: Type<unknown>): MethodDecorator {
  return ApiResponse({ status, description, type, headers: REQUEST_ID_RESPONSE_HEADER });
}

/**
 * Documents what every provisioning route shares: the tag, the service token, `X-Request-Id`, and
 * the errors that the HTTP edge can send before or around any controller.
 */
export function ApiProvisioningRoutes(): Decorator {
  return applyDecorators(
    ApiTags(PROVISIONING_TAG),
    ApiSecurity(SERVICE_TOKEN_SCHEME),
    ApiExtraModels(ErrorResponseModel),
    ApiHeader({
      name: 'X-Request-Id',
      required: false,
      description:
        'Your id for this request, 1 to 128 printable ASCII characters; echoed in the response and logged. ' +
        'Any other value is replaced by a new UUID.',
      schema: { type: 'string', minLength: 1, maxLength: 128, pattern: '^[\\x21-\\x7e]+$' },
    }),
    errorResponse(
      400,
      'Invalid request: a malformed customer_id (-80001 not positive, -80002 not a number), query parameter, ' +
        `repeated query parameter (${SERVICE_ERROR_CODES.repeatedQueryParameter}), X-Sds-Date-Format (-80910), ` +
        'or body field; debugInfo names the value.',
      { errorCode: -80001, debugInfo: 'customer_id must be a positive number, got "0"' },
    ),
    errorResponse(
      401,
      `X-Sds-Service-Token is missing or matches no configured token (${INVALID_TOKEN_ERROR_CODE}).`,
      { errorCode: INVALID_TOKEN_ERROR_CODE, debugInfo: 'Wrong or missing X-Sds-Service-Token' },
    ),
    errorResponse(404, `The path matches no route (${SERVICE_ERROR_CODES.unknownRoute}).`, {
      errorCode: SERVICE_ERROR_CODES.unknownRoute,
      debugInfo: 'no route for GET /api/v4/provisioning/customer',
    }),
    errorResponse(406, 'Accept does not allow application/json; errorCode is null.', {
      errorCode: null,
      debugInfo: 'Accept "text/html" does not allow application/json; send Accept: application/json',
    }),
    errorResponse(
      429,
      `The token sent more requests in 60 s than RATE_LIMIT_PER_MINUTE allows (${SERVICE_ERROR_CODES.rateLimited}).`,
      {
        errorCode: SERVICE_ERROR_CODES.rateLimited,
        debugInfo: 'token "crm" made more than 600 requests in 60 s; retry after 4 s',
      },
      {
        'Retry-After': {
          description: 'Seconds until the token may send again.',
          schema: { type: 'integer', format: 'int32', minimum: 1 },
        },
      },
    ),
    errorResponse(500, 'An unexpected error; details are logged, not sent. errorCode is null.', {
      errorCode: null,
      debugInfo: 'Internal server error',
    }),
  );
}

/** Documents the JSON body of a POST or PUT and the statuses that only a body can cause. */
export function ApiJsonBody(type: Type<unknown>, description: string): MethodDecorator {
  return applyDecorators(
    ApiBody({ type, required: true, description }),
    errorResponse(413, `The body is larger than ${MAX_BODY_BYTES} bytes; errorCode is null.`, {
      errorCode: null,
      debugInfo: `request body is larger than ${MAX_BODY_BYTES} bytes; send at most that`,
    }),
    errorResponse(
      415,
      'The body is not Content-Type application/json, or its charset is not UTF-8; errorCode is null.',
      {
        errorCode: null,
        debugInfo: 'Content-Type "text/plain" is not supported; send Content-Type: application/json',
      },
    ),
  );
}

/** Documents the 404 of a route whose customer may not exist, and whatever else `extra` names. */
export function ApiCustomerNotFound(extra = ''): MethodDecorator {
  return errorResponse(
    404,
    `No customer with this id (-90103)${extra}, or the path matches no route (${SERVICE_ERROR_CODES.unknownRoute}).`,
    { errorCode: -90103, debugInfo: 'customer 42 not found' },
  );
}

export function ApiCustomerIdParam(): Decorator {
  return ApiParam({
    name: 'customer_id',
    description: 'The customer id: 1 to 2^63-1 in plain decimal digits, without leading zeros.',
    schema: { type: 'integer', format: 'int64', minimum: 1 },
  });
}

export function ApiDateFormatHeader(): MethodDecorator {
  return ApiHeader({
    name: 'X-Sds-Date-Format',
    required: false,
    description:
      'How timestamps are written: EPOCH gives integer milliseconds since 1970; UTC, LOCAL, OFFSET and LEET ' +
      'all give RFC 3339 in UTC with milliseconds, as does no header. Any other value is a 400 (-80910).',
    schema: { type: 'string', enum: ['UTC', 'LOCAL', 'OFFSET', 'EPOCH', 'LEET'] },
  });
}

export function ApiPaging(): MethodDecorator {
  return applyDecorators(
    ApiQuery({
      name: 'offset',
      required: false,
      description: `Items to skip, 0 to ${MAX_OFFSET}; default 0. Anything else is a 400 (-80024).`,
      schema: { type: 'integer', format: 'int32', minimum: 0, maximum: MAX_OFFSET, default: 0 },
    }),
    ApiQuery({
      name: 'limit',
      required: false,
      description: `Page size, 1 to ${MAX_LIMIT}; default ${DEFAULT_LIMIT}. Anything else is a 400 (-80024).`,
      schema: { type: 'integer', format: 'int32', minimum: 1, maximum: MAX_LIMIT, default: DEFAULT_LIMIT },
    }),
  );
}

function describeValues(field: FilterFieldSpec): string {
  if ('unsupported' in field) {
    return 'not supported here';
  }
  const value = field.value;
  const operators = field.operators.join(', ');
  switch (value.type) {
    case 'enum':
      return `${operators}: ${value.values.join(' or ')}`;
    case 'boolean':
      return `${operators}: ${value.trueText} or ${value.falseText}`;
    case 'date':
      return `${operators}: yyyy-MM-dd`;
    case 'integer':
    case 'text':
      return operators;
  }
}

/** Documents `filter` and `sort` with their syntax and the fields that `spec` accepts. */
export function ApiFilterAndSort(spec: ListSpec, example: string): MethodDecorator {
  const filterFields = [...spec.filter.fields]
    .map(([name, field]) => `${name} (${describeValues(field)})`)
    .join(', ');
  const sortFields = [...spec.sort.fields.keys()].join(', ');
  return applyDecorators(
    ApiQuery({
      name: 'filter',
      required: false,
      description:
        'Clauses FIELD:OPERATOR:VALUE joined with |, all of which must hold. Operators: eq, neq, cn (contains), ' +
        'sw (starts with), ge, le, nex (no such key); dates are days in UTC. The value is everything after the ' +
        `second colon and cannot contain |. Fields: ${filterFields}. Errors are 400: -80000 syntax or unknown ` +
        'field, -80001 out of range, -80002 not an integer, -80005 not a boolean, -80023 invalid value.',
      schema: { type: 'string' },
      example,
    }),
    ApiQuery({
      name: 'sort',
      required: false,
      description:
        `FIELD:asc or FIELD:desc, several joined with | and applied in order, each field once; ties are ` +
        `broken by a unique key, so pages are stable. Fields: ${sortFields}. Errors are 400 (-80000).`,
      schema: { type: 'string' },
    }),
  );
}

export function ApiIncludeAttributes(): MethodDecorator {
  return ApiQuery({
    name: 'include_attributes',
    required: false,
    description:
      'true adds customerAttributes to each customer; default false. Other values are a 400 (-80005).',
    schema: { type: 'boolean', default: false },
  });
}

/** Tags a probe or metrics route, which needs no token and is not rate-limited. */
export function ApiOperationsRoute(): Decorator {
  return ApiTags(OPERATIONS_TAG);
}

/** Documents the optional `Idempotency-Key` of POST customers and its 409. */
export function ApiIdempotencyKey(): MethodDecorator {
  return applyDecorators(
    ApiHeader({
      name: 'Idempotency-Key',
      required: false,
      description:
        'Makes a retry safe: within 24 hours, the same key from the same service token with the same body ' +
        'returns the first 201 again without creating another customer. Key order and formatting of the ' +
        `body do not matter. 1 to 255 printable ASCII characters; anything else is a 400 (${INVALID_IDEMPOTENCY_KEY}).`,
      schema: { type: 'string', minLength: 1, maxLength: 255, pattern: '^[\\x21-\\x7e]+$' },
    }),
    errorResponse(
      409,
      `The Idempotency-Key was used with another body, or its first request is still running (${IDEMPOTENCY_KEY_REUSED}).`,
      {
        errorCode: IDEMPOTENCY_KEY_REUSED,
        debugInfo: 'Idempotency-Key was already used with another request body; use a new key',
      },
    ),
  );
}
