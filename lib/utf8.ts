/**
 * UTF-8 helpers for the hot paths: a validating decode that runs at the
 * speed of the non-validating one, and byte counts without encoding.
 *
 * @example
 * ```ts
 * import { decodeUtf8, utf8Length } from "./utf8.ts";
 * import assert from "node:assert/strict";
 *
 * assert.equal(decodeUtf8(new Uint8Array([0x68, 0xc3, 0xa9])), "hé");
 * assert.equal(decodeUtf8(new Uint8Array([0xc3, 0x28])), undefined);
 * assert.equal(utf8Length("hé"), 3);
 * ```
 *
 * @module
 */

/** Decodes without checking: invalid bytes become U+FFFD. Keeps a BOM. */
export const looseDecoder: TextDecoder = new TextDecoder("utf-8", { ignoreBOM: true });
const strictDecoder = new TextDecoder("utf-8", { ignoreBOM: true, fatal: true });

/**
 * Decodes UTF-8, or returns `undefined` if `bytes` are not valid UTF-8. A BOM
 * is kept as U+FEFF. The loose decoder is several times faster than the
 * strict one; only a U+FFFD in its output (a real one, or invalid bytes)
 * sends the bytes through the strict decoder to tell which.
 *
 * @example
 * ```ts
 * import { decodeUtf8 } from "./utf8.ts";
 * import assert from "node:assert/strict";
 *
 * assert.equal(decodeUtf8(new TextEncoder().encode("\ufffd")), "\ufffd");
 * assert.equal(decodeUtf8(new Uint8Array([0xff])), undefined);
 * ```
 */
export function decodeUtf8(bytes: Uint8Array): string | undefined {
  const text = looseDecoder.decode(bytes);
  if (text.includes("\uFFFD")) {
    try {
      strictDecoder.decode(bytes);
    } catch {
      return undefined;
    }
  }
  return text;
}

/**
 * Whether `text`, decoded loosely from `byteLength` bytes, came from ASCII
 * alone: UTF-8 never decodes to more UTF-16 units than bytes, and to as many
 * only when each byte is ASCII or an invalid byte that became U+FFFD.
 *
 * @example
 * ```ts
 * import { isAsciiDecoding, looseDecoder } from "./utf8.ts";
 * import assert from "node:assert/strict";
 *
 * const bad = new Uint8Array([0x22, 0xc3, 0x28, 0x22]);
 * assert.equal(isAsciiDecoding(looseDecoder.decode(bad), bad.length), false);
 * assert.equal(isAsciiDecoding("abc", 3), true);
 * ```
 */
export function isAsciiDecoding(text: string, byteLength: number): boolean {
  return text.length === byteLength && !text.includes("\uFFFD");
}

/**
 * The length of a string in UTF-8 bytes, as `TextEncoder` would encode it
 * (a lone surrogate as the three bytes of U+FFFD).
 *
 * @example
 * ```ts
 * import { utf8Length } from "./utf8.ts";
 * import assert from "node:assert/strict";
 *
 * assert.equal(utf8Length("a"), 1);
 * assert.equal(utf8Length("é"), 2);
 * assert.equal(utf8Length("€"), 3);
 * assert.equal(utf8Length("🙂"), 4);
 * ```
 */
export function utf8Length(text: string): number {
  let length = text.length;
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    if (c < 0x80) continue;
    if (c < 0x800) {
      length += 1;
      continue;
    }
    // Three bytes for one UTF-16 unit, or four for a surrogate pair's two.
    length += 2;
    if (c >= 0xd800 && c < 0xdc00) {
      const next = text.charCodeAt(i + 1);
      if (next >= 0xdc00 && next < 0xe000) i++;
    }
  }
  return length;
}
