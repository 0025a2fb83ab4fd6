import type { Request, Response } from 'express';

import { ApiError } from './api-error';
import { jsonContentTypeMiddleware, singleQueryValueMiddleware } from './request-checks';

/** Runs a middleware on a fake request and returns the status of the error it passed on, or 'next'. */
function outcome(
  middleware: (request: Request, response: Response, next: (error?: unknown) => void) => void,
  request: Partial<Request>,
): number | 'next' {
  let result: number | 'next' | undefined;
  middleware(request as Request, {} as Response, (error?: unknown) => {
    result = error instanceof ApiError ? error.getStatus() : 'next';
  });
  if (result === undefined) {
    throw new Error('the middleware neither called next nor passed an error');
  }
  return result;
}

function post(headers: Record<string, string>, method = 'POST'): Partial<Request> {
  return { method, headers: { 'content-length': '2', ...headers } };
}

describe('jsonContentTypeMiddleware', () => {
  it.each([
    'application/json',
    'Application/JSON',
    'application/json; charset=utf-8',
    'application/json;charset="UTF-8"',
    'application/json; charset=utf8',
    'application/json; version=2',
  ])('accepts %p', (type) => {
    expect(outcome(jsonContentTypeMiddleware, post({ 'content-type': type }))).toBe('next');
  });

  it.each([
    'text/plain',
    'application/jsonx',
    'application/merge-patch+json',
    'application/json; charset=iso-8859-1',
    'application/json; charset=utf-16',
    '',
  ])('rejects %p', (type) => {
    expect(outcome(jsonContentTypeMiddleware, post({ 'content-type': type }))).toBe(415);
  });

  it('rejects a body without type', () => {
    expect(outcome(jsonContentTypeMiddleware, post({}))).toBe(415);
  });

  it('rejects a chunked body without type', () => {
    const request = { method: 'PUT', headers: { 'transfer-encoding': 'chunked' } };

    expect(outcome(jsonContentTypeMiddleware, request)).toBe(415);
  });

  it.each(['PUT', 'PATCH'])('checks %s too', (method) => {
    expect(outcome(jsonContentTypeMiddleware, post({ 'content-type': 'text/plain' }, method))).toBe(415);
  });

  it('lets an empty POST pass', () => {
    expect(outcome(jsonContentTypeMiddleware, { method: 'POST', headers: { 'content-length': '0' } })).toBe(
      'next',
    );
  });

  it('lets a POST without length pass', () => {
    expect(outcome(jsonContentTypeMiddleware, { method: 'POST', headers: {} })).toBe('next');
  });

  it('ignores the type of a GET', () => {
    expect(outcome(jsonContentTypeMiddleware, post({ 'content-type': 'text/plain' }, 'GET'))).toBe('next');
  });
});

describe('singleQueryValueMiddleware', () => {
  it('lets single values pass', () => {
    expect(outcome(singleQueryValueMiddleware, { query: { a: '1', b: '' } })).toBe('next');
  });

  it('rejects a repeated parameter', () => {
    expect(outcome(singleQueryValueMiddleware, { query: { a: '1', limit: ['1', '2'] } })).toBe(400);
  });

  it('names the repeated parameter', () => {
    let debugInfo = '';
    singleQueryValueMiddleware(
      { query: { limit: ['1', '2'] } } as unknown as Request,
      {} as Response,
      (error) => {
        debugInfo = (error as ApiError).debugInfo;
      },
    );

    expect(debugInfo).toContain('"limit"');
  });
});
