/**
 * Turns parsed list clauses into PostgreSQL fragments for node-postgres.
 *
 * Every request value becomes a `$n` parameter, so the SQL text depends only on the fields and
 * operators used. Column expressions come from the spec, never from the request.
 */
import {
  type FilterClause,
  type FilterSpec,
  type FilterValue,
  type ListQuery,
  type ListSpec,
  nextCalendarDay,
  type CalendarDate,
  type Paging,
  type SortClause,
  type SortSpec,
  type SupportedFilterField,
} from './list-query';

/** A piece of SQL with its parameter values. `nextIndex` is the first `$n` left for a following fragment. */
export interface SqlFragment {
  sql: string;
  values: string[];
  nextIndex: number;
}

export interface ListSql {
  /** Conditions for `WHERE`, or `TRUE` without filter clauses. Usable alone for a count query. */
  where: SqlFragment;
  /** Expressions for `ORDER BY`, ending with the tie-breaker. It has no parameters. */
  orderBy: string;
  /** `LIMIT $n OFFSET $m`, numbered after the `where` parameters. */
  paging: SqlFragment;
}

function checkIndex(firstIndex: number): void {
  if (!Number.isInteger(firstIndex) || firstIndex < 1) {
    throw new Error(`the first parameter index must be an integer of at least 1, got ${firstIndex}`);
  }
}

function escapeLike(text: string): string {
  return text.replace(/[\\%_]/g, (character) => `\\${character}`);
}

function dateParameter({ year, month, day }: CalendarDate): string {
  const pad = (value: number, width: number): string => String(value).padStart(width, '0');
  return `${pad(year, 4)}-${pad(month, 2)}-${pad(day, 2)}T00:00:00Z`;
}

// Text and enum parameters take the column's type, but integers and booleans need a cast from text.
function castOf(value: FilterValue): string {
  if (value.type === 'integer') {
    return '::bigint';
  }
  return value.type === 'boolean' ? '::boolean' : '';
}

/** Returns the parameter text for a value. `comparison` formats dates itself because `le` moves them. */
function valueParameter(value: FilterValue): string {
  switch (value.type) {
    case 'text':
    case 'enum':
      return value.text;
    case 'integer':
      return value.integer.toString();
    case 'boolean':
      return value.boolean ? 'true' : 'false';
    case 'date':
      return dateParameter(value.date);
  }
}

/** Builds `column OP $n` and its parameter. `nex` compares like `eq`, and buildWhere negates the EXISTS. */
function comparison(
  clause: FilterClause,
  field: SupportedFilterField,
  placeholder: string,
): { sql: string; value: string } {
  const column = field.column;
  const value = clause.value;
  const ignoreCase = field.value.type === 'text' && field.value.ignoreCase === true;
  const cast = castOf(value);

  switch (clause.operator) {
    case 'eq':
    case 'nex':
    case 'neq': {
      const operator = clause.operator === 'neq' ? 'IS DISTINCT FROM' : '=';
      if (ignoreCase) {
        const lower = field.lowerColumn ?? `lower(${column})`;
        return { sql: `${lower} ${operator} lower(${placeholder})`, value: valueParameter(value) };
      }
      const left = value.type === 'boolean' ? `(${column})` : column;
      return { sql: `${left} ${operator} ${placeholder}${cast}`, value: valueParameter(value) };
    }
    case 'cn':
    case 'sw': {
      const escaped = escapeLike(valueParameter(value));
      const pattern = clause.operator === 'cn' ? `%${escaped}%` : `${escaped}%`;
      return { sql: `${column} ILIKE ${placeholder} ESCAPE '\\'`, value: pattern };
    }
    case 'ge':
      if (value.type === 'date') {
        return { sql: `${column} >= ${placeholder}::timestamptz`, value: dateParameter(value.date) };
      }
      return { sql: `${column} >= ${placeholder}${cast}`, value: valueParameter(value) };
    case 'le':
      // A day as upper bound includes the whole day, so the comparison is "before the next midnight".
      if (value.type === 'date') {
        return {
          sql: `${column} < ${placeholder}::timestamptz`,
          value: dateParameter(nextCalendarDay(value.date)),
        };
      }
      return { sql: `${column} <= ${placeholder}${cast}`, value: valueParameter(value) };
  }
}

/** Builds the AND of all clauses with parameters from `$firstIndex`. Throws for a clause of another spec. */
export function buildWhere(clauses: readonly FilterClause[], spec: FilterSpec, firstIndex = 1): SqlFragment {
  checkIndex(firstIndex);
  if (clauses.length === 0) {
    return { sql: 'TRUE', values: [], nextIndex: firstIndex };
  }
  const values: string[] = [];
  const conditions = clauses.map((clause) => {
    const field = spec.fields.get(clause.field);
    if (field === undefined || 'unsupported' in field || !field.operators.includes(clause.operator)) {
      throw new Error(`filter clause ${clause.field}:${clause.operator} was not parsed with this spec`);
    }
    const built = comparison(clause, field, `$${firstIndex + values.length}`);
    values.push(built.value);
    if (field.existsIn === undefined) {
      return `(${built.sql})`;
    }
    const exists = clause.operator === 'nex' ? 'NOT EXISTS' : 'EXISTS';
    return `${exists} (${field.existsIn} AND ${built.sql})`;
  });
  return { sql: conditions.join(' AND '), values, nextIndex: firstIndex + values.length };
}

/** Builds the ORDER BY list, NULLs last for asc and first for desc, ending with the spec's tie-breaker. */
export function buildOrderBy(clauses: readonly SortClause[], spec: SortSpec): string {
  const terms = clauses.map((clause) => {
    const expression = spec.fields.get(clause.field);
    if (expression === undefined) {
      throw new Error(`sort field ${clause.field} was not parsed with this spec`);
    }
    return clause.direction === 'asc' ? `${expression} ASC NULLS LAST` : `${expression} DESC NULLS FIRST`;
  });
  return [...terms, `${spec.tieBreaker} ASC`].join(', ');
}

export function buildPaging(paging: Paging, firstIndex = 1): SqlFragment {
  checkIndex(firstIndex);
  return {
    sql: `LIMIT $${firstIndex} OFFSET $${firstIndex + 1}`,
    values: [String(paging.limit), String(paging.offset)],
    nextIndex: firstIndex + 2,
  };
}

/** Builds WHERE, ORDER BY and paging fragments whose parameters start at `firstIndex`. */
export function buildListSql(query: ListQuery, spec: ListSpec, firstIndex = 1): ListSql {
  const where = buildWhere(query.filter, spec.filter, firstIndex);
  return {
    where,
    orderBy: buildOrderBy(query.sort, spec.sort),
    paging: buildPaging(query.paging, where.nextIndex),
  };
}
