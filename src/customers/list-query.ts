/**
 * Parses DRACOON list parameters: `filter`, `sort`, `offset` and `limit`.
 *
 * Syntax: `filter=FIELD:OPERATOR:VALUE|FIELD:OPERATOR:VALUE`, where all clauses must hold (AND), and
 * `sort=FIELD:asc|FIELD:desc`, applied in the given order. A filter value is everything after the
 * second `:` of its clause, so `a:eq:b:c` compares field `a` with `b:c`. No field here accepts the
 * multi-value form `VALUE:VALUE` of other DRACOON lists, so it is read as one value that contains `:`.
 * Express 5's default query parser percent-decodes the parameter before it reaches this module, so
 * an encoded `%7C` has become `|` and splits the clause. A value therefore cannot contain `|`.
 *
 * Choices where DRACOON's documentation is silent:
 * - Error codes, all with status 400:
 *   -80000 malformed syntax: empty clause, missing part, unknown field, operator or direction,
 *   repeated sort field, repeated parameter.
 *   -80002 a value that is not a decimal integer.
 *   -80001 an integer outside the field's range, which includes a zero or negative id.
 *   -80005 an invalid boolean.
 *   -80023 a value outside its allowed set: enum value, not a calendar date, control characters,
 *   or characters that an attribute key cannot contain.
 *   -80024 an invalid `offset` or `limit`.
 * - A parameter given twice arrives from Express as an array and is rejected (-80024 for paging,
 *   -80000 for filter and sort) instead of silently using one of the copies.
 * - An empty parameter (`filter=`) counts as absent. An empty clause (`a:eq:1||b:eq:2`) or an empty
 *   value (`a:eq:`) is rejected.
 * - `cn` and `sw` ignore case. `eq` and `neq` compare exactly unless the field spec sets `ignoreCase`.
 * - Dates are `yyyy-MM-dd` days in UTC: `ge:D` matches from D 00:00Z on, `le:D` before D+1 00:00Z.
 * - Sorting puts NULLs last for `asc` and first for `desc` (PostgreSQL's default), so `desc` is the
 *   exact reverse of `asc`. The spec's unique tie-breaker is appended so paging is stable.
 */
import { badRequest } from '../http/api-error';

export const FILTER_OPERATORS = ['eq', 'neq', 'cn', 'sw', 'ge', 'le', 'nex'] as const;
export type FilterOperator = (typeof FILTER_OPERATORS)[number];

export const SORT_DIRECTIONS = ['asc', 'desc'] as const;
export type SortDirection = (typeof SORT_DIRECTIONS)[number];

export const MALFORMED_QUERY = -80000;
export const OUT_OF_RANGE = -80001;
export const NOT_A_NUMBER = -80002;
export const INVALID_BOOLEAN = -80005;
export const INVALID_VALUE = -80023;
export const INVALID_PAGING = -80024;

export const DEFAULT_OFFSET = 0;
export const MAX_OFFSET = 2_147_483_647;
export const DEFAULT_LIMIT = 500;
export const MAX_LIMIT = 500;

/** The type of a filter field's value and how its text is checked. */
export type FilterValueSpec =
  | {
      type: 'text';
      /** Makes `eq` and `neq` ignore case, which `cn` and `sw` always do. */
      ignoreCase?: boolean;
      /** Allowed characters, for values such as attribute keys whose column has a CHECK. */
      allowed?: { pattern: RegExp; description: string };
    }
  | { type: 'integer'; min: bigint; max: bigint }
  | { type: 'enum'; values: readonly string[] }
  | { type: 'boolean'; trueText: string; falseText: string }
  | { type: 'date' };

/** A filterable field: which operators it takes, its value type and the SQL it compares. */
export interface SupportedFilterField {
  operators: readonly FilterOperator[];
  value: FilterValueSpec;
  /** A trusted SQL expression, written in the spec and never taken from a request. */
  column: string;
  /** An expression that already contains `lower(column)`, used by case-insensitive `eq` and `neq`. */
  lowerColumn?: string;
  /**
   * A correlated subquery `SELECT 1 FROM ... WHERE ...`. The comparison is ANDed into it, and the
   * clause becomes `EXISTS (...)`, or `NOT EXISTS (...)` for `nex`.
   */
  existsIn?: string;
}

/** A DRACOON field that this service cannot filter by. The `unsupported` text is sent to the client. */
export interface UnsupportedFilterField {
  unsupported: string;
}

