import { CanActivate, ExecutionContext, Inject, Injectable } from '@nestjs/common';
import type { Request } from 'express';
import type { Logger } from 'pino';

import { ROOT_LOGGER } from '../common/logging/logger.tokens';
import { APP_CONFIG } from '../config/app-config';
import type { AppConfig } from '../config/app-config';
import { ApiError } from './api-error';
import { SERVICE_TOKEN_HEADER, ServiceTokenVerifier } from './service-token';

export { SERVICE_TOKEN_HEADER } from './service-token';

/** The request after authentication: which named token it carried. */
export interface AuthenticatedRequest extends Request {
  tokenName?: string;
  requestId?: string;
}

export const INVALID_TOKEN_ERROR_CODE = -10012;

export function invalidTokenError(): ApiError {
  return new ApiError(401, INVALID_TOKEN_ERROR_CODE, 'Wrong or missing X-Sds-Service-Token');
}

/** Logs a rejected request with its route and id, but never the value of the token header. */
export function logRejectedToken(logger: Logger, request: AuthenticatedRequest): void {
  logger.warn(
    {
      method: request.method,
      path: request.path,
      tokenPresent: typeof request.headers[SERVICE_TOKEN_HEADER] === 'string',
      requestId: request.requestId,
    },
    'rejected request with a missing or wrong service token',
  );
}

/**
 * Requires `X-Sds-Service-Token` to match one of the configured tokens. ServiceTokenMiddleware
 * checks every request before routing. The guard repeats the check for a request that reached a
 * controller without it, so a controller stays closed even if the middleware is not mounted.
 */
@Injectable()
export class ServiceTokenGuard implements CanActivate {
  private readonly verifier: ServiceTokenVerifier;

  constructor(
    @Inject(APP_CONFIG) config: AppConfig,
    @Inject(ROOT_LOGGER) private readonly logger: Logger,
  ) {
    this.verifier = new ServiceTokenVerifier(config.serviceTokens);
  }

  canActivate(context: ExecutionContext): boolean {
    const request = context.switchToHttp().getRequest<AuthenticatedRequest>();
    if (request.tokenName !== undefined) {
      return true;
    }
    const matched = this.verifier.nameOf(request.headers[SERVICE_TOKEN_HEADER]);
    if (!matched) {
      logRejectedToken(this.logger, request);
      throw invalidTokenError();
    }
    request.tokenName = matched;
    return true;
  }
}
