import fc from 'fast-check';

import {
  FORBIDDEN_JSON_KEYS,
  INT64_MAX,
  INT64_MIN,
  JsonDecodeError,
  JsonDepthError,
  JsonForbiddenKeyError,
  JsonSyntaxError,
  isCanonicalSignedInteger,
  isInt64,
  parseJson,
  stringifyJson,
  toInt64,
} from './lossless-json';

function nestedArrays(depth: number, inner = '0'): string {
  return '['.repeat(depth) + inner + ']'.repeat(depth);
}

function nestedObjects(depth: number): string {
  return '{"a":'.repeat(depth) + '0' + '}'.repeat(depth);
}

describe('parseJson integers', () => {
  it('reads 2^53 + 1 exactly', () => {
    expect(parseJson('9007199254740993')).toBe(9007199254740993n);
  });

  it('reads int64 bounds exactly', () => {
    expect(parseJson('9223372036854775807')).toBe(INT64_MAX);
    expect(parseJson('-9223372036854775808')).toBe(INT64_MIN);
  });

  it('reads integers beyond int64 as bigint', () => {
    expect(parseJson('123456789012345678901234567890')).toBe(123456789012345678901234567890n);
  });

  it('reads nested integers as bigint', () => {
    expect(parseJson('{"a":[0,-1,{"b":42}]}')).toEqual({ a: [0n, -1n, { b: 42n }] });
  });

  it.each(['1.5', '1.0', '0.0', '1e3', '1E3', '-2.5e-3', '1e400'])('keeps %s a number', (text) => {
    const value = parseJson(text);

    expect(typeof value).toBe('number');
    expect(value).toBe(JSON.parse(text));
  });

  it('keeps -0 a negative zero number', () => {
    expect(Object.is(parseJson('-0'), -0)).toBe(true);
  });

  it('leaves strings of digits as strings', () => {
    expect(parseJson('"9007199254740993"')).toBe('9007199254740993');
  });
});

describe('parseJson syntax errors', () => {
  it.each(['', '{', '[1,]', "{'a':1}", 'NaN', 'Infinity', '01', '+1', '{"a":1}x', 'undefined'])(
    'rejects %j',
    (text) => {
      expect(() => parseJson(text)).toThrow(JsonSyntaxError);
    },
  );

  it('derives syntax errors from JsonDecodeError', () => {
    const error = captureError(() => parseJson('{'));

    expect(error).toBeInstanceOf(JsonDecodeError);
    expect(error).toBeInstanceOf(JsonSyntaxError);
    expect((error as Error).name).toBe('JsonSyntaxError');
  });

  it('keeps the syntax error message on one line', () => {
    const error = captureError(() => parseJson('{"a":\n\r\t x}')) as Error;

    expect(error.message).toContain('JSON');
    expect(error.message).not.toMatch(/[\n\r\t]/);
  });
});

