/**
 * Turns lines of text (one message a line, or NDJSON) into batches of frames,
 * streamed: the lines each read completes become one batch (two when the
 * first is long: it is framed where it was read, without a copy), checked on
 * one UTF-8 decode, each frame its line's own bytes behind a length prefix.
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

import type { ByteReader } from "./io.ts";
import {
  decimalLength,
  DEFAULT_MAX_BYTES,
  MAX_PREFIX_DIGITS,
  writeDecimal,
} from "./framing/prefix.ts";
import { JsonChecker } from "./json_check.ts";
import { indexOfByte, lastIndexOfByte, ScanBuffer, skipPlain } from "./plain_scan.ts";
import { decodeUtf8, isAsciiDecoding, looseDecoder, utf8Length } from "./utf8.ts";
import { badInput } from "./errors.ts";

export type { ByteReader } from "./io.ts";

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
  /**
   * Refuse a message whose payload exceeds this many bytes.
   *
   * @default 64 MiB
   */
  maxBytes?: number;
  /**
   * Initial read buffer size in bytes; it grows for long lines.
   *
   * @default 256 KiB
   */
  bufferSize?: number;
}

const LF = 0x0a;
const CR = 0x0d;
const QUOTE = 0x22;
const encoder = new TextEncoder();
const checker = new JsonChecker();

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
  // be written in front of it, in place. They are read into WebAssembly
  // memory, where the scans run without copying them.
  const memory = new ScanBuffer({ size: HEADROOM + (options.bufferSize ?? 256 * 1024) });
  let buf = memory.bytes;
  let out: Uint8Array = new Uint8Array(0);
  let end = HEADROOM;
  let lineNumber = 0;
  let eof = false;
  // The first pending line, while it is long and its end not read yet, is
  // checked as it arrives (its bytes are still in the cache): up to
  // `checked`, and `good` says whether it passed so far.
  const ahead: LineCheck = { checked: HEADROOM, good: true };
  while (!eof) {
    if (end === buf.length) {
      // A line longer than the buffer: grow it, up to what a message may be.
      buf = memory.grow(Math.min(buf.length * 2, HEADROOM + maxBytes + 2));
    }
    // At most READ_BYTES at once: bytes are checked while the cache still
    // holds them, and one read costs a round trip to a thread of the runtime.
    const n = await source.read(buf.subarray(end, Math.min(buf.length, end + READ_BYTES)));
    if (n === null) eof = true;
    else end += n;
    // Only the bytes just read can hold a new LF: what came before is
    // the start of a line already searched.
    const newLf = lastLf(buf.subarray(end - (n ?? 0), end));
    let complete = newLf < 0 ? HEADROOM : end - (n ?? 0) + newLf + 1;
    if (eof) complete = end;
    if (complete === HEADROOM) {
      if (end - HEADROOM > maxBytes + 1) {
        throw badInput(
          new RangeError(
            `Cannot send line ${lineNumber + 1}: it is longer than the limit of ${maxBytes} bytes`,
          ),
        );
      }
      if (end - HEADROOM >= IN_PLACE_BYTES) checkAhead(buf, end, json, ahead);
      continue;
    }
    const bytes = buf.subarray(HEADROOM, complete);
    // A long first line that needs nothing but a check is checked on its
    // bytes, without decoding it, and framed where it was read.
    let rest = 0;
    // Bytes before the last read hold no LF: they were searched.
    const long = longLine(bytes, end - (n ?? 0) - HEADROOM, { json, maxBytes, ahead });
    ahead.checked = HEADROOM;
    ahead.good = true;
    if (long >= 0) {
      // Past its CR and LF, before the frame's closing quote goes over them.
      rest = Math.min(bytes.length, long + (bytes[long] === CR ? 2 : 1));
      yield { data: frameInPlace(buf, long, json), messages: 1 };
      lineNumber++;
    }
    if (rest < bytes.length) {
      const batch = encodeLines(bytes.subarray(rest), {
        firstLine: lineNumber + 1,
        json,
        maxBytes,
        out,
        inPlace: rest === 0,
      });
      out = batch.out;
      lineNumber += batch.lines;
      if (batch.inPlace >= 0) yield { data: frameInPlace(buf, batch.inPlace, json), messages: 1 };
      if (batch.messages > 0) yield { data: out.subarray(0, batch.at), messages: batch.messages };
      if (batch.error) throw batch.error;
    }
    buf.copyWithin(HEADROOM, complete, end);
    end = HEADROOM + end - complete;
  }
}

