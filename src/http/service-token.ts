import { createHash, timingSafeEqual } from 'node:crypto';

import type { ServiceToken } from '../config/app-config';

export const SERVICE_TOKEN_HEADER = 'x-sds-service-token';

function digest(value: string): Buffer {
  return createHash('sha256').update(value).digest();
}

/**
 * Finds which configured token a header carries. Every token is compared, in constant time over
 * equal-length digests, so timing reveals neither which token nor how much of it matched.
 */
export class ServiceTokenVerifier {
  private readonly tokens: { name: string; digest: Buffer }[];

  constructor(tokens: readonly ServiceToken[]) {
    this.tokens = tokens.map((token) => ({ name: token.name, digest: digest(token.secret) }));
  }

  /** Returns the name of the matching token, or undefined for a missing, empty, repeated or wrong header. */
  nameOf(header: string | string[] | undefined): string | undefined {
    const given = digest(typeof header === 'string' ? header : '');
    let matched: string | undefined;
    for (const token of this.tokens) {
      if (timingSafeEqual(given, token.digest) && typeof header === 'string' && header !== '') {
        matched = token.name;
      }
    }
    return matched;
  }
}
