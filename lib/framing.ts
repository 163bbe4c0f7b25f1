/**
 * The framecat wire format: a frame is the payload's length in UTF-8 bytes as
 * 1 to 10 ASCII decimal digits, one LF, then the payload, a UTF-8 JSON text of
 * exactly that many bytes. It is the format of the seed's Python `sender.py`
 * and `receiver.py`, byte for byte.
 *
 * @example Encode a value and decode it again
 * ```ts
 * import { decodeFrames, encodeFrame } from "./framing.ts";
 * import assert from "node:assert/strict";
 *
 * const frame = encodeFrame("Hello World!");
 * assert.equal(new TextDecoder().decode(frame), '14\n"Hello World!"');
 *
 * for await (const { value, bytes } of decodeFrames([frame, frame])) {
 *   assert.equal(value, "Hello World!");
 *   assert.equal(bytes, 14);
 * }
 * ```
 *
 * @module
 */

/** The seed's port, on which a receiver listens unless told otherwise. */
export const DEFAULT_PORT = 1234;

export {
  DEFAULT_MAX_BYTES,
  MAX_PREFIX_DIGITS,
  type PrefixProblem,
  prefixProblem,
  type PrefixProblemOptions,
} from "./framing/prefix.ts";

/**
 * The largest payload this implementation can decode: the longest string the
 * JavaScript engine can hold (2^29 - 24 code units).
 */
export const MAX_PAYLOAD_BYTES = 0x1fffffe8;

import type { ByteReader } from "./io.ts";
import { JsonChecker } from "./json_check.ts";
import {
  decimalLength,
  DEFAULT_MAX_BYTES,
  partialPrefix,
  PREFIX_BAD,
  PREFIX_PARTIAL,
  prefixProblem,
  type PrefixScan,
  scanPrefix,
  writeDecimal,
} from "./framing/prefix.ts";
import { decodeUtf8, isAsciiDecoding, looseDecoder } from "./utf8.ts";

const DEFAULT_BUFFER_SIZE = 256 * 1024;
const INITIAL_BUFFER_SIZE = 4 * 1024;
/**
 * Payloads read into a buffer of their own reuse one buffer up to this size;
 * a larger payload's buffer is given back as soon as it is decoded.
 */
const REUSED_PAYLOAD_LIMIT = 32 * 1024 * 1024;

/** What went wrong with a frame; see {@linkcode FrameError}. */
export type FrameErrorCode =
  | "INVALID_PREFIX"
  | "TOO_LARGE"
  | "TRUNCATED"
  | "INVALID_UTF8"
  | "INVALID_JSON";

/** Options for {@linkcode FrameError}. */
export interface FrameErrorOptions extends ErrorOptions {
  /** Offset in the byte stream at which the bad frame starts. */
  offset?: number;
  /** The bad frame's number in its stream, from 1. */
  frame?: number;
  /** Why, in words, without the frame's number and offset. */
  reason?: string;
}

/**
 * A frame on the wire that cannot be decoded. `code` tells callers what went
 * wrong; the message says it in words. After an `INVALID_PREFIX`, `TOO_LARGE`
 * or `TRUNCATED` error the frame boundaries of the stream are lost.
 *
 * @example
 * ```ts
 * import { decodeFrames, FrameError } from "./framing.ts";
 * import assert from "node:assert/strict";
 *
 * const bytes = new TextEncoder().encode("1e3\n");
 * await assert.rejects(async () => {
 *   for await (const _ of decodeFrames([bytes])) throw new Error("no frame expected");
 * }, (e) => e instanceof FrameError && e.code === "INVALID_PREFIX");
 * ```
 */
export class FrameError extends Error {
  /** What went wrong, for callers to branch on. */
  readonly code: FrameErrorCode;
  /** Offset in the byte stream at which the bad frame starts. */
  readonly offset: number;
  /** The bad frame's number in its stream, from 1 (0 if not known). */
  readonly frame: number;
  /** Why, in words, without the frame's number and offset. */
  readonly reason: string;

  /** Makes an error with a code and a message in words. */
  constructor(code: FrameErrorCode, message: string, options: FrameErrorOptions = {}) {
    super(message, options);
    this.name = "FrameError";
    this.code = code;
    this.offset = options.offset ?? 0;
    this.frame = options.frame ?? 0;
    this.reason = options.reason ?? message;
  }
}

/** The facts of a bad frame, for {@linkcode frameError}. */
export interface BadFrame {
  /** Its number in its stream, from 1. */
  frame: number;
  /** The stream offset at which it starts. */
  offset: number;
  /** Why, in words. */
  reason: string;
  /** The error underneath, if any. */
  cause?: unknown;
}

