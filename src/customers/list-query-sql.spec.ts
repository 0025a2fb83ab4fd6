import fc from 'fast-check';

import { ApiError } from '../http/api-error';
import { defineFilterSpec, defineSortSpec, parseFilter, parseSort } from './list-query';
import { buildListSql, buildOrderBy, buildPaging, buildWhere } from './list-query-sql';
import {
  buildCustomerAttributeListQuery,
  buildCustomerListQuery,
  CUSTOMER_ATTRIBUTE_LIST,
  CUSTOMER_LIST,
} from './list-query-specs';

const FILTER = CUSTOMER_LIST.filter;
const SORT = CUSTOMER_LIST.sort;
const ATTRIBUTE_SUBQUERY = 'SELECT 1 FROM customer_attribute a WHERE a.customer_id = customer.id';
const LOCKED = '(cardinality(customer.lock_reasons) > 0)';

function where(raw: string, firstIndex = 1): { sql: string; values: string[]; nextIndex: number } {
  return buildWhere(parseFilter(raw, FILTER), FILTER, firstIndex);
}

function orderBy(raw: string): string {
  return buildOrderBy(parseSort(raw, SORT), SORT);
}

describe('buildWhere customer fields', () => {
  it.each([
    ['id:eq:42', '(customer.id = $1::bigint)', '42'],
    ['companyName:cn:Acme', "(customer.company_name ILIKE $1 ESCAPE '\\')", '%Acme%'],
    ['customerContractType:eq:pay', '(customer.customer_contract_type = $1)', 'pay'],
    ['trialDaysLeft:ge:7', '(customer.trial_days_left >= $1::bigint)', '7'],
    ['trialDaysLeft:le:-3', '(customer.trial_days_left <= $1::bigint)', '-3'],
    ['providerCustomerId:cn:P-', "(customer.provider_customer_id ILIKE $1 ESCAPE '\\')", '%P-%'],
    ['providerCustomerId:eq:P-1', '(customer.provider_customer_id = $1)', 'P-1'],
    ['quotaMax:ge:1048576', '(customer.quota_max >= $1::bigint)', '1048576'],
    ['quotaMax:le:-1', '(customer.quota_max <= $1::bigint)', '-1'],
    ['quotaUsed:ge:9223372036854775807', '(customer.quota_used >= $1::bigint)', '9223372036854775807'],
    ['quotaUsed:le:9007199254740993', '(customer.quota_used <= $1::bigint)', '9007199254740993'],
    ['userMax:ge:-1', '(customer.user_max >= $1::bigint)', '-1'],
    ['userMax:le:2147483647', '(customer.user_max <= $1::bigint)', '2147483647'],
    ['userUsed:ge:3', '(customer.user_used >= $1::bigint)', '3'],
    ['userUsed:le:0', '(customer.user_used <= $1::bigint)', '0'],
    ['isLocked:eq:true', `(${LOCKED} = $1::boolean)`, 'true'],
    ['isLocked:eq:false', `(${LOCKED} = $1::boolean)`, 'false'],
    ['lockStatus:eq:1', `(${LOCKED} = $1::boolean)`, 'true'],
    ['lockStatus:eq:0', `(${LOCKED} = $1::boolean)`, 'false'],
    ['createdAt:ge:2024-02-29', '(customer.created_at >= $1::timestamptz)', '2024-02-29T00:00:00Z'],
    ['createdAt:le:2024-02-29', '(customer.created_at < $1::timestamptz)', '2024-03-01T00:00:00Z'],
    ['updatedAt:ge:0001-01-01', '(customer.updated_at >= $1::timestamptz)', '0001-01-01T00:00:00Z'],
    ['updatedAt:le:2023-02-28', '(customer.updated_at < $1::timestamptz)', '2023-03-01T00:00:00Z'],
    ['lastLoginAt:ge:2026-12-31', '(customer.last_login_at >= $1::timestamptz)', '2026-12-31T00:00:00Z'],
    ['lastLoginAt:le:9999-12-31', '(customer.last_login_at < $1::timestamptz)', '10000-01-01T00:00:00Z'],
    ['attributeKey:eq:Cost', `EXISTS (${ATTRIBUTE_SUBQUERY} AND a.key_lower = lower($1))`, 'Cost'],
    ['attributeKey:nex:Cost', `NOT EXISTS (${ATTRIBUTE_SUBQUERY} AND a.key_lower = lower($1))`, 'Cost'],
    ['attributeValue:eq:Red', `EXISTS (${ATTRIBUTE_SUBQUERY} AND a.value = $1)`, 'Red'],
    ['activationCode:cn:ab', "(customer.activation_code ILIKE $1 ESCAPE '\\')", '%ab%'],
    ['activationCode:eq:AB-12', '(customer.activation_code = $1)', 'AB-12'],
  ])('%s builds its condition', (raw, sql, value) => {
    const built = where(raw);
    expect(built.sql).toBe(sql);
    expect(built.values).toEqual([value]);
  });

  it('no clauses give TRUE', () => {
    expect(where('')).toEqual({ sql: 'TRUE', values: [], nextIndex: 1 });
  });

  it('clauses are joined with AND', () => {
    const built = where('quotaUsed:ge:10|quotaUsed:le:20|isLocked:eq:false');
    expect(built.sql).toBe(
      '(customer.quota_used >= $1::bigint) AND (customer.quota_used <= $2::bigint) AND ' +
        `(${LOCKED} = $3::boolean)`,
    );
    expect(built.values).toEqual(['10', '20', 'false']);
  });

  it('placeholders start at given index', () => {
    const built = where('companyName:cn:a|attributeValue:eq:b', 4);
    expect(built.sql).toBe(
      `(customer.company_name ILIKE $4 ESCAPE '\\') AND EXISTS (${ATTRIBUTE_SUBQUERY} AND a.value = $5)`,
    );
    expect(built.nextIndex).toBe(6);
  });

  it.each([0, -1, 1.5])('first index %d rejected', (index) => {
    expect(() => where('id:eq:1', index)).toThrow(
      'the first parameter index must be an integer of at least 1',
    );
  });

  it('value with colons stays whole', () => {
    expect(where('providerCustomerId:eq:urn:tenant:7').values).toEqual(['urn:tenant:7']);
  });
});

