import type { DeadLetterReason } from './dead-letter-reason';

/**
 * Rejection of one message, thrown inside the decoder and turned into a DecodeResult at its entry point.
 * The message is a one-line text for the dead-letter record.
 */
export class DecodeFailure extends Error {
  constructor(
    readonly reason: DeadLetterReason,
    message: string,
  ) {
    super(message);
    this.name = 'DecodeFailure';
  }
}

/** A parsed JSON object. */
export type JsonObject = Record<string, unknown>;

export function isJsonObject(value: unknown): value is JsonObject {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

const MAX_QUOTED_CHARACTERS = 64;

/**
 * Describes a parsed JSON value for an error message: scalars as JSON text, shortened to about
 * 64 characters, and arrays or objects by their kind only.
 */
export function describeValue(value: unknown): string {
  if (typeof value === 'string') {
    return quote(value);
  }
  if (typeof value === 'bigint') {
    return shortenDigits(value.toString());
  }
  if (typeof value === 'number') {
    return Object.is(value, -0) ? '-0' : String(value);
  }
  if (typeof value === 'boolean' || value === null) {
    return String(value);
  }
  if (value === undefined) {
    return 'nothing';
  }
  return Array.isArray(value) ? 'an array' : 'an object';
}

/** Quotes text as a JSON string, which escapes control characters, shortened to about 64 characters. */
export function quote(text: string): string {
  if (text.length <= MAX_QUOTED_CHARACTERS) {
    return JSON.stringify(text);
  }
  return `${JSON.stringify(text.slice(0, MAX_QUOTED_CHARACTERS))}... (${text.length} characters)`;
}

function shortenDigits(digits: string): string {
  if (digits.length <= MAX_QUOTED_CHARACTERS) {
    return digits;
  }
  return `${digits.slice(0, MAX_QUOTED_CHARACTERS)}... (${digits.length} digits)`;
}