/**
 * The {@linkcode FrameError} for a bad frame, worded as every part of
 * framecat words it: `Cannot read frame N (stream byte X): reason`.
 *
 * @example
 * ```ts
 * import { frameError } from "./framing.ts";
 * import assert from "node:assert/strict";
 *
 * const error = frameError("TOO_LARGE", { frame: 2, offset: 17, reason: "too long" });
 * assert.equal(error.message, "Cannot read frame 2 (stream byte 17): too long");
 * assert.equal(error.reason, "too long");
 * ```
 */
export function frameError(code: FrameErrorCode, bad: BadFrame): FrameError {
  return new FrameError(
    code,
    `Cannot read frame ${bad.frame} (stream byte ${bad.offset}): ${bad.reason}`,
    { offset: bad.offset, frame: bad.frame, reason: bad.reason, cause: bad.cause },
  );
}

/** One decoded frame. */
export interface Frame {
  /** The payload parsed as JSON. */
  value: unknown;
  /** The payload as JSON text, exactly as it arrived. */
  text: string;
  /** The payload's length in bytes, as its length prefix declared it. */
  bytes: number;
}

export type { ByteReader } from "./io.ts";

/** Where {@linkcode FrameReader} and {@linkcode decodeFrames} read bytes from. */
export type ByteSource = ByteReader | AsyncIterable<Uint8Array> | Iterable<Uint8Array>;

/** Options for {@linkcode encodeFrame} and {@linkcode encodeJsonFrame}. */
export interface EncodeFrameOptions {
  /**
   * Refuse payloads longer than this many bytes.
   *
   * @default {@linkcode MAX_PAYLOAD_BYTES}
   */
  maxBytes?: number;
}

const encoder = new TextEncoder();

/**
 * Encodes a value as one frame: its JSON text, prefixed by the text's length
 * in UTF-8 bytes and a LF. Throws `TypeError` for a value with no JSON text
 * (`undefined`, a function) and `RangeError` for a payload over `maxBytes`.
 *
 * @throws {TypeError} for a value with no JSON text.
 * @throws {RangeError} for a payload over `maxBytes`.
 *
 * @example
 * ```ts
 * import { encodeFrame } from "./framing.ts";
 * import assert from "node:assert/strict";
 *
 * // "é" is two bytes in UTF-8: the prefix counts bytes, not characters.
 * assert.equal(new TextDecoder().decode(encodeFrame("é")), '4\n"é"');
 * ```
 */
export function encodeFrame(value: unknown, options: EncodeFrameOptions = {}): Uint8Array {
  const text = JSON.stringify(value);
  if (text === undefined) {
    throw new TypeError(`Cannot encode frame: a ${typeof value} has no JSON text`);
  }
  return frameText(text, options.maxBytes ?? MAX_PAYLOAD_BYTES);
}

/**
 * Encodes JSON text as one frame, exactly as given, after checking that it
 * parses. Throws `SyntaxError` for text that is not JSON and `RangeError` for
 * a payload over `maxBytes`. Unlike {@linkcode encodeFrame} it keeps the
 * text's own spacing and numbers that JavaScript cannot represent exactly.
 *
 * @throws {SyntaxError} for text that is not JSON.
 * @throws {RangeError} for a payload over `maxBytes`.
 *
 * @example
 * ```ts
 * import { encodeJsonFrame } from "./framing.ts";
 * import assert from "node:assert/strict";
 *
 * const frame = encodeJsonFrame('{"id": 12345678901234567890}');
 * assert.equal(new TextDecoder().decode(frame), '28\n{"id": 12345678901234567890}');
 * assert.throws(() => encodeJsonFrame("{oops}"), SyntaxError);
 * ```
 */
export function encodeJsonFrame(text: string, options: EncodeFrameOptions = {}): Uint8Array {
  JSON.parse(text);
  return frameText(text, options.maxBytes ?? MAX_PAYLOAD_BYTES);
}

function frameText(text: string, maxBytes: number): Uint8Array {
  const payload = encoder.encode(text);
  if (payload.length > maxBytes) {
    throw new RangeError(
      `Cannot encode frame: payload of ${payload.length} bytes exceeds the limit of ${maxBytes} bytes`,
    );
  }
  const prefixLength = decimalLength(payload.length) + 1;
  const frame = new Uint8Array(prefixLength + payload.length);
  frame[writeDecimal(frame, 0, payload.length)] = 0x0a;
  frame.set(payload, prefixLength);
  return frame;
}

