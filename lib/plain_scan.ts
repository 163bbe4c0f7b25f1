/**
 * Byte scans that the hot loops of framecat spend their time in, run over
 * long spans by a small WebAssembly module with 128-bit SIMD
 * (`plain_scan.wat`), 64 bytes a step, on a 64 KiB window of its own memory
 * that each piece is copied into; short spans, and runtimes without
 * WebAssembly SIMD, take a loop in JavaScript. Bytes held in a
 * {@linkcode ScanBuffer} (WebAssembly memory of their own) are scanned where
 * they are, without the copy. The module is compiled the first time a long
 * span is scanned, so that a program that never scans one pays nothing at
 * start-up.
 *
 * @example
 * ```ts
 * import { indexOfByte, lastIndexOfByte, skipPlain } from "./plain_scan.ts";
 * import assert from "node:assert/strict";
 *
 * const bytes = new TextEncoder().encode('"' + "x".repeat(5000) + '\\n"\nnext');
 * const stop = skipPlain(bytes, 1, bytes.length);
 * assert.ok(stop <= 5001 && stop > 5001 - 16);
 * assert.equal(lastIndexOfByte(bytes, 0x0a), 5004);
 * assert.equal(indexOfByte(bytes, 0x0a), 5004);
 * ```
 *
 * @module
 */

import { plainScanWasm } from "./plain_scan_wasm.ts";

interface Scanner {
  window: Uint8Array;
  plain(from: number, to: number): number;
  first(from: number, to: number, byte: number): number;
  last(from: number, to: number, byte: number): number;
}

/** Spans at least this long are scanned in WebAssembly. */
const WASM_MIN = 1024;
/** Bytes of a run that the JavaScript loop looks at before WebAssembly does. */
const FIRST_WORDS = 256;
/** The window of WebAssembly memory a piece is copied into. */
const WINDOW = 64 * 1024;

let scanner: Scanner | null | undefined;
let compiled: WebAssembly.Module | null | undefined;

/** What an instance of the module exports. */
interface ScanExports {
  memory: WebAssembly.Memory;
  plain: Scanner["plain"];
  first: Scanner["first"];
  last: Scanner["last"];
}

/** A new instance of the module, with memory of its own; null where it cannot run. */
function instantiate(): ScanExports | null {
  try {
    compiled ??= new WebAssembly.Module(plainScanWasm());
  } catch {
    compiled = null;
  }
  if (compiled === null) return null;
  return new WebAssembly.Instance(compiled).exports as unknown as ScanExports;
}

/** The WebAssembly scanner, compiled on first use; null where it cannot run. */
function wasm(): Scanner | null {
  if (scanner !== undefined) return scanner;
  const exports = instantiate();
  scanner = exports === null ? null : {
    window: new Uint8Array(exports.memory.buffer, 0, WINDOW),
    plain: exports.plain,
    first: exports.first,
    last: exports.last,
  };
  return scanner;
}

/**
 * The memory of each {@linkcode ScanBuffer}, as it is now (growing replaces
 * it), and the instance that scans it in place.
 */
const inPlace = new WeakMap<ArrayBufferLike, ScanExports>();

/** The most a {@linkcode ScanBuffer} holds in WebAssembly memory: the module counts in signed 32 bits. */
const MAX_IN_PLACE = 2 ** 31 - 2 ** 16;

/** Options for {@linkcode ScanBuffer}. */
export interface ScanBufferOptions {
  /** Bytes it holds at first. */
  size: number;
}

