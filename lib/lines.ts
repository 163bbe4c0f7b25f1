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
  // Pending bytes, [start, end), are read into WebAssembly memory, where the
  // scans run without copying them. HEADROOM bytes before them are free, so
  // that a long line's length prefix can be written in front of it, in place.
  // Its memory comes in 64 KiB pages: `buf` views all of it but what lies
  // past the most a line may take, so that a line over the limit is refused
  // as soon as it is longer than the limit allows, never read whole (and
  // decoded) into the spare bytes of the last page.
  const size = HEADROOM + (options.bufferSize ?? 256 * 1024);
  const limit = HEADROOM + maxBytes + 2;
  const memory = new ScanBuffer({ size });
  const view = (bytes: Uint8Array, size: number) =>
    bytes.subarray(0, Math.min(bytes.length, Math.max(size, limit)));
  let buf = view(memory.bytes, size);
  let out: Uint8Array = new Uint8Array(0);
  let start = HEADROOM;
  let end = HEADROOM;
  let lineNumber = 0;
  let eof = false;
  // The first pending line, while it is long and its end not read yet, is
  // checked as it arrives (its bytes are still in the cache): up to
  // `checked`, and `good` says whether it passed so far.
  const ahead: LineCheck = { checked: 0, good: true, checker: new JsonChecker() };
  // Reads that went on while a long frame was written.
  let pump: ReadAhead | undefined;
  try {
    while (!eof) {
      // The bytes not searched yet: from `fresh` to `end`.
      let fresh = end;
      let readOn = false;
      if (pump !== undefined) {
        pump.stop = true;
        await pump.done;
        if (pump.error !== undefined) throw pump.error;
        readOn = pump.end > end || pump.eof;
        fresh = pump.searched;
        end = pump.end;
        eof = pump.eof;
        pump = undefined;
      }
      if (!readOn) {
        if (end === buf.length && start > HEADROOM) {
          // Room at the end, made by moving the line being read to the front.
          buf.copyWithin(HEADROOM, start, end);
          end -= start - HEADROOM;
          start = HEADROOM;
          continue;
        }
        if (end === buf.length) {
          // A line longer than the buffer: grow it, up to what a message may be.
          const size = Math.min(buf.length * 2, limit);
          buf = view(memory.grow(size), size);
        }
        // At most READ_BYTES at once: bytes are checked while the cache still
        // holds them.
        const n = await source.read(buf.subarray(end, Math.min(buf.length, end + READ_BYTES)));
        if (n === null) eof = true;
        else end += n;
      }
      // Only the bytes just read can hold a new LF: what came before is
      // the start of a line already searched. A long line read on by plain
      // bytes holds none: they are checked and searched in one pass.
      const newLf = readOnPlain(buf, { start, fresh, end, json }, ahead)
        ? -1
        : lastLf(buf.subarray(fresh, end));
      let complete = newLf < 0 ? start : fresh + newLf + 1;
      if (eof) complete = end;
      if (complete === start) {
        if (end - start > maxBytes + 1) {
          throw badInput(
            new RangeError(
              `Cannot send line ${
                lineNumber + 1
              }: it is longer than the limit of ${maxBytes} bytes`,
            ),
          );
        }
        if (end - start >= IN_PLACE_BYTES) checkAhead(buf, { start, end, json }, ahead);
        continue;
      }
      const bytes = buf.subarray(start, complete);
      // A long first line that needs nothing but a check is checked on its
      // bytes, without decoding it, and framed where it was read.
      let rest = 0;
      // Bytes before the last read hold no LF: they were searched.
      const long = longLine(bytes, fresh - start, { json, maxBytes, ahead });
      ahead.checked = 0;
      ahead.good = true;
      if (long >= 0) {
        // Past its CR and LF, before the frame's closing quote goes over them.
        rest = Math.min(bytes.length, long + (bytes[long] === CR ? 2 : 1));
        // The rest of the input is read while the frame is written.
        if (!eof && end < buf.length) {
          pump = readAhead(source, buf, { end, start: complete, json, ahead });
        }
        yield { data: frameInPlace(buf, start, long, json), messages: 1 };
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
        if (batch.inPlace >= 0) {
          if (!eof && end < buf.length && pump === undefined) {
            pump = readAhead(source, buf, { end, start: complete, json, ahead });
          }
          yield { data: frameInPlace(buf, start, batch.inPlace, json), messages: 1 };
        }
        if (batch.messages > 0) yield { data: out.subarray(0, batch.at), messages: batch.messages };
        if (batch.error) {
          if (pump !== undefined) pump.stop = true;
          throw batch.error;
        }
      }
      start = complete;
      // Nothing pending, and nothing being read into: from the front again.
      if (start === end && pump === undefined) start = end = HEADROOM;
    }
  } finally {
    // Abandoned (the consumer stopped): no more reads.
    if (pump !== undefined) pump.stop = true;
  }
}

