/**
 * A payload's own JSON text made safe to print on one line of a terminal,
 * without parsing it into a value: line breaks between tokens become spaces,
 * and characters a terminal acts on (C0 and C1 controls, DEL, U+2028, U+2029,
 * bidirectional controls) become `\uXXXX` escapes. Both rewrites keep the
 * text valid JSON of the same value; numbers, key order and spacing stay as
 * they arrived.
 *
 * The input is checked JSON (see {@linkcode JsonChecker}); it may come in
 * pieces, each piece's output is passed to `emit` as soon as it is made.
 *
 * @example
 * ```ts
 * import { SafeJsonText } from "./safe_text.ts";
 * import assert from "node:assert/strict";
 *
 * const out: string[] = [];
 * const safe = new SafeJsonText((p) => out.push(new TextDecoder().decode(p)));
 * safe.push(new TextEncoder().encode('{"a":\n1e400, "b": "\u0085\u2028\u202e"}'));
 * assert.equal(out.join(""), '{"a": 1e400, "b": "\\u0085\\u2028\\u202e"}');
 * ```
 *
 * @module
 */

import { isUnsafeCodePoint } from "./json_check.ts";

/** Receives output bytes; the view is only valid during the call. */
export type Emit = (bytes: Uint8Array) => void;

const HEX = new TextEncoder().encode("0123456789abcdef");

/**
 * The JSON text rewrite: line breaks and tabs between tokens become spaces,
 * raw unsafe characters inside strings become `\uXXXX`.
 *
 * @example
 * ```ts
 * import { SafeJsonText } from "./safe_text.ts";
 * import assert from "node:assert/strict";
 *
 * const out: string[] = [];
 * const safe = new SafeJsonText((p) => out.push(new TextDecoder().decode(p)));
 * safe.push(new TextEncoder().encode("[1,\r\n2]"));
 * assert.equal(out.join(""), "[1,  2]");
 * ```
 */
export class SafeJsonText {
  #emit: Emit;
  #out = new Uint8Array(16 * 1024);
  #inString = false;
  #escaped = false;
  /** A UTF-8 sequence cut between pieces: its bytes so far, and how many. */
  #pending = new Uint8Array(4);
  #pendingLength = 0;

  /** Passes the rewritten text to `emit`, piece by piece. */
  constructor(emit: Emit) {
    this.#emit = emit;
  }

  /** Starts over, for a new text. */
  reset(): void {
    this.#inString = this.#escaped = false;
    this.#pendingLength = 0;
  }