/**
 * A buffer of bytes in WebAssembly memory of its own, which
 * {@linkcode skipPlain}, {@linkcode indexOfByte} and
 * {@linkcode lastIndexOfByte} scan where the bytes are, without copying them
 * into the scanner's window: read into it, then scan. It grows in place;
 * growing replaces `bytes` (views of the old memory become empty). Where
 * WebAssembly cannot run, or beyond 2 GiB, it is an ordinary array, copied
 * when it grows.
 *
 * @example
 * ```ts
 * import { indexOfByte, ScanBuffer } from "./plain_scan.ts";
 * import assert from "node:assert/strict";
 *
 * const buffer = new ScanBuffer({ size: 4096 });
 * buffer.bytes.fill(0x78).set([0x0a], 3000);
 * assert.equal(indexOfByte(buffer.bytes, 0x0a), 3000);
 * const bytes = buffer.grow(100_000);
 * assert.ok(bytes.length >= 100_000);
 * assert.equal(bytes[3000], 0x0a);
 * ```
 */
export class ScanBuffer {
  #exports: ScanExports | null;
  #bytes: Uint8Array;

  constructor(options: ScanBufferOptions) {
    const size = options.size;
    this.#exports = size <= MAX_IN_PLACE ? instantiate() : null;
    if (this.#exports === null) {
      this.#bytes = new Uint8Array(size);
      return;
    }
    this.#bytes = new Uint8Array(0);
    this.#view(size);
  }

  /** The buffer's bytes: all of its memory, at least the size asked for. */
  get bytes(): Uint8Array {
    return this.#bytes;
  }