/** Options for {@linkcode FrameReader} and {@linkcode decodeFrames}. */
export interface FrameReaderOptions {
  /**
   * Refuse a frame whose declared length exceeds this many bytes, before
   * anything of that size is allocated.
   *
   * @default {@linkcode DEFAULT_MAX_BYTES}
   */
  maxBytes?: number;
  /**
   * Largest size of the reused read buffer, in bytes. It starts at 4 KiB (a
   * connection of one small message costs little) and doubles while reads fill
   * it; a payload over half this size is read into a buffer of its own.
   *
   * @default 256 KiB; at least 64 bytes
   */
  bufferSize?: number;
}

/**
 * Reads frames from a byte stream in batches: each call to `readBatch()`
 * returns every frame that the bytes read so far complete, decoded with one
 * UTF-8 decode for the whole batch. Bytes are read into one reused buffer; a
 * payload too large for it is read directly into a buffer of its declared size,
 * allocated only after the size limit is checked. Every payload is checked to
 * be UTF-8 and JSON.
 *
 * @example
 * ```ts
 * import { FrameReader } from "./framing.ts";
 * import assert from "node:assert/strict";
 *
 * const bytes = new TextEncoder().encode("1\n13\n[2]");
 * const reader = new FrameReader([bytes.subarray(0, 4), bytes.subarray(4)]);
 * assert.deepEqual((await reader.readBatch())?.map((f) => f.value), [1]);
 * assert.deepEqual((await reader.readBatch())?.map((f) => f.value), [[2]]);
 * assert.equal(await reader.readBatch(), null);
 * ```
 */
export class FrameReader {
  #source: ByteReader;
  #iterator: AsyncIterator<Uint8Array> | Iterator<Uint8Array> | undefined;
  #maxBytes: number;
  #buf: Uint8Array;
  #maxBufferSize: number;
  /** Whether the last read filled all the room there was. */
  #readFilled = false;
  #start = 0;
  #end = 0;
  /** Stream offset of `#buf[0]`. */
  #base = 0;
  #frames = 0;
  #inLargePayload = false;
  /** The buffer reused for payloads too large for `#buf`, up to the limit. */
  #payloadBuffer: Uint8Array<ArrayBuffer> | null = null;
  #received = 0;
  /** Declared length of the incomplete frame at `#start`, or -1 while its prefix is incomplete. */
  #pendingLength = -1;
  /** Bytes of that frame's prefix and LF: its payload starts this far after `#start`. */
  #pendingPrefixLength = 0;
  /** Start and end of each complete payload found by `#scan`, and its frame's start. */
  #marks: number[] = [];
  /** The length prefix being scanned, reused. */
  #prefix: PrefixScan = { start: 0, end: 0, maxBytes: 0, length: 0, payloadStart: 0 };
  #error: FrameError | null = null;
  #done = false;

  /** Reads from `source`: a `Deno.Conn`-like reader or an iterable of byte chunks. */
  constructor(source: ByteSource, options: FrameReaderOptions = {}) {
    const maxBytes = options.maxBytes ?? DEFAULT_MAX_BYTES;
    if (!Number.isSafeInteger(maxBytes) || maxBytes < 1 || maxBytes > MAX_PAYLOAD_BYTES) {
      throw new RangeError(
        `Cannot read frames: maxBytes must be a whole number from 1 to ${MAX_PAYLOAD_BYTES}, got ${maxBytes}`,
      );
    }
    this.#maxBytes = maxBytes;
    // Room for a whole length prefix, at the least.
    this.#maxBufferSize = Math.max(options.bufferSize ?? DEFAULT_BUFFER_SIZE, 64);
    this.#buf = new Uint8Array(Math.min(INITIAL_BUFFER_SIZE, this.#maxBufferSize));
    if (isByteReader(source)) {
      this.#source = source;
    } else {
      const iterator = Symbol.asyncIterator in source
        ? source[Symbol.asyncIterator]()
        : source[Symbol.iterator]();
      this.#iterator = iterator;
      this.#source = iteratorReader(iterator);
    }
  }

  /** Whether bytes of a frame that is not yet complete have arrived. */
  get partial(): boolean {
    return this.#inLargePayload || this.#end > this.#start;
  }

  /** How many bytes have been read from the source so far. */
  get received(): number {
    return this.#received;
  }

  /** How many frames have been returned so far. */
  get frames(): number {
    return this.#frames;
  }

