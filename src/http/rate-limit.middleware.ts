import { Inject, Injectable, NestMiddleware } from '@nestjs/common';
import type { NextFunction, Response } from 'express';
import { performance } from 'node:perf_hooks';
import type { Logger } from 'pino';

import { ROOT_LOGGER } from '../common/logging/logger.tokens';
import { APP_CONFIG } from '../config/app-config';
import type { AppConfig } from '../config/app-config';
import { ApiError, SERVICE_ERROR_CODES } from './api-error';
import { SlidingWindowRateLimiter } from './rate-limiter';
import type { AuthenticatedRequest } from './service-token.guard';

export const RATE_LIMIT_WINDOW_MS = 60_000;

/**
 * Limits each token to `RATE_LIMIT_PER_MINUTE` requests in any 60-second span, counted in this
 * process only. It runs after the token check, so requests without a valid token never use up a
 * token's budget. Open paths carry no token name and are not limited.
 */
@Injectable()
export class RateLimitMiddleware implements NestMiddleware {
  private readonly limiter: SlidingWindowRateLimiter;

  constructor(
    @Inject(APP_CONFIG) config: AppConfig,
    @Inject(ROOT_LOGGER) private readonly logger: Logger,
  ) {
    // A monotonic clock, so a wall-clock step neither frees nor blocks a token.
    this.limiter = new SlidingWindowRateLimiter(config.http.rateLimitPerMinute, RATE_LIMIT_WINDOW_MS, () =>
      performance.now(),
    );
  }

  use(request: AuthenticatedRequest, _response: Response, next: NextFunction): void {
    const tokenName = request.tokenName;
    if (tokenName === undefined) {
      next();
      return;
    }
    const decision = this.limiter.take(tokenName);
    if (decision.allowed) {
      next();
      return;
    }
    const retryAfterSeconds = Math.max(1, Math.ceil(decision.retryAfterMs / 1000));
    this.logger.warn(
      { tokenName, limit: this.limiter.limit, retryAfterSeconds, requestId: request.requestId },
      'rejected request over the rate limit',
    );
    throw new ApiError(
      429,
      SERVICE_ERROR_CODES.rateLimited,
      `token "${tokenName}" reached its limit of ${this.limiter.limit} requests per 60 s; retry after ${retryAfterSeconds} s`,
      { 'Retry-After': String(retryAfterSeconds) },
    );
  }
}
