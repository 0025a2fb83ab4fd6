import fc from 'fast-check';

import { ApiError } from '../http/api-error';
import {
  defineFilterSpec,
  type FilterClause,
  nextCalendarDay,
  parseCalendarDate,
  parseFilter,
  parseListQuery,
  parsePaging,
  parseSort,
} from './list-query';
import { CUSTOMER_ATTRIBUTE_LIST, CUSTOMER_LIST } from './list-query-specs';

const FILTER = CUSTOMER_LIST.filter;
const SORT = CUSTOMER_LIST.sort;
const INT64_MAX = 2n ** 63n - 1n;
const INT64_MIN = -(2n ** 63n);

/** Runs `action`, expects an ApiError with status 400, and returns it for checks of code and text. */
function rejection(action: () => unknown): ApiError {
  try {
    action();
  } catch (error) {
    if (error instanceof ApiError) {
      expect(error.getStatus()).toBe(400);
      return error;
    }
    throw error;
  }
  throw new Error('expected a 400 ApiError, but the call returned normally');
}

function onlyClause(raw: string): FilterClause {
  const clauses = parseFilter(raw, FILTER);
  expect(clauses).toHaveLength(1);
  return clauses[0];
}

describe('parseFilter structure', () => {
  it('absent parameter gives no clauses', () => {
    expect(parseFilter(undefined, FILTER)).toEqual([]);
  });

  it('empty parameter gives no clauses', () => {
    expect(parseFilter('', FILTER)).toEqual([]);
  });

  it('single clause gives typed value', () => {
    expect(onlyClause('id:eq:42')).toEqual({
      field: 'id',
      operator: 'eq',
      value: { type: 'integer', integer: 42n },
    });
  });

  it('several clauses keep their order', () => {
    const clauses = parseFilter('companyName:cn:Acme|isLocked:eq:true|quotaUsed:ge:5', FILTER);
    expect(clauses.map((clause) => clause.field)).toEqual(['companyName', 'isLocked', 'quotaUsed']);
  });

  it('value keeps colons after operator', () => {
    expect(onlyClause('companyName:cn:a:b::c:').value).toEqual({ type: 'text', text: 'a:b::c:' });
  });

  it('repeated bounds on one field kept', () => {
    const clauses = parseFilter('quotaUsed:ge:10|quotaUsed:le:20|quotaUsed:ge:15', FILTER);
    expect(clauses).toEqual([
      { field: 'quotaUsed', operator: 'ge', value: { type: 'integer', integer: 10n } },
      { field: 'quotaUsed', operator: 'le', value: { type: 'integer', integer: 20n } },
      { field: 'quotaUsed', operator: 'ge', value: { type: 'integer', integer: 15n } },
    ]);
  });

  // Express decodes %7C to | before parseFilter receives the text, so the bar separates clauses.
  it('decoded bar splits the value', () => {
    const decoded = decodeURIComponent('companyName:cn:a%7CisLocked:eq:true');
    const clauses = parseFilter(decoded, FILTER);
    expect(clauses).toEqual([
      { field: 'companyName', operator: 'cn', value: { type: 'text', text: 'a' } },
      { field: 'isLocked', operator: 'eq', value: { type: 'boolean', boolean: true } },
    ]);
  });

  it('decoded bar leaves stray clause', () => {
    const error = rejection(() => parseFilter(decodeURIComponent('companyName:cn:a%7Cb'), FILTER));
    expect(error.apiErrorCode).toBe(-80000);
    expect(error.debugInfo).toContain('filter clause 2 "b"');
  });

  it.each([
    ['|id:eq:1', 1],
    ['id:eq:1|', 2],
    ['id:eq:1||id:eq:2', 2],
    ['|', 1],
  ])('empty clause in %j rejected', (raw, position) => {
    const error = rejection(() => parseFilter(raw, FILTER));
    expect(error.apiErrorCode).toBe(-80000);
    expect(error.debugInfo).toContain(`filter clause ${position} is empty`);
  });

  it.each([
    ['id', 'is not FIELD:OPERATOR:VALUE'],
    [':eq:1', 'is not FIELD:OPERATOR:VALUE'],
    ['id:eq', 'has no value'],
    ['id:eq:', 'has no value'],
    ['id::1', 'has no operator'],
    ['id:', 'has no operator'],
  ])('missing part in %j rejected', (raw, text) => {
    const error = rejection(() => parseFilter(raw, FILTER));
    expect(error.apiErrorCode).toBe(-80000);
    expect(error.debugInfo).toContain(`filter clause 1 ${JSON.stringify(raw)}`);
    expect(error.debugInfo).toContain(text);
  });

  it.each(['name', 'ID', 'constructor', '__proto__', 'toString', 'hasOwnProperty'])(
    'unknown field %j rejected',
    (field) => {
      const error = rejection(() => parseFilter(`${field}:eq:1`, FILTER));
      expect(error.apiErrorCode).toBe(-80000);
      expect(error.debugInfo).toContain(`unknown field ${JSON.stringify(field)}`);
      expect(error.debugInfo).toContain('Use one of: id, companyName,');
    },
  );

  it.each([
    ['id:gt:1', 'gt', 'eq'],
    ['id:EQ:1', 'EQ', 'eq'],
    ['id:ge:1', 'ge', 'eq'],
    ['companyName:eq:Acme', 'eq', 'cn'],
    ['quotaMax:eq:5', 'eq', 'ge or le'],
    ['attributeKey:cn:a', 'cn', 'eq or nex'],
    ['createdAt:eq:2024-01-01', 'eq', 'ge or le'],
  ])('operator in %j rejected', (raw, operator, allowed) => {
    const field = raw.slice(0, raw.indexOf(':'));
    const error = rejection(() => parseFilter(raw, FILTER));
    expect(error.apiErrorCode).toBe(-80000);
    expect(error.debugInfo).toContain(`operator "${operator}", which ${field} does not support`);
    expect(error.debugInfo).toContain(`Use ${allowed}.`);
  });

  it('user login filter rejected', () => {
    const error = rejection(() => parseFilter('userLogin:eq:alice', FILTER));
    expect(error.apiErrorCode).toBe(-80000);
    expect(error.debugInfo).toContain('filter clause 1 "userLogin:eq:alice"');
    expect(error.debugInfo).toContain('stores no user logins');
  });

  it('repeated parameter rejected', () => {
    const error = rejection(() => parseFilter(['id:eq:1', 'id:eq:2'], FILTER));
    expect(error.apiErrorCode).toBe(-80000);
    expect(error.debugInfo).toBe(
      'filter was given 2 times. Join the clauses with | in a single filter parameter.',
    );
  });

  it('object parameter rejected', () => {
    const error = rejection(() => parseFilter({ id: 'eq:1' }, FILTER));
    expect(error.apiErrorCode).toBe(-80000);
    expect(error.debugInfo).toContain('filter must be a single string');
  });

  it('long clause shortened in message', () => {
    const error = rejection(() => parseFilter(`unknown:eq:${'x'.repeat(500)}`, FILTER));
    expect(error.debugInfo.length).toBeLessThan(400);
  });
});