/** The most bytes one read asks for. */
const READ_BYTES = 1024 * 1024;

/** How far the first pending line, long and without its LF yet, has been checked. */
interface LineCheck {
  /** Bytes of `buf` before this are checked (from HEADROOM). */
  checked: number;
  /** Whether they passed: with `json`, the checker has no error; otherwise they are plain ASCII. */
  good: boolean;
}

/** The checker of the long line being read, fed as it arrives. */
const aheadChecker = new JsonChecker();

/**
 * Checks the first pending line further, up to `end` of `buf` (it holds no
 * LF), as {@linkcode longLine} would once its end is read, so that only the
 * rest is left then. A CR at the end waits: it may come before the LF.
 */
function checkAhead(buf: Uint8Array, end: number, json: boolean, ahead: LineCheck): void {
  if (!ahead.good) return;
  if (buf[end - 1] === CR) end--;
  if (end <= ahead.checked) return;
  if (ahead.checked === HEADROOM && json) aheadChecker.reset();
  if (json) {
    aheadChecker.push(buf, ahead.checked, end);
    ahead.good = aheadChecker.error === undefined;
  } else {
    ahead.good = plainTo(buf, ahead.checked, end) === end;
  }
  ahead.checked = end;
}

/**
 * The end of the run of bytes from `i` that JSON.stringify only puts in
 * quotes (printable ASCII but `"` and `\`), up to `end`.
 */
function plainTo(bytes: Uint8Array, i: number, end: number): number {
  i = skipPlain(bytes, i, end);
  while (
    i < end && bytes[i] >= 0x20 && bytes[i] < 0x7f && bytes[i] !== QUOTE && bytes[i] !== 0x5c
  ) i++;
  return i;
}

/** Bytes kept free before pending bytes: a length prefix, its LF and a quote. */
const HEADROOM = 16;
/** From this many bytes a first line is framed in place instead of copied. */
const IN_PLACE_BYTES = 64 * 1024;

/**
 * Frames a batch's first line where it was read, into `buf` at HEADROOM and
 * ending `lineEnd` bytes from there: its prefix (and without `json` its
 * opening quote) goes in front of it, and without `json` its closing quote
 * over the CR or LF after it. Returns the frame.
 */
