import { ArgumentsHost, Catch, ExceptionFilter, HttpException, Inject } from '@nestjs/common';
import type { Request, Response } from 'express';
import { STATUS_CODES } from 'node:http';
import type { Logger } from 'pino';

import { ROOT_LOGGER } from '../common/logging/logger.tokens';
import { ApiError, SERVICE_ERROR_CODES } from './api-error';

export interface ErrorBody {
  code: number;
  message: string;
  debugInfo: string;
  errorCode: number | null;
}

interface RenderedError {
  status: number;
  errorCode: number | null;
  debugInfo: string;
  headers: Readonly<Record<string, string>>;
}

/** Returns the 4xx status that Express, its router or body parser put on an error, or undefined. */
function clientErrorStatus(exception: unknown): number | undefined {
  if (typeof exception !== 'object' || exception === null) {
    return undefined;
  }
  const { status, statusCode } = exception as { status?: unknown; statusCode?: unknown };
  const value = typeof status === 'number' ? status : statusCode;
  return typeof value === 'number' && Number.isInteger(value) && value >= 400 && value <= 499
    ? value
    : undefined;
}

/** Maps any thrown value to status, code and text. Only ApiError and 4xx errors keep their own text. */
export function renderError(exception: unknown, request: Pick<Request, 'method' | 'path'>): RenderedError {
  if (exception instanceof ApiError) {
    return {
      status: exception.getStatus(),
      errorCode: exception.apiErrorCode,
      debugInfo: exception.debugInfo,
      headers: exception.headers,
    };
  }
  if (exception instanceof HttpException) {
    const status = exception.getStatus();
    if (status === 404) {
      return {
        status,
        errorCode: SERVICE_ERROR_CODES.unknownRoute,
        debugInfo: `no route for ${request.method} ${request.path.slice(0, 200)}`,
        headers: {},
      };
    }
    // A deliberate 5xx such as 503 keeps its status, but not its text, which may hold details.
    return status < 500
      ? { status, errorCode: null, debugInfo: exception.message, headers: {} }
      : { status, errorCode: null, debugInfo: 'Internal server error', headers: {} };
  }
  const status = clientErrorStatus(exception);
  if (status !== undefined) {
    // http-errors sets `expose` on messages that are safe to show, so any other message is replaced.
    const exposed = (exception as { expose?: unknown }).expose === true;
    return {
      status,
      errorCode: null,
      debugInfo: exposed
        ? (exception as Error).message
        : `request rejected: ${STATUS_CODES[status] ?? 'error'}`,
      headers: {},
    };
  }
  return {
    status: 500,
    errorCode: SERVICE_ERROR_CODES.internal,
    debugInfo: 'Internal server error',
    headers: {},
  };
}

/**
 * Turns every error into DRACOON's `ErrorResponse` {code, message, debugInfo, errorCode}, whether
 * a controller, a middleware, the body parser or the router raised it. Server errors become a
 * generic 500 with a null errorCode; their details go to the log, never to the client.
 */
@Catch()
export class ErrorResponseFilter implements ExceptionFilter {
  constructor(@Inject(ROOT_LOGGER) private readonly logger: Logger) {}

  catch(exception: unknown, host: ArgumentsHost): void {
    const http = host.switchToHttp();
    const response = http.getResponse<Response>();
    const request = http.getRequest<Request & { requestId?: string }>();
    const rendered = renderError(exception, request);
    if (rendered.status >= 500) {
      this.logger.error(
        { err: exception, method: request.method, path: request.path, requestId: request.requestId },
        'unhandled request error',
      );
    }
    if (response.headersSent) {
      return;
    }
    const body: ErrorBody = {
      code: rendered.status,
      message: STATUS_CODES[rendered.status] ?? 'Error',
      debugInfo: rendered.debugInfo,
      errorCode: rendered.errorCode,
    };
    response
      .status(rendered.status)
      .set(rendered.headers)
      .type('application/json')
      .send(JSON.stringify(body));
  }
}
