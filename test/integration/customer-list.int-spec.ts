import { request } from '../support/http';
import { ServiceFixture } from '../support/service-fixture';
import { ServiceProcess } from '../support/service-process';

const PATH = '/api/v4/provisioning/customers';
const MiB = 1_048_576;

interface Seed {
  companyName: string;
  quotaMax: number;
  userMax: number;
  customerContractType: string;
  isLocked?: boolean;
  providerCustomerId?: string;
  attributes?: { key: string; value: string }[];
}

const SEEDS: Seed[] = [
  {
    companyName: 'Alpha Storage',
    quotaMax: 2 * MiB,
    userMax: 10,
    customerContractType: 'pay',
    providerCustomerId: 'crm-1',
  },
  { companyName: 'Beta Backup', quotaMax: -1, userMax: 5, customerContractType: 'free', isLocked: true },
  {
    companyName: 'Gamma Archive',
    quotaMax: 8 * MiB,
    userMax: -1,
    customerContractType: 'demo',
    attributes: [{ key: 'region', value: 'eu-west' }],
  },
  {
    companyName: 'alpha labs',
    quotaMax: 4 * MiB,
    userMax: 2,
    customerContractType: 'pay',
    attributes: [
      { key: 'region', value: 'us-east' },
      { key: 'tier', value: 'gold' },
    ],
  },
];

describe('customer list and attribute list', () => {
  const fixture = new ServiceFixture('list');
  let service: ServiceProcess;
  const ids = new Map<string, bigint>();

  async function list(query: string) {
    return request(service.baseUrl, 'GET', `${PATH}?${query}`);
  }

  function names(body: Record<string, unknown>): string[] {
    return (body.items as { companyName: string }[]).map((item) => item.companyName);
  }

  beforeAll(async () => {
    await fixture.setUp();
    service = await fixture.start();
    for (const seed of SEEDS) {
      const { attributes, ...fields } = seed;
      const created = await request(service.baseUrl, 'POST', PATH, {
        body: { ...fields, ...(attributes ? { customerAttributes: { items: attributes } } : {}) },
      });
      ids.set(seed.companyName, created.body.id as bigint);
    }
  });

  afterAll(() => fixture.tearDown());

  it('lists everything with its range', async () => {
    const result = await list('');

    expect(result.status).toBe(200);
    expect(result.body.range).toEqual({ offset: 0n, limit: 500n, total: 4n });
    expect(result.body.items as unknown[]).toHaveLength(4);
    const withAttributes = (result.body.items as Record<string, unknown>[]).filter(
      (item) => 'customerAttributes' in item,
    );
    expect(withAttributes).toHaveLength(0);
  });

  it('filters by contained company name', async () => {
    const result = await list('filter=companyName:cn:ALPHA&sort=companyName:asc');

    expect(names(result.body)).toEqual(['alpha labs', 'Alpha Storage']);
  });

  it('ANDs several clauses', async () => {
    const result = await list(
      `filter=${encodeURIComponent(`customerContractType:eq:pay|quotaMax:ge:${3 * MiB}`)}`,
    );

    expect(names(result.body)).toEqual(['alpha labs']);
  });

  it('compares raw limits, -1 lowest', async () => {
    const result = await list(`filter=quotaMax:le:${2 * MiB}&sort=quotaMax:asc`);

    expect(names(result.body)).toEqual(['Beta Backup', 'Alpha Storage']);
  });

  it('filters by lock state', async () => {
    const locked = await list('filter=isLocked:eq:true');
    const unlocked = await list('filter=lockStatus:eq:0');

    expect(names(locked.body)).toEqual(['Beta Backup']);
    expect(names(unlocked.body)).toHaveLength(3);
  });

  it('filters by creation date', async () => {
    const today = new Date().toISOString().slice(0, 10);

    const from = await list(`filter=createdAt:ge:${today}`);
    const until = await list(`filter=createdAt:le:${today}`);
    const before = await list('filter=createdAt:le:2020-01-01');

    expect(from.body.range).toMatchObject({ total: 4n });
    expect(until.body.range).toMatchObject({ total: 4n });
    expect(before.body.range).toMatchObject({ total: 0n });
  });

  it('filters by attribute key and value', async () => {
    const withRegion = await list('filter=attributeKey:eq:REGION&sort=companyName:asc');
    const withoutTier = await list('filter=attributeKey:nex:tier&sort=companyName:asc');
    const inEu = await list('filter=attributeValue:eq:eu-west');

    expect(names(withRegion.body)).toEqual(['alpha labs', 'Gamma Archive']);
    expect(names(withoutTier.body)).toEqual(['Alpha Storage', 'Beta Backup', 'Gamma Archive']);
    expect(names(inEu.body)).toEqual(['Gamma Archive']);
  });

  it('sorts by several fields', async () => {
    const result = await list(`sort=${encodeURIComponent('customerContractType:desc|companyName:asc')}`);

    expect(names(result.body)).toEqual(['alpha labs', 'Alpha Storage', 'Beta Backup', 'Gamma Archive']);
  });

  it('pages with offset and limit', async () => {
    const result = await list('sort=companyName:asc&offset=1&limit=2');

    expect(names(result.body)).toEqual(['Alpha Storage', 'Beta Backup']);
    expect(result.body.range).toEqual({ offset: 1n, limit: 2n, total: 4n });
  });

  it('includes attributes on request', async () => {
    const result = await list('filter=companyName:cn:labs&include_attributes=true');

    expect((result.body.items as Record<string, unknown>[])[0].customerAttributes).toEqual({
      items: [
        { key: 'region', value: 'us-east' },
        { key: 'tier', value: 'gold' },
      ],
    });
  });

  it.each([
    ['limit=501', -80024n],
    ['limit=0', -80024n],
    ['offset=-1', -80024n],
    ['filter=nosuchfield:eq:1', -80000n],
    ['filter=companyName:eq', -80000n],
    ['filter=quotaMax:ge:big', -80002n],
    ['filter=isLocked:eq:maybe', -80005n],
    ['filter=createdAt:ge:2026-02-30', -80023n],
    ['sort=companyName:sideways', -80000n],
    ['foo=1', -80000n],
  ])('rejects %s', async (query, errorCode) => {
    const result = await list(query);

    expect(result.status).toBe(400);
    expect(result.body.errorCode).toBe(errorCode);
  });

  it('accepts limit 500', async () => {
    const result = await list('limit=500');

    expect(result.status).toBe(200);
  });

  it('lists one customer attributes filtered and sorted', async () => {
    const id = String(ids.get('alpha labs'));

    const all = await request(service.baseUrl, 'GET', `${PATH}/${id}/customerAttributes?sort=key:desc`);
    const filtered = await request(
      service.baseUrl,
      'GET',
      `${PATH}/${id}/customerAttributes?filter=value:sw:US`,
    );

    expect(all.body.items).toEqual([
      { key: 'tier', value: 'gold' },
      { key: 'region', value: 'us-east' },
    ]);
    expect(all.body.range).toEqual({ offset: 0n, limit: 500n, total: 2n });
    expect(filtered.body.items).toEqual([{ key: 'region', value: 'us-east' }]);
  });

  it('returns 404 for attributes of an unknown customer', async () => {
    const result = await request(service.baseUrl, 'GET', `${PATH}/987654321/customerAttributes`);

    expect(result.status).toBe(404);
    expect(result.body.errorCode).toBe(-90103n);
  });
});