function frameInPlace(buf: Uint8Array, lineEnd: number, json: boolean): Uint8Array {
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

/** Options of {@linkcode longLine}. */
interface LongLineOptions {
  json: boolean;
  maxBytes: number;
  /** How much of the line was checked as it arrived, at HEADROOM of the read buffer. */
  ahead: LineCheck;
}

/**
 * Where the first line of `bytes` ends (before its CR or LF), if it is
 * long (framed in place) and can be sent as it is: with `json` a JSON
 * text, otherwise printable ASCII without `"` or `\`, which JSON.stringify
 * only puts in quotes; and within `maxBytes`. Otherwise -1, and the line
 * takes the general way, which also words any error. The bytes before
 * `from` are known to hold no LF; those before `ahead.checked` were checked.
 */
function longLine(bytes: Uint8Array, from: number, options: LongLineOptions): number {
  const { json, maxBytes, ahead } = options;
  if (bytes.length < IN_PLACE_BYTES) return -1;
  if (from < IN_PLACE_BYTES && bytes.subarray(0, IN_PLACE_BYTES).indexOf(LF, from) >= 0) return -1;
  const lf = indexOfByte(bytes, LF, Math.max(from, IN_PLACE_BYTES));
  // A string's closing quote goes over the CR or LF: the last line of the
  // input without one takes the general way.
  if (lf < 0 && !json) return -1;
  let end = lf < 0 ? bytes.length : lf;
  if (end > 0 && bytes[end - 1] === CR) end--;
  if (end + (json ? 0 : 2) > maxBytes) return -1;
  if (!ahead.good) return -1;
  // Where the check stopped, in `bytes`: a CR it left waiting may be the
  // line's own.
  const checked = Math.min(ahead.checked - HEADROOM, end);
  if (json) {
    if (checked === 0) return checker.check(bytes, 0, end) === undefined ? end : -1;
    aheadChecker.push(bytes, checked, end);
    return aheadChecker.end() === undefined ? end : -1;
  }
  return plainTo(bytes, checked, end) === end ? end : -1;
}

/**
 * The index of the last LF in `bytes`, or -1. The end is searched first (a
 * short line ends near it), the rest 16 bytes a step.
 */
function lastLf(bytes: Uint8Array): number {
  const tail = Math.max(0, bytes.length - 256);
  const near = bytes.subarray(tail).lastIndexOf(LF);
  if (near >= 0) return tail + near;
  return lastIndexOfByte(bytes.subarray(0, tail), LF);
}

// JSON's grammar, exactly, for the texts that need no nesting: a string, a
// number, true, false, null, or an object or array of those, with spaces
// and tabs between tokens.
const STRING = String.raw`"(?:[^"\\\x00-\x1f]|\\(?:["\\/bfnrt]|u[0-9a-fA-F]{4}))*"`;
const NUMBER = String.raw`-?(?:0|[1-9][0-9]*)(?:\.[0-9]+)?(?:[eE][+-]?[0-9]+)?`;
const SPACE = String.raw`[ \t]*`;
const SCALAR = `(?:${STRING}|${NUMBER}|true|false|null)`;
const MEMBER = `${STRING}${SPACE}:${SPACE}${SCALAR}`;
const OBJECT = String.raw`\{${SPACE}(?:${MEMBER}${SPACE}(?:,${SPACE}${MEMBER}${SPACE})*)?\}`;
const ARRAY = String.raw`\[${SPACE}(?:${SCALAR}${SPACE}(?:,${SPACE}${SCALAR}${SPACE})*)?\]`;

/**
 * Runs of lines that need no other check, matched at once (sticky, from
 * `lastIndex`), each ending in LF (a CR before it is dropped): with `json`,
 * lines that are flat JSON texts (any other line is left to JSON.parse), and
 * otherwise lines that JSON.stringify only puts in quotes (without `"`, `\`
 * or control characters; longer ones are left to JSON.stringify).
 */
const SIMPLE_JSON_LINES = new RegExp(
  `(?:${SPACE}(?:${OBJECT}|${ARRAY}|${SCALAR})${SPACE}\\r?\\n)*`,
  "y",
);
// deno-lint-ignore no-control-regex
const SIMPLE_TEXT_LINES = /(?:[^"\\\x00-\x1f]{0,1024}\r?\n)*/y;

/** The most text one run is matched over. */
const RUN_WINDOW = 64 * 1024;

interface EncodeOptions {
  /** The number of the batch's first line, for errors. */
  firstLine: number;
  json: boolean;
  maxBytes: number;
  /** The output buffer to write frames into (grown if need be). */
  out: Uint8Array;
  /** Whether the first line may be framed in place: the bytes start at HEADROOM of the read buffer. */
  inPlace: boolean;
}

/** The frames of one batch of lines. */
interface EncodedLines {
  /** The output buffer; its first `at` bytes hold `messages` frames. */
  out: Uint8Array;
  at: number;
  messages: number;
  /**
   * Where the first line ends, if it is long and is to be framed in place
   * (see `frameInPlace`), before the frames in `out`; otherwise -1.
   */
  inPlace: number;
  /** Lines read, including the bad one if there is an error. */
  lines: number;
  error?: Error;
}

/**
 * Frames the lines in `bytes`, checked on one decode of all of them. A
 * line's frame is written by copying its own bytes behind the length prefix;
 * only a string that JSON must escape is encoded anew.
 */
function encodeLines(bytes: Uint8Array, options: EncodeOptions): EncodedLines {
  const text = looseDecoder.decode(bytes);
  const ascii = isAsciiDecoding(text, bytes.length);
  if (!ascii && decodeUtf8(bytes) === undefined) return encodeUntilBadUtf8(bytes, options);
  const batch: EncodedLines = { out: options.out, at: 0, messages: 0, inPlace: -1, lines: 0 };
  encodeTextLines(text, bytes, ascii, batch, options);
  return batch;
}

/**
 * Frames the lines of `text`, decoded from `bytes` (as UTF-8, valid). Runs
 * of simple lines are checked by one regular expression; any other line is
 * checked on its own, without first splitting all of them. When `text` is
 * ASCII its characters are its bytes; otherwise each line's bytes are found
 * by its LF, which is one byte and one character.
 */
function encodeTextLines(
  text: string,
  bytes: Uint8Array,
  ascii: boolean,
  batch: EncodedLines,
  options: EncodeOptions,
): void {
  const json = options.json;
  const simple = json ? SIMPLE_JSON_LINES : SIMPLE_TEXT_LINES;
  let simpleEnd = 0;
  // Lines to check on their own before trying for a run again, doubling
  // while no run is found: input of lines that are never simple does not pay
  // for a failed match on each one.
  let skip = 0;
  let backoff = 1;
  let start = 0;
  let byteStart = 0;
  while (start < text.length) {
    if (start >= simpleEnd && skip-- <= 0) {
      // Over a window of the text: V8 keeps backtracking state for every
      // character a run matches, and over megabytes its stack overflows.
      simple.lastIndex = 0;
      simple.test(
        text.length - start > RUN_WINDOW
          ? text.slice(start, start + RUN_WINDOW)
          : text.slice(start),
      );
      simpleEnd = start + simple.lastIndex;
      if (simpleEnd > start) {
        backoff = 1;
      } else {
        skip = backoff;
        backoff = Math.min(backoff * 2, 64);
      }
    }
    let lf = text.indexOf("\n", start);
    if (lf < 0) lf = text.length;
    let byteLf = ascii ? lf : bytes.indexOf(LF, byteStart);
    if (byteLf < 0) byteLf = bytes.length;
    let end = lf;
    let byteEnd = byteLf;
    if (end > start && text.charCodeAt(end - 1) === CR) {
      end--;
      byteEnd--;
    }
    batch.lines++;
    const added = lf < simpleEnd
      ? addFrame(batch, bytes, byteStart, byteEnd, options)
      : addLine(batch, text.slice(start, end), bytes, byteStart, byteEnd, options, ascii);
    if (!added) return;
    start = lf + 1;
    byteStart = byteLf + 1;
  }
}

/**
 * Checks one line, `bytes[start, end)` decoded: with `json`, that it is JSON
 * (a blank line is skipped); otherwise whether JSON.stringify escapes it.
 * Frames it; returns false (with `batch.error` set) if it is refused.
 */
function addLine(
  batch: EncodedLines,
  line: string,
  bytes: Uint8Array,
  start: number,
  end: number,
  options: EncodeOptions,
  ascii: boolean,
): boolean {
  if (options.json) {
    // Over the limit is refused whatever the line holds, as it is while
    // the line is still being read: otherwise how the input was split
    // into reads would decide between refusing and skipping it.
    if (end - start > options.maxBytes) return fits(batch, end - start, options);
    // Blank is what JSON itself calls whitespace: a line of NBSP, BOM or
    // U+2028 is not JSON, and is refused.
    if (/^[ \t\r]*$/.test(line)) return true;
    try {
      JSON.parse(line);
    } catch (e) {
      // The engine's message quotes the line raw; the checker's names the
      // byte, escaped.
      const why = checker.check(bytes, start, end) ?? (e as Error).message;
      batch.error = badInput(
        new SyntaxError(
          `Cannot send line ${options.firstLine + batch.lines - 1}: it is not valid JSON (${why})`,
        ),
      );
      return false;
    }
    return addFrame(batch, bytes, start, end, options);
  }
  const quoted = JSON.stringify(line);
  // Without escapes the JSON string is the line's own bytes in quotes.
  if (quoted.length === line.length + 2) return addFrame(batch, bytes, start, end, options);
  const length = ascii ? quoted.length : utf8Length(quoted);
  if (!fits(batch, length, options)) return false;
  let at = writeDecimal(batch.out, batch.at, length);
  batch.out[at++] = LF;
  batch.at = at + encoder.encodeInto(quoted, batch.out.subarray(at)).written;
  batch.messages++;
  return true;
}

/**
 * Frames `bytes[start, end)`, as it is with `json`, otherwise in quotes.
 * Returns false (with `batch.error` set) if its payload is over `maxBytes`.
 */
function addFrame(
  batch: EncodedLines,
  bytes: Uint8Array,
  start: number,
  end: number,
  options: EncodeOptions,
): boolean {
  const json = options.json;
  const length = end - start + (json ? 0 : 2);
  if (!fits(batch, length, options)) return false;
  if (
    options.inPlace && start === 0 && end >= IN_PLACE_BYTES && batch.messages === 0 &&
    batch.inPlace < 0 &&
    (json || end < bytes.length)
  ) {
    // The first line of the batch, long: framed where it is, no copy.
    batch.inPlace = end;
    return true;
  }
  const out = batch.out;
  let at = writeDecimal(out, batch.at, length);
  out[at++] = LF;
  if (!json) out[at++] = QUOTE;
  if (end - start < 64) {
    for (let j = start; j < end; j++) out[at++] = bytes[j];
  } else {
    out.set(bytes.subarray(start, end), at);
    at += end - start;
  }
  if (!json) out[at++] = QUOTE;
  batch.at = at;
  batch.messages++;
  return true;
}

/**
 * Whether a payload of `length` bytes may be sent; if so, makes room for
 * its frame in `batch.out`, else sets `batch.error`.
 */
function fits(batch: EncodedLines, length: number, options: EncodeOptions): boolean {
  if (length > options.maxBytes) {
    batch.error = badInput(
      new RangeError(
        `Cannot send line ${
          options.firstLine + batch.lines - 1
        }: its payload of ${length} bytes exceeds the limit of ${options.maxBytes} bytes`,
      ),
    );
    return false;
  }
  const needed = batch.at + MAX_PREFIX_DIGITS + 1 + length;
  if (needed > batch.out.length) {
    const bigger = new Uint8Array(Math.max(needed, 2 * batch.out.length, 64 * 1024));
    bigger.set(batch.out.subarray(0, batch.at));
    batch.out = bigger;
  }
  return true;
}

/** Frames the lines before the first one that is not UTF-8, and reports it. */
function encodeUntilBadUtf8(bytes: Uint8Array, options: EncodeOptions): EncodedLines {
  let start = 0;
  for (let i = 0;; i++) {
    let end = bytes.indexOf(LF, start);
    if (end < 0) end = bytes.length;
    if (decodeUtf8(bytes.subarray(start, end)) === undefined) {
      const before: EncodedLines = start === 0
        ? { out: options.out, at: 0, messages: 0, inPlace: -1, lines: 0 }
        : encodeLines(bytes.subarray(0, start), options);
      if (before.error) return before;
      // As while it is being read, a line over the limit is refused for that.
      let lineEnd = end;
      if (lineEnd > start && bytes[lineEnd - 1] === CR) lineEnd--;
      before.error = badInput(
        lineEnd - start > options.maxBytes
          ? new RangeError(
            `Cannot send line ${
              options.firstLine + i
            }: it is longer than the limit of ${options.maxBytes} bytes`,
          )
          : new SyntaxError(`Cannot send line ${options.firstLine + i}: it is not valid UTF-8`),
      );
      before.lines = i + 1;
      return before;
    }
    start = end + 1;
  }
}
