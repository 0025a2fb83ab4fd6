import { TextDecoder } from 'node:util';

const jsonTextDecoder = new TextDecoder('utf-8', { fatal: true });
const exactTextDecoder = new TextDecoder('utf-8', { fatal: true, ignoreBOM: true });

/**
 * Decodes a JSON message value, or returns undefined when it is not valid UTF-8.
 * A leading byte order mark is dropped, which RFC 8259 allows JSON parsers to do.
 */
export function decodeJsonText(bytes: Uint8Array): string | undefined {
  return decodeWith(jsonTextDecoder, bytes);
}

/**
 * Decodes a key or header value that is compared exactly, or returns undefined when it is not
 * valid UTF-8. A leading U+FEFF is kept, so it makes the text differ from the expected one.
 */
export function decodeUtf8Exactly(bytes: Uint8Array): string | undefined {
  return decodeWith(exactTextDecoder, bytes);
}

function decodeWith(decoder: TextDecoder, bytes: Uint8Array): string | undefined {
  try {
    return decoder.decode(bytes);
  } catch {
    // A fatal decoder throws only for malformed input.
    return undefined;
  }
}