export type FilterFieldSpec = SupportedFilterField | UnsupportedFilterField;

/** The filterable fields of one list, in the order error messages list them. */
export interface FilterSpec {
  readonly fields: ReadonlyMap<string, FilterFieldSpec>;
}

/** The sortable fields of one list as trusted SQL expressions, and the unique expression that breaks ties. */
export interface SortSpec {
  readonly fields: ReadonlyMap<string, string>;
  readonly tieBreaker: string;
}

export interface ListSpec {
  filter: FilterSpec;
  sort: SortSpec;
}

export interface CalendarDate {
  year: number;
  month: number;
  day: number;
}

export type FilterValue =
  | { type: 'text'; text: string }
  | { type: 'integer'; integer: bigint }
  | { type: 'enum'; text: string }
  | { type: 'boolean'; boolean: boolean }
  | { type: 'date'; date: CalendarDate };

export interface FilterClause {
  field: string;
  operator: FilterOperator;
  value: FilterValue;
}

export interface SortClause {
  field: string;
  direction: SortDirection;
}

export interface Paging {
  offset: number;
  limit: number;
}

/** DRACOON's `Range` of a list response: the page asked for and the number of items in all pages. */
export function pageRange(paging: Paging, total: number): { offset: number; limit: number; total: number } {
  return { offset: paging.offset, limit: paging.limit, total };
}

export interface ListQuery {
  filter: FilterClause[];
  sort: SortClause[];
  paging: Paging;
}

/** Operators that each value type can take. `nex` also needs `existsIn`. */
const OPERATORS_BY_TYPE: Record<FilterValueSpec['type'], readonly FilterOperator[]> = {
  text: ['eq', 'neq', 'cn', 'sw', 'nex'],
  integer: ['eq', 'neq', 'ge', 'le'],
  enum: ['eq', 'neq'],
  boolean: ['eq', 'neq'],
  date: ['ge', 'le'],
};

/** Builds a FilterSpec and throws an Error for an operator that the field's type or target cannot take. */
export function defineFilterSpec(fields: Record<string, FilterFieldSpec>): FilterSpec {
  for (const [name, field] of Object.entries(fields)) {
    if ('unsupported' in field) {
      continue;
    }
    if (field.operators.length === 0) {
      throw new Error(`filter field ${name} needs at least one operator`);
    }
    for (const operator of field.operators) {
      if (!OPERATORS_BY_TYPE[field.value.type].includes(operator)) {
        throw new Error(`filter field ${name} has type ${field.value.type}, which cannot take ${operator}`);
      }
      if (operator === 'nex' && field.existsIn === undefined) {
        throw new Error(`filter field ${name} allows nex, which needs existsIn`);
      }
    }
  }
  return { fields: new Map(Object.entries(fields)) };
}

export function defineSortSpec(fields: Record<string, string>, tieBreaker: string): SortSpec {
  return { fields: new Map(Object.entries(fields)), tieBreaker };
}

function quote(text: string, max = 64): string {
  return JSON.stringify(text.length > max ? `${text.slice(0, max)}...` : text);
}

/** Returns the parameter's text, or undefined when it is absent or empty, and rejects arrays and objects. */
function singleParameter(name: string, raw: unknown, code: number, example: string): string | undefined {
  if (raw === undefined || raw === '') {
    return undefined;
  }
  if (Array.isArray(raw)) {
    const fix =
      code === INVALID_PAGING ? 'Pass it once.' : `Join the clauses with | in a single ${name} parameter.`;
    throw badRequest(code, `${name} was given ${raw.length} times. ${fix}`);
  }
  if (typeof raw !== 'string') {
    throw badRequest(code, `${name} must be a single string like ${example}.`);
  }
  return raw;
}

function splitClauses(name: string, text: string): string[] {
  const clauses = text.split('|');
  clauses.forEach((clause, index) => {
    if (clause === '') {
      throw badRequest(
        MALFORMED_QUERY,
        `${name} clause ${index + 1} is empty. Remove the extra | or write a clause between the bars.`,
      );
    }
  });
  return clauses;
}

