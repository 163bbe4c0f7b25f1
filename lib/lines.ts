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
const CR = 0x0d;
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
  // Pending bytes start at HEADROOM, so that a long line's length prefix can
  // be written in front of it, in place.
  let buf = new Uint8Array(HEADROOM + (options.bufferSize ?? 256 * 1024));
  let out: Uint8Array = new Uint8Array(0);
  let end = HEADROOM;
  let lineNumber = 0;
  let eof = false;
  while (!eof) {
    if (end === buf.length) {
      // A line longer than the buffer: grow it, up to what a message may be.
      const bigger = new Uint8Array(Math.min(buf.length * 2, HEADROOM + maxBytes + 2));
      bigger.set(buf.subarray(0, end));
      buf = bigger;
    }
    // At most MAX_READ at a time: what follows the last line end is moved
    // to the front, and that stays short.
    const n = await source.read(buf.subarray(end, Math.min(buf.length, end + MAX_READ)));
    if (n === null) eof = true;
    else end += n;
    // Only the bytes just read can hold a new LF: what came before is
    // the start of a line already searched.
    const newLf = lastLf(buf.subarray(end - (n ?? 0), end));
    let complete = newLf < 0 ? HEADROOM : end - (n ?? 0) + newLf + 1;
    if (eof) complete = end;
    if (complete === HEADROOM) {
      if (end - HEADROOM > maxBytes + 1) {
        throw new RangeError(
          `Cannot send line ${lineNumber + 1}: it is longer than the limit of ${maxBytes} bytes`,
        );
      }
      continue;
    }
    const bytes = buf.subarray(HEADROOM, complete);
    const plan = planBatch(bytes, lineNumber + 1, json, maxBytes);
    lineNumber += plan.lines;
    let first = 0;
    if (plan.starts[0] === 0 && plan.escaped[0] === null) {
      // A long first line is sent from where it was read, its prefix
      // written in front of it: no copy.
      const frame = frameInPlace(buf, plan.ends[0], json, bytes.length);
      if (frame) {
        yield { data: frame, messages: 1 };
        first = 1;
      }
    }
    if (first < plan.starts.length) {
      const size = plan.size - (first === 0 ? 0 : frameLength(plan.ends[0], json));
      if (out.length < size) out = new Uint8Array(Math.max(size, out.length * 2));
      yield {
        data: writeFrames(plan, bytes, first, json, out),
        messages: plan.starts.length - first,
      };
    }
    if (plan.error) throw plan.error;
    buf.copyWithin(HEADROOM, complete, end);
    end = HEADROOM + end - complete;
  }
}

/** Bytes kept free before pending bytes: a length prefix, its LF and a quote. */
const HEADROOM = 16;
/** The most read at once. */
const MAX_READ = 1024 * 1024;
/** From this many bytes a first line is framed in place instead of copied. */
const IN_PLACE_BYTES = 64 * 1024;

/** The bytes of the frame of a line of `bytes` bytes, prefix included. */
function frameLength(bytes: number, json: boolean): number {
  const length = bytes + (json ? 0 : 2);
  return decimalLength(length) + 1 + length;
}

/**
 * Frames a batch's first line, read into `buf` at HEADROOM and ending at
 * `lineEnd` bytes from there, where it lies: its prefix (and without `json`,
 * its opening quote) goes in front of it, and without `json` its closing
 * quote over the CR or LF after it. Returns the frame, or undefined if the
 * line is short, or has no byte after it of the batch's `batchBytes`.
 */
function frameInPlace(
  buf: Uint8Array,
  lineEnd: number,
  json: boolean,
  batchBytes: number,
): Uint8Array | undefined {
  if (lineEnd < IN_PLACE_BYTES || (!json && lineEnd >= batchBytes)) return undefined;
  const length = lineEnd + (json ? 0 : 2);
  let from = HEADROOM;
  if (!json) buf[--from] = QUOTE;
  buf[--from] = LF;
  from -= decimalLength(length);
  writeDecimal(buf, from, length);
  let to = HEADROOM + lineEnd;
  if (!json) buf[to++] = QUOTE;
  return buf.subarray(from, to);
}

