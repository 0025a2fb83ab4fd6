import { RepeatLimiter } from './repeat-limiter';

describe('RepeatLimiter', () => {
  let now: number;
  const clock = (): number => now;

  beforeEach(() => {
    now = 0;
  });

  it('lets the first line through', () => {
    const sut = new RepeatLimiter(10_000, 10, clock);

    expect(sut.admit('broker down')).toBe(0);
  });

  it('suppresses repeats inside the window', () => {
    const sut = new RepeatLimiter(10_000, 10, clock);
    sut.admit('broker down');
    now = 9_999;

    expect(sut.admit('broker down')).toBeNull();
    expect(sut.admit('broker down')).toBeNull();
  });

  it('reports the suppressed count after the window', () => {
    const sut = new RepeatLimiter(10_000, 10, clock);
    sut.admit('broker down');
    sut.admit('broker down');
    sut.admit('broker down');
    now = 10_000;

    expect(sut.admit('broker down')).toBe(2);
    now = 20_000;
    expect(sut.admit('broker down')).toBe(0);
  });

  it('keeps other lines apart', () => {
    const sut = new RepeatLimiter(10_000, 10, clock);
    sut.admit('broker down');

    expect(sut.admit('coordinator loading')).toBe(0);
  });

  it('forgets the oldest key at the limit', () => {
    const sut = new RepeatLimiter(10_000, 2, clock);
    sut.admit('a');
    sut.admit('b');
    sut.admit('c');

    expect(sut.admit('a')).toBe(0);
    expect(sut.admit('c')).toBeNull();
  });
});
