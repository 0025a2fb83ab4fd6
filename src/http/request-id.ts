import { randomUUID } from 'node:crypto';
import type { IncomingMessage, ServerResponse } from 'node:http';

const CLIENT_REQUEST_ID = /^[\x21-\x7e]{1,128}$/;

/**
 * Returns the client's `X-Request-Id` (printable, up to 128 characters) or a new UUID, and echoes
 * it in the response. A second call for the same request returns the id of the first.
 */
export function assignRequestId(request: IncomingMessage, response: ServerResponse): string {
  const withId = request as IncomingMessage & { requestId?: string };
  if (withId.requestId !== undefined) {
    return withId.requestId;
  }
  const header = request.headers['x-request-id'];
  const id = typeof header === 'string' && CLIENT_REQUEST_ID.test(header) ? header : randomUUID();
  response.setHeader('X-Request-Id', id);
  withId.requestId = id;
  return id;
}
