import { createCustomer, request } from '../support/http';
import { ServiceFixture } from '../support/service-fixture';
import { ServiceProcess } from '../support/service-process';

const PATH = '/api/v4/provisioning/customers';

describe('customer attributes', () => {
  const fixture = new ServiceFixture('attributes');
  let service: ServiceProcess;

  function attributesPath(customerId: string): string {
    return `${PATH}/${customerId}/customerAttributes`;
  }

  function itemsOf(body: Record<string, unknown>): unknown {
    return (body.customerAttributes as { items: unknown }).items;
  }

  beforeAll(async () => {
    await fixture.setUp();
    service = await fixture.start();
  });

  afterAll(() => fixture.tearDown());

  it('merges keys with PUT', async () => {
    const customerId = await createCustomer(service.baseUrl, { quotaMax: '-1', userMax: '5' });

    await request(service.baseUrl, 'PUT', attributesPath(customerId), {
      body: {
        items: [
          { key: 'region', value: 'eu' },
          { key: 'tier', value: 'gold' },
        ],
      },
    });
    const result = await request(service.baseUrl, 'PUT', attributesPath(customerId), {
      body: { items: [{ key: 'Region', value: 'us' }] },
    });

    expect(result.status).toBe(200);
    expect(result.body.id).toBe(BigInt(customerId));
    expect(itemsOf(result.body)).toEqual([
      { key: 'Region', value: 'us' },
      { key: 'tier', value: 'gold' },
    ]);
  });

  it('replaces the set with POST', async () => {
    const customerId = await createCustomer(service.baseUrl, { quotaMax: '-1', userMax: '5' });
    await request(service.baseUrl, 'PUT', attributesPath(customerId), {
      body: { items: [{ key: 'old', value: '1' }] },
    });

    const result = await request(service.baseUrl, 'POST', attributesPath(customerId), {
      body: { items: [{ key: 'new', value: '2' }] },
    });

    expect(result.status).toBe(201);
    expect(itemsOf(result.body)).toEqual([{ key: 'new', value: '2' }]);
  });

  it('deletes one key ignoring case', async () => {
    const customerId = await createCustomer(service.baseUrl, { quotaMax: '-1', userMax: '5' });
    await request(service.baseUrl, 'PUT', attributesPath(customerId), {
      body: {
        items: [
          { key: 'Keep', value: '1' },
          { key: 'Drop', value: '2' },
        ],
      },
    });

    const deleted = await request(service.baseUrl, 'DELETE', `${attributesPath(customerId)}/drop`);
    const missing = await request(service.baseUrl, 'DELETE', `${attributesPath(customerId)}/drop`);
    const read = await request(service.baseUrl, 'GET', `${PATH}/${customerId}?include_attributes=true`);

    expect(deleted.status).toBe(204);
    expect(missing.status).toBe(404);
    expect(missing.body.errorCode).toBe(-70550n);
    expect(itemsOf(read.body)).toEqual([{ key: 'Keep', value: '1' }]);
  });

  it.each([
    ['invalid characters', [{ key: 'bad key', value: 'x' }], -80023n],
    [
      'duplicate keys',
      [
        { key: 'a', value: '1' },
        { key: 'A', value: '2' },
      ],
      -80015n,
    ],
    ['missing value', [{ key: 'a' }], -80000n],
    ['too long value', [{ key: 'a', value: 'x'.repeat(4097) }], -80007n],
    ['unpaired surrogate', [{ key: 'a', value: 'bad \ud800 text' }], -80023n],
  ])('rejects %s', async (_case, items, errorCode) => {
    const customerId = await createCustomer(service.baseUrl, { quotaMax: '-1', userMax: '5' });

    const result = await request(service.baseUrl, 'PUT', attributesPath(customerId), { body: { items } });

    expect(result.status).toBe(400);
    expect(result.body.errorCode).toBe(errorCode);
  });

  it('rejects an invalid key in the path', async () => {
    const customerId = await createCustomer(service.baseUrl, { quotaMax: '-1', userMax: '5' });

    const result = await request(service.baseUrl, 'DELETE', `${attributesPath(customerId)}/bad.key`);

    expect(result.status).toBe(400);
    expect(result.body.errorCode).toBe(-80023n);
  });

  it('returns 404 for an unknown customer', async () => {
    const result = await request(service.baseUrl, 'PUT', attributesPath('987654321'), {
      body: { items: [{ key: 'a', value: '1' }] },
    });

    expect(result.status).toBe(404);
    expect(result.body.errorCode).toBe(-90103n);
  });
});
