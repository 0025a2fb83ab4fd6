import { createServer } from 'node:net';

import { parseJson } from '../../src/common/json/lossless-json';
import { CustomerSpec } from './workload';

export const sleep = (ms: number): Promise<void> => new Promise((done) => setTimeout(done, ms));

/** Returns a free loopback port that is not in `taken`, and adds it there. */
export async function freePort(taken: Set<number>): Promise<number> {
  for (;;) {
    const port = await new Promise<number>((done, fail) => {
      const server = createServer();
      server.once('error', fail);
      server.listen(0, '127.0.0.1', () => {
        const address = server.address();
        server.close(() => done(typeof address === 'object' && address !== null ? address.port : 0));
      });
    });
    if (port !== 0 && !taken.has(port)) {
      taken.add(port);
      return port;
    }
  }
}

/**
 * Creates the customers over the REST API one after another, so that in a new database the i-th
 * spec always gets the i-th id and a seed fixes the whole workload, ids included.
 */
export async function createCustomers(
  port: number,
  token: string,
  label: string,
  specs: readonly CustomerSpec[],
): Promise<Map<bigint, CustomerSpec>> {
  const created = new Map<bigint, CustomerSpec>();
  for (const [index, spec] of specs.entries()) {
    const body =
      `{"customerContractType":"pay","companyName":"${label} customer ${index}",` +
      `"quotaMax":${spec.quotaMax},"userMax":${spec.userMax}}`;
    const response = await fetch(`http://127.0.0.1:${port}/api/v4/provisioning/customers`, {
      method: 'POST',
      headers: { 'Content-Type': 'application/json', 'X-Sds-Service-Token': token },
      body,
      signal: AbortSignal.timeout(30_000),
    });
    const text = await response.text();
    if (response.status !== 201) {
      throw new Error(`creating customer ${index} failed with ${response.status}: ${text}`);
    }
    const { id } = parseJson(text) as { id: bigint };
    created.set(BigInt(id), spec);
  }
  return created;
}
