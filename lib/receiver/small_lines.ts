/**
 * The receiver's run of small frames in one WebAssembly call: every whole
 * frame of a read buffer whose payload is a short plain string (what most
 * small messages are) is checked and made into its line in WebAssembly
 * memory, and the lines are copied into the output's block at once. The
 * first frame it does not take (incomplete, a bad prefix, anything but a
 * plain string) is left to the receiver's own checks, which refuse or print
 * it as before: the lines are the same bytes either way.
 *
 * @module
 */

import type { OutputQueue } from "../output_queue.ts";
import { plainScanWasm } from "../plain_scan_wasm.ts";

/** Where the input is copied in WebAssembly memory, and how much at most. */
const IN = 4096;
const IN_SIZE = 256 * 1024;
/** Where the lines are made, and how many bytes of them a call at most. */
const OUT = IN + IN_SIZE + 64;
const OUT_SIZE = 64 * 1024;
const PAGES = Math.ceil((OUT + OUT_SIZE + 64) / 65536);
/** The head's place and its greatest length. */
const HEAD = 64;
const HEAD_MAX = 960;
/** Room asked of the output for a call: a line of the longest payload taken (4096 bytes) fits. */
const ROOM = 8 * 1024;
const MIDDLE = new TextEncoder().encode(',"message":');

/** What a call reads and where it stops: one object, reused. */
export interface SmallRun {
  /** The read buffer, its frames from `start` to `end`. */
  buf: Uint8Array;
  /** In: where the frames start; out: where the first frame not taken starts. */
  start: number;
  end: number;
  /** The most frames to take. */
  most: number;
  /** The largest length a frame may declare. */
  maxBytes: number;
  /**
   * True when the buffer's bytes may have changed since the last call (a
   * new read): they are copied again. The caller sets it; a call clears it.
   */
  fresh: boolean;
}

interface LinesExports {
  memory: WebAssembly.Memory;
  lines(
    p: number,
    end: number,
    most: number,
    maxBytes: number,
    out: number,
    outEnd: number,
    json: number,
  ): number;
}

let compiled: WebAssembly.Module | null | undefined;

/**
 * Makes the lines of small frames in WebAssembly; see the module. One for
 * each output (its head is `{"peer":...,"bytes":` with `json`, or
 * `Message from Sender :: `).
 *
 * @example
 * ```ts
 * import { SmallLines } from "./small_lines.ts";
 * import { OutputQueue } from "../output_queue.ts";
 * import assert from "node:assert/strict";
 *
 * const written: Uint8Array[] = [];
 * const out = new OutputQueue({ write: (p: Uint8Array) => Promise.resolve(written.push(p.slice()) && p.length) });
 * const lines = new SmallLines(false);
 * const buf = new TextEncoder().encode('4\n"hi"3\n"a"2\n{}');
 * const run = { buf, start: 0, end: buf.length, most: 10, maxBytes: 100, fresh: true };
 * assert.equal(lines.take(run, out, new TextEncoder().encode("Message from Sender :: ")), 2);
 * assert.equal(run.start, 11);
 * await out.flush();
 * assert.equal(new TextDecoder().decode(written[0]), "Message from Sender :: hi\nMessage from Sender :: a\n");
 * ```
 */
export class SmallLines {
  #json: boolean;
  #wasm: LinesExports | null | undefined;
  #memory: Uint8Array = new Uint8Array(0);
  #words: Int32Array = new Int32Array(0);
  /** The head in memory now. */
  #head: Uint8Array | undefined;
  /** The buffer whose bytes `from` to `to` are in memory. */
  #buf: Uint8Array | undefined;
  #from = 0;
  #to = 0;

  /** Lines as `receive --json` prints them with `json`, else as `receive` does. */
  constructor(json: boolean) {
    this.#json = json;
  }

  /**
   * Takes the frames of `run` that it can, the most `run.most`, queuing
   * their lines on `out` after `head`; returns how many, with `run.start`
   * set to the first not taken. Takes none where WebAssembly cannot run.
   */
  take(run: SmallRun, out: OutputQueue, head: Uint8Array): number {
    const wasm = this.#wasm === undefined ? this.#instantiate() : this.#wasm;
    if (wasm === null || head.length > HEAD_MAX) return 0;
    const memory = this.#memory;
    const words = this.#words;
    if (head !== this.#head) {
      memory.set(head, HEAD);
      words[3] = head.length;
      this.#head = head;
    }
    const { buf, end } = run;
    let start = run.start;
    let taken = 0;
    let loaded = false;
    while (taken < run.most && start < end) {
      if (run.fresh || buf !== this.#buf || start < this.#from || start >= this.#to) {
        this.#load(buf, start, end);
        run.fresh = false;
        loaded = true;
      }
      // The room left in the output's block first; a fresh block only when
      // a line did not fit.
      let block = out.reserve(0);
      let at = out.offset();
      let room = Math.min(block.length - at, OUT_SIZE);
      let n = this.#lines(wasm, start, room, run.most - taken, run.maxBytes);
      if (n === 0 && room < ROOM) {
        block = out.reserve(ROOM);
        at = out.offset();
        room = Math.min(block.length - at, OUT_SIZE);
        n = this.#lines(wasm, start, room, run.most - taken, run.maxBytes);
      }
      if (n === 0) {
        // A frame cut at the end of the bytes in memory: once more from it.
        if (!loaded && this.#to < end) {
          this.#buf = undefined;
          continue;
        }
        break;
      }
      const size = words[1] - OUT;
      block.set(memory.subarray(OUT, OUT + size), at);
      out.commit(size);
      taken += n;
      start = words[0] - IN + this.#from;
      loaded = false;
    }
    run.start = start;
    return taken;
  }

  /** One call of `lines` from `start`, its lines in `room` bytes. */
  #lines(wasm: LinesExports, start: number, room: number, most: number, maxBytes: number): number {
    const from = this.#from;
    return wasm.lines(
      IN + start - from,
      IN + this.#to - from,
      Math.min(most, 0x7fffffff),
      Math.min(maxBytes, 0x7fffffff),
      OUT,
      OUT + room,
      this.#json ? 1 : 0,
    );
  }

  /** Copies `buf`'s bytes from `start` (to `end`, as many as fit) into memory. */
  #load(buf: Uint8Array, start: number, end: number): void {
    const to = Math.min(end, start + IN_SIZE);
    this.#memory.set(buf.subarray(start, to), IN);
    this.#buf = buf;
    this.#from = start;
    this.#to = to;
  }

  #instantiate(): LinesExports | null {
    try {
      compiled ??= new WebAssembly.Module(plainScanWasm());
      const wasm = new WebAssembly.Instance(compiled).exports as unknown as LinesExports;
      const pages = wasm.memory.buffer.byteLength / 65536;
      if (pages < PAGES) wasm.memory.grow(PAGES - pages);
      this.#memory = new Uint8Array(wasm.memory.buffer);
      this.#words = new Int32Array(wasm.memory.buffer, 0, 4);
      this.#memory.set(MIDDLE, 1024);
      this.#wasm = wasm;
    } catch {
      compiled = null;
      this.#wasm = null;
    }
    return this.#wasm;
  }
}
