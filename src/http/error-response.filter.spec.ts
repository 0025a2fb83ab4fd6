import {
  ArgumentsHost,
  BadRequestException,
  NotFoundException,
  ServiceUnavailableException,
} from '@nestjs/common';
import type { Logger } from 'pino';

import { ApiError } from './api-error';
import { ErrorResponseFilter } from './error-response.filter';

interface Sent {
  status?: number;
  headers: Record<string, string>;
  type?: string;
  body?: string;
}

/** Runs the filter on `exception` for a GET request and returns what it sent and logged. */
function render(exception: unknown, options: { headersSent?: boolean } = {}) {
  const sent: Sent = { headers: {} };
  const response = {
    headersSent: options.headersSent ?? false,
    status(code: number) {
      sent.status = code;
      return response;
    },
    set(headers: Record<string, string>) {
      Object.assign(sent.headers, headers);
      return response;
    },
    type(type: string) {
      sent.type = type;
      return response;
    },
    send(body: string) {
      sent.body = body;
      return response;
    },
  };
  const request = { method: 'GET', path: '/api/v4/provisioning/x', requestId: 'req-1' };
  const host = {
    switchToHttp: () => ({ getResponse: () => response, getRequest: () => request }),
  } as unknown as ArgumentsHost;
  const errors: unknown[][] = [];
  const logger = { error: (...args: unknown[]) => errors.push(args) } as unknown as Logger;
  new ErrorResponseFilter(logger).catch(exception, host);
  return { sent, body: sent.body === undefined ? undefined : (JSON.parse(sent.body) as unknown), errors };
}

/** Builds an error the way the `http-errors` package does for Express and its body parser. */
function httpError(status: number, message: string): Error {
  return Object.assign(new Error(message), { status, statusCode: status, expose: status < 500 });
}

function failingQuery(): Error {
  const error = new Error('relation "customer" does not exist: SELECT secret_column FROM customer');
  error.stack = `${error.message}\n    at CustomerRepository.findById (/app/dist/src/customers/customer.repository.js:31:22)`;
  return error;
}

describe('ErrorResponseFilter', () => {
  it('renders an ApiError as given', () => {
    const { sent, body } = render(new ApiError(409, -90111, 'contract type change not allowed'));

    expect(sent.status).toBe(409);
    expect(body).toEqual({
      code: 409,
      message: 'Conflict',
      debugInfo: 'contract type change not allowed',
      errorCode: -90111,
    });
  });

  it('sends the headers of an ApiError', () => {
    const { sent } = render(new ApiError(429, -80905, 'slow down', { 'Retry-After': '17' }));

    expect(sent.headers).toEqual({ 'Retry-After': '17' });
  });

  it('responds as JSON', () => {
    const { sent } = render(new ApiError(400, -80000, 'missing'));

    expect(sent.type).toBe('application/json');
  });

  it('unknown error becomes generic 500', () => {
    const { sent, body } = render(failingQuery());

    expect(sent.status).toBe(500);
    expect(body).toEqual({
      code: 500,
      message: 'Internal Server Error',
      debugInfo: 'Internal server error',
      errorCode: null,
    });
  });

  it.each(['secret_column', 'SELECT', 'customer.repository', '    at '])(
    '500 body leaves out %p',
    (fragment) => {
      const { sent } = render(failingQuery());

      expect(sent.body).not.toContain(fragment);
    },
  );

  it('logs the unknown error', () => {
    const error = failingQuery();

    const { errors } = render(error);

    expect(errors).toEqual([
      [
        { err: error, method: 'GET', path: '/api/v4/provisioning/x', requestId: 'req-1' },
        'unhandled request error',
      ],
    ]);
  });

  it('does not log client errors', () => {
    const { errors } = render(new ApiError(400, -80000, 'missing'));

    expect(errors).toEqual([]);
  });

  it('thrown string becomes 500', () => {
    const { sent } = render('boom');

    expect(sent.status).toBe(500);
  });

  it('Nest 404 names the route', () => {
    const { body } = render(new NotFoundException('Cannot GET /api/v4/provisioning/x'));

    expect(body).toEqual({
      code: 404,
      message: 'Not Found',
      debugInfo: 'no route for GET /api/v4/provisioning/x',
      errorCode: -80904,
    });
  });

  it('Nest 400 keeps its message', () => {
    const { body } = render(new BadRequestException('bad thing'));

    expect(body).toEqual({ code: 400, message: 'Bad Request', debugInfo: 'bad thing', errorCode: null });
  });

  it('Nest 503 hides its message', () => {
    const { body } = render(new ServiceUnavailableException('pool of db-7 exhausted'));

    expect(body).toEqual({
      code: 503,
      message: 'Service Unavailable',
      debugInfo: 'Internal server error',
      errorCode: null,
    });
  });

  it('exposed http-errors keep status and text', () => {
    const { body } = render(httpError(415, 'unsupported content encoding "foo"'));

    expect(body).toEqual({
      code: 415,
      message: 'Unsupported Media Type',
      debugInfo: 'unsupported content encoding "foo"',
      errorCode: null,
    });
  });

  it('unexposed 4xx errors hide their text', () => {
    const error = Object.assign(new URIError('Failed to decode param at /srv/x'), { status: 400 });

    const { body } = render(error);

    expect(body).toEqual({
      code: 400,
      message: 'Bad Request',
      debugInfo: 'request rejected: Bad Request',
      errorCode: null,
    });
  });

  it('5xx http-errors stay generic', () => {
    const { body } = render(httpError(502, 'upstream db-7 down'));

    expect(body).toEqual({
      code: 500,
      message: 'Internal Server Error',
      debugInfo: 'Internal server error',
      errorCode: null,
    });
  });

  it('sends nothing once headers are out', () => {
    const { sent } = render(failingQuery(), { headersSent: true });

    expect(sent.body).toBeUndefined();
  });
});
