import { Injectable } from '@nestjs/common';
import { createHash } from 'node:crypto';
import { PoolClient } from 'pg';

import { stringifyJson } from '../common/json/lossless-json';
import { DatabaseService } from '../database/database.service';
import { ApiError, badRequest } from '../http/api-error';

export const IDEMPOTENCY_HEADER = 'idempotency-key';
/** How long a key replays its first response. */
export const IDEMPOTENCY_WINDOW_MS = 24 * 3_600_000;
export const IDEMPOTENCY_KEY_REUSED = -80920;
export const INVALID_IDEMPOTENCY_KEY = -80921;

const KEY_PATTERN = /^[\x21-\x7e]{1,255}$/;

export type IdempotentResult =
  { replayed: false; customerId: bigint } | { replayed: true; body: string | null; customerId: bigint };

/** Validates the optional `Idempotency-Key` header: 1 to 255 printable ASCII characters. */
export function parseIdempotencyKey(header: unknown): string | null {
  if (header === undefined) {
    return null;
  }
  if (typeof header !== 'string' || !KEY_PATTERN.test(header)) {
    throw badRequest(INVALID_IDEMPOTENCY_KEY, 'Idempotency-Key must be 1 to 255 printable ASCII characters');
  }
  return header;
}

/**
 * Hash of the validated request in canonical form, so formatting, key order and an integer sent as
 * a number or as a decimal string do not matter.
 */
export function requestHash(body: unknown): Buffer {
  const canonical = (value: unknown): unknown => {
    if (Array.isArray(value)) {
      return value.map(canonical);
    }
    if (value && typeof value === 'object') {
      return Object.fromEntries(
        Object.keys(value)
          .sort()
          .map((key) => [key, canonical((value as Record<string, unknown>)[key])]),
      );
    }
    return value;
  };
  return createHash('sha256')
    .update(stringifyJson(canonical(body) ?? null))
    .digest();
}

/**
 * Makes customer creation idempotent per service token. The same key with the same body within
 * 24 hours returns the first response again, and the same key with another body is a 409.
 */
@Injectable()
export class IdempotencyService {
  constructor(private readonly database: DatabaseService) {}

  async run(
    tokenName: string,
    key: string,
    hash: Buffer,
    create: (client: PoolClient) => Promise<bigint>,
  ): Promise<IdempotentResult> {
    return this.database.transaction(async (client) => {
      // A concurrent request with the same key waits here until the first one commits or rolls back.
      const claimed = await client.query(
        `INSERT INTO idempotency_key (token_name, key, request_hash) VALUES ($1, $2, $3)
         ON CONFLICT (token_name, key) DO UPDATE
           SET request_hash = EXCLUDED.request_hash, customer_id = NULL, response_body = NULL,
               created_at = clock_timestamp()
           WHERE idempotency_key.created_at < clock_timestamp() - make_interval(secs => $4::double precision / 1000)
         RETURNING 1`,
        [tokenName, key, hash, IDEMPOTENCY_WINDOW_MS],
      );
      if ((claimed.rowCount ?? 0) === 0) {
        return this.replay(client, tokenName, key, hash);
      }
      const customerId = await create(client);
      await client.query('UPDATE idempotency_key SET customer_id = $3 WHERE token_name = $1 AND key = $2', [
        tokenName,
        key,
        customerId.toString(),
      ]);
      return { replayed: false, customerId };
    });
  }

  /** Keeps the rendered 201 body, so a replay returns exactly what the first request got. */
  async storeResponse(tokenName: string, key: string, body: string): Promise<void> {
    await this.database.pool.query(
      'UPDATE idempotency_key SET response_body = $3 WHERE token_name = $1 AND key = $2',
      [tokenName, key, body],
    );
  }

  private async replay(
    client: PoolClient,
    tokenName: string,
    key: string,
    hash: Buffer,
  ): Promise<IdempotentResult> {
    const stored = await client.query<{
      request_hash: Buffer;
      customer_id: string | null;
      response_body: string | null;
    }>(
      'SELECT request_hash, customer_id, response_body FROM idempotency_key WHERE token_name = $1 AND key = $2',
      [tokenName, key],
    );
    const row = stored.rows[0];
    if (!row.request_hash.equals(hash)) {
      throw new ApiError(
        409,
        IDEMPOTENCY_KEY_REUSED,
        'Idempotency-Key was already used with another request body; use a new key',
      );
    }
    if (row.customer_id === null) {
      throw new ApiError(
        409,
        IDEMPOTENCY_KEY_REUSED,
        'a request with this Idempotency-Key is still being processed; retry later',
      );
    }
    return { replayed: true, body: row.response_body, customerId: BigInt(row.customer_id) };
  }
}