/** The most bytes one read asks for. */
const READ_BYTES = 1024 * 1024;

/**
 * Reads into a buffer from `end` while a frame before it is written: until
 * told to stop, full, a line end read, or the end of the input. The line
 * being read is checked as it arrives, as the loop of {@linkcode frameLines}
 * would.
 */
interface ReadAhead {
  /** Set to stop after the read under way. */
  stop: boolean;
  /** Where the bytes read so far end. */
  end: number;
  /** The bytes before this hold no LF. */
  searched: number;
  eof: boolean;
  error: unknown;
  /** Resolves once it has stopped. */
  done: Promise<void>;
}

/** Where {@linkcode readAhead} reads, and the line it checks. */
interface ReadAheadLine {
  /** Where the bytes read end: the next ones go there. */
  end: number;
  /** Where the line being read starts. */
  start: number;
  json: boolean;
  ahead: LineCheck;
}

/** Starts reading `source` into `buf` after `line.end`, READ_BYTES at a time, as {@linkcode ReadAhead} says. */
function readAhead(source: ByteReader, buf: Uint8Array, line: ReadAheadLine): ReadAhead {
  const { start, json, ahead } = line;
  const pump: ReadAhead = {
    stop: false,
    end: line.end,
    searched: line.end,
    eof: false,
    error: undefined,
    done: Promise.resolve(),
  };
  pump.done = (async () => {
    try {
      while (!pump.stop && pump.end < buf.length) {
        const to = Math.min(buf.length, pump.end + READ_BYTES);
        const n = await source.read(buf.subarray(pump.end, to));
        if (n === null) {
          pump.eof = true;
          return;
        }
        const fresh = pump.end;
        pump.end += n;
        if (!readOnPlain(buf, { start, fresh, end: pump.end, json }, ahead)) {
          // A line read to its end is enough: the next long one is then
          // framed where it is, rather than copied behind it.
          if (indexOfByte(buf.subarray(fresh, pump.end), LF) >= 0) return;
          if (pump.end - start >= IN_PLACE_BYTES) {
            checkAhead(buf, { start, end: pump.end, json }, ahead);
          }
        }
        pump.searched = pump.end;
      }
    } catch (error) {
      pump.error = error;
    }
  })();
  return pump;
}

/** How far the first pending line, long and without its LF yet, has been checked. */
interface LineCheck {
  /** Bytes of the line before this are checked; 0 when none are. */
  checked: number;
  /** Whether they passed: with `json`, the checker has no error; otherwise they are plain ASCII. */
  good: boolean;
  /** With `json`, the checker the line is fed to as it arrives. */
  checker: JsonChecker;
}

/** Where the line being read is in the read buffer, for {@linkcode checkAhead}. */
interface PendingLine {
  /** Where it starts. */
  start: number;
  /** Where the bytes read of it end (they hold no LF). */
  end: number;
  json: boolean;
}

/**
 * Checks the first pending line further, up to its `end` in `buf`, as
 * {@linkcode longLine} would once its end is read, so that only the rest is
 * left then. A CR at the end waits: it may come before the LF.
 */