describe('parseJson depth limit', () => {
  it('accepts 32 nested arrays by default', () => {
    expect(() => parseJson(nestedArrays(32))).not.toThrow();
  });

  it('rejects 33 nested arrays by default', () => {
    expect(() => parseJson(nestedArrays(33))).toThrow(JsonDepthError);
  });

  it('accepts 32 nested objects by default', () => {
    expect(() => parseJson(nestedObjects(32))).not.toThrow();
  });

  it('rejects 33 nested objects by default', () => {
    expect(() => parseJson(nestedObjects(33))).toThrow(JsonDepthError);
  });

  it('counts mixed arrays and objects together', () => {
    const mixed = '[{"a":'.repeat(16) + '[0]' + '}]'.repeat(16);

    expect(() => parseJson(mixed)).toThrow(JsonDepthError);
  });

  it('honours a custom maxDepth', () => {
    expect(parseJson('5', { maxDepth: 0 })).toBe(5n);
    expect(() => parseJson('[]', { maxDepth: 0 })).toThrow(JsonDepthError);
    expect(() => parseJson(nestedArrays(3), { maxDepth: 3 })).not.toThrow();
    expect(() => parseJson(nestedArrays(4), { maxDepth: 3 })).toThrow(JsonDepthError);
  });

  it('counts depth, not the number of siblings', () => {
    const wide = '[' + Array.from({ length: 1000 }, () => '[[]]').join(',') + ']';

    expect(() => parseJson(wide)).not.toThrow();
  });

  it.each([-1, 1.5, Number.NaN])('rejects maxDepth %p', (maxDepth) => {
    expect(() => parseJson('0', { maxDepth })).toThrow(RangeError);
  });

  it('rejects 50 000 nested arrays fast', () => {
    const started = performance.now();
    const error = captureError(() => parseJson(nestedArrays(50_000)));
    const elapsedMs = performance.now() - started;

    expect(error).toBeInstanceOf(JsonDepthError);
    expect((error as JsonDepthError).maxDepth).toBe(32);
    expect(elapsedMs).toBeLessThan(1000);
  });

  it('rejects 50 000 unclosed objects fast', () => {
    const started = performance.now();

    expect(() => parseJson('{"a":'.repeat(50_000))).toThrow(JsonDepthError);
    expect(performance.now() - started).toBeLessThan(1000);
  });

  it('ignores brackets inside strings', () => {
    const text = JSON.stringify(['['.repeat(100), '{'.repeat(100), '\\"[[[[[[', '\\\\']);

    expect(parseJson(text)).toEqual(['['.repeat(100), '{'.repeat(100), '\\"[[[[[[', '\\\\']);
  });

  it('ignores brackets after an escaped quote', () => {
    const text = '["\\"' + '['.repeat(40) + '"]';

    expect(parseJson(text)).toEqual(['"' + '['.repeat(40)]);
  });

  it('counts brackets after a string ending in a backslash', () => {
    const text = '["\\\\",' + nestedArrays(32) + ']';

    expect(() => parseJson(text)).toThrow(JsonDepthError);
  });

  it('ignores brackets after a unicode escape', () => {
    const text = '["\\u005b' + '['.repeat(40) + '"]';

    expect(parseJson(text)).toEqual(['[' + '['.repeat(40)]);
  });
});

describe('parseJson forbidden keys', () => {
  const forbiddenKeys = [...FORBIDDEN_JSON_KEYS];

  it.each(forbiddenKeys)('rejects %s at the top level', (key) => {
    const error = captureError(() => parseJson(`{"${key}":{"polluted":true}}`));

    expect(error).toBeInstanceOf(JsonForbiddenKeyError);
    expect(error).toBeInstanceOf(JsonDecodeError);
    expect((error as JsonForbiddenKeyError).key).toBe(key);
    expect((error as Error).message).toContain(key);
  });

  it.each(forbiddenKeys)('rejects %s deep inside arrays and objects', (key) => {
    const text = `{"a":[1,{"b":[{"${key}":{"polluted":true}}]}]}`;

    expect(() => parseJson(text)).toThrow(JsonForbiddenKeyError);
  });

  it('rejects constructor.prototype', () => {
    expect(() => parseJson('{"constructor":{"prototype":{"polluted":true}}}')).toThrow(JsonForbiddenKeyError);
  });

  it('rejects an escaped __proto__ key', () => {
    expect(() => parseJson('{"\\u005f_proto__":{"polluted":true}}')).toThrow(JsonForbiddenKeyError);
  });

  it('leaves Object.prototype untouched', () => {
    const attempts = ['{"__proto__":{"polluted":1}}', '{"constructor":{"prototype":{"polluted":1}}}'];
    for (const attempt of attempts) {
      expect(() => parseJson(attempt)).toThrow(JsonForbiddenKeyError);
    }

    expect(({} as Record<string, unknown>).polluted).toBeUndefined();
  });

  it('allows forbidden words as string values', () => {
    expect(parseJson('{"a":"__proto__","b":["constructor","prototype"]}')).toEqual({
      a: '__proto__',
      b: ['constructor', 'prototype'],
    });
  });

  it('returns objects with the plain Object prototype', () => {
    const value = parseJson('{"a":{"b":1}}') as { a: object };

    expect(Object.getPrototypeOf(value)).toBe(Object.prototype);
    expect(Object.getPrototypeOf(value.a)).toBe(Object.prototype);
  });
});

