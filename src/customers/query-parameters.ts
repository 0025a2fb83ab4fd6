import { badRequest } from '../http/api-error';

/**
 * Rejects query parameters a route does not read, so a client that believes it filtered or sorted
 * (`filter` on the users list, say) gets a 400 instead of an unfiltered response.
 */
export function rejectUnknownQueryParameters(
  query: Record<string, unknown>,
  allowed: readonly string[],
): void {
  const unknown = Object.keys(query).find((name) => !allowed.includes(name));
  if (unknown !== undefined) {
    const accepted = allowed.length > 0 ? allowed.join(', ') : 'none';
    throw badRequest(
      -80000,
      `query parameter ${JSON.stringify(unknown.slice(0, 64))} is not supported here; accepted: ${accepted}`,
    );
  }
}
