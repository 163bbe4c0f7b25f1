/**
 * The receiver's default destination: each message as one line on an
 * output, `Message from Sender :: VALUE` or, with `json`,
 * `{"peer":"host:port","bytes":N,"message":VALUE}`. A payload's own bytes
 * are written; only what would break the line or act on a terminal is
 * rewritten (the one decision: {@linkcode needsRewrite}). Small lines are
 * built whole in the output's blocks with no allocation; large payloads are
 * queued as they were read, or rewritten a piece at a time.
 *
 * @module
 */

import type { JsonChecker } from "../json_check.ts";
import type { ByteWriter } from "../io.ts";
import type { MemoryBudget } from "../memory_budget.ts";
import { OutputQueue } from "../output_queue.ts";
import { SafeJsonText, StringDisplay } from "../safe_text.ts";
import type { ChunkPool } from "./chunk_pool.ts";
import { writeDecimal } from "../framing/prefix.ts";
import type { Destination, PayloadSource } from "./destination.ts";
import { SmallLines, type SmallRun } from "./small_lines.ts";

const LF = 0x0a;
const QUOTE = 0x22;
const encoder = new TextEncoder();
const HUMAN_HEAD = encoder.encode("Message from Sender :: ");
const JSON_MIDDLE = encoder.encode(',"message":');
const NONE = new Uint8Array(0);
/** A line up to this long is built whole in the output's current block. */
const SMALL_LINE = 16 * 1024;
/** Output queued past this makes connections wait before they read more. */
export const OUTPUT_HIGH_WATER = 16 * 1024 * 1024;
/**
 * A rewritten line's next piece waits until the output queued is below
 * this: a piece's rewrite can be six times its size, and the queue need
 * only keep the output busy.
 */
const REWRITE_HIGH_WATER = 4 * 1024 * 1024;

/** Options for {@linkcode LinePrinter}. */
export interface LinePrinterOptions {
  /** One JSON object a line, with the peer and the length. */
  json: boolean;
  /** Counts the output queued until it is written. */
  budget: MemoryBudget;
  /** Where the pieces of large payloads go back once written. */
  chunks: ChunkPool;
  /** Called once, when writing the output fails. */
  onError: (error: unknown) => void;
}

/**
 * Whether a checked payload's line differs from its bytes: a string shown
 * as text with escapes or characters a terminal acts on, or JSON with line
 * breaks between tokens or such characters.
 */
export function needsRewrite(checker: JsonChecker, json: boolean): boolean {
  return !json && checker.topString
    ? checker.escapes || checker.unsafe
    : checker.lineBreaks || checker.unsafe;
}

/** The default destination: lines on an output; see the module. */
export class LinePrinter implements Destination {
  busy: Promise<void> | null = null;
  #out: OutputQueue;
  #json: boolean;
  #budget: MemoryBudget;
  #chunks: ChunkPool;
  #safeJson: SafeJsonText;
  #display: StringDisplay;
  #lines: SmallLines;

  /** Prints to `output`. */
  constructor(output: ByteWriter, options: LinePrinterOptions) {
    this.#json = options.json;
    this.#budget = options.budget;
    this.#chunks = options.chunks;
    this.#out = new OutputQueue(output, { budget: options.budget, onError: options.onError });
    const copy = (bytes: Uint8Array) => this.#out.copy(bytes);
    this.#safeJson = new SafeJsonText(copy);
    this.#display = new StringDisplay(copy);
    this.#lines = new SmallLines(this.#json);
  }

  /** Whether writing the output has failed. */
  get failed(): boolean {
    return this.#out.failed;
  }

  get pending(): number {
    return this.#out.pending;
  }

  /**
   * The hot path: a small payload that needs no rewriting is built whole in
   * the output's block, head and all, with no allocation; any other is
   * printed as a large one is, copied.
   */
  small(
    source: PayloadSource,
    buf: Uint8Array,
    start: number,
    end: number,
    checker: JsonChecker,
  ): void {
    const json = this.#json;
    const length = end - start;
    if (needsRewrite(checker, json) || length > SMALL_LINE) {
      this.#print(source, [buf.subarray(start, end)], length, checker, false);
      return;
    }
    if (!json && checker.topString) {
      // Its quotes, where they are in nearly every message: at its ends.
      start = buf[start] === QUOTE ? start + 1 : buf.indexOf(QUOTE, start) + 1;
      end = buf[end - 1] === QUOTE ? end - 1 : buf.lastIndexOf(QUOTE, end - 1);
    }
    const out = this.#out;
    // The whole head, `{"peer":...,"bytes":N,"message":`, made once for a
    // run of payloads of one length.
    const head = json ? this.#lineHead(source, length) : HUMAN_HEAD;
    const size = json ? source.markSize! : HUMAN_HEAD.length;
    const block = out.reserve(size + (end - start) + 2);
    const from = out.offset();
    let o = from;
    for (let k = 0; k < size; k++) block[o++] = head[k];
    if (end - start < 64) { for (let k = start; k < end; k++) block[o++] = buf[k]; }
    else block.set(buf.subarray(start, end), o), o += end - start;
    if (json) block[o++] = 0x7d;
    block[o++] = LF;
    out.commit(o - from);
  }

  /**
   * The hotter path: a run of small frames whose payloads are plain strings,
   * checked and made into lines in one WebAssembly call ({@linkcode SmallLines}).
   */
  takeSmall(source: PayloadSource, run: SmallRun): number {
    let head: Uint8Array = HUMAN_HEAD;
    if (this.#json) {
      const mark = source.mark ?? this.#lineHead(source, 0);
      head = source.markPeer ??= mark.subarray(0, mark.length - 10 - JSON_MIDDLE.length);
    }
    return this.#lines.take(run, this.#out, head);
  }