describe('parseFilter integer values', () => {
  it('int64 extremes stay exact', () => {
    expect(onlyClause(`quotaMax:le:${INT64_MAX}`).value).toEqual({ type: 'integer', integer: INT64_MAX });
    expect(onlyClause(`quotaUsed:ge:${INT64_MIN}`).value).toEqual({ type: 'integer', integer: INT64_MIN });
  });

  it('unsafe integer stays exact', () => {
    expect(onlyClause('quotaUsed:ge:9007199254740993').value).toEqual({
      type: 'integer',
      integer: 9007199254740993n,
    });
  });

  it('unlimited marker accepted for quota', () => {
    expect(onlyClause('quotaMax:le:-1').value).toEqual({ type: 'integer', integer: -1n });
  });

  it.each([
    ['id:eq:9223372036854775807', 9223372036854775807n],
    ['trialDaysLeft:ge:-2147483648', -2147483648n],
    ['trialDaysLeft:le:2147483647', 2147483647n],
    ['userMax:ge:-1', -1n],
    ['userUsed:le:2147483647', 2147483647n],
    ['quotaUsed:ge:0', 0n],
  ])('%s accepted at bound', (raw, integer) => {
    expect(onlyClause(raw).value).toEqual({ type: 'integer', integer });
  });

  it.each(['abc', '1.5', '+1', '01', '-0', ' 1', '1 ', '1e3', '0x10', '１', '-'])(
    'id %j is not a number',
    (value) => {
      const error = rejection(() => parseFilter(`id:eq:${value}`, FILTER));
      expect(error.apiErrorCode).toBe(-80002);
      expect(error.debugInfo).toContain(`has value ${JSON.stringify(value)} for id`);
      expect(error.debugInfo).toContain('is not a decimal integer');
    },
  );

  it.each(['-5', '0', '-9223372036854775808', '9223372036854775808', '99999999999999999999999'])(
    'id %s out of range',
    (value) => {
      const error = rejection(() => parseFilter(`id:eq:${value}`, FILTER));
      expect(error.apiErrorCode).toBe(-80001);
      expect(error.debugInfo).toContain('outside the range 1 to 9223372036854775807');
    },
  );

  it.each([
    ['quotaMax:ge:9223372036854775808', '-9223372036854775808 to 9223372036854775807'],
    ['quotaUsed:le:-9223372036854775809', '-9223372036854775808 to 9223372036854775807'],
    ['trialDaysLeft:ge:2147483648', '-2147483648 to 2147483647'],
    ['trialDaysLeft:le:-2147483649', '-2147483648 to 2147483647'],
    ['userMax:le:2147483648', '-2147483648 to 2147483647'],
    ['userUsed:ge:-2147483649', '-2147483648 to 2147483647'],
  ])('%s out of range', (raw, range) => {
    const error = rejection(() => parseFilter(raw, FILTER));
    expect(error.apiErrorCode).toBe(-80001);
    expect(error.debugInfo).toContain(`outside the range ${range}`);
  });
});

