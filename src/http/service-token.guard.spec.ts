import type { ExecutionContext } from '@nestjs/common';
import type { Logger } from 'pino';

import type { AppConfig } from '../config/app-config';
import { ApiError } from './api-error';
import { AuthenticatedRequest, ServiceTokenGuard } from './service-token.guard';
import { ServiceTokenVerifier } from './service-token';

const SECRET_A = 'a'.repeat(32);
const SECRET_B = 'b'.repeat(40);
const TOKENS = [
  { name: 'alpha', secret: SECRET_A },
  { name: 'beta', secret: SECRET_B },
];

function guard(warnings: unknown[][] = []): ServiceTokenGuard {
  const config = { serviceTokens: TOKENS } as unknown as AppConfig;
  const logger = { warn: (...args: unknown[]) => warnings.push(args) } as unknown as Logger;
  return new ServiceTokenGuard(config, logger);
}

function contextFor(request: Partial<AuthenticatedRequest>): ExecutionContext {
  return { switchToHttp: () => ({ getRequest: () => request }) } as unknown as ExecutionContext;
}

describe('ServiceTokenVerifier', () => {
  const verifier = new ServiceTokenVerifier(TOKENS);

  it.each([
    [SECRET_A, 'alpha'],
    [SECRET_B, 'beta'],
  ])('names the matching token', (header, name) => {
    expect(verifier.nameOf(header)).toBe(name);
  });

  it.each([
    ['missing', undefined],
    ['empty', ''],
    ['wrong', 'c'.repeat(32)],
    ['a prefix', SECRET_A.slice(0, 31)],
    ['repeated', [SECRET_A, SECRET_A]],
  ])('rejects a %s header', (_case, header) => {
    expect(verifier.nameOf(header)).toBeUndefined();
  });

  it('matches nothing without tokens', () => {
    expect(new ServiceTokenVerifier([]).nameOf('')).toBeUndefined();
  });
});

describe('ServiceTokenGuard', () => {
  it('admits a request the middleware authenticated', () => {
    expect(guard().canActivate(contextFor({ tokenName: 'alpha', headers: {} }))).toBe(true);
  });

  it('checks a request the middleware missed', () => {
    const request: Partial<AuthenticatedRequest> = { headers: { 'x-sds-service-token': SECRET_B } };

    guard().canActivate(contextFor(request));

    expect(request.tokenName).toBe('beta');
  });

  it('rejects a wrong token with 401', () => {
    const request = { headers: { 'x-sds-service-token': 'wrong' }, method: 'GET', path: '/x' };
    let thrown: unknown;
    try {
      guard().canActivate(contextFor(request));
    } catch (error) {
      thrown = error;
    }

    expect(thrown).toBeInstanceOf(ApiError);
    expect((thrown as ApiError).getStatus()).toBe(401);
    expect((thrown as ApiError).apiErrorCode).toBe(-10012);
  });

  it('logs no token value', () => {
    const warnings: unknown[][] = [];
    const request = { headers: { 'x-sds-service-token': 'wrong-secret-value' }, method: 'GET', path: '/x' };

    expect(() => guard(warnings).canActivate(contextFor(request))).toThrow(ApiError);
    expect(JSON.stringify(warnings)).not.toContain('wrong-secret-value');
  });
});