  /**
   * Resolves to the next batch of decoded frames (never empty), or `null`
   * when the stream ends cleanly between frames. Rejects with a
   * {@linkcode FrameError} for a bad frame, after the batch of the valid
   * frames before it has been returned, and again on every later call.
   */
  async readBatch(): Promise<Frame[] | null> {
    while (true) {
      if (this.#error) throw this.#error;
      if (this.#done) return null;
      this.#scan();
      const frames = this.#decodeMarked();
      if (frames.length > 0) return frames;
      if (this.#error) throw this.#error;
      if (this.#pendingLength > this.#maxBufferSize / 2) {
        return [await this.#readLargeFrame()];
      }
      await this.#fill();
    }
  }

  /** Stops reading; an iterable source is told so, a `ByteReader` is left to its owner. */
  async cancel(): Promise<void> {
    this.#done = true;
    await this.#iterator?.return?.();
  }

  /** Finds every complete frame in the buffer, checking each prefix. */
  #scan(): void {
    const buf = this.#buf;
    const marks = this.#marks;
    const prefix = this.#prefix;
    marks.length = 0;
    this.#pendingLength = -1;
    prefix.end = this.#end;
    prefix.maxBytes = this.#maxBytes;
    let pos = this.#start;
    while (pos < this.#end) {
      prefix.start = pos;
      const status = scanPrefix(buf, prefix);
      if (status === PREFIX_BAD) {
        const problem = prefixProblem(buf.subarray(pos, this.#end), { maxBytes: this.#maxBytes })!;
        this.#fail(problem.code, this.#base + pos, problem.reason, this.#frames + marks.length / 3);
        break;
      }
      if (status === PREFIX_PARTIAL) break;
      const payloadEnd = prefix.payloadStart + prefix.length;
      if (payloadEnd > this.#end) {
        this.#pendingLength = prefix.length;
        this.#pendingPrefixLength = prefix.payloadStart - pos;
        break;
      }
      marks.push(prefix.payloadStart, payloadEnd, pos);
      pos = payloadEnd;
    }
    this.#start = pos;
  }

  /** Decodes the payloads `#scan` found: one UTF-8 decode for an all-ASCII batch. */
  #decodeMarked(): Frame[] {
    const marks = this.#marks;
    const frames: Frame[] = [];
    if (marks.length === 0) return frames;
    const buf = this.#buf;
    const first = marks[0];
    const last = marks[marks.length - 2];
    const region = looseDecoder.decode(buf.subarray(first, last));
    const ascii = isAsciiDecoding(region, last - first);
    for (let k = 0; k < marks.length; k += 3) {
      const start = marks[k];
      const end = marks[k + 1];
      const text = ascii
        ? region.slice(start - first, end - first)
        : this.#decodeText(buf.subarray(start, end), this.#base + marks[k + 2]);
      if (text === undefined) break;
      const value = this.#parse(text, this.#base + marks[k + 2]);
      if (value === INVALID) break;
      frames.push({ value, text, bytes: end - start });
      this.#frames++;
    }
    return frames;
  }

  /** Reads a payload too large for the buffer straight into one of its own size. */
  async #readLargeFrame(): Promise<Frame> {
    const length = this.#pendingLength;
    const frameStart = this.#base + this.#start;
    const payloadStart = frameStart + this.#pendingPrefixLength;
    const reuse = length <= REUSED_PAYLOAD_LIMIT;
    if (reuse && (this.#payloadBuffer?.length ?? 0) < length) {
      this.#payloadBuffer = new Uint8Array(length);
    }
    const payload: Uint8Array<ArrayBuffer> = reuse
      ? this.#payloadBuffer!.subarray(0, length)
      : new Uint8Array(length);
    payload.set(this.#buf.subarray(this.#start + this.#pendingPrefixLength, this.#end));
    let filled = this.#end - this.#start - this.#pendingPrefixLength;
    this.#start = this.#end = 0;
    this.#inLargePayload = true;
    while (filled < length) {
      const n = await this.#source.read(payload.subarray(filled));
      if (n === null) {
        this.#done = true;
        throw this.#fail(
          "TRUNCATED",
          frameStart,
          `stream ended after ${filled} of ${length} payload bytes`,
        );
      }
      filled += n;
      this.#received += n;
    }
    this.#inLargePayload = false;
    this.#base = payloadStart + length;
    const text = this.#decodeText(payload, frameStart);
    // The text holds the payload now: give a very large buffer's memory back
    // at once rather than at the next garbage collection, so that such a
    // message is held twice at most (as text and as value), never three times.
    if (!reuse) payload.buffer.transfer(0);
    if (text === undefined) throw this.#error;
    const value = this.#parse(text, frameStart);
    if (value === INVALID) throw this.#error;
    this.#frames++;
    return { value, text, bytes: length };
  }

  /** Makes room in the buffer and reads more bytes into it. */
  async #fill(): Promise<void> {
    const held = this.#end - this.#start;
    const needed = this.#pendingLength >= 0 ? this.#pendingPrefixLength + this.#pendingLength : 0;
    let buf = this.#buf;
    const grow = this.#readFilled || held === buf.length || needed > buf.length;
    if (grow && buf.length < this.#maxBufferSize) {
      // Reads fill the buffer, or a frame needs more room: grow it.
      let size = buf.length * 2;
      while (size < needed) size *= 2;
      buf = new Uint8Array(Math.min(size, this.#maxBufferSize));
    }
    if (this.#start > 0 || buf !== this.#buf) {
      buf.set(this.#buf.subarray(this.#start, this.#end));
      this.#buf = buf;
      this.#base += this.#start;
      this.#end = held;
      this.#start = 0;
    }
    const space = buf.length - this.#end;
    // Cannot happen (a frame that fills the buffer is read on its own), but a
    // read into no room would return 0 forever.
    if (space === 0) throw new Error("FrameReader: no room to read into");
    const n = await this.#source.read(buf.subarray(this.#end));
    if (n === null) {
      this.#done = true;
      if (this.#end > this.#start) this.#failTruncated();
      return;
    }
    this.#readFilled = n === space;
    this.#end += n;
    this.#received += n;
  }

  #failTruncated(): void {
    const have = this.#end - this.#start;
    if (this.#pendingLength >= 0) {
      const got = have - this.#pendingPrefixLength;
      this.#fail(
        "TRUNCATED",
        this.#base + this.#start,
        `stream ended after ${got} of ${this.#pendingLength} payload bytes`,
      );
    } else {
      this.#fail(
        "TRUNCATED",
        this.#base + this.#start,
        `stream ended ${partialPrefix(this.#buf.subarray(this.#start, this.#start + have))}`,
      );
    }
  }

  #decodeText(bytes: Uint8Array, frameStart: number): string | undefined {
    const text = decodeUtf8(bytes);
    if (text === undefined) {
      const size = bytes.length === 1 ? "1 byte" : `${bytes.length} bytes`;
      this.#fail("INVALID_UTF8", frameStart, `payload of ${size} is not valid UTF-8`);
    }
    return text;
  }

  #parse(text: string, frameStart: number): unknown {
    try {
      return JSON.parse(text);
    } catch (error) {
      // The engine's message quotes the payload raw; the checker's names the
      // byte, escaped.
      const why = `payload is not valid JSON: ${
        new JsonChecker().check(encoder.encode(text)) ?? (error as Error).message
      }`;
      this.#fail("INVALID_JSON", frameStart, why, this.#frames, error);
      return INVALID;
    }
  }

  /**
   * Records the error of the frame after `before` frames: those returned, or
   * while scanning, those returned and those marked before the bad one.
   */
  #fail(
    code: FrameErrorCode,
    offset: number,
    why: string,
    before: number = this.#frames,
    cause?: unknown,
  ): FrameError {
    this.#error = frameError(code, { frame: before + 1, offset, reason: why, cause });
    return this.#error;
  }
}

const INVALID = Symbol("invalid");

/**
 * Decodes the frames of a byte stream one message at a time. Ends when the
 * stream ends cleanly between frames; throws a {@linkcode FrameError} at the
 * first bad frame, after yielding every valid frame before it.
 *
 * @example
 * ```ts
 * import { decodeFrames } from "./framing.ts";
 * import assert from "node:assert/strict";
 *
 * const bytes = new TextEncoder().encode('2\n{}8\n"héllo"');
 * const values = [];
 * for await (const frame of decodeFrames([bytes])) values.push(frame.value);
 * assert.deepEqual(values, [{}, "héllo"]);
 * ```
 */
export async function* decodeFrames(
  source: ByteSource,
  options: FrameReaderOptions = {},
): AsyncGenerator<Frame, void, undefined> {
  const reader = new FrameReader(source, options);
  try {
    while (true) {
      const batch = await reader.readBatch();
      if (batch === null) return;
      yield* batch;
    }
  } finally {
    await reader.cancel();
  }
}

function isByteReader(source: ByteSource): source is ByteReader {
  return typeof (source as Partial<ByteReader>).read === "function";
}

function iteratorReader(iterator: AsyncIterator<Uint8Array> | Iterator<Uint8Array>): ByteReader {
  let chunk: Uint8Array = new Uint8Array(0);
  return {
    async read(p: Uint8Array): Promise<number | null> {
      while (chunk.length === 0) {
        const next = await iterator.next();
        if (next.done) return null;
        chunk = next.value;
      }
      const n = Math.min(p.length, chunk.length);
      p.set(chunk.subarray(0, n));
      chunk = chunk.subarray(n);
      return n;
    },
  };
}