describe('buildWhere text matching', () => {
  it.each([
    ['100%', '%100\\%%'],
    ['a_b', '%a\\_b%'],
    ['back\\slash', '%back\\\\slash%'],
    ['%_\\', '%\\%\\_\\\\%'],
  ])('like pattern %j escaped', (text, pattern) => {
    expect(where(`companyName:cn:${text}`).values).toEqual([pattern]);
  });

  it('equality value is not escaped', () => {
    expect(where('providerCustomerId:eq:100%_x').values).toEqual(['100%_x']);
  });

  const INJECTIONS = [
    "'; DROP TABLE customer; --",
    "x') OR (1=1",
    '$2',
    '" OR ""="',
    "\\'; SELECT pg_sleep(10); --",
    'customer.id) OR TRUE OR (a',
  ];

  it.each(INJECTIONS)('injection %j stays out of SQL', (attack) => {
    for (const prefix of [
      'companyName:cn:',
      'activationCode:cn:',
      'providerCustomerId:eq:',
      'attributeValue:eq:',
    ]) {
      const built = where(`${prefix}${attack}`);
      expect(built.sql).not.toContain(attack);
      expect(built.sql).toBe(where(`${prefix}x`).sql);
    }
  });

  it.each(INJECTIONS)('injection %j sent as parameter', (attack) => {
    expect(where(`providerCustomerId:eq:${attack}`).values).toEqual([attack]);
    expect(where(`attributeValue:eq:${attack}`).values).toEqual([attack]);
  });

  it('injection in key rejected', () => {
    expect(() => where("attributeKey:eq:a') OR TRUE --")).toThrow(ApiError);
  });

  it('text values never change SQL', () => {
    const textValue = fc
      .string({ minLength: 1, maxLength: 30 })
      .filter((text) => !/[|\u0000-\u001f\u007f]/.test(text));
    fc.assert(
      fc.property(
        fc.constantFrom('companyName:cn', 'providerCustomerId:eq', 'activationCode:cn', 'attributeValue:eq'),
        textValue,
        textValue,
        (prefix, first, second) => {
          const one = where(`${prefix}:${first}`);
          const other = where(`${prefix}:${second}`);
          expect(one.sql).toBe(other.sql);
        },
      ),
      { numRuns: 500 },
    );
  });

  it('valid random filters build SQL', () => {
    const fieldOperator = [...FILTER.fields].flatMap(([name, field]) =>
      'unsupported' in field ? [] : field.operators.map((operator) => `${name}:${operator}`),
    );
    const value = fc.oneof(
      fc.string({ minLength: 1, maxLength: 12 }),
      fc.bigInt({ min: -(2n ** 64n), max: 2n ** 64n }).map(String),
      fc.date({ noInvalidDate: true }).map((date) => date.toISOString().slice(0, 10)),
      fc.constantFrom('true', 'false', '0', '1', 'demo', 'free', 'pay', 'key_1'),
    );
    const clause = fc
      .tuple(fc.constantFrom(...fieldOperator), value)
      .map(([prefix, text]) => `${prefix}:${text}`);
    fc.assert(
      fc.property(
        fc.array(clause, { minLength: 1, maxLength: 5 }),
        fc.integer({ min: 1, max: 50 }),
        (clauses, index) => {
          let parsed;
          try {
            parsed = parseFilter(clauses.join('|'), FILTER);
          } catch (error) {
            expect(error).toBeInstanceOf(ApiError);
            return;
          }
          const built = buildWhere(parsed, FILTER, index);
          const placeholders = built.sql.match(/\$[0-9]+/g) ?? [];
          expect(placeholders).toEqual(parsed.map((_, position) => `$${index + position}`));
          expect(built.values).toHaveLength(parsed.length);
          expect(built.nextIndex).toBe(index + parsed.length);
        },
      ),
      { numRuns: 1000 },
    );
  });
});

