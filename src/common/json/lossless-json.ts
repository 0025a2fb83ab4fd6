/**
 * Lossless JSON codec shared by the Kafka consumer and the HTTP layer.
 *
 * Counters and limits are signed 64-bit integers, which a JS number cannot hold above 2^53,
 * so integer literals are parsed to bigint and bigints are written back with their exact digits.
 * Both directions rely on JSON source text access (`context.source` in a reviver, `JSON.rawJSON`),
 * which Node 24 provides.
 */

/** Smallest signed 64-bit integer, -2^63. */
export const INT64_MIN = -(2n ** 63n);

/** Largest signed 64-bit integer, 2^63 - 1. */
export const INT64_MAX = 2n ** 63n - 1n;

/** Maximum nesting of arrays and objects that `parseJson` accepts when no `maxDepth` is passed. */
export const DEFAULT_MAX_JSON_DEPTH = 32;

/** Keys rejected at any depth, because merging them into an object can change its prototype. */
export const FORBIDDEN_JSON_KEYS: ReadonlySet<string> = new Set(['__proto__', 'constructor', 'prototype']);

const CANONICAL_SIGNED_INTEGER = /^(0|-?[1-9][0-9]*)$/;

/** Base class of every error that `parseJson` throws for bad input. */
export class JsonDecodeError extends Error {
  constructor(message: string, options?: ErrorOptions) {
    super(message, options);
    this.name = new.target.name;
  }
}

/** The text is not valid JSON. */
export class JsonSyntaxError extends JsonDecodeError {}

/** Arrays and objects are nested deeper than the allowed maximum. */
export class JsonDepthError extends JsonDecodeError {
  constructor(readonly maxDepth: number) {
    super(`JSON nesting is deeper than ${maxDepth} levels of arrays and objects; flatten the document`);
  }
}

/** An object key is one of `FORBIDDEN_JSON_KEYS`. */
export class JsonForbiddenKeyError extends JsonDecodeError {
  constructor(readonly key: string) {
    super(`JSON key "${key}" is not allowed at any depth; rename the field`);
  }
}

export interface ParseJsonOptions {
  /** Maximum nesting of arrays and objects, 0 for scalars only. Defaults to 32. */
  maxDepth?: number;
}

/** The `context` argument that Node 24 passes to a `JSON.parse` reviver. */
interface ReviverContext {
  /** Source text of the value, present only for primitive values. */
  source?: string;
}

/** `JSON` with the source text access methods that the TypeScript lib files do not declare yet. */
interface JsonWithSourceText {
  parse(text: string, reviver: (key: string, value: unknown, context?: ReviverContext) => unknown): unknown;
  rawJSON(text: string): unknown;
}

const nativeJson = JSON as unknown as JsonWithSourceText;

/** Returns whether `text` is a decimal integer without sign `+`, leading zeros or `-0`. */
export function isCanonicalSignedInteger(text: string): boolean {
  return CANONICAL_SIGNED_INTEGER.test(text);
}

/** Returns whether `value` lies within [INT64_MIN, INT64_MAX]. */
export function isInt64(value: bigint): boolean {
  return value >= INT64_MIN && value <= INT64_MAX;
}

/**
 * Reads a signed 64-bit integer from a bigint or a canonical decimal string.
 * Returns undefined for any other input, including JS numbers and values out of range.
 */
export function toInt64(value: unknown): bigint | undefined {
  let integer: bigint;
  if (typeof value === 'bigint') {
    integer = value;
  } else if (typeof value === 'string' && isCanonicalSignedInteger(value)) {
    integer = BigInt(value);
  } else {
    return undefined;
  }
  return isInt64(integer) ? integer : undefined;
}

/**
 * Parses JSON text, turning integer literals into bigint.
 *
 * Fractions, exponents and `-0` stay JS numbers so that a caller expecting an integer can reject them.
 * Throws JsonDepthError before parsing when nesting exceeds `maxDepth`, JsonForbiddenKeyError for a
 * key in FORBIDDEN_JSON_KEYS, and JsonSyntaxError for anything else that is not JSON.
 */
export function parseJson(text: string, options: ParseJsonOptions = {}): unknown {
  const maxDepth = options.maxDepth ?? DEFAULT_MAX_JSON_DEPTH;
  if (!Number.isSafeInteger(maxDepth) || maxDepth < 0) {
    throw new RangeError(`maxDepth must be a non-negative integer, got ${maxDepth}`);
  }
  assertDepthWithin(text, maxDepth);

  try {
    return nativeJson.parse(text, reviveLossless);
  } catch (error) {
    if (error instanceof JsonDecodeError) {
      throw error;
    }
    if (error instanceof SyntaxError) {
      // V8 messages name JSON already, for example "Unexpected end of JSON input".
      throw new JsonSyntaxError(toOneLine(error.message), { cause: error });
    }
    throw error;
  }
}

/**
 * Serializes like JSON.stringify, but writes each bigint with its exact decimal digits.
 * Throws TypeError when `value` itself has no JSON form (undefined, a function or a symbol).
 */
export function stringifyJson(value: unknown, space?: string | number): string {
  const text = JSON.stringify(value, writeBigIntExactly, space) as string | undefined;
  if (text === undefined) {
    throw new TypeError(`cannot serialize a value of type ${typeof value} as JSON; pass a JSON value`);
  }
  return text;
}

function reviveLossless(key: string, value: unknown, context?: ReviverContext): unknown {
  if (FORBIDDEN_JSON_KEYS.has(key)) {
    throw new JsonForbiddenKeyError(key);
  }
  const source = context?.source;
  if (typeof value === 'number' && source !== undefined && isCanonicalSignedInteger(source)) {
    return BigInt(source);
  }
  return value;
}

function writeBigIntExactly(_key: string, value: unknown): unknown {
  return typeof value === 'bigint' ? nativeJson.rawJSON(value.toString()) : value;
}

const QUOTE = 0x22;
const BACKSLASH = 0x5c;
const OPEN_BRACKET = 0x5b;
const CLOSE_BRACKET = 0x5d;
const OPEN_BRACE = 0x7b;
const CLOSE_BRACE = 0x7d;

/**
 * Throws JsonDepthError when brackets and braces outside strings nest deeper than `maxDepth`.
 * The scan is linear and runs before JSON.parse, so very deep input never reaches the
 * recursive reviver. Unbalanced closers are left for JSON.parse to report.
 */
function assertDepthWithin(text: string, maxDepth: number): void {
  let depth = 0;
  let inString = false;
  for (let index = 0; index < text.length; index++) {
    const code = text.charCodeAt(index);
    if (inString) {
      if (code === BACKSLASH) {
        // The escaped character cannot end the string, so skip it.
        index++;
      } else if (code === QUOTE) {
        inString = false;
      }
    } else if (code === QUOTE) {
      inString = true;
    } else if (code === OPEN_BRACKET || code === OPEN_BRACE) {
      depth++;
      if (depth > maxDepth) {
        throw new JsonDepthError(maxDepth);
      }
    } else if ((code === CLOSE_BRACKET || code === CLOSE_BRACE) && depth > 0) {
      depth--;
    }
  }
}

/** Replaces line breaks and other control characters, which V8 copies from the input into its messages. */
function toOneLine(message: string): string {
  return message.replace(/[\p{Cc}\p{Zl}\p{Zp}]/gu, ' ');
}
