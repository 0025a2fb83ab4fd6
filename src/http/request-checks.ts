import type { NextFunction, Request, Response } from 'express';

import { ApiError, badRequest, SERVICE_ERROR_CODES } from './api-error';
import { isOpenPath, requestPath } from './open-paths';

const METHODS_WITH_BODY = new Set(['POST', 'PUT', 'PATCH']);
const QUOTED = /^"(.*)"$/;

/** Shortens client text quoted in an error message, so a huge value cannot bloat the response. */
function quote(value: string): string {
  return JSON.stringify(value.length > 64 ? `${value.slice(0, 64)}...` : value);
}

/**
 * Rejects with 406 unless the `Accept` header allows `application/json`, the only type the API
 * writes. No header, an empty one, `*\/*` and `application/*` all allow it. Open paths such as
 * `/metrics` write other types and are not checked.
 */
export function acceptJsonMiddleware(request: Request, _response: Response, next: NextFunction): void {
  const accept = request.headers.accept;
  if (isOpenPath(requestPath(request)) || accept === undefined || accept.trim() === '') {
    next();
    return;
  }
  if (request.accepts('application/json') === false) {
    next(
      new ApiError(
        406,
        null,
        `Accept ${quote(accept)} does not allow application/json; send Accept: application/json`,
      ),
    );
    return;
  }
  next();
}

/** Returns true when the request announces a body, by chunked encoding or a Content-Length above zero. */
export function hasBody(request: Request): boolean {
  if (request.headers['transfer-encoding'] !== undefined) {
    return true;
  }
  const length = request.headers['content-length'];
  return length !== undefined && length.trim() !== '0';
}

/**
 * Rejects with 415 a POST, PUT or PATCH body that is not `application/json`. A charset parameter
 * must be UTF-8, because JSON allows no other encoding. Other parameters are ignored.
 */
export function jsonContentTypeMiddleware(request: Request, _response: Response, next: NextFunction): void {
  if (!METHODS_WITH_BODY.has(request.method) || !hasBody(request)) {
    next();
    return;
  }
  const header = request.headers['content-type'];
  if (header === undefined) {
    next(new ApiError(415, null, 'request body has no Content-Type; send Content-Type: application/json'));
    return;
  }
  const [type, ...parameters] = header.split(';').map((part) => part.trim());
  if (type.toLowerCase() !== 'application/json') {
    next(
      new ApiError(
        415,
        null,
        `Content-Type ${quote(header)} is not supported; send Content-Type: application/json`,
      ),
    );
    return;
  }
  for (const parameter of parameters) {
    const separator = parameter.indexOf('=');
    const name = parameter.slice(0, Math.max(separator, 0)).trim().toLowerCase();
    const value = parameter
      .slice(separator + 1)
      .trim()
      .replace(QUOTED, '$1')
      .toLowerCase();
    if (name === 'charset' && value !== 'utf-8' && value !== 'utf8') {
      next(new ApiError(415, null, `charset ${quote(value)} is not supported; send JSON as charset=utf-8`));
      return;
    }
  }
  next();
}

/**
 * Rejects with 400 a query parameter given more than once, such as `?limit=1&limit=2`, because the
 * controllers read each parameter as one string and Express turns a repeated one into an array.
 */
export function singleQueryValueMiddleware(request: Request, _response: Response, next: NextFunction): void {
  const query = request.query as Record<string, unknown>;
  for (const name of Object.keys(query)) {
    if (typeof query[name] !== 'string') {
      next(
        badRequest(
          SERVICE_ERROR_CODES.repeatedQueryParameter,
          `query parameter ${quote(name)} is given more than once; send it once`,
        ),
      );
      return;
    }
  }
  next();
}
