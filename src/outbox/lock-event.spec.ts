import { causationIdOf, serializeLockEvent } from './lock-event';

describe('serializeLockEvent', () => {
  const facts = {
    eventId: '3f1c0a52-7d1e-4e1a-9f57-2b8f3c9d1e10',
    type: 'CustomerLocked' as const,
    customerId: 9007199254740993n,
    lockReasons: ['ADMIN', 'QUOTA_EXCEEDED'] as const,
    reason: 'QUOTA_EXCEEDED' as const,
    quotaUsed: 9223372036854775807n,
    quotaMax: 1048576n,
    userUsed: 0n,
    userMax: -1n,
    lockVersion: 7n,
    causationId: '/storage#e-1',
    actor: 'system',
    occurredAt: '2026-12-04T10:00:00.123Z',
  };

  it('writes int64 values with exact digits', () => {
    const sut = serializeLockEvent(facts, '/quota-lock-service');

    expect(sut).toContain('"customerId":9007199254740993');
    expect(sut).toContain('"quotaUsed":9223372036854775807');
    expect(sut).toContain('"subject":"9007199254740993"');
  });

  it('sets time equal to occurredAt', () => {
    const sut = JSON.parse(serializeLockEvent(facts, '/quota-lock-service')) as {
      time: string;
      data: { occurredAt: string; isLocked: boolean };
    };

    expect(sut.time).toBe('2026-12-04T10:00:00.123Z');
    expect(sut.data.occurredAt).toBe(sut.time);
    expect(sut.data.isLocked).toBe(true);
  });

  it('omits reason for a deleted customer', () => {
    const sut = serializeLockEvent(
      { ...facts, type: 'CustomerDeleted', reason: null, lockReasons: [] },
      '/q',
    );

    expect(sut).not.toContain('"reason"');
    expect(sut).toContain('"isLocked":false');
  });
});

describe('causationIdOf', () => {
  it('joins source and id with a hash', () => {
    expect(causationIdOf('/storage', 'e-1')).toBe('/storage#e-1');
  });

  it('escapes percent and hash in each part', () => {
    expect(causationIdOf('/a#b%c', 'id#1%')).toBe('/a%23b%25c#id%231%25');
  });
});