describe('buildWhere generic spec', () => {
  const spec = defineFilterSpec({
    name: { operators: ['eq', 'neq', 'sw'], value: { type: 'text' }, column: 't.name' },
    label: { operators: ['eq', 'neq'], value: { type: 'text', ignoreCase: true }, column: 't.label' },
    size: { operators: ['neq'], value: { type: 'integer', min: 0n, max: 9n }, column: 't.size' },
    kind: { operators: ['neq'], value: { type: 'enum', values: ['a', 'b'] }, column: 't.kind' },
    flag: { operators: ['neq'], value: { type: 'boolean', trueText: 'y', falseText: 'n' }, column: 't.flag' },
  });

  it.each([
    ['name:eq:Bo', '(t.name = $1)', 'Bo'],
    ['name:neq:Bo', '(t.name IS DISTINCT FROM $1)', 'Bo'],
    ['name:sw:B_%', "(t.name ILIKE $1 ESCAPE '\\')", 'B\\_\\%%'],
    ['label:eq:Bo', '(lower(t.label) = lower($1))', 'Bo'],
    ['label:neq:Bo', '(lower(t.label) IS DISTINCT FROM lower($1))', 'Bo'],
    ['size:neq:3', '(t.size IS DISTINCT FROM $1::bigint)', '3'],
    ['kind:neq:a', '(t.kind IS DISTINCT FROM $1)', 'a'],
    ['flag:neq:y', '((t.flag) IS DISTINCT FROM $1::boolean)', 'true'],
  ])('%s builds its condition', (raw, sql, value) => {
    const built = buildWhere(parseFilter(raw, spec), spec);
    expect(built.sql).toBe(sql);
    expect(built.values).toEqual([value]);
  });

  it('clause from other spec rejected', () => {
    const clauses = parseFilter('companyName:cn:a', FILTER);
    expect(() => buildWhere(clauses, spec)).toThrow(
      'filter clause companyName:cn was not parsed with this spec',
    );
  });
});

