import { DecodeFailure, describeValue, isJsonObject, type JsonObject, quote } from './decode-failure';
import type { EventEnvelope, RawInboundMessage } from './inbound-event';
import { isRfc3339DateTime } from './rfc3339';
import { decodeUtf8Exactly } from './utf8';

type MessageHeaders = NonNullable<RawInboundMessage['headers']>;

export interface DecodedEnvelope {
  envelope: EventEnvelope;
  data: JsonObject;
}

/** Context attributes of one event before validation, and how to name them in error messages. */
interface AttributeSource {
  attributes: Map<string, unknown>;
  data: unknown;
  /** Name of an attribute as the producer wrote it: `attribute id` or `header ce_id`. */
  label: (name: string) => string;
  dataLabel: string;
}

const BINARY_MODE_HEADER = 'ce_specversion';
const ATTRIBUTE_HEADER_PREFIX = 'ce_';
const CONTENT_TYPE_HEADER = 'content-type';
const ATTRIBUTE_NAME = /^[a-z0-9]{1,20}$/;
const JSON_MEDIA_TYPE = /^[ \t]*application\/json[ \t]*(?:;.*)?$/is;
const MAX_REQUIRED_ATTRIBUTE_BYTES = 256;

/**
 * Reads and validates the CloudEvents 1.0 envelope of a message whose value parsed to `value`.
 * Binary content mode applies exactly when a ce_specversion header is present, and then the value
 * is the event data. Otherwise the value is a structured-mode event. Throws DecodeFailure with
 * INVALID_EVENT.
 */
export function readEnvelope(headers: MessageHeaders | undefined, value: unknown): DecodedEnvelope {
  const isBinaryMode = headers !== undefined && readHeader(headers, BINARY_MODE_HEADER) !== undefined;
  const source = isBinaryMode ? readBinaryMode(headers, value) : readStructuredMode(value);
  const envelope = validateAttributes(source);

  if (source.data === undefined) {
    throw invalidEvent(`${source.dataLabel} is missing; send the event data as a JSON object`);
  }
  if (!isJsonObject(source.data)) {
    throw invalidEvent(`${source.dataLabel} must be a JSON object, got ${describeValue(source.data)}`);
  }
  return { envelope, data: source.data };
}

function readStructuredMode(event: unknown): AttributeSource {
  if (!isJsonObject(event)) {
    throw invalidEvent(
      `a structured-mode message value must be a CloudEvent JSON object, got ${describeValue(event)}; ` +
        'send an object, or use binary mode with ce_ headers',
    );
  }
  const attributes = new Map<string, unknown>();
  for (const [name, attributeValue] of Object.entries(event)) {
    if (name !== 'data') {
      attributes.set(name, attributeValue);
    }
  }
  return {
    attributes,
    data: Object.hasOwn(event, 'data') ? event.data : undefined,
    label: (name) => `attribute ${displayName(name)}`,
    dataLabel: 'data',
  };
}

function readBinaryMode(headers: MessageHeaders, data: unknown): AttributeSource {
  const attributes = new Map<string, unknown>();
  for (const headerName of Object.keys(headers)) {
    if (!headerName.startsWith(ATTRIBUTE_HEADER_PREFIX)) {
      continue;
    }
    const name = headerName.slice(ATTRIBUTE_HEADER_PREFIX.length);
    if (name === 'data') {
      throw invalidEvent('header ce_data is not allowed; in binary mode the message value is the event data');
    }
    const text = readHeader(headers, headerName);
    if (text !== undefined) {
      attributes.set(name, text);
    }
  }

  const contentType = readHeader(headers, CONTENT_TYPE_HEADER);
  if (contentType !== undefined && !JSON_MEDIA_TYPE.test(contentType)) {
    throw invalidEvent(
      `header content-type must be application/json in binary mode, got ${quote(contentType)}; ` +
        'send the data as JSON',
    );
  }
  return {
    attributes,
    data,
    label: (name) => `header ${displayName(ATTRIBUTE_HEADER_PREFIX + name)}`,
    dataLabel: 'binary-mode message value',
  };
}

/**
 * Returns the text of a header sent at most once, or undefined when it is absent.
 * kafkajs 2 passes a repeated header as an array of its values, which is rejected.
 */
