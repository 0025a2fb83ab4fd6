import { Inject, Injectable, NestMiddleware } from '@nestjs/common';
import type { NextFunction, Response } from 'express';
import type { Logger } from 'pino';

import { ROOT_LOGGER } from '../common/logging/logger.tokens';
import { APP_CONFIG } from '../config/app-config';
import type { AppConfig } from '../config/app-config';
import { isOpenPath, requestPath } from './open-paths';
import { SERVICE_TOKEN_HEADER, ServiceTokenVerifier } from './service-token';
import { AuthenticatedRequest, invalidTokenError, logRejectedToken } from './service-token.guard';

/**
 * Checks `X-Sds-Service-Token` before routing, so an unknown path without a token gets 401 and
 * reveals nothing about which routes exist. Sets `tokenName` for the later checks and controllers.
 */
@Injectable()
export class ServiceTokenMiddleware implements NestMiddleware {
  private readonly verifier: ServiceTokenVerifier;

  constructor(
    @Inject(APP_CONFIG) config: AppConfig,
    @Inject(ROOT_LOGGER) private readonly logger: Logger,
  ) {
    this.verifier = new ServiceTokenVerifier(config.serviceTokens);
  }

  use(request: AuthenticatedRequest, _response: Response, next: NextFunction): void {
    if (isOpenPath(requestPath(request))) {
      next();
      return;
    }
    const name = this.verifier.nameOf(request.headers[SERVICE_TOKEN_HEADER]);
    if (name === undefined) {
      logRejectedToken(this.logger, request);
      throw invalidTokenError();
    }
    request.tokenName = name;
    next();
  }
}