describe('buildOrderBy', () => {
  it('no clauses give tie-breaker only', () => {
    expect(orderBy('')).toBe('customer.id ASC');
  });

  it.each([
    ['companyName', 'lower(customer.company_name)'],
    ['customerContractType', 'customer.customer_contract_type'],
    ['trialDaysLeft', 'customer.trial_days_left'],
    ['providerCustomerId', 'lower(customer.provider_customer_id)'],
    ['quotaMax', 'customer.quota_max'],
    ['quotaUsed', 'customer.quota_used'],
    ['userMax', 'customer.user_max'],
    ['userUsed', 'customer.user_used'],
    ['isLocked', LOCKED],
    ['createdAt', 'customer.created_at'],
    ['updatedAt', 'customer.updated_at'],
    ['lastLoginAt', 'customer.last_login_at'],
    ['lockStatus', LOCKED],
  ])('sort by %s uses column', (field, expression) => {
    expect(orderBy(`${field}:asc`)).toBe(`${expression} ASC NULLS LAST, customer.id ASC`);
    expect(orderBy(`${field}:desc`)).toBe(`${expression} DESC NULLS FIRST, customer.id ASC`);
  });

  it('clauses apply in given order', () => {
    expect(orderBy('isLocked:desc|quotaUsed:asc')).toBe(
      `${LOCKED} DESC NULLS FIRST, customer.quota_used ASC NULLS LAST, customer.id ASC`,
    );
  });

  it('clause from other spec rejected', () => {
    const clauses = parseSort('key:asc', CUSTOMER_ATTRIBUTE_LIST.sort);
    expect(() => buildOrderBy(clauses, SORT)).toThrow('sort field key was not parsed with this spec');
  });

  it('generic spec uses its tie-breaker', () => {
    const spec = defineSortSpec({ name: 't.name' }, 't.id');
    expect(buildOrderBy([{ field: 'name', direction: 'desc' }], spec)).toBe(
      't.name DESC NULLS FIRST, t.id ASC',
    );
  });
});

describe('buildPaging', () => {
  it('limit and offset are parameters', () => {
    expect(buildPaging({ offset: 40, limit: 20 }, 3)).toEqual({
      sql: 'LIMIT $3 OFFSET $4',
      values: ['20', '40'],
      nextIndex: 5,
    });
  });

  it('zero first index rejected', () => {
    expect(() => buildPaging({ offset: 0, limit: 1 }, 0)).toThrow('first parameter index');
  });
});

describe('list query builders', () => {
  it('customer list numbers all parameters', () => {
    const sql = buildCustomerListQuery(
      { filter: 'companyName:cn:a|quotaMax:le:-1', sort: 'quotaUsed:desc', offset: '10', limit: '5' },
      2,
    );
    expect(sql.where).toEqual({
      sql: "(customer.company_name ILIKE $2 ESCAPE '\\') AND (customer.quota_max <= $3::bigint)",
      values: ['%a%', '-1'],
      nextIndex: 4,
    });
    expect(sql.orderBy).toBe('customer.quota_used DESC NULLS FIRST, customer.id ASC');
    expect(sql.paging).toEqual({ sql: 'LIMIT $4 OFFSET $5', values: ['5', '10'], nextIndex: 6 });
  });

  it('customer list defaults without parameters', () => {
    const sql = buildCustomerListQuery({});
    expect(sql.where.sql).toBe('TRUE');
    expect(sql.orderBy).toBe('customer.id ASC');
    expect(sql.paging.values).toEqual(['500', '0']);
  });

  it.each([
    ['key:cn:Cost', "(customer_attribute.key ILIKE $2 ESCAPE '\\')", '%Cost%'],
    ['key:sw:cost_', "(customer_attribute.key ILIKE $2 ESCAPE '\\')", 'cost\\_%'],
    ['key:eq:Cost', '(customer_attribute.key_lower = lower($2))', 'Cost'],
    ['value:cn:50%', "(customer_attribute.value ILIKE $2 ESCAPE '\\')", '%50\\%%'],
    ['value:sw:Re', "(customer_attribute.value ILIKE $2 ESCAPE '\\')", 'Re%'],
    ['value:eq:Red', '(lower(customer_attribute.value) = lower($2))', 'Red'],
  ])('attribute filter %s builds condition', (filter, sql, value) => {
    const built = buildCustomerAttributeListQuery({ filter }, 2);
    expect(built.where.sql).toBe(sql);
    expect(built.where.values).toEqual([value]);
  });

  it('attribute sort by key and value', () => {
    const built = buildCustomerAttributeListQuery({ sort: 'value:desc|key:asc' });
    expect(built.orderBy).toBe(
      'customer_attribute.value DESC NULLS FIRST, customer_attribute.key_lower ASC NULLS LAST, ' +
        'customer_attribute.key_lower ASC',
    );
  });

  it('list builder keeps where separate', () => {
    const sql = buildListSql(
      { filter: parseFilter('id:eq:7', FILTER), sort: [], paging: { offset: 0, limit: 1 } },
      CUSTOMER_LIST,
    );
    expect(sql.where.values).toEqual(['7']);
    expect(sql.paging.sql).toBe('LIMIT $2 OFFSET $3');
  });
});
