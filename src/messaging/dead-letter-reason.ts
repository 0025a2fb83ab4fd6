/**
 * Codes written with every dead-lettered message, in the order the decoder checks them:
 * size, JSON, CloudEvents envelope, event type for the topic, source, message key, data schema.
 * CUSTOMER_NOT_FOUND, OUT_OF_RANGE and PROCESSING_FAILED come from applying a decoded event.
 */
export const DEAD_LETTER_REASONS = [
  'TOO_LARGE',
  'INVALID_JSON',
  'INVALID_EVENT',
  'UNKNOWN_TYPE',
  'SOURCE_NOT_ALLOWED',
  'KEY_MISMATCH',
  'INVALID_DATA',
  'CUSTOMER_NOT_FOUND',
  'OUT_OF_RANGE',
  'PROCESSING_FAILED',
] as const;

export type DeadLetterReason = (typeof DEAD_LETTER_REASONS)[number];
