/**
 * The length prefix, in one place: how it is scanned (the decoder, the
 * receiver and the capture reassembler all call {@linkcode scanPrefix}),
 * what is wrong with a bad one in words ({@linkcode prefixProblem}), and how
 * a length is written ({@linkcode writeDecimal}).
 *
 * A prefix is 1 to {@linkcode MAX_PREFIX_DIGITS} ASCII digits, then LF.
 *
 * @example
 * ```ts
 * import { PREFIX_COMPLETE, type PrefixScan, scanPrefix } from "./prefix.ts";
 * import assert from "node:assert/strict";
 *
 * const bytes = new TextEncoder().encode('14\n"Hello World!"');
 * const scan: PrefixScan = { start: 0, end: bytes.length, maxBytes: 100, length: 0, payloadStart: 0 };
 * assert.equal(scanPrefix(bytes, scan), PREFIX_COMPLETE);
 * assert.equal(scan.length, 14);
 * assert.equal(scan.payloadStart, 3);
 * ```
 *
 * @module
 */

/** The most digits a length prefix may have. */
export const MAX_PREFIX_DIGITS = 10;

/** The default limit on a payload's declared length: 64 MiB. */
export const DEFAULT_MAX_BYTES = 64 * 1024 * 1024;

/** {@linkcode scanPrefix} found a whole prefix: `length` and `payloadStart` are set. */
export const PREFIX_COMPLETE = 0;
/** {@linkcode scanPrefix} found the start of a good prefix: more bytes are needed. */
export const PREFIX_PARTIAL = 1;
/** {@linkcode scanPrefix} found a bad prefix: {@linkcode prefixProblem} says why. */
export const PREFIX_BAD = 2;

const LF = 0x0a;
const CR = 0x0d;
const DIGIT_0 = 0x30;
const DIGIT_9 = 0x39;

/**
 * What {@linkcode scanPrefix} reads and writes: one object, reused by its
 * caller, so that the hot loops allocate nothing a frame.
 */
export interface PrefixScan {
  /** In: where the prefix starts. */
  start: number;
  /** In: where the bytes read so far end. */
  end: number;
  /** In: the largest length allowed. */
  maxBytes: number;
  /** Out, when complete: the declared length. */
  length: number;
  /** Out, when complete: where the payload starts (after the LF). */
  payloadStart: number;
}

/**
 * Scans the length prefix at `bytes[scan.start]`, up to `scan.end`: returns
 * {@linkcode PREFIX_COMPLETE} (with `scan.length` and `scan.payloadStart`
 * set), {@linkcode PREFIX_PARTIAL} or {@linkcode PREFIX_BAD} (a length over
 * `scan.maxBytes` included).
 *
 * @example
 * ```ts
 * import { PREFIX_BAD, PREFIX_PARTIAL, scanPrefix } from "./prefix.ts";
 * import assert from "node:assert/strict";
 *
 * const scan = { start: 0, end: 2, maxBytes: 100, length: 0, payloadStart: 0 };
 * assert.equal(scanPrefix(new TextEncoder().encode("12"), scan), PREFIX_PARTIAL);
 * assert.equal(scanPrefix(new TextEncoder().encode("1e"), scan), PREFIX_BAD);
 * ```
 */
export function scanPrefix(bytes: Uint8Array, scan: PrefixScan): number {
  const start = scan.start;
  const stop = Math.min(scan.end, start + MAX_PREFIX_DIGITS + 1);
  let length = 0;
  let i = start;
  for (; i < stop; i++) {
    const b = bytes[i];
    if (b === LF) break;
    if (b < DIGIT_0 || b > DIGIT_9) return PREFIX_BAD;
    length = length * 10 + b - DIGIT_0;
  }
  if (i === stop) return i - start > MAX_PREFIX_DIGITS ? PREFIX_BAD : PREFIX_PARTIAL;
  if (i === start || length > scan.maxBytes) return PREFIX_BAD;
  scan.length = length;
  scan.payloadStart = i + 1;
  return PREFIX_COMPLETE;
}

/** What is wrong with a length prefix; see {@linkcode prefixProblem}. */
export interface PrefixProblem {
  /** `INVALID_PREFIX` or `TOO_LARGE`. */
  code: "INVALID_PREFIX" | "TOO_LARGE";
  /** Why, in words, with the prefix's bytes quoted and escaped. */
  reason: string;
}

/** Options for {@linkcode prefixProblem}. */
export interface PrefixProblemOptions {
  /** The largest length allowed. Defaults to {@linkcode DEFAULT_MAX_BYTES}. */
  maxBytes?: number;
}

/**
 * Says what is wrong with the length prefix that `bytes` start with, as a
 * receiver reports it; `undefined` for a good prefix or the start of one.
 *
 * @example
 * ```ts
 * import { prefixProblem } from "./prefix.ts";
 * import assert from "node:assert/strict";
 *
 * const bytes = new TextEncoder().encode("1e3\n");
 * assert.equal(prefixProblem(bytes)?.reason, 'length prefix "1e3" is not decimal digits');
 * assert.equal(prefixProblem(new TextEncoder().encode("12")), undefined);
 * ```
 */
