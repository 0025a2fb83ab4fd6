import type { NextFunction, Request, Response } from 'express';
import type { Logger } from 'pino';

import { ApiError } from './api-error';
import { isOpenPath, requestPath } from './open-paths';
import { assignRequestId } from './request-id';
import { SERVICE_TOKEN_HEADER, ServiceTokenVerifier } from './service-token';
import { invalidTokenError } from './service-token.guard';

function decodes(path: string): boolean {
  try {
    decodeURIComponent(path);
    return true;
  } catch {
    return false;
  }
}

/**
 * Rejects a path with broken percent-encoding such as `/%E0%A4%A` before it reaches the router. Express
 * cannot match such a path against any route, so the token check and the request log would never run.
 * The response is 401 without a valid token and 400 with one, each with a request id and a log line.
 */
export function malformedPathMiddleware(
  verifier: ServiceTokenVerifier,
  logger: Logger,
): (request: Request, response: Response, next: NextFunction) => void {
  return (request, response, next) => {
    const path = requestPath(request);
    if (decodes(path)) {
      next();
      return;
    }
    const requestId = assignRequestId(request, response);
    const authorized =
      isOpenPath(path) || verifier.nameOf(request.headers[SERVICE_TOKEN_HEADER]) !== undefined;
    const error = authorized
      ? new ApiError(400, null, 'request path has broken percent-encoding; write a literal "%" as %25')
      : invalidTokenError();
    logger.warn(
      { method: request.method, requestId, status: error.getStatus() },
      'rejected request with a malformed path',
    );
    next(error);
  };
}