/** Writes the frames of `plan`'s lines from `first` on into `out`; returns them. */
function writeFrames(
  plan: LinePlan,
  bytes: Uint8Array,
  first: number,
  json: boolean,
  out: Uint8Array,
): Uint8Array {
  const { starts, ends, escaped } = plan;
  let at = 0;
  for (let k = first; k < starts.length; k++) {
    const escape = escaped[k];
    const from = starts[k];
    const to = ends[k];
    if (escape !== null) {
      at = writeDecimal(out, at, utf8Length(escape));
      out[at++] = LF;
      at += encoder.encodeInto(escape, out.subarray(at)).written;
      continue;
    }
    at = writeDecimal(out, at, to - from + (json ? 0 : 2));
    out[at++] = LF;
    if (!json) out[at++] = QUOTE;
    if (to - from < 64) {
      for (let j = from; j < to; j++) out[at++] = bytes[j];
    } else {
      out.set(bytes.subarray(from, to), at);
      at += to - from;
    }
    if (!json) out[at++] = QUOTE;
  }
  return out.subarray(0, at);
}

/** Bytes searched at a time for the last LF; decoded, a piece this size stays in V8's young space. */
const SEARCH_PIECE = 16 * 1024;

/**
 * The index of the last LF in `bytes`, or -1. The end is searched first as
 * bytes (a short line ends near it); beyond that, piece by piece from the
 * end, in decoded text where the piece is ASCII: decoding and searching text
 * runs several times faster than `Uint8Array.prototype.lastIndexOf`.
 */
function lastLf(bytes: Uint8Array): number {
  const tail = Math.max(0, bytes.length - 256);
  const near = bytes.subarray(tail).lastIndexOf(LF);
  if (near >= 0) return tail + near;
  for (let end = tail; end > 0; end -= SEARCH_PIECE) {
    const start = Math.max(0, end - SEARCH_PIECE);
    const piece = bytes.subarray(start, end);
    const text = looseDecoder.decode(piece);
    if (!isAsciiDecoding(text, piece.length)) {
      const at = piece.lastIndexOf(LF);
      if (at >= 0) return start + at;
      continue;
    }
    let at = text.indexOf("\n");
    if (at < 0) continue;
    for (let next = at; next >= 0; next = text.indexOf("\n", next + 1)) at = next;
    return start + at;
  }
  return -1;
}

/**
 * Runs of lines that need no other check, matched at once: with `json`, JSON
 * strings without escapes (`"..."`, a valid JSON text exactly when no `"`,
 * `\` or control character is inside), and otherwise lines that JSON.stringify
 * only puts in quotes. Each line ends in LF (a CR before it is dropped).
 * Longer lines are left to the general checks, which are faster for them.
 */
