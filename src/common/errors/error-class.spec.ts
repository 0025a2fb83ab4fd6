import { DatabaseError } from 'pg';

import { classifyError } from './error-class';

function databaseError(code: string): DatabaseError {
  const error = new DatabaseError('failed', 0, 'error');
  error.code = code;
  return error;
}

describe('classifyError', () => {
  it.each(['08006', '57P01', '57P03', '25P03'])('treats SQLSTATE %s as availability', (code) => {
    expect(classifyError(databaseError(code))).toBe('availability');
  });

  it.each(['40001', '40P01', '55P03', '57014'])('treats SQLSTATE %s as contention', (code) => {
    expect(classifyError(databaseError(code))).toBe('contention');
  });

  it.each(['23514', '22003', '42P01'])('treats SQLSTATE %s as other', (code) => {
    expect(classifyError(databaseError(code))).toBe('other');
  });

  it('follows a wrapped driver error', () => {
    const wrapped = Object.assign(new Error('query failed'), { driverError: databaseError('40P01') });

    expect(classifyError(wrapped)).toBe('contention');
  });

  it('treats refused connections as availability', () => {
    const refused = Object.assign(new Error('connect ECONNREFUSED 127.0.0.1:5432'), { code: 'ECONNREFUSED' });

    expect(classifyError(refused)).toBe('availability');
  });

  it('treats retriable kafkajs errors as availability', () => {
    const kafkaError = Object.assign(new Error('broker not available'), {
      name: 'KafkaJSConnectionError',
      retriable: true,
    });

    expect(classifyError(kafkaError)).toBe('availability');
  });

  it('treats programming errors as other', () => {
    expect(classifyError(new TypeError('undefined is not a function'))).toBe('other');
  });
});