/** Parses a `filter` parameter into clauses with typed values, or throws a 400 ApiError naming the clause. */
export function parseFilter(raw: unknown, spec: FilterSpec): FilterClause[] {
  const text = singleParameter('filter', raw, MALFORMED_QUERY, 'FIELD:OPERATOR:VALUE');
  if (text === undefined) {
    return [];
  }
  return splitClauses('filter', text).map((clause, index) =>
    parseFilterClause(clause, `filter clause ${index + 1} ${quote(clause, 100)}`, spec),
  );
}

function parseFilterClause(clause: string, label: string, spec: FilterSpec): FilterClause {
  const first = clause.indexOf(':');
  const second = first < 0 ? -1 : clause.indexOf(':', first + 1);
  const field = first < 0 ? clause : clause.slice(0, first);
  if (first <= 0) {
    throw badRequest(MALFORMED_QUERY, `${label} is not FIELD:OPERATOR:VALUE. Write it like id:eq:42.`);
  }
  const operator = second < 0 ? clause.slice(first + 1) : clause.slice(first + 1, second);
  const value = second < 0 ? '' : clause.slice(second + 1);
  if (operator === '' || value === '') {
    const missing = operator === '' ? 'operator' : 'value';
    throw badRequest(MALFORMED_QUERY, `${label} has no ${missing}. Write it as FIELD:OPERATOR:VALUE.`);
  }

  const fieldSpec = spec.fields.get(field);
  if (fieldSpec === undefined) {
    const known = [...spec.fields.keys()].join(', ');
    throw badRequest(MALFORMED_QUERY, `${label} names unknown field ${quote(field)}. Use one of: ${known}.`);
  }
  if ('unsupported' in fieldSpec) {
    throw badRequest(MALFORMED_QUERY, `${label} cannot be applied: ${fieldSpec.unsupported}`);
  }
  const allowed = fieldSpec.operators as readonly string[];
  if (!allowed.includes(operator)) {
    const fix = `Use ${allowed.join(' or ')}.`;
    throw badRequest(
      MALFORMED_QUERY,
      `${label} uses operator ${quote(operator)}, which ${field} does not support. ${fix}`,
    );
  }
  return {
    field,
    operator: operator as FilterOperator,
    value: parseFilterValue(value, fieldSpec.value, `${label} has value ${quote(value)} for ${field}`),
  };
}

const CANONICAL_INTEGER = /^(0|-?[1-9][0-9]*)$/;
const ISO_DATE = /^([0-9]{4})-([0-9]{2})-([0-9]{2})$/;
const CONTROL_CHARACTERS = /[\u0000-\u001f\u007f]/;

function parseFilterValue(value: string, spec: FilterValueSpec, label: string): FilterValue {
  switch (spec.type) {
    case 'text':
      if (CONTROL_CHARACTERS.test(value)) {
        throw badRequest(INVALID_VALUE, `${label}, which contains control characters. Remove them.`);
      }
      if (spec.allowed && !spec.allowed.pattern.test(value)) {
        throw badRequest(INVALID_VALUE, `${label}, which may only contain ${spec.allowed.description}.`);
      }
      return { type: 'text', text: value };
    case 'integer': {
      if (!CANONICAL_INTEGER.test(value)) {
        throw badRequest(
          NOT_A_NUMBER,
          `${label}, which is not a decimal integer. Write an integer from ${spec.min} to ${spec.max} ` +
            'in plain digits, with - for a negative number and no leading zeros.',
        );
      }
      const integer = BigInt(value);
      if (integer < spec.min || integer > spec.max) {
        throw badRequest(OUT_OF_RANGE, `${label}, which is outside the range ${spec.min} to ${spec.max}.`);
      }
      return { type: 'integer', integer };
    }
    case 'enum':
      if (!spec.values.includes(value)) {
        throw badRequest(INVALID_VALUE, `${label}, which must be one of: ${spec.values.join(', ')}.`);
      }
      return { type: 'enum', text: value };
    case 'boolean':
      if (value !== spec.trueText && value !== spec.falseText) {
        throw badRequest(INVALID_BOOLEAN, `${label}, which must be ${spec.trueText} or ${spec.falseText}.`);
      }
      return { type: 'boolean', boolean: value === spec.trueText };
    case 'date': {
      const date = parseCalendarDate(value);
      if (date === undefined) {
        throw badRequest(
          INVALID_VALUE,
          `${label}, which is not a calendar date. Write yyyy-MM-dd, such as 2024-02-29.`,
        );
      }
      return { type: 'date', date };
    }
  }
}

