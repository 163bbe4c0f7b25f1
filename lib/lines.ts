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
  /** One or more complete frames. */
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
const encoder = new TextEncoder();

/**
 * Reads lines from `source` and yields them as frames, in order. A CR before
 * the LF is dropped, and the last line needs no LF. Throws `SyntaxError` for a
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
    let complete = buf.lastIndexOf(LF, end - 1) + 1;
    if (eof) complete = end;
    if (complete === 0) {
      if (end > maxBytes + 1) {
        throw new RangeError(
          `Cannot send line ${lineNumber + 1}: it is longer than the limit of ${maxBytes} bytes`,
        );
      }
      continue;
    }
    const batch = encodeLines(buf.subarray(0, complete), lineNumber + 1, json, maxBytes);
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
}

function encodeLines(
  bytes: Uint8Array,
  firstLine: number,
  json: boolean,
  maxBytes: number,
): EncodedLines {
  let text = looseDecoder.decode(bytes);
  const ascii = isAsciiDecoding(text, bytes.length);
  if (!ascii && decodeUtf8(bytes) === undefined) {
    return encodeLinesUntilBadUtf8(bytes, firstLine, json, maxBytes);
  }
  if (text.endsWith("\n")) text = text.slice(0, -1);
  const lines = text.split("\n");
  let out = "";
  let messages = 0;
  for (let i = 0; i < lines.length; i++) {
    let line = lines[i];
    if (line.endsWith("\r")) line = line.slice(0, -1);
    let payload: string;
    if (json) {
      if (line.trim() === "") continue;
      try {
        JSON.parse(line);
      } catch (error) {
        return {
          ...finish(out, messages, i + 1),
          error: new SyntaxError(
            `Cannot send line ${firstLine + i}: it is not valid JSON (${(error as Error).message})`,
          ),
        };
      }
      payload = line;
    } else {
      payload = JSON.stringify(line);
    }
    const length = ascii ? payload.length : utf8Length(payload);
    if (length > maxBytes) {
      return {
        ...finish(out, messages, i + 1),
        error: new RangeError(
          `Cannot send line ${
            firstLine + i
          }: its payload of ${length} bytes exceeds the limit of ${maxBytes} bytes`,
        ),
      };
    }
    out += length + "\n" + payload;
    messages++;
  }
  return finish(out, messages, lines.length);
}

/** Encodes the lines before the first one that is not UTF-8, and reports it. */
function encodeLinesUntilBadUtf8(
  bytes: Uint8Array,
  firstLine: number,
  json: boolean,
  maxBytes: number,
): EncodedLines {
  let start = 0;
  for (let i = 0;; i++) {
    let end = bytes.indexOf(LF, start);
    if (end < 0) end = bytes.length;
    if (decodeUtf8(bytes.subarray(start, end)) === undefined) {
      const before = start === 0
        ? { data: new Uint8Array(0), messages: 0, lines: 0 }
        : encodeLines(bytes.subarray(0, start), firstLine, json, maxBytes);
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

function finish(out: string, messages: number, lines: number): EncodedLines {
  return { data: encoder.encode(out), messages, lines };
}
