import { ValueTransformer } from 'typeorm';

/** Maps PostgreSQL bigint, which node-postgres returns as text, to and from `bigint`. */
export const bigintTransformer: ValueTransformer = {
  to: (value: bigint | null | undefined) =>
    value === null || value === undefined ? value : value.toString(),
  from: (value: string | null) => (value === null ? null : BigInt(value)),
};
