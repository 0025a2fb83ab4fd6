import { request } from '../support/http';
import { ServiceFixture } from '../support/service-fixture';
import { ServiceProcess } from '../support/service-process';

const PATH = '/api/v4/provisioning/customers';
const OTHER_TOKEN = 'other-token-0123456789abcdefghijklmnop';
const BODY = '{"customerContractType":"pay","companyName":"Once Ltd","quotaMax":1048576,"userMax":3}';
const SAME_BODY_REORDERED =
  '{ "userMax": "3", "quotaMax": 1048576, "companyName": "Once Ltd", "customerContractType": "pay" }';

describe('idempotent customer creation', () => {
  const fixture = new ServiceFixture('idempotency');
  let service: ServiceProcess;

  async function post(key: string | undefined, body: string, token?: string) {
    return request(service.baseUrl, 'POST', PATH, {
      body,
      token,
      headers: key === undefined ? {} : { 'Idempotency-Key': key },
    });
  }

  async function customersNamed(name: string): Promise<number> {
    const rows = await fixture.database.query('SELECT 1 FROM customer WHERE company_name = $1', [name]);
    return rows.length;
  }

  beforeAll(async () => {
    await fixture.setUp();
    service = await fixture.start({ SERVICE_TOKENS: `other:${OTHER_TOKEN}` });
  });

  afterAll(() => fixture.tearDown());

  it('replays the first 201 for the same body', async () => {
    const first = await post('key-1', BODY);
    const second = await post('key-1', SAME_BODY_REORDERED);

    expect(first.status).toBe(201);
    expect(second.status).toBe(201);
    expect(second.text).toBe(first.text);
    expect(await customersNamed('Once Ltd')).toBe(1);
  });

  it('rejects the same key with another body', async () => {
    await post('key-2', BODY.replace('Once Ltd', 'Twice Ltd'));

    const result = await post('key-2', BODY.replace('Once Ltd', 'Other Ltd'));

    expect(result.status).toBe(409);
    expect(result.body.errorCode).toBe(-80920n);
    expect(await customersNamed('Other Ltd')).toBe(0);
  });

  it('keeps keys apart per token', async () => {
    const mine = await post('key-3', BODY.replace('Once Ltd', 'Token Ltd'));
    const theirs = await post('key-3', BODY.replace('Once Ltd', 'Token Ltd'), OTHER_TOKEN);

    expect(theirs.status).toBe(201);
    expect(theirs.body.id).not.toBe(mine.body.id);
  });

  it('creates once under concurrent requests', async () => {
    const body = BODY.replace('Once Ltd', 'Race Ltd');

    const results = await Promise.all(Array.from({ length: 5 }, () => post('key-4', body)));

    expect(results.map((result) => result.status)).toEqual([201, 201, 201, 201, 201]);
    expect(new Set(results.map((result) => String(result.body.id))).size).toBe(1);
    expect(await customersNamed('Race Ltd')).toBe(1);
  });

  it('treats an expired key as new', async () => {
    const body = BODY.replace('Once Ltd', 'Late Ltd');
    const first = await post('key-5', body);
    await fixture.database.query(
      `UPDATE idempotency_key SET created_at = clock_timestamp() - interval '25 hours' WHERE key = 'key-5'`,
    );

    const second = await post('key-5', body);

    expect(second.status).toBe(201);
    expect(second.body.id).not.toBe(first.body.id);
  });

  it('rejects an invalid key', async () => {
    const result = await post('has space', BODY);

    expect(result.status).toBe(400);
    expect(result.body.errorCode).toBe(-80921n);
  });

  it('creates twice without a key', async () => {
    const body = BODY.replace('Once Ltd', 'Keyless Ltd');

    await post(undefined, body);
    await post(undefined, body);

    expect(await customersNamed('Keyless Ltd')).toBe(2);
  });
});
