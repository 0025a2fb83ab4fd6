import { createCustomer, eventually, HttpResult, request, TEST_TOKEN } from '../support/http';
import { customerPath, customerRowsAddedBy, getText } from '../support/input-helpers';
import { decodeValue } from '../support/kafka';
import { ServiceFixture } from '../support/service-fixture';
import { ServiceProcess } from '../support/service-process';

const CUSTOMERS = '/api/v4/provisioning/customers';
const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;
const VALID_BODY = {
  customerContractType: 'pay',
  companyName: 'Acme',
  quotaMax: 1_073_741_824,
  userMax: 5,
};

describe('provisioning HTTP API', () => {
  const fixture = new ServiceFixture('http');
  let service: ServiceProcess;

  function post(body: unknown, headers: Record<string, string> = {}): Promise<HttpResult> {
    return request(service.baseUrl, 'POST', CUSTOMERS, { body, headers });
  }

  beforeAll(async () => {
    await fixture.setUp();
    service = await fixture.start();
  });

  afterAll(() => fixture.tearDown());

  describe('create', () => {
    let created: HttpResult;

    beforeAll(async () => {
      created = await post({
        customerContractType: 'demo',
        companyName: 'Example GmbH',
        quotaMax: 2_147_483_648,
        userMax: 25,
        providerCustomerId: 'provider-42',
        trialDays: 14,
        webhooksMax: 3,
        activationCode: 'ACT-1',
        customerAttributes: { items: [{ key: 'region', value: 'eu-central' }] },
        firstAdminUser: { firstName: 'Ada', lastName: 'Lovelace', userName: 'ada', password: 'hunter2' },
      });
    });

    it('returns 201', () => {
      expect(created.status).toBe(201);
    });

    it('returns NewCustomerResponse fields', () => {
      expect(created.body).toMatchObject({
        companyName: 'Example GmbH',
        customerContractType: 'demo',
        quotaMax: 2_147_483_648n,
        userMax: 25n,
        isLocked: false,
        lockStatus: false,
        lockReasons: [],
        lockVersion: 0n,
        trialDays: 14n,
        providerCustomerId: 'provider-42',
        webhooksMax: 3n,
        activationCode: 'ACT-1',
        customerAttributes: { items: [{ key: 'region', value: 'eu-central' }] },
        firstAdminUser: { firstName: 'Ada', lastName: 'Lovelace', userName: 'ada' },
      });
      expect(typeof created.body.id).toBe('bigint');
      expect(created.body.customerUuid).toMatch(UUID);
      expect(Number.isNaN(Date.parse(String(created.body.createdAt)))).toBe(false);
    });

    it('never echoes the admin password', () => {
      expect(created.text).not.toContain('hunter2');
    });

    it('responds with JSON', () => {
      expect(created.headers.get('content-type')).toMatch(/^application\/json/);
    });
  });

  describe('create locked', () => {
    let created: HttpResult;
    let customerId: string;
    let lockEvents: Record<string, unknown>[];

    beforeAll(async () => {
      created = await post({ ...VALID_BODY, isLocked: true });
      customerId = String(created.body.id);
      // Once the relay marked every outbox row of the customer, the lock topic contains all its events.
      await eventually(async () => {
        const rows = await fixture.database.query<{ pending: string }>(
          'SELECT count(*) FILTER (WHERE published_at IS NULL) AS pending FROM outbox WHERE customer_id = $1',
          [customerId],
        );
        return rows[0].pending === '0' ? true : undefined;
      });
      const messages = await fixture.kafka.readAll(fixture.kafka.topics.locks);
      lockEvents = messages
        .filter((message) => message.key === customerId)
        .map((message) => decodeValue(message.value));
    });

    it('returns ADMIN lock reason', () => {
      expect(created.status).toBe(201);
      expect(created.body.isLocked).toBe(true);
      expect(created.body.lockStatus).toBe(true);
      expect(created.body.lockReasons).toEqual(['ADMIN']);
      expect(created.body.lockVersion).toBe(1n);
    });

    it('publishes one CustomerLocked', () => {
      expect(lockEvents.map((event) => event.type)).toEqual(['CustomerLocked']);
    });

    it('lock event names the admin', () => {
      expect(lockEvents[0].data).toMatchObject({
        customerId: BigInt(customerId),
        isLocked: true,
        lockReasons: ['ADMIN'],
        reason: 'ADMIN',
        lockVersion: 1n,
        actor: 'admin:default',
      });
    });

    it('accepts lockStatus as the flag', async () => {
      const result = await post({ ...VALID_BODY, lockStatus: true });

      expect(result.status).toBe(201);
      expect(result.body.lockReasons).toEqual(['ADMIN']);
    });
  });

  describe('get', () => {
    let customerId: string;
    let lockedId: string;

    beforeAll(async () => {
      customerId = await createCustomer(service.baseUrl, { quotaMax: '1048576', userMax: '3' });
      lockedId = await createCustomer(service.baseUrl, { quotaMax: '-1', userMax: '-1', isLocked: true });
    });

    it('returns Customer fields', async () => {
      const result = await request(service.baseUrl, 'GET', customerPath(customerId));

      expect(result.status).toBe(200);
      expect(result.body).toMatchObject({
        id: BigInt(customerId),
        companyName: 'Test Co',
        customerContractType: 'pay',
        quotaMax: 1_048_576n,
        quotaUsed: 0n,
        userMax: 3n,
        userUsed: 0n,
        cntInternalUser: 0n,
        cntGuestUser: 0n,
        isLocked: false,
        lockStatus: false,
        lockReasons: [],
        lockVersion: 0n,
      });
      expect(result.body.customerUuid).toMatch(UUID);
    });

    it('lockStatus follows isLocked', async () => {
      const result = await request(service.baseUrl, 'GET', customerPath(lockedId));

      expect(result.body.isLocked).toBe(true);
      expect(result.body.lockStatus).toBe(true);
      expect(result.body.lockReasons).toEqual(['ADMIN']);
    });

    it('includes attributes on request', async () => {
      const created = await post({
        ...VALID_BODY,
        customerAttributes: { items: [{ key: 'k', value: 'v' }] },
      });
      const path = `${customerPath(String(created.body.id))}?include_attributes=true`;

      const result = await request(service.baseUrl, 'GET', path);

      expect(result.body.customerAttributes).toEqual({ items: [{ key: 'k', value: 'v' }] });
    });

    it('returns 404 for unknown id', async () => {
      const result = await request(service.baseUrl, 'GET', customerPath('9223372036854775807'));

      expect(result.status).toBe(404);
      expect(result.body.errorCode).toBe(-90103n);
    });

    it.each([
      ['0', -80001n],
      ['-5', -80001n],
      ['abc', -80002n],
      ['9223372036854775808', -80002n],
    ])('rejects customer id %s', async (id, errorCode) => {
      const result = await request(service.baseUrl, 'GET', customerPath(id));

      expect(result.status).toBe(400);
      expect(result.body.errorCode).toBe(errorCode);
      expect(result.body.debugInfo).toContain(`"${id}"`);
    });

    it('rejects 20-digit customer id', async () => {
      const result = await request(service.baseUrl, 'GET', customerPath('12345678901234567890'));

      expect(result.status).toBe(400);
      expect([-80001n, -80002n]).toContain(result.body.errorCode);
      // The id is positive, so the message has to name the allowed range, not ask for a positive number.
      expect(result.body.debugInfo).toContain('from 1 to 9223372036854775807');
    });
  });

  describe('create validation', () => {
    it.each([
      [
        'missing customerContractType',
        '{"companyName":"Acme","quotaMax":-1,"userMax":5}',
        -80000n,
        'customerContractType',
      ],
      [
        'quotaMax below 1 MiB',
        '{"customerContractType":"pay","companyName":"Acme","quotaMax":1000,"userMax":5}',
        -90510n,
        'quotaMax',
      ],
      [
        'unknown field',
        '{"customerContractType":"pay","companyName":"Acme","quotaMax":-1,"userMax":5,"colour":"red"}',
        -80901n,
        'colour',
      ],
      [
        'isLocked against lockStatus',
        '{"customerContractType":"pay","companyName":"Acme","quotaMax":-1,"userMax":5,"isLocked":true,"lockStatus":false}',
        -80903n,
        'lockStatus',
      ],
      [
        '__proto__ key',
        '{"customerContractType":"pay","companyName":"Acme","quotaMax":-1,"userMax":5,"__proto__":{"isLocked":true}}',
        -80900n,
        '__proto__',
      ],
      ['invalid JSON', '{"customerContractType":"pay",', -80900n, 'not valid JSON'],
      [
        'quotaMax above int64',
        '{"customerContractType":"pay","companyName":"Acme","quotaMax":9223372036854775808,"userMax":5}',
        -80001n,
        '9223372036854775808',
      ],
    ])('rejects %s', async (_case, body, errorCode, named) => {
      let result!: HttpResult;
      const added = await customerRowsAddedBy(
        (sql) => fixture.database.query(sql),
        async () => {
          result = await post(body);
        },
      );

      expect(result.status).toBe(400);
      expect(result.body.errorCode).toBe(errorCode);
      expect(result.body.debugInfo).toContain(named);
      expect(added).toBe(0);
    });
  });

  it('rejects body over 64 KiB', async () => {
    const body = JSON.stringify({ ...VALID_BODY, companyName: 'x'.repeat(70_000) });

    const result = await post(body);

    expect(result.status).toBe(413);
  });

  it('returns 404 for unknown route', async () => {
    const result = await request(service.baseUrl, 'GET', '/api/v4/provisioning/users');

    expect(result.status).toBe(404);
    expect(result.body.errorCode).toBe(-80904n);
  });

  describe('service token', () => {
    const wrongSameLength = `${TEST_TOKEN.slice(0, -1)}${TEST_TOKEN.endsWith('x') ? 'y' : 'x'}`;
    let customerId: string;

    beforeAll(async () => {
      customerId = await createCustomer(service.baseUrl, { quotaMax: '-1', userMax: '1' });
    });

    it.each([
      ['missing', null],
      ['wrong with same length', wrongSameLength],
      ['wrong with other length', 'short-wrong-token'],
      ['empty', ''],
    ])('rejects %s token', async (_case, token) => {
      const result = await request(service.baseUrl, 'GET', customerPath(customerId), { token });

      expect(result.status).toBe(401);
      expect(result.body).toEqual({
        code: 401n,
        message: 'Unauthorized',
        debugInfo: expect.any(String) as unknown,
        errorCode: -10012n,
      });
    });

    it('rejects create without token', async () => {
      let result!: HttpResult;
      const added = await customerRowsAddedBy(
        (sql) => fixture.database.query(sql),
        async () => {
          result = await request(service.baseUrl, 'POST', CUSTOMERS, { body: VALID_BODY, token: 'wrong' });
        },
      );

      expect(result.status).toBe(401);
      expect(added).toBe(0);
    });
  });

  describe('log redaction', () => {
    const secretHeaders = { Authorization: 'Bearer secret-abc', Cookie: 'session=secret-xyz' };
    const wrongToken = 'wrong-token-secret-0123456789-abcdefgh';
    let accepted: HttpResult;
    let rejected: HttpResult;
    let requestLines: Record<string, unknown>[];

    beforeAll(async () => {
      const customerId = await createCustomer(service.baseUrl, { quotaMax: '-1', userMax: '1' });
      accepted = await request(service.baseUrl, 'GET', customerPath(customerId), {
        headers: { ...secretHeaders, 'X-Request-Id': 'redaction-accepted' },
      });
      rejected = await request(service.baseUrl, 'GET', customerPath(customerId), {
        token: wrongToken,
        headers: { ...secretHeaders, 'X-Request-Id': 'redaction-rejected' },
      });
      requestLines = await Promise.all(
        ['redaction-accepted', 'redaction-rejected'].map((id) =>
          service.waitForLog(
            (line) =>
              line.msg === 'request completed' && (line.req as { id?: unknown } | undefined)?.id === id,
            10_000,
          ),
        ),
      );
    });

    it('sends one 200 and one 401', () => {
      expect(accepted.status).toBe(200);
      expect(rejected.status).toBe(401);
    });

    it('logs both requests with req and res', () => {
      expect(requestLines.map((line) => (line.res as { statusCode?: unknown }).statusCode)).toEqual([
        200, 401,
      ]);
    });

    it.each([
      ['service token', TEST_TOKEN],
      ['wrong service token', wrongToken],
      ['bearer secret', 'secret-abc'],
      ['cookie secret', 'secret-xyz'],
    ])('never logs the %s', (_case, secret) => {
      const leaking = service.rawOutput.filter((line) => line.includes(secret));

      expect(leaking).toEqual([]);
    });

    it('marks the headers as redacted', () => {
      const headers = (requestLines[0].req as { headers: Record<string, unknown> }).headers;

      expect(headers['x-sds-service-token']).toBe('[redacted]');
      expect(headers.authorization).toBe('[redacted]');
      expect(headers.cookie).toBe('[redacted]');
    });
  });

  describe('health and metrics', () => {
    it('live answers 200 without token', async () => {
      const result = await getText(service.baseUrl, '/health/live');

      expect(result.status).toBe(200);
      expect(JSON.parse(result.text)).toEqual({ status: 'up' });
    });

    it('ready reports its components', async () => {
      const result = await getText(service.baseUrl, '/health/ready');
      const body = JSON.parse(result.text) as {
        status: string;
        components: { database: { status: string }; consumer: { status: string } };
      };

      expect(result.status).toBe(200);
      expect(body.status).toBe('up');
      expect(body.components.database.status).toBe('up');
      expect(body.components.consumer.status).toBe('up');
    });

    it('ready lists assigned partitions', async () => {
      const result = await getText(service.baseUrl, '/health/ready');
      const partitions = (
        JSON.parse(result.text) as { components: { consumer: { partitions: Record<string, number[]> } } }
      ).components.consumer.partitions;

      expect([...partitions[fixture.kafka.topics.storage]].sort()).toEqual([0, 1, 2]);
      expect([...partitions[fixture.kafka.topics.users]].sort()).toEqual([0, 1, 2]);
    });

    it.each([
      'quota_events_total',
      'quota_dead_letters_total',
      'quota_usage_underflows_total',
      'quota_outbox_backlog',
    ])('metrics expose %s', async (name) => {
      const result = await getText(service.baseUrl, '/metrics');

      expect(result.status).toBe(200);
      expect(result.text).toMatch(new RegExp(`^# TYPE ${name} (counter|gauge)$`, 'm'));
    });
  });

  describe('X-Request-Id', () => {
    it('echoes the given id', async () => {
      const result = await request(service.baseUrl, 'GET', '/health/live', {
        token: null,
        headers: { 'X-Request-Id': 'client-req-0042' },
      });

      expect(result.headers.get('x-request-id')).toBe('client-req-0042');
    });

    it('generates an id when missing', async () => {
      const result = await request(service.baseUrl, 'GET', '/health/live', { token: null });

      expect(result.headers.get('x-request-id')).toMatch(UUID);
    });

    it('replaces an id with spaces', async () => {
      const result = await request(service.baseUrl, 'GET', '/health/live', {
        token: null,
        headers: { 'X-Request-Id': 'has a space' },
      });

      expect(result.headers.get('x-request-id')).toMatch(UUID);
    });

    it('echoes the id on errors', async () => {
      const result = await request(service.baseUrl, 'GET', customerPath('abc'), {
        headers: { 'X-Request-Id': 'client-req-0043' },
      });

      expect(result.status).toBe(400);
      expect(result.headers.get('x-request-id')).toBe('client-req-0043');
    });
  });
});