  /** Rewrites the next piece of the text. */
  push(bytes: Uint8Array): void {
    const out = this.#out;
    let o = 0;
    let i = 0;
    const n = bytes.length;
    if (this.#pendingLength > 0) {
      // Finish the sequence cut at the end of the last piece.
      const pending = this.#pending;
      const need = sequenceLength(pending[0]);
      while (this.#pendingLength < need && i < n) pending[this.#pendingLength++] = bytes[i++];
      if (this.#pendingLength < need) return;
      o = putSequence(out, o, pending, 0, need);
      this.#pendingLength = 0;
    }
    let inString = this.#inString;
    let escaped = this.#escaped;
    while (i < n) {
      if (o > out.length - 16) {
        this.#emit(out.subarray(0, o));
        o = 0;
      }
      const b = bytes[i];
      if (!inString) {
        out[o++] = b === 0x0a || b === 0x0d || b === 0x09 ? 0x20 : b;
        if (b === 0x22) inString = true;
        i++;
      } else if (escaped) {
        out[o++] = b;
        escaped = false;
        i++;
      } else if (b < 0x7f) {
        out[o++] = b;
        if (b === 0x22) inString = false;
        else if (b === 0x5c) escaped = true;
        i++;
      } else {
        const need = sequenceLength(b);
        if (i + need > n) {
          this.#pending.set(bytes.subarray(i));
          this.#pendingLength = n - i;
          break;
        }
        o = putSequence(out, o, bytes, i, need);
        i += need;
      }
    }
    this.#inString = inString;
    this.#escaped = escaped;
    if (o > 0) this.#emit(out.subarray(0, o));
  }
}

/**
 * A JSON string's value as text for people: escapes decoded, except that
 * characters a terminal acts on show as `\n`, `\t`, `\u001b` and so on. The
 * input is the whole JSON string, quotes included, in any pieces.
 *
 * @example
 * ```ts
 * import { StringDisplay } from "./safe_text.ts";
 * import assert from "node:assert/strict";
 *
 * const out: string[] = [];
 * const display = new StringDisplay((p) => out.push(new TextDecoder().decode(p)));
 * display.push(new TextEncoder().encode('"caf\\u00e9 \\ud83d\\ude00\\n\\u001b[31m"'));
 * assert.equal(out.join(""), "café 😀\\n\\u001b[31m");
 * ```
 */
export class StringDisplay {
  #emit: Emit;
  #out = new Uint8Array(16 * 1024);
  /** Bytes of an escape or a UTF-8 sequence cut between pieces. */
  #held = new Uint8Array(12);
  #heldLength = 0;
  /** A high surrogate from a `\uXXXX` waiting for its low half, or -1. */
  #high = -1;
  /** Quotes seen: bytes before the first and after the second are whitespace. */
  #quotes = 0;

  /** Passes the text to `emit`, piece by piece. */
  constructor(emit: Emit) {
    this.#emit = emit;
  }

  /** Starts over, for a new string. */
  reset(): void {
    this.#heldLength = 0;
    this.#high = -1;
    this.#quotes = 0;
  }

  /** Displays the next piece of the string. */
  push(bytes: Uint8Array): void {
    let input = bytes;
    if (this.#heldLength > 0) {
      // An escape or a UTF-8 sequence was cut at the end of the last piece.
      input = new Uint8Array(this.#heldLength + bytes.length);
      input.set(this.#held.subarray(0, this.#heldLength));
      input.set(bytes, this.#heldLength);
      this.#heldLength = 0;
    }
    const out = this.#out;
    let o = 0;
    let i = 0;
    const n = input.length;
    while (i < n) {
      if (o > out.length - 32) {
        this.#emit(out.subarray(0, o));
        o = 0;
      }
      const b = input[i];
      if (b === 0x22) {
        // The opening and closing quotes are not part of the value.
        o = this.#flushHigh(out, o);
        this.#quotes++;
        i++;
      } else if (this.#quotes !== 1) {
        i++; // whitespace around the string
      } else if (b === 0x5c) {
        if (i + 1 >= n) break;
        const e = input[i + 1];
        if (e === 0x75) {
          if (i + 6 > n) break;
          const unit = hexValue(input, i + 2);
          i += 6;
          if (this.#high >= 0 && unit >= 0xdc00 && unit <= 0xdfff) {
            const cp = 0x10000 + ((this.#high - 0xd800) << 10) + (unit - 0xdc00);
            this.#high = -1;
            o = putUtf8(out, o, cp);
          } else {
            o = this.#flushHigh(out, o);
            if (unit >= 0xd800 && unit <= 0xdbff) this.#high = unit;
            else if (unit >= 0xdc00 && unit <= 0xdfff) o = putEscape(out, o, unit);
            else if (isUnsafeCodePoint(unit)) o = putEscape(out, o, unit);
            else o = putUtf8(out, o, unit);
          }
        } else {
          o = this.#flushHigh(out, o);
          i += 2;
          // \n \r \t \b \f are control characters: shown as their escapes.
          if (e === 0x6e || e === 0x72 || e === 0x74 || e === 0x62 || e === 0x66) out[o++] = 0x5c;
          out[o++] = e;
        }
      } else {
        o = this.#flushHigh(out, o);
        const need = sequenceLength(b);
        if (i + need > n) break;
        o = putSequence(out, o, input, i, need);
        i += need;
      }
    }
    if (i < n) {
      this.#held.set(input.subarray(i));
      this.#heldLength = n - i;
    }
    if (o > 0) this.#emit(out.subarray(0, o));
  }

  /** A lone high surrogate is shown as its escape. */
  #flushHigh(out: Uint8Array, o: number): number {
    if (this.#high < 0) return o;
    o = putEscape(out, o, this.#high);
    this.#high = -1;
    return o;
  }
}

/** The length of the UTF-8 sequence that starts with `b` (checked input). */
function sequenceLength(b: number): number {
  return b < 0x80 ? 1 : b < 0xe0 ? 2 : b < 0xf0 ? 3 : 4;
}

/** Copies a UTF-8 sequence, or its escape if a terminal would act on it. */
function putSequence(
  out: Uint8Array,
  o: number,
  bytes: Uint8Array,
  i: number,
  need: number,
): number {
  const b = bytes[i];
  if (b === 0x7f) return putEscape(out, o, 0x7f);
  if (need === 2 || need === 3) {
    const cp = need === 2
      ? ((b & 0x1f) << 6) | (bytes[i + 1] & 0x3f)
      : ((b & 0x0f) << 12) | ((bytes[i + 1] & 0x3f) << 6) | (bytes[i + 2] & 0x3f);
    if (isUnsafeCodePoint(cp)) return putEscape(out, o, cp);
  }
  for (let k = 0; k < need; k++) out[o++] = bytes[i + k];
  return o;
}

/** Writes `\uXXXX` for a UTF-16 code unit; `\n`-style for the common controls. */
function putEscape(out: Uint8Array, o: number, unit: number): number {
  out[o++] = 0x5c;
  out[o++] = 0x75;
  out[o++] = HEX[(unit >> 12) & 15];
  out[o++] = HEX[(unit >> 8) & 15];
  out[o++] = HEX[(unit >> 4) & 15];
  out[o++] = HEX[unit & 15];
  return o;
}

function putUtf8(out: Uint8Array, o: number, cp: number): number {
  if (cp < 0x80) {
    out[o++] = cp;
  } else if (cp < 0x800) {
    out[o++] = 0xc0 | (cp >> 6);
    out[o++] = 0x80 | (cp & 0x3f);
  } else if (cp < 0x10000) {
    out[o++] = 0xe0 | (cp >> 12);
    out[o++] = 0x80 | ((cp >> 6) & 0x3f);
    out[o++] = 0x80 | (cp & 0x3f);
  } else {
    out[o++] = 0xf0 | (cp >> 18);
    out[o++] = 0x80 | ((cp >> 12) & 0x3f);
    out[o++] = 0x80 | ((cp >> 6) & 0x3f);
    out[o++] = 0x80 | (cp & 0x3f);
  }
  return o;
}

function hexValue(bytes: Uint8Array, i: number): number {
  let value = 0;
  for (let k = i; k < i + 4; k++) {
    const b = bytes[k];
    value = value * 16 + (b <= 0x39 ? b - 0x30 : (b | 0x20) - 0x57);
  }
  return value;
}