describe('parseFilter other values', () => {
  it.each([
    ['isLocked:eq:true', true],
    ['isLocked:eq:false', false],
    ['lockStatus:eq:1', true],
    ['lockStatus:eq:0', false],
  ])('%s gives boolean', (raw, boolean) => {
    expect(onlyClause(raw).value).toEqual({ type: 'boolean', boolean });
  });

  it.each([
    ['isLocked', 'TRUE', 'true or false'],
    ['isLocked', '1', 'true or false'],
    ['isLocked', 'yes', 'true or false'],
    ['lockStatus', 'true', '1 or 0'],
    ['lockStatus', '2', '1 or 0'],
  ])('%s value %j rejected', (field, value, allowed) => {
    const error = rejection(() => parseFilter(`${field}:eq:${value}`, FILTER));
    expect(error.apiErrorCode).toBe(-80005);
    expect(error.debugInfo).toContain(
      `value ${JSON.stringify(value)} for ${field}, which must be ${allowed}`,
    );
  });

  it.each(['demo', 'free', 'pay'])('contract type %s accepted', (type) => {
    expect(onlyClause(`customerContractType:eq:${type}`).value).toEqual({ type: 'enum', text: type });
  });

  it.each(['PAY', 'gold', 'pay '])('contract type %j rejected', (type) => {
    const error = rejection(() => parseFilter(`customerContractType:eq:${type}`, FILTER));
    expect(error.apiErrorCode).toBe(-80023);
    expect(error.debugInfo).toContain('which must be one of: demo, free, pay');
  });

  it.each(['\u0000', 'a\nb', 'tab\there', '\u007f', '\u001f'])('control character %j rejected', (text) => {
    const error = rejection(() => parseFilter(`companyName:cn:${text}`, FILTER));
    expect(error.apiErrorCode).toBe(-80023);
    expect(error.debugInfo).toContain('contains control characters');
  });

  it('unicode text value accepted', () => {
    expect(onlyClause('companyName:cn:Müller & Söhne 🚀').value).toEqual({
      type: 'text',
      text: 'Müller & Söhne 🚀',
    });
  });

  it.each(['a b', 'größe', 'a.b', "x'y"])('attribute key %j rejected', (key) => {
    const error = rejection(() => parseFilter(`attributeKey:eq:${key}`, FILTER));
    expect(error.apiErrorCode).toBe(-80023);
    expect(error.debugInfo).toContain('may only contain letters a-z and A-Z, digits, _ and -');
  });

  it('attribute key nex accepted', () => {
    expect(onlyClause('attributeKey:nex:cost_center-2')).toEqual({
      field: 'attributeKey',
      operator: 'nex',
      value: { type: 'text', text: 'cost_center-2' },
    });
  });

  it('attribute value allows any text', () => {
    expect(onlyClause("attributeValue:eq:a b.c'd").value).toEqual({ type: 'text', text: "a b.c'd" });
  });
});

