import { DatabaseError } from 'pg';

/**
 * Failure class, which decides the handling. An `availability` failure is retried for ever with
 * capped backoff, `contention` is retried in a fresh transaction, and `other` is isolated to the one
 * message that causes it.
 */
export type ErrorClass = 'availability' | 'contention' | 'other';

const AVAILABILITY_SQLSTATES = new Set(['57P01', '57P02', '57P03', '25P03', '53300', '3D000']);
// 57014 is a statement cancelled by statement_timeout: a slow database, not a bad message.
const CONTENTION_SQLSTATES = new Set(['40001', '40P01', '55P03', '57014']);
const NETWORK_CODES = new Set([
  'ECONNREFUSED',
  'ECONNRESET',
  'EPIPE',
  'ETIMEDOUT',
  'EHOSTUNREACH',
  'ENOTFOUND',
]);
const NETWORK_MESSAGES = [
  'Connection terminated',
  'connection terminated',
  'Client has encountered a connection error',
  'timeout exceeded when trying to connect',
  'Connection is not established',
  'Cannot use a pool after calling end',
];

function causeOf(error: unknown): unknown {
  if (error && typeof error === 'object') {
    return (
      (error as { driverError?: unknown; cause?: unknown }).driverError ??
      (error as { cause?: unknown }).cause
    );
  }
  return undefined;
}

/** Classifies a database, network or Kafka error; TypeORM wraps driver errors, so causes are followed. */
export function classifyError(error: unknown): ErrorClass {
  for (let current: unknown = error, depth = 0; current && depth < 5; current = causeOf(current), depth++) {
    const code = (current as { code?: unknown }).code;
    if (typeof code === 'string') {
      if (code.startsWith('08') || AVAILABILITY_SQLSTATES.has(code) || NETWORK_CODES.has(code)) {
        return 'availability';
      }
      if (CONTENTION_SQLSTATES.has(code)) {
        return 'contention';
      }
    }
    if (current instanceof DatabaseError) {
      return 'other';
    }
    const name = (current as { name?: unknown }).name;
    const retriable = (current as { retriable?: unknown }).retriable;
    if (typeof name === 'string' && name.startsWith('KafkaJS') && retriable === true) {
      return 'availability';
    }
    const message = (current as { message?: unknown }).message;
    if (typeof message === 'string' && NETWORK_MESSAGES.some((fragment) => message.includes(fragment))) {
      return 'availability';
    }
  }
  return 'other';
}

export function errorMessage(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}