describe('stringifyJson', () => {
  it('writes 2^53 + 1 byte for byte', () => {
    expect(stringifyJson(9007199254740993n)).toBe('9007199254740993');
  });

  it('writes int64 bounds exactly', () => {
    expect(stringifyJson({ max: INT64_MAX, min: INT64_MIN })).toBe(
      '{"max":9223372036854775807,"min":-9223372036854775808}',
    );
  });

  it('round-trips 2^63 - 1 and 2^53 + 1', () => {
    const value = { limit: INT64_MAX, counter: 9007199254740993n, list: [-9007199254740993n] };

    expect(parseJson(stringifyJson(value))).toEqual(value);
  });

  it('writes other values like JSON.stringify', () => {
    const value = { a: 1.5, b: 'x', c: [true, null], d: undefined };

    expect(stringifyJson(value)).toBe(JSON.stringify(value));
  });

  it('indents when given space', () => {
    expect(stringifyJson({ a: [1n] }, 2)).toBe('{\n  "a": [\n    1\n  ]\n}');
    expect(stringifyJson({ a: 1n }, '\t')).toBe('{\n\t"a": 1\n}');
  });

  it.each([undefined, () => 1, Symbol('s')])('rejects top-level %p', (value) => {
    expect(() => stringifyJson(value)).toThrow(TypeError);
  });
});

describe('integer helpers', () => {
  it.each(['0', '1', '-1', '42', '9223372036854775808', '-9007199254740993'])(
    'accepts canonical %s',
    (text) => {
      expect(isCanonicalSignedInteger(text)).toBe(true);
    },
  );

  it.each(['', '-', '-0', '+1', '01', '00', '1.0', '1e3', ' 1', '1 ', 'NaN', 'Infinity', '0x1', '１'])(
    'rejects non-canonical %j',
    (text) => {
      expect(isCanonicalSignedInteger(text)).toBe(false);
    },
  );

  it('checks the int64 range', () => {
    expect(isInt64(INT64_MAX)).toBe(true);
    expect(isInt64(INT64_MIN)).toBe(true);
    expect(isInt64(INT64_MAX + 1n)).toBe(false);
    expect(isInt64(INT64_MIN - 1n)).toBe(false);
  });

  it('reads int64 values from bigints and canonical strings', () => {
    expect(toInt64(5n)).toBe(5n);
    expect(toInt64('-9223372036854775808')).toBe(INT64_MIN);
    expect(toInt64('9223372036854775807')).toBe(INT64_MAX);
  });

  it.each([5, 1.5, '9223372036854775808', INT64_MIN - 1n, '007', '+5', null, true, [1n], {}])(
    'rejects %p as int64',
    (value) => {
      expect(toInt64(value)).toBeUndefined();
    },
  );
});

describe('lossless JSON round trip', () => {
  const key = fc.string().filter((text) => !FORBIDDEN_JSON_KEYS.has(text));
  const text = fc.oneof(fc.string(), fc.string({ unit: 'binary' }));
  const { value: jsonValue } = fc.letrec<{ value: unknown }>((tie) => ({
    value: fc.oneof(
      { maxDepth: 6 },
      fc.bigInt(),
      text,
      fc.boolean(),
      fc.constant(null),
      fc.array(tie('value'), { maxLength: 5 }),
      fc.dictionary(key, tie('value'), { maxKeys: 5, noNullPrototype: true }),
    ),
  }));

  it('parses what it writes', () => {
    fc.assert(
      fc.property(jsonValue, (value) => {
        expect(parseJson(stringifyJson(value))).toEqual(value);
      }),
      { numRuns: 500 },
    );
  });
});

function captureError(action: () => unknown): unknown {
  try {
    action();
  } catch (error) {
    return error;
  }
  throw new Error('expected the action to throw');
}