describe('parseFilter dates', () => {
  it.each(['2024-02-29', '2000-02-29', '1600-02-29', '0001-01-01', '9999-12-31', '2026-04-30'])(
    'date %s accepted',
    (date) => {
      const [year, month, day] = date.split('-').map(Number);
      expect(onlyClause(`createdAt:ge:${date}`).value).toEqual({ type: 'date', date: { year, month, day } });
    },
  );

  it.each([
    '2026-02-30',
    '2023-02-29',
    '1900-02-29',
    '2026-04-31',
    '2026-13-01',
    '2026-00-10',
    '2026-01-00',
    '2026-01-32',
    '0000-01-01',
    '2026-1-01',
    '26-01-01',
    '20260101',
    '2026-01-01T00:00:00Z',
    '2026/01/01',
    '２０２６-01-01',
  ])('date %s rejected', (date) => {
    const error = rejection(() => parseFilter(`updatedAt:le:${date}`, FILTER));
    expect(error.apiErrorCode).toBe(-80023);
    expect(error.debugInfo).toContain(
      `value ${JSON.stringify(date)} for updatedAt, which is not a calendar date`,
    );
  });

  it.each([
    ['2024-02-28', { year: 2024, month: 2, day: 29 }],
    ['2024-02-29', { year: 2024, month: 3, day: 1 }],
    ['2023-02-28', { year: 2023, month: 3, day: 1 }],
    ['2026-04-30', { year: 2026, month: 5, day: 1 }],
    ['2026-12-31', { year: 2027, month: 1, day: 1 }],
    ['9999-12-31', { year: 10000, month: 1, day: 1 }],
  ])('day after %s computed', (text, next) => {
    const date = parseCalendarDate(text);
    expect(date).toBeDefined();
    expect(nextCalendarDay(date!)).toEqual(next);
  });
});

describe('parseSort', () => {
  it('absent parameter gives no clauses', () => {
    expect(parseSort(undefined, SORT)).toEqual([]);
  });

  it('empty parameter gives no clauses', () => {
    expect(parseSort('', SORT)).toEqual([]);
  });

  it('several clauses keep their order', () => {
    expect(parseSort('quotaUsed:desc|companyName:asc', SORT)).toEqual([
      { field: 'quotaUsed', direction: 'desc' },
      { field: 'companyName', direction: 'asc' },
    ]);
  });

  it.each([
    'companyName',
    'customerContractType',
    'trialDaysLeft',
    'providerCustomerId',
    'quotaMax',
    'quotaUsed',
    'userMax',
    'userUsed',
    'isLocked',
    'createdAt',
    'updatedAt',
    'lastLoginAt',
    'lockStatus',
  ])('sort field %s accepted', (field) => {
    expect(parseSort(`${field}:desc`, SORT)).toEqual([{ field, direction: 'desc' }]);
  });

  it.each(['id', 'activationCode', 'attributeKey', 'constructor', ''])('sort field %j rejected', (field) => {
    const error = rejection(() => parseSort(`${field}:asc`, SORT));
    expect(error.apiErrorCode).toBe(-80000);
    expect(error.debugInfo).toContain(`unknown field ${JSON.stringify(field)}`);
  });

  it('missing direction rejected', () => {
    const error = rejection(() => parseSort('companyName', SORT));
    expect(error.apiErrorCode).toBe(-80000);
    expect(error.debugInfo).toContain('has no direction. Write companyName:asc or companyName:desc.');
  });

  it.each(['ASC', 'up', '', 'asc:x', 'desc '])('direction %j rejected', (direction) => {
    const error = rejection(() => parseSort(`companyName:${direction}`, SORT));
    expect(error.apiErrorCode).toBe(-80000);
    expect(error.debugInfo).toContain(`unknown direction ${JSON.stringify(direction)}. Use asc or desc.`);
  });

  it('repeated field rejected', () => {
    const error = rejection(() => parseSort('quotaMax:asc|userMax:asc|quotaMax:desc', SORT));
    expect(error.apiErrorCode).toBe(-80000);
    expect(error.debugInfo).toContain('sort clause 3 "quotaMax:desc" repeats field quotaMax');
  });

  it.each([
    ['companyName:asc|', 2],
    ['|companyName:asc', 1],
  ])('empty clause in %j rejected', (raw, position) => {
    const error = rejection(() => parseSort(raw, SORT));
    expect(error.apiErrorCode).toBe(-80000);
    expect(error.debugInfo).toContain(`sort clause ${position} is empty`);
  });

  it('repeated parameter rejected', () => {
    const error = rejection(() => parseSort(['companyName:asc', 'userMax:desc'], SORT));
    expect(error.apiErrorCode).toBe(-80000);
    expect(error.debugInfo).toContain('sort was given 2 times');
  });
});

