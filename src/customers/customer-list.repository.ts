import { Injectable } from '@nestjs/common';

import { DatabaseService } from '../database/database.service';
import type { Customer } from './customer.entity';
import { CustomerRow, toCustomer } from './customer-row';
import { CUSTOMER_ATTRIBUTE_LIST, CUSTOMER_LIST } from './list-query-specs';
import { buildListSql } from './list-query-sql';
import { Paging, parseListQuery } from './list-query';

export interface CustomerPage {
  items: Customer[];
  paging: Paging;
  total: number;
}

export interface AttributePage {
  items: { key: string; value: string }[];
  paging: Paging;
  total: number;
}

/** The filtered, sorted and paged lists of customers and of one customer's attributes. */
@Injectable()
export class CustomerListRepository {
  constructor(private readonly database: DatabaseService) {}

  /** Customers matching DRACOON's `filter`, in `sort` order, with attributes when asked. */
  async customers(query: Record<string, unknown>, withAttributes: boolean): Promise<CustomerPage> {
    const parsed = parseListQuery(query, CUSTOMER_LIST);
    const sql = buildListSql(parsed, CUSTOMER_LIST);
    const [rows, count] = await Promise.all([
      this.database.pool.query<CustomerRow>(
        `SELECT customer.* FROM customer WHERE ${sql.where.sql} ORDER BY ${sql.orderBy} ${sql.paging.sql}`,
        [...sql.where.values, ...sql.paging.values],
      ),
      this.database.pool.query<{ total: string }>(
        `SELECT count(*) AS total FROM customer WHERE ${sql.where.sql}`,
        sql.where.values,
      ),
    ]);
    const attributes = withAttributes
      ? await this.attributesOf(rows.rows.map((row) => row.id))
      : new Map<string, { key: string; value: string }[]>();
    return {
      items: rows.rows.map((row) => toCustomer(row, attributes.get(row.id) ?? [])),
      paging: parsed.paging,
      total: Number(count.rows[0].total),
    };
  }

  /** Lists one customer's attributes; filters on key and value ignore case. */
  async attributes(customerId: bigint, query: Record<string, unknown>): Promise<AttributePage> {
    const parsed = parseListQuery(query, CUSTOMER_ATTRIBUTE_LIST);
    const sql = buildListSql(parsed, CUSTOMER_ATTRIBUTE_LIST, 2);
    const [rows, count] = await Promise.all([
      this.database.pool.query<{ key: string; value: string }>(
        `SELECT key, value FROM customer_attribute
         WHERE customer_attribute.customer_id = $1 AND ${sql.where.sql}
         ORDER BY ${sql.orderBy} ${sql.paging.sql}`,
        [customerId.toString(), ...sql.where.values, ...sql.paging.values],
      ),
      this.database.pool.query<{ total: string }>(
        `SELECT count(*) AS total FROM customer_attribute
         WHERE customer_attribute.customer_id = $1 AND ${sql.where.sql}`,
        [customerId.toString(), ...sql.where.values],
      ),
    ]);
    return { items: rows.rows, paging: parsed.paging, total: Number(count.rows[0].total) };
  }

  private async attributesOf(ids: string[]): Promise<Map<string, { key: string; value: string }[]>> {
    const byCustomer = new Map<string, { key: string; value: string }[]>();
    if (ids.length === 0) {
      return byCustomer;
    }
    const rows = await this.database.pool.query<{ customer_id: string; key: string; value: string }>(
      `SELECT customer_id, key, value FROM customer_attribute
       WHERE customer_id = ANY($1::bigint[]) ORDER BY customer_id, key_lower`,
      [ids],
    );
    for (const row of rows.rows) {
      const list = byCustomer.get(row.customer_id) ?? [];
      list.push({ key: row.key, value: row.value });
      byCustomer.set(row.customer_id, list);
    }
    return byCustomer;
  }
}