  /** Grows to hold at least `size` bytes, keeping what it holds; returns the new `bytes`. */
  grow(size: number): Uint8Array {
    if (size <= this.#bytes.length) return this.#bytes;
    if (this.#exports !== null && size <= MAX_IN_PLACE) {
      try {
        this.#view(size);
        return this.#bytes;
      } catch {
        // Out of address space for WebAssembly: an ordinary array from here.
      }
    }
    const bigger = new Uint8Array(size);
    bigger.set(this.#bytes);
    this.#exports = null;
    this.#bytes = bigger;
    return bigger;
  }

  /** Grows the memory to `size` bytes or more, and views all of it. */
  #view(size: number): void {
    const exports = this.#exports!;
    const memory = exports.memory;
    const pages = Math.ceil(size / 65536) - memory.buffer.byteLength / 65536;
    if (pages > 0) memory.grow(pages);
    this.#bytes = new Uint8Array(memory.buffer);
    inPlace.set(memory.buffer, exports);
  }
}

/**
 * Skips bytes that a JSON string carries as they are (printable ASCII but
 * `"` and `\`) in `bytes` from `i` to `end`: returns an index at or before
 * the first other byte, at most 15 bytes before it, from which the caller
 * looks at the bytes one by one.
 *
 * @example
 * ```ts
 * import { skipPlain } from "./plain_scan.ts";
 * import assert from "node:assert/strict";
 *
 * const bytes = new TextEncoder().encode("a".repeat(100) + "\u0001");
 * const at = skipPlain(bytes, 0, bytes.length);
 * assert.ok(at <= 100 && at > 100 - 16);
 * ```
 */
export function skipPlain(bytes: Uint8Array, i: number, end: number): number {
  // Text with accents, escapes or line breaks ends its plain runs within a
  // few bytes: the JavaScript loop finds those without copying anything.
  const near = Math.min(end, i + FIRST_WORDS);
  const at = skipPlainWords(bytes, i, near);
  if (at < near - 3 || near === end) return at;
  i = at;
  if (end - i < WASM_MIN) return skipPlainWords(bytes, i, end);
  const own = inPlace.get(bytes.buffer);
  if (own !== undefined) {
    const base = bytes.byteOffset;
    return own.plain(base + i, base + end) - base;
  }
  const scan = wasm();
  if (scan === null) return skipPlainWords(bytes, i, end);
  const window = scan.window;
  // A copy costs what it copies: it starts small and doubles while the run
  // goes on, so that a run costs at most about twice its length.
  let size = WASM_MIN;
  while (end - i >= 16) {
    const n = Math.min(end - i, size);
    window.set(bytes.subarray(i, i + n));
    const at = scan.plain(0, n);
    // A block with another byte in it, or the last bytes of all.
    if (at <= n - 16 || i + n === end) return i + at;
    // Fewer than 16 bytes of this piece are left: they start the next.
    i += at;
    if (size < WINDOW) size *= 2;
  }
  return i;
}

/**
 * The index of the first `byte` in `bytes` at or after `from`, or -1.
 *
 * @example
 * ```ts
 * import { indexOfByte } from "./plain_scan.ts";
 * import assert from "node:assert/strict";
 *
 * assert.equal(indexOfByte(new Uint8Array([1, 10, 2, 10]), 10, 2), 3);
 * assert.equal(indexOfByte(new Uint8Array([1, 2]), 10), -1);
 * ```
 */
export function indexOfByte(bytes: Uint8Array, byte: number, from = 0): number {
  if (bytes.length - from < WASM_MIN) return bytes.indexOf(byte, from);
  const own = inPlace.get(bytes.buffer);
  if (own !== undefined) {
    const base = bytes.byteOffset;
    const at = own.first(base + from, base + bytes.length, byte);
    return at < 0 ? -1 : at - base;
  }
  const scan = wasm();
  if (scan === null) return bytes.indexOf(byte, from);
  for (let start = from; start < bytes.length; start += WINDOW) {
    const end = Math.min(bytes.length, start + WINDOW);
    scan.window.set(bytes.subarray(start, end));
    const at = scan.first(0, end - start, byte);
    if (at >= 0) return start + at;
  }
  return -1;
}

/**
 * The index of the last `byte` in `bytes`, or -1.
 *
 * @example
 * ```ts
 * import { lastIndexOfByte } from "./plain_scan.ts";
 * import assert from "node:assert/strict";
 *
 * assert.equal(lastIndexOfByte(new Uint8Array([10, 1, 10, 2]), 10), 2);
 * assert.equal(lastIndexOfByte(new Uint8Array([1, 2]), 10), -1);
 * ```
 */
export function lastIndexOfByte(bytes: Uint8Array, byte: number): number {
  if (bytes.length < WASM_MIN) return bytes.lastIndexOf(byte);
  const own = inPlace.get(bytes.buffer);
  if (own !== undefined) {
    const base = bytes.byteOffset;
    const at = own.last(base, base + bytes.length, byte);
    return at < 0 ? -1 : at - base;
  }
  const scan = wasm();
  if (scan === null) return bytes.lastIndexOf(byte);
  for (let end = bytes.length; end > 0; end -= WINDOW) {
    const start = Math.max(0, end - WINDOW);
    scan.window.set(bytes.subarray(start, end));
    const at = scan.last(0, end - start, byte);
    if (at >= 0) return start + at;
  }
  return -1;
}

/**
 * {@linkcode skipPlain} in JavaScript, four bytes at a time: returns the
 * index of the first four-byte word that may hold another byte.
 */
function skipPlainWords(bytes: Uint8Array, i: number, end: number): number {
  // Up to a four-byte boundary of the underlying buffer, byte by byte.
  const offset = bytes.byteOffset;
  while ((offset + i) & 3) {
    if (i === end) return i;
    const b = bytes[i];
    if (b < 0x20 || b >= 0x7f || b === 0x22 || b === 0x5c) return i;
    i++;
  }
  const words = new Int32Array(bytes.buffer, offset + i, (end - i) >> 2);
  const n = words.length;
  let k = 0;
  for (; k < n; k++) {
    const w = words[k];
    const quote = w ^ 0x22222222;
    const slash = w ^ 0x5c5c5c5c;
    // A high bit marks a byte that may be a quote, a backslash, a control
    // character (under 0x20), DEL or not ASCII (0x7f and up); the byte loop
    // then looks closely.
    if (
      (((quote - 0x01010101) & ~quote) | ((slash - 0x01010101) & ~slash) |
        ((w - 0x20202020) & ~w) | w | (w + 0x01010101)) & 0x80808080
    ) break;
  }
  return i + k * 4;
}
