import type { NextFunction, Request, Response } from 'express';
import express from 'express';

import { JsonDecodeError, JsonForbiddenKeyError, parseJson } from '../common/json/lossless-json';
import { ApiError, badRequest, SERVICE_ERROR_CODES } from './api-error';

/** Largest accepted request body. */
export const MAX_BODY_BYTES = 65_536;

const readText = express.text({ type: () => true, limit: MAX_BODY_BYTES });

/** Turns the body parser's size error into a 413 ApiError. Other errors reach the filter unchanged. */
function bodyReadError(error: unknown): unknown {
  return (error as { status?: unknown }).status === 413
    ? new ApiError(413, null, `request body is larger than ${MAX_BODY_BYTES} bytes; send at most that`)
    : error;
}

/**
 * Reads a request body as text and parses it with the lossless JSON codec, so int64 values keep
 * their digits. Forbidden keys such as `__proto__` are rejected before any object is built.
 */
export function jsonBodyMiddleware(request: Request, response: Response, next: NextFunction): void {
  if (request.method === 'GET' || request.method === 'HEAD' || request.method === 'DELETE') {
    next();
    return;
  }
  readText(request, response, (error?: unknown) => {
    if (error) {
      next(bodyReadError(error));
      return;
    }
    const text = typeof request.body === 'string' ? request.body : '';
    if (text.trim() === '') {
      request.body = undefined;
      next();
      return;
    }
    try {
      request.body = parseJson(text);
      next();
    } catch (parseError) {
      if (parseError instanceof JsonForbiddenKeyError) {
        next(badRequest(SERVICE_ERROR_CODES.invalidJsonBody, parseError.message));
      } else if (parseError instanceof JsonDecodeError) {
        next(
          badRequest(
            SERVICE_ERROR_CODES.invalidJsonBody,
            `request body is not valid JSON: ${parseError.message}`,
          ),
        );
      } else {
        next(parseError);
      }
    }
  });
}