export function prefixProblem(
  bytes: Uint8Array,
  options: PrefixProblemOptions = {},
): PrefixProblem | undefined {
  const maxBytes = options.maxBytes ?? DEFAULT_MAX_BYTES;
  let length = 0;
  const stop = Math.min(bytes.length, MAX_PREFIX_DIGITS + 1);
  let i = 0;
  for (; i < stop; i++) {
    const b = bytes[i];
    if (b === LF) break;
    if (b < DIGIT_0 || b > DIGIT_9) {
      return { code: "INVALID_PREFIX", reason: describeBadPrefix(bytes, i) };
    }
    length = length * 10 + b - DIGIT_0;
  }
  if (i === stop) {
    if (i <= MAX_PREFIX_DIGITS) return undefined;
    return {
      code: "INVALID_PREFIX",
      reason: `length prefix ${
        quoteBytes(bytes.subarray(0, i))
      } has more than ${MAX_PREFIX_DIGITS} digits`,
    };
  }
  if (i === 0) {
    return { code: "INVALID_PREFIX", reason: "length prefix is empty (the frame starts with LF)" };
  }
  if (length > maxBytes) {
    return {
      code: "TOO_LARGE",
      reason: `declared length ${length} exceeds the limit of ${maxBytes} bytes`,
    };
  }
  return undefined;
}

/**
 * Where a stream that ended inside a length prefix stands, in words:
 * `inside the length prefix "12"`.
 *
 * @example
 * ```ts
 * import { partialPrefix } from "./prefix.ts";
 * import assert from "node:assert/strict";
 *
 * assert.equal(partialPrefix(new TextEncoder().encode("12")), 'inside the length prefix "12"');
 * ```
 */
export function partialPrefix(bytes: Uint8Array): string {
  return `inside the length prefix ${quoteBytes(bytes)}`;
}

/** Explains a prefix whose byte at `bad` is neither a digit nor LF. */
function describeBadPrefix(bytes: Uint8Array, bad: number): string {
  let end = bytes.indexOf(LF);
  if (end < 0 || end > MAX_PREFIX_DIGITS + 1) end = Math.min(bytes.length, MAX_PREFIX_DIGITS + 1);
  const shown = quoteBytes(bytes.subarray(0, end));
  if (bytes[bad] === CR && bytes[bad + 1] === LF && bad > 0) {
    return `length prefix ${shown} ends with CR: the length must end with a bare LF`;
  }
  const first = bytes[0];
  const hint = first === 0x7b || first === 0x5b || first === 0x22
    ? " (the peer seems to send JSON without a length prefix)"
    : first === 0x16 && bytes[1] === 0x03
    ? " (the peer seems to speak TLS: the receiver needs a certificate for it)"
    : "";
  return `length prefix ${shown} is not decimal digits${hint}`;
}

/**
 * Quotes bytes for a message: printable ASCII as is, the rest escaped.
 *
 * @example
 * ```ts
 * import { quoteBytes } from "./prefix.ts";
 * import assert from "node:assert/strict";
 *
 * assert.equal(quoteBytes(new Uint8Array([0x31, 0x0d, 0xff])), '"1\\r\\xff"');
 * ```
 */
export function quoteBytes(bytes: Uint8Array): string {
  let out = '"';
  for (const b of bytes) {
    if (b === 0x22 || b === 0x5c) out += "\\" + String.fromCharCode(b);
    else if (b >= 0x20 && b < 0x7f) out += String.fromCharCode(b);
    else if (b === LF) out += "\\n";
    else if (b === CR) out += "\\r";
    else if (b === 0x09) out += "\\t";
    else out += "\\x" + b.toString(16).padStart(2, "0");
  }
  return out + '"';
}

/**
 * How many decimal digits `n` has.
 *
 * @example
 * ```ts
 * import { decimalLength } from "./prefix.ts";
 * import assert from "node:assert/strict";
 *
 * assert.equal(decimalLength(0), 1);
 * assert.equal(decimalLength(1234), 4);
 * ```
 */
export function decimalLength(n: number): number {
  let digits = 1;
  while (n >= 10) {
    n = Math.floor(n / 10);
    digits++;
  }
  return digits;
}

/**
 * Writes `n` in ASCII decimal into `bytes` at `at`; returns where it ends.
 * The one writer of lengths: frames, and the receiver's `"bytes":N`.
 *
 * @example
 * ```ts
 * import { writeDecimal } from "./prefix.ts";
 * import assert from "node:assert/strict";
 *
 * const bytes = new Uint8Array(4);
 * assert.equal(writeDecimal(bytes, 1, 42), 3);
 * assert.equal(new TextDecoder().decode(bytes.subarray(1, 3)), "42");
 * ```
 */
export function writeDecimal(bytes: Uint8Array, at: number, n: number): number {
  // The lengths of small messages, the hot case, without a loop.
  if (n < 10) {
    bytes[at] = 0x30 + n;
    return at + 1;
  }
  if (n < 100) {
    const tens = (n / 10) | 0;
    bytes[at] = 0x30 + tens;
    bytes[at + 1] = 0x30 + n - tens * 10;
    return at + 2;
  }
  const end = at + decimalLength(n);
  for (let i = end - 1; i >= at; i--) {
    bytes[i] = 0x30 + n % 10;
    n = Math.floor(n / 10);
  }
  return end;
}