describe('parsePaging', () => {
  it('absent parameters give defaults', () => {
    expect(parsePaging(undefined, undefined)).toEqual({ offset: 0, limit: 500 });
  });

  it('empty parameters give defaults', () => {
    expect(parsePaging('', '')).toEqual({ offset: 0, limit: 500 });
  });

  it.each([
    ['0', '1', { offset: 0, limit: 1 }],
    ['2147483647', '500', { offset: 2147483647, limit: 500 }],
    ['40', '20', { offset: 40, limit: 20 }],
  ])('offset %s limit %s accepted', (offset, limit, paging) => {
    expect(parsePaging(offset, limit)).toEqual(paging);
  });

  it('integer numbers accepted', () => {
    expect(parsePaging(10, 50)).toEqual({ offset: 10, limit: 50 });
  });

  it.each(['-1', '1.5', 'abc', '2147483648', '+1', '01', ' 1', '1e2', '-0'])(
    'offset %j rejected',
    (offset) => {
      const error = rejection(() => parsePaging(offset, undefined));
      expect(error.apiErrorCode).toBe(-80024);
      expect(error.debugInfo).toBe(
        `offset must be an integer from 0 to 2147483647, got ${JSON.stringify(offset)}.`,
      );
    },
  );

  it.each(['0', '501', '-1', '1.5', 'abc', '99999999999999999999'])('limit %j rejected', (limit) => {
    const error = rejection(() => parsePaging(undefined, limit));
    expect(error.apiErrorCode).toBe(-80024);
    expect(error.debugInfo).toBe(`limit must be an integer from 1 to 500, got ${JSON.stringify(limit)}.`);
  });

  it.each([1.5, -1, 501, Number.NaN, Infinity])('limit number %d rejected', (limit) => {
    const error = rejection(() => parsePaging(undefined, limit));
    expect(error.apiErrorCode).toBe(-80024);
    expect(error.debugInfo).toContain('limit must be an integer from 1 to 500');
  });

  it.each([
    ['offset', ['0', '10'], undefined],
    ['limit', undefined, ['5', '5']],
  ])('repeated %s rejected', (name, offset, limit) => {
    const error = rejection(() => parsePaging(offset, limit));
    expect(error.apiErrorCode).toBe(-80024);
    expect(error.debugInfo).toBe(`${name} was given 2 times. Pass it once.`);
  });

  it('object limit rejected', () => {
    const error = rejection(() => parsePaging(undefined, { max: '5' }));
    expect(error.apiErrorCode).toBe(-80024);
    expect(error.debugInfo).toContain('limit must be a single string');
  });
});

describe('parseListQuery', () => {
  it('reads all four parameters', () => {
    const query = parseListQuery(
      { filter: 'key:sw:cost', sort: 'value:desc', offset: '3', limit: '7' },
      CUSTOMER_ATTRIBUTE_LIST,
    );
    expect(query).toEqual({
      filter: [{ field: 'key', operator: 'sw', value: { type: 'text', text: 'cost' } }],
      sort: [{ field: 'value', direction: 'desc' }],
      paging: { offset: 3, limit: 7 },
    });
  });

  it('attribute list rejects customer fields', () => {
    const error = rejection(() => parseListQuery({ filter: 'companyName:cn:a' }, CUSTOMER_ATTRIBUTE_LIST));
    expect(error.debugInfo).toContain('unknown field "companyName". Use one of: key, value.');
  });

  it.each(['key:neq:a', 'value:nex:a', 'key:ge:a'])('attribute operator %s rejected', (raw) => {
    const error = rejection(() => parseListQuery({ filter: raw }, CUSTOMER_ATTRIBUTE_LIST));
    expect(error.apiErrorCode).toBe(-80000);
    expect(error.debugInfo).toContain('Use cn or eq or sw.');
  });
});