function checkAhead(buf: Uint8Array, line: PendingLine, ahead: LineCheck): void {
  if (!ahead.good) return;
  const { start, json } = line;
  let end = line.end;
  if (buf[end - 1] === CR) end--;
  const from = start + ahead.checked;
  if (end <= from) return;
  if (ahead.checked === 0 && json) ahead.checker.reset();
  if (json) {
    ahead.checker.push(buf, from, end);
    ahead.good = ahead.checker.error === undefined;
  } else {
    ahead.good = plainTo(buf, from, end) === end;
  }
  ahead.checked = end - start;
}

/** The first pending line, checked up to `fresh`, and the bytes read after it. */
interface ReadOn {
  /** Where the line starts. */
  start: number;
  /** Where the bytes just read start. */
  fresh: number;
  /** Where they end. */
  end: number;
  json: boolean;
}

/**
 * Whether the bytes just read, `buf` from `fresh` to `end`, go on a long
 * line checked so far (as {@linkcode checkAhead} does) with plain ASCII
 * only (inside a string, with `json`): then they hold no LF, and they are
 * checked in the same pass. Otherwise nothing is checked, and the bytes are
 * searched for an LF and checked as before.
 */
function readOnPlain(buf: Uint8Array, line: ReadOn, ahead: LineCheck): boolean {
  const { start, fresh, end, json } = line;
  if (!ahead.good || ahead.checked === 0 || start + ahead.checked !== fresh) return false;
  if (json ? !ahead.checker.pushPlain(buf, fresh, end) : plainTo(buf, fresh, end) !== end) {
    return false;
  }
  ahead.checked = end - start;
  return true;
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
 * Frames a batch's first line where it was read, in `buf` from `start` to
 * `lineEnd` bytes from there: its prefix (and without `json` its opening
 * quote) goes in the HEADROOM in front of it, and without `json` its closing
 * quote over the CR or LF after it. Returns the frame.
 */
function frameInPlace(buf: Uint8Array, start: number, lineEnd: number, json: boolean): Uint8Array {
  const length = lineEnd + (json ? 0 : 2);
  let from = start;
  if (!json) buf[--from] = QUOTE;
  buf[--from] = LF;
  from -= decimalLength(length);
  writeDecimal(buf, from, length);
  let to = start + lineEnd;
  if (!json) buf[to++] = QUOTE;
  return buf.subarray(from, to);
}

/** Options of {@linkcode longLine}. */
interface LongLineOptions {
  json: boolean;
  maxBytes: number;
  /** How much of the line was checked as it arrived. */
  ahead: LineCheck;
}

/**
 * Where the first line of `bytes` ends (before its CR or LF), if it is
 * long (framed in place) and can be sent as it is: with `json` a JSON
 * text, otherwise printable ASCII without `"` or `\`, which JSON.stringify
 * only puts in quotes; and within `maxBytes`. Otherwise -1, and the line
 * takes the general way, which also words any error. The bytes before
 * `from` are known to hold no LF; the first `ahead.checked` were checked.
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
  // Where the check stopped: a CR it left waiting may be the line's own.
  const checked = Math.min(ahead.checked, end);
  if (json) {
    if (checked === 0) return checker.check(bytes, 0, end) === undefined ? end : -1;
    ahead.checker.push(bytes, checked, end);
    return ahead.checker.end() === undefined ? end : -1;
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
  const batch: EncodedLines = { out: options.out, at: 0, messages: 0, inPlace: -1, lines: 0 };
  const done = framePlainLines(bytes, batch, options);
  if (done < bytes.length) {
    encodeGeneral(
      bytes.subarray(done),
      done === 0 ? options : { ...options, inPlace: false },
      batch,
    );
  }
  return batch;
}

/**
 * Frames the lines of `bytes` into `batch`, after what it holds, checked on
 * one decode of all of them.
 */
function encodeGeneral(bytes: Uint8Array, options: EncodeOptions, batch: EncodedLines): void {
  const text = looseDecoder.decode(bytes);
  const ascii = isAsciiDecoding(text, bytes.length);
  if (!ascii && decodeUtf8(bytes) === undefined) return encodeUntilBadUtf8(bytes, options, batch);
  encodeTextLines(text, bytes, ascii, batch, options);
}

/** Lines from this many bytes may be framed in place, and are left to the general way. */
const PLAIN_LINE_MAX = 64 * 1024;

/**
 * Frames the lines at the start of `bytes` that need no decoding and no
 * other check, the common case of short lines, on their bytes in one loop:
 * with `json` a JSON string of printable ASCII without escapes, otherwise
 * printable ASCII without `"` or `\` (a string in quotes), each ending in LF
 * or CR LF (or at the end of `bytes`), shorter than PLAIN_LINE_MAX and within
 * `maxBytes`. Returns where it stopped: the start of the first other line,
 * left to the general way.
 */
function framePlainLines(bytes: Uint8Array, batch: EncodedLines, options: EncodeOptions): number {
  const json = options.json;
  const maxBytes = Math.min(options.maxBytes, PLAIN_LINE_MAX);
  const quotes = json ? 0 : 2;
  const n = bytes.length;
  let out = batch.out;
  let at = batch.at;
  let lines = 0;
  let i = 0;
  while (i < n) {
    let j = i;
    if (json) {
      if (bytes[j] !== QUOTE) break;
      j++;
    }
    // The plain bytes, one by one, and long runs by skipPlain.
    const near = Math.min(n, j + 64);
    let b = 0;
    while (j < near) {
      b = bytes[j];
      if (b < 0x20 || b >= 0x7f || b === QUOTE || b === 0x5c) break;
      j++;
    }
    if (j === near && j < n) {
      j = skipPlain(bytes, j, n);
      while (j < n) {
        b = bytes[j];
        if (b < 0x20 || b >= 0x7f || b === QUOTE || b === 0x5c) break;
        j++;
      }
    }
    if (json) {
      if (j === n || bytes[j] !== QUOTE) break;
      j++;
    }
    const end = j;
    if (j < n && bytes[j] === CR) j++;
    if (j < n) {
      if (bytes[j] !== LF) break;
      j++;
    }
    const length = end - i + quotes;
    if (length > maxBytes) break;
    if (at + length + MAX_PREFIX_DIGITS + 1 > out.length) {
      const bigger = new Uint8Array(Math.max(at + length + 64, 2 * out.length, 64 * 1024));
      bigger.set(out.subarray(0, at));
      out = bigger;
    }
    if (length < 10) {
      out[at++] = 0x30 + length;
    } else if (length < 100) {
      const tens = (length / 10) | 0;
      out[at++] = 0x30 + tens;
      out[at++] = 0x30 + length - tens * 10;
    } else {
      at = writeDecimal(out, at, length);
    }
    out[at++] = LF;
    if (!json) out[at++] = QUOTE;
    if (end - i < 64) {
      for (let k = i; k < end; k++) out[at++] = bytes[k];
    } else {
      out.set(bytes.subarray(i, end), at);
      at += end - i;
    }
    if (!json) out[at++] = QUOTE;
    lines++;
    i = j;
  }
  batch.out = out;
  batch.at = at;
  batch.lines += lines;
  batch.messages += lines;
  return i;
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

/** Frames the lines before the first one that is not UTF-8 into `batch`, and reports it. */
function encodeUntilBadUtf8(bytes: Uint8Array, options: EncodeOptions, batch: EncodedLines): void {
  const base = batch.lines;
  let start = 0;
  for (let i = 0;; i++) {
    let end = bytes.indexOf(LF, start);
    if (end < 0) end = bytes.length;
    if (decodeUtf8(bytes.subarray(start, end)) === undefined) {
      if (start > 0) {
        encodeGeneral(bytes.subarray(0, start), options, batch);
        if (batch.error) return;
      }
      // As while it is being read, a line over the limit is refused for that.
      let lineEnd = end;
      if (lineEnd > start && bytes[lineEnd - 1] === CR) lineEnd--;
      const line = options.firstLine + base + i;
      batch.error = badInput(
        lineEnd - start > options.maxBytes
          ? new RangeError(
            `Cannot send line ${line}: it is longer than the limit of ${options.maxBytes} bytes`,
          )
          : new SyntaxError(`Cannot send line ${line}: it is not valid UTF-8`),
      );
      batch.lines = base + i + 1;
      return;
    }
    start = end + 1;
  }
}
