/**
 * Batched, ordered output of whole lines: many small lines become few large
 * writes, and a line is never split between writes of different callers.
 *
 * @example
 * ```ts
 * import { LineWriter } from "./line_writer.ts";
 * import assert from "node:assert/strict";
 *
 * const written: string[] = [];
 * const out = new LineWriter({
 *   async write(p: Uint8Array): Promise<number> {
 *     written.push(new TextDecoder().decode(p));
 *     return p.length;
 *   },
 * });
 * out.add("one\n");
 * out.add("two\n");
 * await out.flush();
 * assert.deepEqual(written, ["one\ntwo\n"]);
 * ```
 *
 * @module
 */

import { type ByteWriter, synchronousWriter, writeAll, writeAllSync } from "./io.ts";
import { after, type Timer } from "./timer.ts";

export type { ByteWriter } from "./io.ts";
export { writeAll } from "./io.ts";

/** Options for {@linkcode LineWriter}. */
export interface LineWriterOptions {
  /** Queued text, in UTF-16 units, above which `ready()` waits. Defaults to 1 Mi. */
  highWaterMark?: number;
  /** Size of the reused buffer text is encoded into, in bytes. Defaults to 1 MiB. */
  bufferSize?: number;
  /** Called once, when a write fails. */
  onError?: (error: unknown) => void;
}

const encoder = new TextEncoder();

/**
 * Collects lines and writes them in batches, in the order they were added.
 * Writing starts once the code that added the lines yields to the event loop;
 * `ready()` applies backpressure and `flush()` waits for everything added.
 * After a failed write, every later `ready()` and `flush()` rejects with the
 * error, and lines added are dropped.
 *
 * @example
 * ```ts
 * import { LineWriter } from "./line_writer.ts";
 *
 * const out = new LineWriter(Deno.stdout);
 * for (let i = 0; i < 3; i++) out.add(`line ${i}\n`);
 * await out.flush();
 * ```
 */
export class LineWriter {
  #writer: ByteWriter;
  #highWaterMark: number;
  #onError: ((error: unknown) => void) | undefined;
  #buf: Uint8Array;
  #parts: string[] = [];
  #pending = 0;
  #draining: Promise<void> | null = null;
  #error: unknown = undefined;
  #failed = false;

  /** Writes lines to `writer`. */
  constructor(writer: ByteWriter, options: LineWriterOptions = {}) {
    this.#writer = writer;
    this.#highWaterMark = options.highWaterMark ?? 1024 * 1024;
    this.#buf = new Uint8Array(options.bufferSize ?? 1024 * 1024);
    this.#onError = options.onError;
  }

  /** Whether a write has failed; see `error`. */
  get failed(): boolean {
    return this.#failed;
  }

  /** The error of the failed write, if one failed. */
  get error(): unknown {
    return this.#error;
  }

  /**
   * Queues text. Text added in one go is written in one piece, after what
   * was added before it; pass whole lines, or the pieces of whole lines one
   * after another without yielding in between.
   */
  add(text: string): void {
    if (this.#failed) return;
    this.#parts.push(text);
    this.#pending += text.length;
    this.#draining ??= this.#drain();
  }

  /** Resolves once the queued text is below the high-water mark. */
  ready(): Promise<void> {
    if (this.#failed) return Promise.reject(this.#error);
    if (this.#pending < this.#highWaterMark) return Promise.resolve();
    return this.flush();
  }

  /** Resolves once everything added so far has been written. */
  async flush(): Promise<void> {
    while (this.#draining) await this.#draining;
    if (this.#failed) throw this.#error;
  }

  /** Writes all of `bytes`: synchronously where the writer never blocks for long. */
  async #write(bytes: Uint8Array): Promise<void> {
    const sync = synchronousWriter(this.#writer);
    if (sync) writeAllSync(sync, bytes);
    else await writeAll(this.#writer, bytes);
  }

  async #drain(): Promise<void> {
    // Let the caller finish adding what it has before the first write.
    await Promise.resolve();
    const buf = this.#buf;
    try {
      while (this.#parts.length > 0) {
        const parts = this.#parts;
        this.#parts = [];
        this.#pending = 0;
        let filled = 0;
        for (let part of parts) {
          // Encode into the reused buffer, writing it out whenever it is full:
          // no copy of a large text is ever made.
          while (true) {
            const { read, written } = encoder.encodeInto(part, buf.subarray(filled));
            filled += written;
            if (read === part.length) break;
            await this.#write(buf.subarray(0, filled));
            filled = 0;
            part = part.slice(read);
          }
        }
        if (filled > 0) await this.#write(buf.subarray(0, filled));
      }
    } catch (error) {
      this.#failed = true;
      this.#error = error;
      this.#parts = [];
      this.#pending = 0;
      this.#onError?.(error);
    } finally {
      this.#draining = null;
    }
  }
}

/** Options for {@linkcode LineBatch}. */
export interface LineBatchOptions {
  /** How long the first line of a batch may wait for others, in ms. Defaults to 10. */
  delay?: number;
}

/**
 * Lines said together: each batch of lines added within `delay` ms goes to
 * `say` as one text (the lines joined by LF, without the last LF), so that
 * many short lines, such as a busy receiver's connection events, cost one
 * write rather than one each.
 *
 * @example
 * ```ts
 * import { LineBatch } from "./line_writer.ts";
 * import assert from "node:assert/strict";
 *
 * const said: string[] = [];
 * const lines = new LineBatch((text) => said.push(text), { delay: 1 });
 * lines.add("one");
 * lines.add("two");
 * lines.flush();
 * assert.deepEqual(said, ["one\ntwo"]);
 * ```
 */
export class LineBatch {
  #say: (text: string) => void;
  #delay: number;
  #text = "";
  #timer: Timer | undefined;
  #flush = (): void => this.flush();

  /** Says each batch with `say`. */
  constructor(say: (text: string) => void, options: LineBatchOptions = {}) {
    this.#say = say;
    this.#delay = options.delay ?? 10;
  }

  /** Adds one line (without its LF); it is said within `delay` ms. */
  add(line: string): void {
    if (this.#timer === undefined) {
      this.#text = line;
      this.#timer = after(this.#delay, this.#flush);
    } else {
      this.#text += "\n" + line;
    }
  }

  /** Says the lines added so far at once. */
  flush(): void {
    if (this.#timer === undefined) return;
    this.#timer.cancel();
    this.#timer = undefined;
    const text = this.#text;
    this.#text = "";
    this.#say(text);
  }
}