// deno-lint-ignore no-control-regex
const SIMPLE_JSON_LINES = /(?:"[^"\\\x00-\x1f]{0,1024}"\r?\n)*/y;
// deno-lint-ignore no-control-regex
const SIMPLE_TEXT_LINES = /(?:[^"\\\x00-\x1f]{0,1024}\r?\n)*/y;

/**
 * Checks the lines in `bytes` and notes where each one's payload comes from,
 * on one decode of all of them: a line's frame is then written by copying
 * its own bytes behind the length prefix; only a string that JSON must
 * escape is encoded anew.
 */
function planBatch(
  bytes: Uint8Array,
  firstLine: number,
  json: boolean,
  maxBytes: number,
): LinePlan {
  const text = looseDecoder.decode(bytes);
  const ascii = isAsciiDecoding(text, bytes.length);
  if (!ascii && decodeUtf8(bytes) === undefined) {
    return planUntilBadUtf8(bytes, firstLine, json, maxBytes);
  }
  const plan: LinePlan = { starts: [], ends: [], escaped: [], size: 0, lines: 0 };
  if (ascii) planAsciiLines(text, plan, firstLine, json, maxBytes);
  else planLines(text, bytes, plan, firstLine, json, maxBytes);
  return plan;
}

/** Where each line's payload comes from, and what is wrong with the first bad line. */
interface LinePlan {
  /** Byte offsets where payloads begin and end. */
  starts: number[];
  ends: number[];
  /** The payload as JSON text, for a line JSON.stringify must escape. */
  escaped: (string | null)[];
  /** Bytes of the frames, prefixes included. */
  size: number;
  /** Lines read, including the bad one if there is an error. */
  lines: number;
  error?: Error;
}

/**
 * Plans the lines of ASCII `text`, whose characters are its bytes. Runs of
 * simple lines are checked by one regular expression; any other line is
 * checked on its own, without first splitting all of them.
 */
function planAsciiLines(
  text: string,
  plan: LinePlan,
  firstLine: number,
  json: boolean,
  maxBytes: number,
): void {
  const simple = json ? SIMPLE_JSON_LINES : SIMPLE_TEXT_LINES;
  let simpleEnd = 0;
  let start = 0;
  while (start < text.length) {
    if (start >= simpleEnd) {
      simple.lastIndex = start;
      simple.test(text);
      simpleEnd = simple.lastIndex;
    }
    let lf = text.indexOf("\n", start);
    if (lf < 0) lf = text.length;
    let end = lf;
    if (end > start && text.charCodeAt(end - 1) === CR) end--;
    plan.lines++;
    const length = lf < simpleEnd
      ? end - start + (json ? 0 : 2)
      : checkLine(text.slice(start, end), end - start, plan, firstLine, json, true);
    if (plan.error) return;
    if (length >= 0 && !addLine(plan, start, end, length, firstLine, maxBytes)) return;
    start = lf + 1;
  }
}

/** Plans the lines of `text`, decoded from `bytes`, which are not all ASCII. */
function planLines(
  text: string,
  bytes: Uint8Array,
  plan: LinePlan,
  firstLine: number,
  json: boolean,
  maxBytes: number,
): void {
  const lines = text.split("\n");
  if (text.endsWith("\n")) lines.pop();
  let start = 0;
  for (let line of lines) {
    let end = bytes.indexOf(LF, start);
    if (end < 0) end = bytes.length;
    const next = end + 1;
    if (line.endsWith("\r")) {
      line = line.slice(0, -1);
      end--;
    }
    plan.lines++;
    const length = checkLine(line, end - start, plan, firstLine, json, false);
    if (plan.error) return;
    if (length >= 0 && !addLine(plan, start, end, length, firstLine, maxBytes)) return;
    start = next;
  }
}

/**
 * Checks one line of `bytes` bytes: with `json`, that it is JSON (a blank
 * line is skipped: -1); otherwise whether JSON.stringify escapes it. Returns
 * its payload's length in bytes, or sets `plan.error`.
 */
function checkLine(
  line: string,
  bytes: number,
  plan: LinePlan,
  firstLine: number,
  json: boolean,
  ascii: boolean,
): number {
  if (json) {
    if (line.trim() === "") return -1;
    try {
      JSON.parse(line);
    } catch (e) {
      plan.error = new SyntaxError(
        `Cannot send line ${firstLine + plan.lines - 1}: it is not valid JSON (${
          (e as Error).message
        })`,
      );
    }
    return bytes;
  }
  const quoted = JSON.stringify(line);
  // Without escapes the JSON string is the line's own bytes in quotes.
  if (quoted.length === line.length + 2) return bytes + 2;
  plan.escaped[plan.starts.length] = quoted;
  return ascii ? quoted.length : utf8Length(quoted);
}

/** Adds a line to the plan, or sets `plan.error` if its payload is over `maxBytes`. */
function addLine(
  plan: LinePlan,
  start: number,
  end: number,
  length: number,
  firstLine: number,
  maxBytes: number,
): boolean {
  if (length > maxBytes) {
    plan.error = new RangeError(
      `Cannot send line ${
        firstLine + plan.lines - 1
      }: its payload of ${length} bytes exceeds the limit of ${maxBytes} bytes`,
    );
    return false;
  }
  const k = plan.starts.length;
  plan.starts.push(start);
  plan.ends.push(end);
  if (plan.escaped.length <= k) plan.escaped.push(null);
  plan.size += decimalLength(length) + 1 + length;
  return true;
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

/** Plans the lines before the first one that is not UTF-8, and reports it. */
function planUntilBadUtf8(
  bytes: Uint8Array,
  firstLine: number,
  json: boolean,
  maxBytes: number,
): LinePlan {
  let start = 0;
  for (let i = 0;; i++) {
    let end = bytes.indexOf(LF, start);
    if (end < 0) end = bytes.length;
    if (decodeUtf8(bytes.subarray(start, end)) === undefined) {
      const before: LinePlan = start === 0
        ? { starts: [], ends: [], escaped: [], size: 0, lines: 0 }
        : planBatch(bytes.subarray(0, start), firstLine, json, maxBytes);
      if (before.error) return before;
      before.error = new SyntaxError(`Cannot send line ${firstLine + i}: it is not valid UTF-8`);
      before.lines = i + 1;
      return before;
    }
    start = end + 1;
  }
}
