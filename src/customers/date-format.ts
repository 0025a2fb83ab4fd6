import { badRequest } from '../http/api-error';

/** Renders a timestamp as the client asked in `X-Sds-Date-Format`. */
export type DateRenderer = (date: Date) => string | number;

export const DATE_FORMAT_HEADER = 'x-sds-date-format';
export const INVALID_DATE_FORMAT = -80910;

const iso: DateRenderer = (date) => date.toISOString();
const epoch: DateRenderer = (date) => date.getTime();

/**
 * Picks the renderer for `X-Sds-Date-Format`, matched without regard to case. `EPOCH` gives integer
 * milliseconds. `UTC`, `LOCAL`, `OFFSET`, `LEET` and a missing header give RFC 3339 UTC with
 * milliseconds, because the service keeps no client time zone. Any other value is a 400.
 */
export function dateRendererFor(header: unknown): DateRenderer {
  if (header === undefined) {
    return iso;
  }
  if (typeof header === 'string') {
    const format = header.trim().toUpperCase();
    if (format === 'EPOCH') {
      return epoch;
    }
    if (['UTC', 'LOCAL', 'OFFSET', 'LEET'].includes(format)) {
      return iso;
    }
  }
  throw badRequest(
    INVALID_DATE_FORMAT,
    `X-Sds-Date-Format must be UTC, LOCAL, OFFSET, EPOCH or LEET, got ${typeof header === 'string' ? JSON.stringify(header.slice(0, 32)) : 'a repeated header'}`,
  );
}

export const DEFAULT_DATE_RENDERER = iso;
