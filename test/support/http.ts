import { parseJson } from '../../src/common/json/lossless-json';

export const TEST_TOKEN = 'test-token-0123456789abcdef0123456789';

export interface HttpResult {
  status: number;
  /** The raw response body, for byte-exact checks of int64 values. */
  text: string;
  headers: Headers;
  /** The body parsed with the lossless codec (int64 values as bigint), or undefined when empty. */
  body: Record<string, unknown>;
}

/** Sends a request to a running service; `body` is sent as given when it is a string. */
export async function request(
  baseUrl: string,
  method: string,
  path: string,
  options: { body?: unknown; token?: string | null; headers?: Record<string, string> } = {},
): Promise<HttpResult> {
  const headers: Record<string, string> = { ...options.headers };
  if (options.token !== null) {
    headers['X-Sds-Service-Token'] = options.token ?? TEST_TOKEN;
  }
  let body: string | undefined;
  if (options.body !== undefined) {
    body = typeof options.body === 'string' ? options.body : JSON.stringify(options.body);
    headers['Content-Type'] ??= 'application/json';
  }
  const response = await fetch(`${baseUrl}${path}`, { method, headers, body });
  const text = await response.text();
  return {
    status: response.status,
    text,
    headers: response.headers,
    body: text === '' ? {} : (parseJson(text) as Record<string, unknown>),
  };
}

/** Creates a customer through the API and returns its id as decimal text. */
export async function createCustomer(
  baseUrl: string,
  fields: { quotaMax: string; userMax: string; companyName?: string; isLocked?: boolean },
): Promise<string> {
  const body =
    `{"customerContractType":"pay","companyName":${JSON.stringify(fields.companyName ?? 'Test Co')},` +
    `"quotaMax":${fields.quotaMax},"userMax":${fields.userMax}` +
    (fields.isLocked === undefined ? '' : `,"isLocked":${String(fields.isLocked)}`) +
    '}';
  const result = await request(baseUrl, 'POST', '/api/v4/provisioning/customers', { body });
  if (result.status !== 201) {
    throw new Error(`creating a customer failed with ${result.status}: ${result.text}`);
  }
  return String(result.body.id);
}

/** Polls `probe` until it returns a value other than undefined, or fails after `timeoutMs`. */
export async function eventually<T>(
  probe: () => Promise<T | undefined>,
  timeoutMs = 30_000,
  what = 'condition',
): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  let last: unknown;
  for (;;) {
    try {
      const value = await probe();
      if (value !== undefined) {
        return value;
      }
    } catch (error) {
      last = error;
    }
    if (Date.now() > deadline) {
      throw new Error(
        `${what} not reached within ${timeoutMs} ms${last instanceof Error ? `: ${last.message}` : ''}`,
      );
    }
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
}
