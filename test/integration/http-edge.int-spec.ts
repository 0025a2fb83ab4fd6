import { createCustomer, TEST_TOKEN } from '../support/http';
import { rawRequest, RawResult } from '../support/http-edge-client';
import { customerPath, customerRowsAddedBy } from '../support/input-helpers';
import { ServiceFixture } from '../support/service-fixture';
import { ServiceProcess } from '../support/service-process';

const CUSTOMERS = '/api/v4/provisioning/customers';
const UNKNOWN_ROUTE = '/api/v4/provisioning/no-such-route';
const BROKEN_PATH = `${CUSTOMERS}/%E0%A4%A`;
const SECRETS = {
  a: 'edge-secret-a-0123456789abcdefghijkl',
  b: 'edge-secret-b-0123456789abcdefghijkl',
} as const;
const TOKENS_ENV = `a:${SECRETS.a},b:${SECRETS.b}`;
const JSON_TYPE = { 'Content-Type': 'application/json' };
const VALID_JSON = '{"customerContractType":"pay","companyName":"Edge Co","quotaMax":-1,"userMax":5}';
// Valid JSON that only a missing size limit would let through to validation.
const JSON_70_KIB = `{"customerContractType":"pay","companyName":"${'x'.repeat(70 * 1024)}","quotaMax":-1,"userMax":5}`;
const BAD_JSON_70_KIB = `{${'x'.repeat(70 * 1024)}`;
const ERROR_KEYS = ['code', 'debugInfo', 'errorCode', 'message'];

/** A configured token by name, `null` for no header, or any other text sent as it is. */
type TokenChoice = string | null;

interface Call {
  method?: string;
  path?: string;
  token?: TokenChoice;
  headers?: Record<string, string>;
  body?: string;
}

function tokenHeader(token: TokenChoice): Record<string, string> {
  if (token === null) {
    return {};
  }
  const secret = token === 'a' || token === 'b' ? SECRETS[token] : token;
  return { 'X-Sds-Service-Token': secret };
}

/** Sends one request with token `a` unless the call names another or `null` for none. */
function send(service: ServiceProcess, call: Call): Promise<RawResult> {
  return rawRequest(service.baseUrl, call.method ?? 'GET', call.path ?? CUSTOMERS, {
    headers: { ...tokenHeader(call.token === undefined ? 'a' : call.token), ...call.headers },
    body: call.body,
  });
}

