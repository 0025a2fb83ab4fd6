import { isOpenPath, requestPath } from './open-paths';

describe('isOpenPath', () => {
  it.each([
    '/health/live',
    '/health/ready',
    '/metrics',
    '/metrics/',
    '/HEALTH/Live',
    '/api/docs',
    '/api/docs-json',
  ])('%s is open', (path) => {
    expect(isOpenPath(path)).toBe(true);
  });

  it.each([
    '/',
    '/api/v4/provisioning/customers',
    '/health',
    '/health/live/x',
    '/metrics2',
    '/x/metrics',
    '/api/v4/provisioning/metrics',
  ])('%s needs a token', (path) => {
    expect(isOpenPath(path)).toBe(false);
  });
});

describe('requestPath', () => {
  it('drops the query', () => {
    expect(requestPath({ originalUrl: '/metrics?x=1', url: '/' })).toBe('/metrics');
  });

  it('prefers originalUrl over url', () => {
    expect(requestPath({ originalUrl: '/health/live', url: '/' })).toBe('/health/live');
  });

  it('keeps percent-encoding', () => {
    expect(requestPath({ url: '/a/%E0%A4%A' })).toBe('/a/%E0%A4%A');
  });
});