function isLeapYear(year: number): boolean {
  return (year % 4 === 0 && year % 100 !== 0) || year % 400 === 0;
}

function daysInMonth(year: number, month: number): number {
  if (month === 2) {
    return isLeapYear(year) ? 29 : 28;
  }
  return [4, 6, 9, 11].includes(month) ? 30 : 31;
}

/** Reads a proleptic Gregorian `yyyy-MM-dd` from 0001 to 9999, because PostgreSQL has no year 0. */
export function parseCalendarDate(text: string): CalendarDate | undefined {
  const match = ISO_DATE.exec(text);
  if (!match) {
    return undefined;
  }
  const [year, month, day] = [Number(match[1]), Number(match[2]), Number(match[3])];
  if (year < 1 || month < 1 || month > 12 || day < 1 || day > daysInMonth(year, month)) {
    return undefined;
  }
  return { year, month, day };
}

export function nextCalendarDay({ year, month, day }: CalendarDate): CalendarDate {
  if (day < daysInMonth(year, month)) {
    return { year, month, day: day + 1 };
  }
  return month < 12 ? { year, month: month + 1, day: 1 } : { year: year + 1, month: 1, day: 1 };
}

/** Parses a `sort` parameter, or throws a 400 ApiError for an unknown field or direction, or a repeat. */
export function parseSort(raw: unknown, spec: SortSpec): SortClause[] {
  const text = singleParameter('sort', raw, MALFORMED_QUERY, 'FIELD:asc');
  if (text === undefined) {
    return [];
  }
  const seen = new Set<string>();
  return splitClauses('sort', text).map((clause, index) => {
    const label = `sort clause ${index + 1} ${quote(clause, 100)}`;
    const colon = clause.indexOf(':');
    const field = colon < 0 ? clause : clause.slice(0, colon);
    if (!spec.fields.has(field)) {
      const known = [...spec.fields.keys()].join(', ');
      throw badRequest(
        MALFORMED_QUERY,
        `${label} names unknown field ${quote(field)}. Use one of: ${known}.`,
      );
    }
    if (colon < 0) {
      throw badRequest(MALFORMED_QUERY, `${label} has no direction. Write ${field}:asc or ${field}:desc.`);
    }
    const direction = clause.slice(colon + 1);
    if (!(SORT_DIRECTIONS as readonly string[]).includes(direction)) {
      throw badRequest(
        MALFORMED_QUERY,
        `${label} has unknown direction ${quote(direction)}. Use asc or desc.`,
      );
    }
    if (seen.has(field)) {
      throw badRequest(MALFORMED_QUERY, `${label} repeats field ${field}. Sort by each field once.`);
    }
    seen.add(field);
    return { field, direction: direction as SortDirection };
  });
}

const CANONICAL_NATURAL = /^(0|[1-9][0-9]*)$/;

function parsePagingParameter(
  name: string,
  raw: unknown,
  fallback: number,
  min: number,
  max: number,
): number {
  const rule = `${name} must be an integer from ${min} to ${max}`;
  if (typeof raw === 'number') {
    if (!Number.isInteger(raw) || raw < min || raw > max) {
      throw badRequest(INVALID_PAGING, `${rule}, got ${raw}.`);
    }
    return raw;
  }
  const text = singleParameter(name, raw, INVALID_PAGING, String(fallback));
  if (text === undefined) {
    return fallback;
  }
  if (!CANONICAL_NATURAL.test(text) || BigInt(text) < BigInt(min) || BigInt(text) > BigInt(max)) {
    throw badRequest(INVALID_PAGING, `${rule}, got ${quote(text)}.`);
  }
  return Number(text);
}

/** Parses `offset` (default 0) and `limit` (default and maximum 500), or throws a 400 ApiError -80024. */
export function parsePaging(offset: unknown, limit: unknown): Paging {
  return {
    offset: parsePagingParameter('offset', offset, DEFAULT_OFFSET, 0, MAX_OFFSET),
    limit: parsePagingParameter('limit', limit, DEFAULT_LIMIT, 1, MAX_LIMIT),
  };
}

/** Parses all four list parameters of an Express query object. */
export function parseListQuery(query: Record<string, unknown>, spec: ListSpec): ListQuery {
  return {
    filter: parseFilter(query.filter, spec.filter),
    sort: parseSort(query.sort, spec.sort),
    paging: parsePaging(query.offset, query.limit),
  };
}