describe('defineFilterSpec', () => {
  it('rejects operator the type lacks', () => {
    expect(() =>
      defineFilterSpec({ name: { operators: ['ge'], value: { type: 'text' }, column: 'name' } }),
    ).toThrow('filter field name has type text, which cannot take ge');
  });

  it('rejects nex without subquery', () => {
    expect(() =>
      defineFilterSpec({ name: { operators: ['nex'], value: { type: 'text' }, column: 'name' } }),
    ).toThrow('filter field name allows nex, which needs existsIn');
  });

  it('rejects field without operators', () => {
    expect(() =>
      defineFilterSpec({ name: { operators: [], value: { type: 'text' }, column: 'name' } }),
    ).toThrow('filter field name needs at least one operator');
  });
});

/** Clause texts built from the spec's names plus junk, to reach the value checks as well as syntax errors. */
const clauseText = fc
  .tuple(
    fc.oneof(fc.constantFrom(...FILTER.fields.keys()), fc.string({ maxLength: 12 })),
    fc.oneof(fc.constantFrom('eq', 'neq', 'cn', 'sw', 'ge', 'le', 'nex'), fc.string({ maxLength: 4 })),
    fc.oneof(
      fc.string({ maxLength: 24 }),
      fc.stringMatching(/^-?[0-9]{1,21}$/),
      fc.stringMatching(/^[0-9]{4}-[0-9]{2}-[0-9]{2}$/),
      fc.constantFrom('true', 'false', '0', '1', 'demo', 'pay', "'; DROP TABLE customer; --"),
    ),
  )
  .map(([field, operator, value]) => `${field}:${operator}:${value}`);

function expectOnlyApiErrors(action: () => unknown): void {
  try {
    action();
  } catch (error) {
    expect(error).toBeInstanceOf(ApiError);
    const apiError = error as ApiError;
    expect(apiError.getStatus()).toBe(400);
    expect(typeof apiError.apiErrorCode).toBe('number');
    expect(apiError.debugInfo.length).toBeGreaterThan(0);
  }
}

describe('parser properties', () => {
  it('random filter text never crashes', () => {
    fc.assert(
      fc.property(
        fc.oneof(fc.string(), fc.string({ unit: 'grapheme' }), fc.string({ unit: 'binary' })),
        (raw) => {
          expectOnlyApiErrors(() => parseFilter(raw, FILTER));
        },
      ),
      { numRuns: 2000 },
    );
  });

  it('random clauses never crash', () => {
    fc.assert(
      fc.property(fc.array(clauseText, { minLength: 1, maxLength: 4 }), (clauses) => {
        expectOnlyApiErrors(() => parseFilter(clauses.join('|'), FILTER));
      }),
      { numRuns: 2000 },
    );
  });

  it('random sort text never crashes', () => {
    const sortText = fc.oneof(
      fc.string(),
      fc
        .array(
          fc.tuple(
            fc.oneof(fc.constantFrom(...SORT.fields.keys()), fc.string({ maxLength: 8 })),
            fc.oneof(fc.constantFrom('asc', 'desc'), fc.string({ maxLength: 5 })),
          ),
          { minLength: 1, maxLength: 4 },
        )
        .map((pairs) => pairs.map(([field, direction]) => `${field}:${direction}`).join('|')),
    );
    fc.assert(
      fc.property(sortText, (raw) => {
        expectOnlyApiErrors(() => parseSort(raw, SORT));
      }),
      { numRuns: 1000 },
    );
  });

  it('random paging never crashes', () => {
    const parameter = fc.oneof(
      fc.string({ maxLength: 12 }),
      fc.integer(),
      fc.double(),
      fc.constant(undefined),
    );
    fc.assert(
      fc.property(parameter, parameter, (offset, limit) => {
        expectOnlyApiErrors(() => parsePaging(offset, limit));
      }),
      { numRuns: 1000 },
    );
  });
});
