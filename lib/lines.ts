/**
 * Turns lines of text (one message a line, or NDJSON) into batches of frames,
 * streamed: each read of the source becomes one batch, checked and encoded
 * with one UTF-8 decode and one encode.
 *
 * @example
 * ```ts
 * import { frameLines } from "./lines.ts";
 * import assert from "node:assert/strict";
 *
 * const input = new TextEncoder().encode('{"a":1}\n[2]\n');
 * const reader = { read: async (p: Uint8Array) => null as number | null };
 * let sent = false;
 * reader.read = async (p) => {
 *   if (sent) return null;
 *   sent = true;
 *   p.set(input);
 *   return input.length;
 * };
 * for await (const batch of frameLines(reader, { json: true })) {
 *   assert.equal(batch.messages, 2);
 *   assert.equal(new TextDecoder().decode(batch.data), '7\n{"a":1}3\n[2]');
 * }
 * ```
 *
 * @module
 */

import { type ByteReader, DEFAULT_MAX_BYTES } from "./framing.ts";
import { decodeUtf8, isAsciiDecoding, looseDecoder, utf8Length } from "./utf8.ts";

/** Encoded frames ready to write, and how many messages they hold. */
export interface FrameBatch {
  /**
   * One or more complete frames. From {@linkcode frameLines} it is a view of
   * a reused buffer, valid until the next batch is asked for: write it (or
   * copy it) first.
   */
  data: Uint8Array;
  /** How many frames `data` holds. */
  messages: number;
}

/** Options for {@linkcode frameLines}. */
export interface FrameLinesOptions {
  /**
   * Each line is a JSON text, sent as it is (NDJSON); blank lines are
   * skipped. Otherwise each line is sent as a JSON string.
   */
  json?: boolean;
  /** Refuse a message whose payload exceeds this many bytes. Defaults to 64 MiB. */
  maxBytes?: number;
  /** Initial read buffer size in bytes; it grows for long lines. Defaults to 256 KiB. */
  bufferSize?: number;
}

const LF = 0x0a;
const QUOTE = 0x22;
const encoder = new TextEncoder();

/**
 * Reads lines from `source` and yields them as frames, in order. A CR before
 * the LF is dropped, and the last line needs no LF. Each batch's `data` is
 * written into one reused buffer: it is valid until the next batch is asked
 * for. Throws `SyntaxError` for a
 * line that is not UTF-8 (or, with `json`, not JSON) and `RangeError` for one
 * over `maxBytes`, after yielding every line before it.
 *
 * @example
 * ```ts
 * import { frameLines } from "./lines.ts";
 * import assert from "node:assert/strict";
 *
 * const chunks = [new TextEncoder().encode("Hello World!\r\n")];
 * const source = {
 *   async read(p: Uint8Array): Promise<number | null> {
 *     const chunk = chunks.shift();
 *     if (!chunk) return null;
 *     p.set(chunk);
 *     return chunk.length;
 *   },
 * };
 * const batches = [];
 * for await (const batch of frameLines(source)) batches.push(batch);
 * assert.equal(new TextDecoder().decode(batches[0].data), '14\n"Hello World!"');
 * ```
 */
export async function* frameLines(
  source: ByteReader,
  options: FrameLinesOptions = {},
): AsyncGenerator<FrameBatch, void, undefined> {
  const json = options.json ?? false;
  const maxBytes = options.maxBytes ?? DEFAULT_MAX_BYTES;
  let buf = new Uint8Array(options.bufferSize ?? 256 * 1024);
  let out: Uint8Array = new Uint8Array(0);
  let end = 0;
  let lineNumber = 0;
  let eof = false;
  while (!eof) {
    if (end === buf.length) {
      // A line longer than the buffer: grow it, up to what a message may be.
      const bigger = new Uint8Array(Math.min(buf.length * 2, maxBytes + 2));
      bigger.set(buf);
      buf = bigger;
    }
    const n = await source.read(buf.subarray(end));
    if (n === null) eof = true;
    else end += n;
    // Only the bytes just read can hold a new LF: what came before is
    // the start of a line already searched.
    const newLf = buf.subarray(end - (n ?? 0), end).lastIndexOf(LF);
    let complete = newLf < 0 ? 0 : end - (n ?? 0) + newLf + 1;
    if (eof) complete = end;
    if (complete === 0) {
      if (end > maxBytes + 1) {
        throw new RangeError(
          `Cannot send line ${lineNumber + 1}: it is longer than the limit of ${maxBytes} bytes`,
        );
      }
      continue;
    }
    const batch = encodeLines(buf.subarray(0, complete), lineNumber + 1, json, maxBytes, out);
    out = batch.buffer;
    lineNumber += batch.lines;
    buf.copyWithin(0, complete, end);
    end -= complete;
    if (batch.messages > 0) yield { data: batch.data, messages: batch.messages };
    if (batch.error) throw batch.error;
  }
}

interface EncodedLines extends FrameBatch {
  /** Lines read, including the bad one if there is an error. */
  lines: number;
  error?: Error;
  /** The output buffer, grown if it had to be, to reuse for the next batch. */
  buffer: Uint8Array;
}

