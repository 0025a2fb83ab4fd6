import { CanActivate, ExecutionContext, Inject, Injectable } from '@nestjs/common';
import type { Request } from 'express';
import { createHash, timingSafeEqual } from 'node:crypto';
import type { Logger } from 'pino';

import { ROOT_LOGGER } from '../common/logging/logger.tokens';
import { APP_CONFIG } from '../config/app-config';
import type { AppConfig } from '../config/app-config';
import { ApiError } from './api-error';

export const SERVICE_TOKEN_HEADER = 'x-sds-service-token';

/** The request after authentication: which named token it carried. */
export interface AuthenticatedRequest extends Request {
  tokenName?: string;
  requestId?: string;
}

function digest(value: string): Buffer {
  return createHash('sha256').update(value).digest();
}

/**
 * Requires `X-Sds-Service-Token` to match one of the configured tokens. Every token is compared,
 * in constant time over equal-length digests, so timing reveals neither which token nor how much matched.
 */
@Injectable()
export class ServiceTokenGuard implements CanActivate {
  private readonly tokens: { name: string; digest: Buffer }[];

  constructor(
    @Inject(APP_CONFIG) config: AppConfig,
    @Inject(ROOT_LOGGER) private readonly logger: Logger,
  ) {
    this.tokens = config.serviceTokens.map((token) => ({ name: token.name, digest: digest(token.secret) }));
  }

  canActivate(context: ExecutionContext): boolean {
    const request = context.switchToHttp().getRequest<AuthenticatedRequest>();
    const header = request.headers[SERVICE_TOKEN_HEADER];
    const given = digest(typeof header === 'string' ? header : '');
    let matched: string | undefined;
    for (const token of this.tokens) {
      if (timingSafeEqual(given, token.digest) && typeof header === 'string' && header !== '') {
        matched = token.name;
      }
    }
    if (!matched) {
      this.logger.warn(
        {
          method: request.method,
          path: request.path,
          tokenPresent: typeof header === 'string',
          requestId: request.requestId,
        },
        'rejected request with a missing or wrong service token',
      );
      throw new ApiError(401, -10012, 'Wrong or missing X-Sds-Service-Token');
    }
    request.tokenName = matched;
    return true;
  }
}
