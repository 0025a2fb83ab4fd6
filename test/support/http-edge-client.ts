import { request as httpRequest } from 'node:http';

import { parseJson } from '../../src/common/json/lossless-json';

export interface RawResult {
  status: number;
  headers: Record<string, string | string[] | undefined>;
  /** The raw body, for byte-exact checks. */
  text: string;
  /** The body parsed with the lossless codec (int64 values as bigint), or undefined when not JSON. */
  body: Record<string, unknown> | undefined;
}

/**
 * Sends exactly the given headers over node:http. Unlike fetch, it adds no Accept header and no
 * Content-Type for a body, so tests can leave either out. Fails after `timeoutMs`.
 */
export function rawRequest(
  baseUrl: string,
  method: string,
  path: string,
  options: { headers?: Record<string, string>; body?: string | Buffer; timeoutMs?: number } = {},
): Promise<RawResult> {
  const url = new URL(baseUrl);
  return new Promise((resolve, reject) => {
    const outgoing = httpRequest(
      {
        host: url.hostname,
        port: url.port,
        method,
        path,
        headers: options.headers ?? {},
        timeout: options.timeoutMs ?? 10_000,
      },
      (response) => {
        const chunks: Buffer[] = [];
        response.on('data', (chunk: Buffer) => chunks.push(chunk));
        response.on('error', reject);
        response.on('end', () => {
          const text = Buffer.concat(chunks).toString('utf8');
          let body: Record<string, unknown> | undefined;
          try {
            body = parseJson(text) as Record<string, unknown>;
          } catch {
            body = undefined;
          }
          resolve({ status: response.statusCode ?? 0, headers: response.headers, text, body });
        });
      },
    );
    outgoing.on('timeout', () => outgoing.destroy(new Error(`${method} ${path} got no answer in time`)));
    outgoing.on('error', reject);
    outgoing.end(options.body);
  });
}
