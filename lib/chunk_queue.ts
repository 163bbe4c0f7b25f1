/**
 * Bytes that arrive as events (a Node socket's `data`) read like a
 * `Deno.Conn`: queued as they come, handed out by `read(p)`, with a
 * high-water mark for back-pressure. The TLS connections over Node sockets
 * (`tls_server.ts`, `tls_pin.ts`) read through it.
 *
 * @example
 * ```ts
 * import { ChunkQueue } from "./chunk_queue.ts";
 * import assert from "node:assert/strict";
 *
 * const queue = new ChunkQueue({ onDrained: () => {} });
 * queue.push(new TextEncoder().encode("hello"));
 * queue.end();
 * const p = new Uint8Array(3);
 * assert.equal(await queue.read(p), 3);
 * assert.equal(await queue.read(p), 2);
 * assert.equal(await queue.read(p), null);
 * ```
 *
 * @module
 */

import type { ByteReader } from "./io.ts";

/** Bytes queued past this ask the source to pause; see {@linkcode ChunkQueue}. */
export const HIGH_WATER = 256 * 1024;

/** Options for {@linkcode ChunkQueue}. */
export interface ChunkQueueOptions {
  /** Called when a read brings the bytes queued to half the high-water mark or below. */
  onDrained: () => void;
}

/** A queue of byte chunks read like a `Deno.Conn`; see the module. */
export class ChunkQueue implements ByteReader {
  #chunks: Uint8Array[] = [];
  #queued = 0;
  #ended = false;
  #error: Error | undefined;
  #closed = false;
  #wake: (() => void) | undefined;
  #onDrained: () => void;

  /** An empty queue. */
  constructor(options: ChunkQueueOptions) {
    this.#onDrained = options.onDrained;
  }

  /** The error the source failed with, if it did. */
  get error(): Error | undefined {
    return this.#error;
  }

  /** Whether the queue was closed (reads fail). */
  get closed(): boolean {
    return this.#closed;
  }

  /** Queues `chunk`; returns whether the bytes queued are past the high-water mark. */
  push(chunk: Uint8Array): boolean {
    this.#chunks.push(chunk);
    this.#queued += chunk.length;
    this.#wakeReader();
    return this.#queued > HIGH_WATER;
  }

  /** Whether the bytes queued are past the high-water mark. */
  get full(): boolean {
    return this.#queued > HIGH_WATER;
  }

  /** The source ended: reads return `null` once the queue is empty. */
  end(): void {
    this.#ended = true;
    this.#wakeReader();
  }

  /** The source failed: reads throw `error` once the queue is empty (the first error counts). */
  fail(error: Error): void {
    this.#error ??= error;
    this.#wakeReader();
  }

  /** Closed by its owner: reads throw `BadResource`. */
  close(): void {
    this.#closed = true;
    this.#wakeReader();
  }

  /** Reads queued bytes into `p`; `null` at the end of the stream. */
  async read(p: Uint8Array): Promise<number | null> {
    while (this.#chunks.length === 0) {
      if (this.#error) throw this.#error;
      if (this.#closed) throw new Deno.errors.BadResource("the connection is closed");
      if (this.#ended) return null;
      await new Promise<void>((resolve) => this.#wake = resolve);
    }
    const chunk = this.#chunks[0];
    const n = Math.min(p.length, chunk.length);
    p.set(chunk.subarray(0, n));
    if (n === chunk.length) this.#chunks.shift();
    else this.#chunks[0] = chunk.subarray(n);
    this.#queued -= n;
    if (this.#queued <= HIGH_WATER / 2) this.#onDrained();
    return n;
  }

  #wakeReader(): void {
    const wake = this.#wake;
    this.#wake = undefined;
    wake?.();
  }
}
