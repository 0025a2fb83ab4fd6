import { ArgumentsHost, Catch, ExceptionFilter, HttpException, Inject } from '@nestjs/common';
import type { Request, Response } from 'express';
import { STATUS_CODES } from 'node:http';
import type { Logger } from 'pino';

import { ROOT_LOGGER } from '../common/logging/logger.tokens';
import { ApiError, SERVICE_ERROR_CODES } from './api-error';

/**
 * Turns every error into DRACOON's `ErrorResponse` {code, message, debugInfo, errorCode}. Unknown
 * errors become a generic 500 with a null errorCode; their details go to the log, never to the client.
 */
@Catch()
export class ErrorResponseFilter implements ExceptionFilter {
  constructor(@Inject(ROOT_LOGGER) private readonly logger: Logger) {}

  catch(exception: unknown, host: ArgumentsHost): void {
    const http = host.switchToHttp();
    const response = http.getResponse<Response>();
    const request = http.getRequest<Request>();
    let status = 500;
    let errorCode: number | null = SERVICE_ERROR_CODES.internal;
    let debugInfo = 'Internal server error';

    if (exception instanceof ApiError) {
      status = exception.getStatus();
      errorCode = exception.apiErrorCode;
      debugInfo = exception.debugInfo;
    } else if (exception instanceof HttpException) {
      status = exception.getStatus();
      errorCode = status === 404 ? SERVICE_ERROR_CODES.unknownRoute : null;
      debugInfo = status === 404 ? `no route for ${request.method} ${request.path}` : exception.message;
    } else {
      this.logger.error(
        { err: exception, method: request.method, path: request.path },
        'unhandled request error',
      );
    }
    if (response.headersSent) {
      return;
    }
    response
      .status(status)
      .type('application/json')
      .send(JSON.stringify({ code: status, message: STATUS_CODES[status] ?? 'Error', debugInfo, errorCode }));
  }
}
