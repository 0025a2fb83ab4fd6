import type { IncomingMessage, ServerResponse } from 'node:http';

import { assignRequestId } from './request-id';

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;

function exchange(header?: string) {
  const request = { headers: header === undefined ? {} : { 'x-request-id': header } } as IncomingMessage;
  const sent: Record<string, unknown> = {};
  const response = {
    setHeader: (name: string, value: unknown) => {
      sent[name] = value;
    },
  } as unknown as ServerResponse;
  return { request, response, sent };
}

describe('assignRequestId', () => {
  it('keeps the client id', () => {
    const { request, response } = exchange('client-7');

    expect(assignRequestId(request, response)).toBe('client-7');
  });

  it('echoes the id', () => {
    const { request, response, sent } = exchange('client-7');

    assignRequestId(request, response);

    expect(sent['X-Request-Id']).toBe('client-7');
  });

  it.each(['has space', 'x'.repeat(129), ''])('replaces client id %p', (header) => {
    const { request, response } = exchange(header);

    expect(assignRequestId(request, response)).toMatch(UUID);
  });

  it('second call returns the first id', () => {
    const { request, response } = exchange();
    const first = assignRequestId(request, response);

    expect(assignRequestId(request, response)).toBe(first);
  });
});
