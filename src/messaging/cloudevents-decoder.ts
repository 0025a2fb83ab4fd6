import {
  JsonDepthError,
  JsonForbiddenKeyError,
  JsonSyntaxError,
  parseJson,
} from '../common/json/lossless-json';
import { readEnvelope } from './cloudevents-envelope';
import { DecodeFailure, type JsonObject, quote } from './decode-failure';
import { fingerprintEvent, parseCustomerId, readCustomerIdField, readEventData } from './event-data';
import type {
  DecodeResult,
  DecodeRules,
  InboundEvent,
  InboundEventType,
  InboundTopicKind,
  RawInboundMessage,
} from './inbound-event';
import { decodeJsonText, decodeUtf8Exactly } from './utf8';

const MAX_JSON_DEPTH = 32;

const EVENT_TYPES_BY_TOPIC: Record<InboundTopicKind, ReadonlySet<string>> = {
  storage: new Set<InboundEventType>(['StorageUsageChanged']),
  users: new Set<InboundEventType>(['UserAllocated', 'UserDeallocated']),
  admin: new Set<InboundEventType>(['LockCustomer', 'UnlockCustomer', 'SetCustomerLimits']),
};

/**
 * Decodes one Kafka message into an inbound event, or returns the dead-letter reason of the first
 * failed check. The checks run in this order: size, JSON, CloudEvents envelope, type for the topic,
 * source, message key, data schema. Bad input is reported in the result, so only a decoder bug throws.
 */
export function decodeInboundMessage(
  message: RawInboundMessage,
  topic: InboundTopicKind,
  rules: DecodeRules,
): DecodeResult {
  try {
    const event = decodeEvent(message, topic, rules);
    return { ok: true, event, fingerprint: fingerprintEvent(event) };
  } catch (error) {
    if (error instanceof DecodeFailure) {
      return { ok: false, reason: error.reason, error: error.message };
    }
    throw error;
  }
}

function decodeEvent(message: RawInboundMessage, topic: InboundTopicKind, rules: DecodeRules): InboundEvent {
  checkSize(message.value, rules.maxEventBytes);
  const value = parseValue(message.value);
  const { envelope, data } = readEnvelope(message.headers, value);
  const type = checkTypeForTopic(envelope.type, topic);
  checkSource(envelope.source, rules.allowedSources, rules.allowedSourcesSetting ?? 'the allowed sources');
  checkKey(message.key, envelope.subject, data);
  return readEventData(type, envelope, data);
}

function checkSize(value: Buffer | null, maxEventBytes: number): void {
  if (value !== null && value.length > maxEventBytes) {
    throw new DecodeFailure(
      'TOO_LARGE',
      `message value is ${value.length} bytes, above the limit of ${maxEventBytes} bytes; send a smaller event`,
    );
  }
}

function parseValue(value: Buffer | null): unknown {
  if (value === null || value.length === 0) {
    throw new DecodeFailure(
      'INVALID_JSON',
      'message value is empty; send a JSON CloudEvent or JSON event data',
    );
  }
  const text = decodeJsonText(value);
  if (text === undefined) {
    throw new DecodeFailure('INVALID_JSON', 'message value is not valid UTF-8; encode the JSON as UTF-8');
  }

  try {
    return parseJson(text, { maxDepth: MAX_JSON_DEPTH });
  } catch (error) {
    // A forbidden key is reported as INVALID_DATA wherever it occurs, in data or in the envelope,
    // because the parser rejects it before the envelope is known.
    if (error instanceof JsonForbiddenKeyError) {
      throw new DecodeFailure(
        'INVALID_DATA',
        `message value contains the key ${quote(error.key)}, which is not allowed at any depth; rename the field`,
      );
    }
    if (error instanceof JsonDepthError) {
      throw new DecodeFailure(
        'INVALID_JSON',
        `message value nests arrays and objects deeper than ${MAX_JSON_DEPTH} levels; flatten the event`,
      );
    }
    if (error instanceof JsonSyntaxError) {
      throw new DecodeFailure('INVALID_JSON', `message value is not valid JSON: ${error.message}`);
    }
    throw error;
  }
}

function checkTypeForTopic(type: string, topic: InboundTopicKind): InboundEventType {
  const allowed = EVENT_TYPES_BY_TOPIC[topic];
  if (!allowed.has(type)) {
    throw new DecodeFailure(
      'UNKNOWN_TYPE',
      `event type ${quote(type)} is not handled on the ${topic} topic; expected ${[...allowed].join(' or ')}`,
    );
  }
  return type as InboundEventType;
}

function checkSource(source: string, allowedSources: ReadonlySet<string> | null, setting: string): void {
  if (allowedSources !== null && !allowedSources.has(source)) {
    throw new DecodeFailure(
      'SOURCE_NOT_ALLOWED',
      `source ${quote(source)} is not in ${setting}; add it there or fix the producer`,
    );
  }
}

/**
 * Checks that the message key is the canonical decimal customer id and matches the subject and
 * data.customerId. A null, non-UTF-8 or non-canonical key fails here first. A missing or invalid
 * data.customerId is left to the data schema check, which reports it as INVALID_DATA.
 */
function checkKey(key: Buffer | null, subject: string | undefined, data: JsonObject): void {
  if (key === null) {
    throw keyMismatch('message key is missing; set it to the customer id in decimal');
  }
  const keyText = decodeUtf8Exactly(key);
  if (keyText === undefined) {
    throw keyMismatch('message key is not valid UTF-8; set it to the customer id in decimal');
  }
  if (parseCustomerId(keyText) === undefined) {
    throw keyMismatch(
      `message key ${quote(keyText)} is not a customer id; set it to the customer id in decimal without leading zeros`,
    );
  }
  if (subject !== undefined && subject !== keyText) {
    throw keyMismatch(
      `subject ${quote(subject)} differs from message key ${quote(keyText)}; set both to the customer id`,
    );
  }
  const customerId = readCustomerIdField(data);
  if (customerId !== undefined && customerId.toString() !== keyText) {
    throw keyMismatch(
      `message key ${quote(keyText)} differs from data.customerId ${customerId}; key each message by its customer id`,
    );
  }
}

function keyMismatch(message: string): DecodeFailure {
  return new DecodeFailure('KEY_MISMATCH', message);
}