  async large(
    source: PayloadSource,
    pieces: Uint8Array[],
    length: number,
    checker: JsonChecker,
  ): Promise<void> {
    if (needsRewrite(checker, this.#json)) {
      await this.#printRewritten(source, pieces, length, checker);
    } else {
      // Queued as they are: each piece is given back once written.
      this.#print(source, pieces, length, checker, true);
    }
  }

  settle(): Promise<void> {
    return this.#out.flushNow();
  }

  settledNow(): boolean {
    return this.#out.writtenNow();
  }

  ready(waiter: { readonly signal: AbortSignal }): Promise<void> | null {
    // The signal only when it must wait: most connections never make one.
    return this.#out.pending > OUTPUT_HIGH_WATER
      ? this.#out.below(OUTPUT_HIGH_WATER, waiter.signal)
      : null;
  }

  close(): Promise<void> {
    return this.#out.flush();
  }

  /**
   * `{"peer":"host:port","bytes":N,"message":` for a payload of `length`
   * bytes: made once a connection, its digits again when the length changes.
   */
  #lineHead(source: PayloadSource, length: number): Uint8Array {
    let head = source.mark;
    if (head === undefined) {
      const peer = encoder.encode(`{"peer":${JSON.stringify(source.peer)},"bytes":`);
      head = source.mark = new Uint8Array(peer.length + 10 + JSON_MIDDLE.length);
      head.set(peer);
      source.markFor = -1;
      source.markSize = peer.length;
    }
    if (source.markFor !== length) {
      const digits = head.length - 10 - JSON_MIDDLE.length;
      const o = writeDecimal(head, digits, length);
      head.set(JSON_MIDDLE, o);
      source.markSize = o + JSON_MIDDLE.length;
      source.markFor = length;
    }
    return head;
  }

  /**
   * Queues the line of one checked payload, given in pieces. Pieces handed
   * `owned` are queued as they are, without a copy, and given back to the
   * budget and the chunk pool once written.
   */
  #print(
    source: PayloadSource,
    pieces: Uint8Array[],
    length: number,
    checker: JsonChecker,
    owned: boolean,
  ): void {
    const out = this.#out;
    const display = !this.#json && checker.topString;
    const last = pieces.length - 1;
    // A string is shown from between its quotes; whitespace around it as long
    // as a piece is left to the rewrite.
    const plain = display
      ? !checker.escapes && !checker.unsafe && pieces[0].indexOf(QUOTE) >= 0 &&
        pieces[last].lastIndexOf(QUOTE) > (last === 0 ? pieces[0].indexOf(QUOTE) : -1)
      : !checker.lineBreaks && !checker.unsafe;
    this.#printHead(source, length);
    if (plain) {
      // Nothing to rewrite: the payload's bytes (a string's between its quotes).
      for (let k = 0; k <= last; k++) {
        const piece = pieces[k];
        let p = piece;
        if (display && k === last) p = p.subarray(0, p.lastIndexOf(QUOTE));
        if (display && k === 0) p = p.subarray(p.indexOf(QUOTE) + 1);
        if (owned) {
          out.add(p, piece.length, () => this.#chunks.give(piece));
        } else {
          out.copy(p);
        }
      }
    } else {
      const rewrite = display ? this.#display : this.#safeJson;
      rewrite.reset();
      for (const p of pieces) rewrite.push(p);
      // Copied: owned pieces go back at once.
      if (owned) {
        for (const piece of pieces) this.#budget.release(piece.length), this.#chunks.give(piece);
      }
    }
    this.#printTail();
  }

  /**
   * Prints a large payload that must be rewritten (line breaks, escapes), a
   * piece at a time: each piece's reservation is given back once its
   * rewrite is queued, and the next waits until output drains below the
   * high-water mark. An escape can be six times the character it stands
   * for, so the whole rewrite at once could hold several times the budget.
   * Nothing else is printed meanwhile (`busy`), so that the line stays whole.
   */
  async #printRewritten(
    source: PayloadSource,
    pieces: Uint8Array[],
    length: number,
    checker: JsonChecker,
  ): Promise<void> {
    let done = () => {};
    this.busy = new Promise((resolve) => done = resolve);
    let given = 0;
    try {
      const out = this.#out;
      this.#printHead(source, length);
      const copy = (bytes: Uint8Array) => out.copy(bytes);
      const display = !this.#json && checker.topString;
      const rewrite = display ? new StringDisplay(copy) : new SafeJsonText(copy);
      for (let k = 0; k < pieces.length; k++) {
        const piece = pieces[k];
        rewrite.push(piece);
        pieces[k] = NONE;
        this.#budget.release(piece.length);
        given += piece.length;
        this.#chunks.give(piece);
        // Not cut short when the connection closes: the payload has arrived
        // whole and checked, and its line is finished.
        await out.below(REWRITE_HIGH_WATER);
      }
      this.#printTail();
    } finally {
      if (given < length) this.#budget.release(length - given);
      this.busy = null;
      done();
    }
  }

  /** Queues a line's head: `{"peer":...,"bytes":N,"message":` or `Message from Sender :: `. */
  #printHead(source: PayloadSource, length: number): void {
    const out = this.#out;
    const head = this.#json ? this.#lineHead(source, length) : HUMAN_HEAD;
    const size = this.#json ? source.markSize! : HUMAN_HEAD.length;
    const block = out.reserve(size);
    const o = out.offset();
    block.set(head.subarray(0, size), o);
    out.commit(size);
  }

  /** Queues a line's end: `}` and LF, or LF. */
  #printTail(): void {
    const out = this.#out;
    const tail = out.reserve(2);
    let t = out.offset();
    if (this.#json) tail[t++] = 0x7d;
    tail[t++] = LF;
    out.commit(t - out.offset());
  }
}
