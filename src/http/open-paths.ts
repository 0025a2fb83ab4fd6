/**
 * Paths served without a service token: probes, metrics and the API docs. Every other path needs a
 * token, unknown ones included. Express matches routes without regard to case or a trailing slash,
 * so this pattern does the same.
 */
const OPEN_PATH = /^\/(health\/live|health\/ready|metrics)\/?$|^\/api\/docs/i;

export function isOpenPath(path: string): boolean {
  return OPEN_PATH.test(path);
}

/**
 * Returns the whole path of the request target, still percent-encoded and without the query. Middleware
 * mounted on a wildcard gets a shortened `request.path`, so this reads `originalUrl` instead.
 */
export function requestPath(request: { originalUrl?: string; url: string }): string {
  const target = request.originalUrl ?? request.url;
  const end = target.search(/[?#]/);
  return end < 0 ? target : target.slice(0, end);
}