describe('HTTP edge', () => {
  const fixture = new ServiceFixture('http-edge');
  let service: ServiceProcess;
  /** A second instance that admits five requests per token and minute. */
  let limited: ServiceProcess;
  let customerId: string;

  function rowsAddedBy(action: () => Promise<unknown>): Promise<number> {
    return customerRowsAddedBy((sql) => fixture.database.query(sql), action);
  }

  beforeAll(async () => {
    await fixture.setUp();
    [service, limited] = await Promise.all([
      fixture.start({ SERVICE_TOKENS: TOKENS_ENV }),
      fixture.start({ SERVICE_TOKENS: TOKENS_ENV, RATE_LIMIT_PER_MINUTE: '5' }),
    ]);
    customerId = await createCustomer(service.baseUrl, { quotaMax: '-1', userMax: '5' });
  });

  afterAll(() => fixture.tearDown());

  describe('check order', () => {
    it.each<[string, Call, number, bigint | null]>([
      [
        'no token, bad Accept',
        { token: null, path: customerPath('1'), headers: { Accept: 'text/html' } },
        401,
        -10012n,
      ],
      [
        'bad Accept and body type',
        {
          method: 'POST',
          headers: { Accept: 'text/html', 'Content-Type': 'text/plain' },
          body: VALID_JSON,
        },
        406,
        null,
      ],
      [
        'text/plain JSON body',
        { method: 'POST', headers: { 'Content-Type': 'text/plain' }, body: VALID_JSON },
        415,
        null,
      ],
      [
        'text/plain body over 64 KiB',
        { method: 'POST', headers: { 'Content-Type': 'text/plain' }, body: JSON_70_KIB },
        415,
        null,
      ],
      ['JSON body of 70 KiB', { method: 'POST', headers: JSON_TYPE, body: JSON_70_KIB }, 413, null],
      ['bad JSON over 64 KiB', { method: 'POST', headers: JSON_TYPE, body: BAD_JSON_70_KIB }, 413, null],
      ['bad JSON body', { method: 'POST', headers: JSON_TYPE, body: '{"a":' }, 400, -80900n],
      [
        'bad JSON, unknown route',
        { method: 'POST', path: UNKNOWN_ROUTE, headers: JSON_TYPE, body: '{"a":' },
        400,
        -80900n,
      ],
      ['repeated query, unknown route', { path: `${UNKNOWN_ROUTE}?x=1&x=2` }, 400, -80906n],
      ['unknown route with token', { path: UNKNOWN_ROUTE }, 404, -80904n],
      ['unknown route without token', { path: UNKNOWN_ROUTE, token: null }, 401, -10012n],
      ['broken path without token', { path: BROKEN_PATH, token: null }, 401, -10012n],
      ['broken path with token', { path: BROKEN_PATH }, 400, null],
    ])('%s', async (_case, call, status, errorCode) => {
      const result = await send(service, call);

      expect(result.status).toBe(status);
      expect(result.body?.errorCode).toBe(errorCode);
    });
  });

  describe('Accept', () => {
    it('absent Accept is fine', async () => {
      const result = await send(service, { path: customerPath(customerId) });

      expect(result.status).toBe(200);
    });

    it.each(['*/*', 'application/*', 'application/json', 'text/html, application/json;q=0.5'])(
      'accepts Accept %p',
      async (accept) => {
        const result = await send(service, { path: customerPath(customerId), headers: { Accept: accept } });

        expect(result.status).toBe(200);
      },
    );

    it.each(['text/html', 'application/xml', 'application/json;q=0'])('rejects Accept %p', async (accept) => {
      const result = await send(service, { path: customerPath(customerId), headers: { Accept: accept } });

      expect(result.status).toBe(406);
    });

    it('metrics ignore the Accept check', async () => {
      const result = await send(service, {
        path: '/metrics',
        token: null,
        headers: { Accept: 'text/plain' },
      });

      expect(result.status).toBe(200);
    });
  });

  describe('Content-Type', () => {
    it('accepts charset=utf-8', async () => {
      const result = await send(service, {
        method: 'POST',
        headers: { 'Content-Type': 'application/json; charset=utf-8' },
        body: VALID_JSON,
      });

      expect(result.status).toBe(201);
    });

    it('rejects a latin1 charset', async () => {
      const result = await send(service, {
        method: 'POST',
        headers: { 'Content-Type': 'application/json; charset=iso-8859-1' },
        body: VALID_JSON,
      });

      expect(result.status).toBe(415);
    });

    it('rejects body without Content-Type', async () => {
      const result = await send(service, { method: 'POST', body: VALID_JSON });

      expect(result.status).toBe(415);
    });

    it('rejected body creates no customer', async () => {
      const added = await rowsAddedBy(() =>
        send(service, { method: 'POST', headers: { 'Content-Type': 'text/plain' }, body: VALID_JSON }),
      );

      expect(added).toBe(0);
    });

    it('empty PUT needs no type', async () => {
      // With no body and no Content-Type, the controller rejects the request for its missing body.
      const result = await send(service, { method: 'PUT', path: customerPath(customerId) });

      expect(result.status).toBe(400);
      expect(result.body?.errorCode).toBe(-80000n);
    });

    it('unknown Content-Encoding gets 415', async () => {
      const result = await send(service, {
        method: 'POST',
        headers: { ...JSON_TYPE, 'Content-Encoding': 'x-unknown' },
        body: VALID_JSON,
      });

      expect(result.status).toBe(415);
      expect(result.body?.debugInfo).toContain('"x-unknown"');
    });
  });

  describe('rate limit', () => {
    let firstFive: RawResult[];
    let sixth: RawResult;

    beforeAll(async () => {
      firstFive = [];
      for (let index = 0; index < 5; index++) {
        firstFive.push(await send(limited, { path: customerPath(customerId) }));
      }
      sixth = await send(limited, {
        path: customerPath(customerId),
        headers: { 'X-Request-Id': 'edge-limited-6' },
      });
    });

    it('admits five requests per token', () => {
      expect(firstFive.map((result) => result.status)).toEqual([200, 200, 200, 200, 200]);
    });

    it('sixth request gets 429', () => {
      expect(sixth.status).toBe(429);
    });

    it('429 has the error shape', () => {
      expect(sixth.body).toEqual({
        code: 429n,
        message: 'Too Many Requests',
        debugInfo: expect.stringContaining('retry after') as unknown,
        errorCode: -80905n,
      });
    });

    it('Retry-After gives whole seconds', () => {
      const retryAfter = String(sixth.headers['retry-after']);

      expect(retryAfter).toMatch(/^[1-9][0-9]?$/);
      expect(Number(retryAfter)).toBeLessThanOrEqual(60);
    });

    it('429 echoes the request id', () => {
      expect(sixth.headers['x-request-id']).toBe('edge-limited-6');
    });

    it('429 comes before 406', async () => {
      const result = await send(limited, {
        path: customerPath(customerId),
        headers: { Accept: 'text/html' },
      });

      expect(result.status).toBe(429);
    });

    it('other token is not limited', async () => {
      const result = await send(limited, { path: customerPath(customerId), token: 'b' });

      expect(result.status).toBe(200);
    });

    it('wrong tokens get 401, not 429', async () => {
      const statuses: number[] = [];
      for (let index = 0; index < 7; index++) {
        statuses.push(
          (await send(limited, { path: customerPath(customerId), token: 'x'.repeat(40) })).status,
        );
      }

      expect(statuses).toEqual([401, 401, 401, 401, 401, 401, 401]);
    });

    it('open paths are not limited', async () => {
      const statuses: number[] = [];
      for (let index = 0; index < 7; index++) {
        statuses.push((await send(limited, { path: '/health/live' })).status);
      }

      expect(statuses).toEqual([200, 200, 200, 200, 200, 200, 200]);
    });

    it('logs the limited token name', async () => {
      const line = await limited.waitForLog(
        (entry) =>
          entry.msg === 'rejected request over the rate limit' && entry.requestId === 'edge-limited-6',
        10_000,
      );

      expect(line.tokenName).toBe('a');
    });

    it('never logs a token value', () => {
      const leaking = limited.rawOutput.filter(
        (line) => line.includes(SECRETS.a) || line.includes(SECRETS.b),
      );

      expect(leaking).toEqual([]);
    });
  });

  describe('request log', () => {
    it('names the token of a request', async () => {
      await send(service, {
        path: customerPath(customerId),
        token: 'b',
        headers: { 'X-Request-Id': 'edge-log-b' },
      });

      const line = await service.waitForLog(
        (entry) => entry.msg === 'request completed' && (entry.req as { id?: unknown }).id === 'edge-log-b',
        10_000,
      );

      expect(line.tokenName).toBe('b');
    });
  });

  describe('repeated query parameter', () => {
    let result: RawResult;

    beforeAll(async () => {
      result = await send(service, {
        path: `${customerPath(customerId)}?include_attributes=true&include_attributes=false`,
      });
    });

    it('gets 400 with its own code', () => {
      expect(result.status).toBe(400);
      expect(result.body?.errorCode).toBe(-80906n);
    });

    it('names the parameter', () => {
      expect(result.body?.debugInfo).toContain('"include_attributes"');
    });

    it('single parameter still passes', async () => {
      const single = await send(service, { path: `${customerPath(customerId)}?include_attributes=true` });

      expect(single.status).toBe(200);
    });

    it('applies to open routes too', async () => {
      const open = await send(service, { path: '/health/live?probe=1&probe=2', token: null });

      expect(open.status).toBe(400);
    });
  });

  describe('error shape', () => {
    it.each<[string, Call, number]>([
      ['401 missing token', { token: null }, 401],
      ['404 unknown route', { path: UNKNOWN_ROUTE }, 404],
      ['406 bad Accept', { headers: { Accept: 'text/html' } }, 406],
      ['415 text body', { method: 'POST', headers: { 'Content-Type': 'text/plain' }, body: '{}' }, 415],
      ['413 large body', { method: 'POST', headers: JSON_TYPE, body: JSON_70_KIB }, 413],
      ['400 bad JSON', { method: 'POST', headers: JSON_TYPE, body: '[' }, 400],
      ['400 repeated parameter', { path: `${CUSTOMERS}?a=1&a=2` }, 400],
      ['400 broken path', { path: BROKEN_PATH }, 400],
      ['400 bad customer id', { path: customerPath('0') }, 400],
      ['404 unknown customer', { path: customerPath('9223372036854775807') }, 404],
    ])('%s has the error shape', async (name, call, status) => {
      const requestId = `edge-${name.replace(/ /g, '-')}`;

      const result = await send(service, {
        ...call,
        headers: { ...call.headers, 'X-Request-Id': requestId },
      });

      expect(result.status).toBe(status);
      expect(Object.keys(result.body ?? {}).sort()).toEqual(ERROR_KEYS);
      expect(result.body?.code).toBe(BigInt(status));
      expect(result.headers['content-type']).toMatch(/^application\/json/);
      expect(result.headers['x-request-id']).toBe(requestId);
    });
  });

  describe('server error', () => {
    const MARKER = 'edge-secret-database-detail';
    let result: RawResult;

    beforeAll(async () => {
      // A trigger in this file's own database makes exactly one kind of insert fail.
      await fixture.database.query(
        `CREATE FUNCTION edge_fail() RETURNS trigger LANGUAGE plpgsql AS
         $$ BEGIN RAISE EXCEPTION '${MARKER}'; END $$`,
      );
      await fixture.database.query(
        `CREATE TRIGGER edge_fail BEFORE INSERT ON customer FOR EACH ROW
         WHEN (NEW.company_name = 'Edge Failure') EXECUTE FUNCTION edge_fail()`,
      );
      result = await send(service, {
        method: 'POST',
        headers: { ...JSON_TYPE, 'X-Request-Id': 'edge-500' },
        body: VALID_JSON.replace('Edge Co', 'Edge Failure'),
      });
    });

    it('database failure gives generic 500', () => {
      expect(result.status).toBe(500);
      expect(result.body).toEqual({
        code: 500n,
        message: 'Internal Server Error',
        debugInfo: 'Internal server error',
        errorCode: null,
      });
    });

    it.each([MARKER, 'INSERT', 'company_name', '    at '])('500 body leaves out %p', (fragment) => {
      expect(result.text).not.toContain(fragment);
    });

    it('500 echoes the request id', () => {
      expect(result.headers['x-request-id']).toBe('edge-500');
    });

    it('500 cause goes to the log', async () => {
      const line = await service.waitForLog(
        (entry) => entry.msg === 'unhandled request error' && entry.requestId === 'edge-500',
        10_000,
      );

      expect(JSON.stringify(line.err)).toContain(MARKER);
    });
  });

  describe('forbidden keys', () => {
    it.each(['constructor', 'prototype'])('rejects nested %s key', async (key) => {
      const body = VALID_JSON.replace(
        '}',
        `,"customerAttributes":{"items":[{"key":"k","value":"v","${key}":{}}]}}`,
      );
      let result!: RawResult;

      const added = await rowsAddedBy(async () => {
        result = await send(service, { method: 'POST', headers: JSON_TYPE, body });
      });

      expect(result.status).toBe(400);
      expect(result.body?.errorCode).toBe(-80900n);
      expect(added).toBe(0);
    });
  });

  describe('open paths', () => {
    it.each(['/health/live', '/health/ready', '/metrics'])('%s needs no token', async (path) => {
      const result = await send(service, { path, token: null });

      expect(result.status).toBe(200);
    });

    it('docs path needs no token', async () => {
      const page = await send(service, { path: '/api/docs', token: null });
      // A missing file under the docs prefix is still open, so it is a 404 rather than a 401.
      const missing = await send(service, { path: '/api/docs/no-such-file', token: null });

      expect(page.status).toBe(200);
      expect(missing.status).toBe(404);
    });

    it('root path needs a token', async () => {
      const result = await send(service, { path: '/', token: null });

      expect(result.status).toBe(401);
    });

    it('default token still works', async () => {
      const result = await send(service, { path: customerPath(customerId), token: TEST_TOKEN });

      expect(result.status).toBe(200);
    });
  });
});
