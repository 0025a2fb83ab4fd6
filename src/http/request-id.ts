import { randomUUID } from 'node:crypto';
import type { IncomingMessage, ServerResponse } from 'node:http';

const CLIENT_REQUEST_ID = /^[\x21-\x7e]{1,128}$/;

/** The client's `X-Request-Id` (printable, up to 128 characters) or a new UUID; echoed in the response. */
export function assignRequestId(request: IncomingMessage, response: ServerResponse): string {
  const header = request.headers['x-request-id'];
  const id = typeof header === 'string' && CLIENT_REQUEST_ID.test(header) ? header : randomUUID();
  response.setHeader('X-Request-Id', id);
  (request as IncomingMessage & { requestId?: string }).requestId = id;
  return id;
}