function readHeader(headers: MessageHeaders, name: string): string | undefined {
  const raw = Object.hasOwn(headers, name) ? headers[name] : undefined;
  const values = raw === undefined ? [] : Array.isArray(raw) ? raw : [raw];
  if (values.length === 0) {
    return undefined;
  }
  if (values.length > 1) {
    throw invalidEvent(`header ${displayName(name)} is present ${values.length} times; send it once`);
  }
  const [value] = values;
  if (typeof value === 'string') {
    return value;
  }
  if (value === null) {
    throw invalidEvent(`header ${displayName(name)} has no value; send its value as UTF-8 text`);
  }
  const text = decodeUtf8Exactly(value);
  if (text === undefined) {
    throw invalidEvent(`header ${displayName(name)} is not valid UTF-8; send its value as UTF-8 text`);
  }
  return text;
}

function validateAttributes(source: AttributeSource): EventEnvelope {
  const { attributes, label } = source;
  for (const [name, value] of attributes) {
    if (name === 'data_base64') {
      throw invalidEvent(`${label(name)} is not supported; send the data as a JSON object in data`);
    }
    if (!ATTRIBUTE_NAME.test(name)) {
      throw invalidEvent(
        `${label(name)} is not a valid attribute name; use 1 to 20 lowercase ASCII letters or digits`,
      );
    }
    if (typeof value !== 'string') {
      throw invalidEvent(`${label(name)} must be a string, got ${describeValue(value)}`);
    }
  }
  // Every attribute value is a string now.
  const texts = attributes as Map<string, string>;

  const specVersion = texts.get('specversion');
  if (specVersion !== '1.0') {
    const got = specVersion === undefined ? 'nothing' : quote(specVersion);
    throw invalidEvent(`${label('specversion')} must be "1.0", got ${got}`);
  }

  const envelope: EventEnvelope = {
    id: readRequiredText(texts, 'id', label),
    source: readRequiredText(texts, 'source', label),
    type: readRequiredText(texts, 'type', label),
  };

  const dataContentType = texts.get('datacontenttype');
  if (dataContentType !== undefined && !JSON_MEDIA_TYPE.test(dataContentType)) {
    throw invalidEvent(
      `${label('datacontenttype')} must be application/json, got ${quote(dataContentType)}; ` +
        'send the data as JSON or leave the attribute out',
    );
  }

  const time = texts.get('time');
  if (time !== undefined) {
    if (!isRfc3339DateTime(time)) {
      throw invalidEvent(
        `${label('time')} must be an RFC 3339 timestamp such as 2024-05-01T12:00:00Z, got ${quote(time)}`,
      );
    }
    envelope.time = time;
  }

  const subject = texts.get('subject');
  if (subject !== undefined) {
    envelope.subject = subject;
  }
  return envelope;
}

/** Reads id, source or type: 1 to 256 bytes of well-formed text without control characters. */
function readRequiredText(texts: Map<string, string>, name: string, label: (name: string) => string): string {
  const text = texts.get(name);
  if (text === undefined) {
    throw invalidEvent(`${label(name)} is missing; every CloudEvent needs id, source and type`);
  }
  if (!text.isWellFormed()) {
    throw invalidEvent(`${label(name)} contains an unpaired UTF-16 surrogate; send valid Unicode text`);
  }
  const bytes = Buffer.byteLength(text, 'utf8');
  if (bytes < 1 || bytes > MAX_REQUIRED_ATTRIBUTE_BYTES) {
    throw invalidEvent(
      `${label(name)} must be 1 to ${MAX_REQUIRED_ATTRIBUTE_BYTES} bytes of UTF-8, got ${bytes} bytes`,
    );
  }
  const controlCharacter = findControlCharacter(text);
  if (controlCharacter !== undefined) {
    throw invalidEvent(`${label(name)} contains control character ${controlCharacter}; remove it`);
  }
  return text;
}

/** Returns the first character in U+0000 to U+001F or U+007F, written as U+XXXX. */
function findControlCharacter(text: string): string | undefined {
  for (let index = 0; index < text.length; index++) {
    const code = text.charCodeAt(index);
    if (code <= 0x1f || code === 0x7f) {
      return `U+${code.toString(16).toUpperCase().padStart(4, '0')}`;
    }
  }
  return undefined;
}

/** Writes a producer-chosen name bare when it is plain ASCII, quoted otherwise. */
function displayName(name: string): string {
  return /^[a-z0-9_-]{1,64}$/i.test(name) ? name : quote(name);
}

function invalidEvent(message: string): DecodeFailure {
  return new DecodeFailure('INVALID_EVENT', message);
}