/**
 * Frames the lines in `bytes`. Each line is checked on one decode of all of
 * them, and its frame is written by copying its own bytes behind the length
 * prefix: only a string that JSON must escape is encoded anew.
 */
function encodeLines(
  bytes: Uint8Array,
  firstLine: number,
  json: boolean,
  maxBytes: number,
  buffer: Uint8Array,
): EncodedLines {
  const text = looseDecoder.decode(bytes);
  const ascii = isAsciiDecoding(text, bytes.length);
  if (!ascii && decodeUtf8(bytes) === undefined) {
    return encodeLinesUntilBadUtf8(bytes, firstLine, json, maxBytes, buffer);
  }
  const lines = text.split("\n");
  if (text.endsWith("\n")) lines.pop();
  // Pass 1: check each line and note where its payload comes from.
  const starts: number[] = [];
  const ends: number[] = [];
  const escaped: (string | null)[] = [];
  let size = 0;
  let start = 0;
  let error: Error | undefined;
  let i = 0;
  for (; i < lines.length; i++) {
    let line = lines[i];
    // In ASCII a line's bytes are as many as its characters.
    let end = ascii ? start + line.length : bytes.indexOf(LF, start);
    if (end < 0) end = bytes.length;
    const next = end + 1;
    if (line.endsWith("\r")) {
      line = line.slice(0, -1);
      end--;
    }
    let length = end - start;
    let escape: string | null = null;
    if (json) {
      if (line.trim() === "") {
        start = next;
        continue;
      }
      try {
        JSON.parse(line);
      } catch (e) {
        error = new SyntaxError(
          `Cannot send line ${firstLine + i}: it is not valid JSON (${(e as Error).message})`,
        );
        break;
      }
    } else {
      const quoted = JSON.stringify(line);
      // Without escapes the JSON string is the line's own bytes in quotes.
      if (quoted.length === line.length + 2) {
        length += 2;
      } else {
        escape = quoted;
        length = ascii ? quoted.length : utf8Length(quoted);
      }
    }
    if (length > maxBytes) {
      error = new RangeError(
        `Cannot send line ${
          firstLine + i
        }: its payload of ${length} bytes exceeds the limit of ${maxBytes} bytes`,
      );
      break;
    }
    starts.push(start);
    ends.push(end);
    escaped.push(escape);
    size += decimalLength(length) + 1 + length;
    start = next;
  }
  // Pass 2: write the frames.
  if (buffer.length < size) buffer = new Uint8Array(Math.max(size, buffer.length * 2));
  const data = buffer.subarray(0, size);
  let at = 0;
  for (let k = 0; k < starts.length; k++) {
    const escape = escaped[k];
    const from = starts[k];
    const to = ends[k];
    if (escape !== null) {
      const length = ascii ? escape.length : utf8Length(escape);
      at = writeDecimal(data, at, length);
      data[at++] = LF;
      at += encoder.encodeInto(escape, data.subarray(at)).written;
      continue;
    }
    at = writeDecimal(data, at, to - from + (json ? 0 : 2));
    data[at++] = LF;
    if (!json) data[at++] = QUOTE;
    if (to - from < 64) {
      for (let j = from; j < to; j++) data[at++] = bytes[j];
    } else {
      data.set(bytes.subarray(from, to), at);
      at += to - from;
    }
    if (!json) data[at++] = QUOTE;
  }
  return { data, messages: starts.length, lines: error ? i + 1 : lines.length, error, buffer };
}

/** How many decimal digits `n` has. */
function decimalLength(n: number): number {
  let digits = 1;
  while (n >= 10) {
    n = Math.floor(n / 10);
    digits++;
  }
  return digits;
}

/** Writes `n` in ASCII decimal at `at`; returns where it ends. */
function writeDecimal(data: Uint8Array, at: number, n: number): number {
  const end = at + decimalLength(n);
  for (let i = end - 1; i >= at; i--) {
    data[i] = 0x30 + n % 10;
    n = Math.floor(n / 10);
  }
  return end;
}

/** Encodes the lines before the first one that is not UTF-8, and reports it. */
function encodeLinesUntilBadUtf8(
  bytes: Uint8Array,
  firstLine: number,
  json: boolean,
  maxBytes: number,
  buffer: Uint8Array,
): EncodedLines {
  let start = 0;
  for (let i = 0;; i++) {
    let end = bytes.indexOf(LF, start);
    if (end < 0) end = bytes.length;
    if (decodeUtf8(bytes.subarray(start, end)) === undefined) {
      const before = start === 0
        ? { data: new Uint8Array(0), messages: 0, lines: 0, buffer }
        : encodeLines(bytes.subarray(0, start), firstLine, json, maxBytes, buffer);
      return {
        ...before,
        lines: i + 1,
        error: before.error ??
          new SyntaxError(`Cannot send line ${firstLine + i}: it is not valid UTF-8`),
      };
    }
    start = end + 1;
  }
}
