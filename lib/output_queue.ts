/**
 * Batched output of bytes: small pieces are copied into reused blocks, large
 * ones queued as they are, and everything written in order with as few
 * writes as the pieces allow. Memory held is counted in a
 * {@linkcode MemoryBudget} until written.
 *
 * @example
 * ```ts
 * import { OutputQueue } from "./output_queue.ts";
 * import assert from "node:assert/strict";
 *
 * const writes: string[] = [];
 * const queue = new OutputQueue({
 *   write: (p: Uint8Array) => Promise.resolve(writes.push(new TextDecoder().decode(p)) && p.length),
 * });
 * queue.copy(new TextEncoder().encode("one\n"));
 * queue.copy(new TextEncoder().encode("two\n"));
 * await queue.flush();
 * assert.deepEqual(writes, ["one\ntwo\n"]);
 * ```
 *
 * @module
 */

import { type ByteWriter, type SyncByteWriter, synchronousWriter } from "./io.ts";
import type { MemoryBudget } from "./memory_budget.ts";

/** Options for {@linkcode OutputQueue}. */
export interface OutputQueueOptions {
  /** Counts queued bytes until they are written. */
  budget?: MemoryBudget;
  /** Called once, when a write fails; nothing is written after. */
  onError?: (error: unknown) => void;
}

const BLOCK_SIZE = 64 * 1024;
/**
 * Blocks kept for reuse once written: as many as 16 MiB of queued output
 * fills, so that a long burst of output makes no garbage.
 */
const POOL_SIZE = 256;

interface Piece {
  bytes: Uint8Array;
  /** A block to reuse once written. */
  block?: Uint8Array;
  /** Bytes to give back to the budget once written. */
  charge: number;
  /** Called once the bytes are written (or dropped after a failure). */
  done?: () => void;
}

/**
 * Writes bytes in order. `copy` and `reserve` fill the current block; `add`
 * queues a view as it is, to be written without a copy. Everything added in
 * one turn of the event loop goes out together.
 *
 * @example
 * ```ts
 * import { OutputQueue } from "./output_queue.ts";
 *
 * const queue = new OutputQueue(Deno.stdout);
 * queue.add(new TextEncoder().encode(""));
 * await queue.flush();
 * ```
 */
export class OutputQueue {
  #writer: ByteWriter;
  #budget: MemoryBudget | undefined;
  #onError: ((error: unknown) => void) | undefined;
  #pieces: Piece[] = [];
  #block: Uint8Array = new Uint8Array(BLOCK_SIZE);
  #filled = 0;
  #pool: Uint8Array[] = [];
  #pending = 0;
  #draining: Promise<void> | null = null;
  /** Whether an asynchronous write is under way. */
  #writing = false;
  /** Whether a synchronous write is due once this turn's pieces are in. */
  #scheduled = false;
  #writeSoon = (): void => this.#writeScheduled();
  #error: unknown;
  #failed = false;
  #waiters: { bytes: number; resolve: () => void }[] = [];

  /** Writes to `writer`. */
  constructor(writer: ByteWriter, options: OutputQueueOptions = {}) {
    this.#writer = writer;
    this.#budget = options.budget;
    this.#onError = options.onError;
  }

  /** Whether a write has failed; see `error`. */
  get failed(): boolean {
    return this.#failed;
  }

  /** The error of the failed write. */
  get error(): unknown {
    return this.#error;
  }

  /** Bytes queued and not yet written. */
  get pending(): number {
    return this.#pending + this.#filled;
  }

  /**
   * Room for `n` bytes (at most 64 KiB) in the current block: returns the
   * block, to be written from `offset()`, then `commit(n)`.
   */
  reserve(n: number): Uint8Array {
    if (this.#filled + n > this.#block.length) this.#seal();
    return this.#block;
  }

  /** Where the bytes reserved start in the block `reserve` returned. */
  offset(): number {
    return this.#filled;
  }

  /** Counts `n` bytes written into the reserved room as queued. */
  commit(n: number): void {
    if (this.#failed) return;
    this.#filled += n;
    this.#schedule();
  }

  /** Queues a copy of `bytes`. */
  copy(bytes: Uint8Array): void {
    if (bytes.length > BLOCK_SIZE / 4) {
      // Counted as a sealed block is: `add` gives it back once written.
      this.#budget?.charge(bytes.length);
      this.add(bytes.slice(), bytes.length);
      return;
    }
    const block = this.reserve(bytes.length);
    block.set(bytes, this.#filled);
    this.commit(bytes.length);
  }

  /**
   * Queues `bytes` as they are: they must not change until written.
   * `charge` bytes, counted in the budget by the caller, are given back to
   * it once they are written; then `done` is called.
   */
  add(bytes: Uint8Array, charge = 0, done?: () => void): void {
    if (this.#failed) {
      this.#budget?.release(charge);
      done?.();
      return;
    }
    if (this.#filled > 0) this.#seal();
    this.#pieces.push({ bytes, charge, done });
    this.#pending += bytes.length;
    this.#schedule();
  }

  /** Resolves once at most `bytes` are queued; aborting `signal` stops the wait. */
  below(bytes: number, signal?: AbortSignal): Promise<void> {
    if (this.#failed) return Promise.reject(this.#error);
    if (this.pending <= bytes) return Promise.resolve();
    if (signal?.aborted) return Promise.reject(signal.reason);
    return new Promise((resolve, reject) => {
      const waiter = {
        bytes,
        resolve: () => {
          signal?.removeEventListener("abort", abort);
          resolve();
        },
      };
      const abort = () => {
        this.#waiters = this.#waiters.filter((w) => w !== waiter);
        reject(signal!.reason);
      };
      signal?.addEventListener("abort", abort, { once: true });
      this.#waiters.push(waiter);
    });
  }

  /**
   * Writes everything queued now, synchronously where the writer can
   * (`writeSync`, as `Deno.stdout` has) and nothing is being written:
   * the shortest wait, for a reply that must follow the output. Resolves
   * once all of it is written.
   */
  flushNow(): Promise<void> {
    const writer = this.#synchronous();
    if (this.#writing || this.#failed || !writer) return this.flush();
    this.#seal();
    const pieces = this.#pieces;
    let k = 0;
    try {
      for (; k < pieces.length; k++) {
        const piece = pieces[k];
        const { bytes } = piece;
        for (let n = 0; n < bytes.length;) n += tookSome(writer.writeSync(bytes.subarray(n)));
        this.#pending -= bytes.length;
        if (piece.charge > 0) this.#budget?.release(piece.charge);
        if (piece.block && this.#pool.length < POOL_SIZE) this.#pool.push(piece.block);
        piece.done?.();
      }
      this.#pieces = [];
    } catch (error) {
      // Those written are given back already: `#fail` gives back the rest.
      this.#pieces = pieces.slice(k);
      this.#fail(error);
      return Promise.reject(error);
    }
    this.#wake();
    return Promise.resolve();
  }

  /**
   * Whether everything queued is written now: written at once, as
   * `flushNow` does, where the writer is synchronous and nothing is being
   * written. `false` when some is still to be written, or a write failed
   * (`flush` then says so).
   */
  writtenNow(): boolean {
    if (this.#failed) return false;
    if (this.#pending === 0 && this.#filled === 0) return !this.#writing;
    if (this.#writing || !this.#synchronous()) return false;
    this.flushNow().catch(() => {});
    return !this.#failed && this.#pending === 0 && this.#filled === 0;
  }

  /** Resolves once everything queued so far is written; rejects if a write failed. */
  async flush(): Promise<void> {
    if (this.#scheduled) this.#writeScheduled();
    while (this.#draining) await this.#draining;
    if (this.#failed) throw this.#error;
  }

  /** The writer, if it writes synchronously without blocking for long (see `SyncByteWriter`). */
  #synchronous(): SyncByteWriter | undefined {
    return synchronousWriter(this.#writer);
  }

  /**
   * Has what is queued written once the code adding it yields: to a
   * synchronous writer in a microtask (no promise), else by `#drain`.
   */
  #schedule(): void {
    if (this.#draining !== null || this.#scheduled) return;
    if (this.#synchronous()) {
      this.#scheduled = true;
      queueMicrotask(this.#writeSoon);
    } else {
      this.#draining = this.#drain();
    }
  }

  #writeScheduled(): void {
    this.#scheduled = false;
    if (this.#draining !== null || this.#failed || this.pending === 0) return;
    // A write that fails is said by `#fail` (onError), and by `flush`.
    if (this.#synchronous() && !this.#writing) this.flushNow().catch(() => {});
    else this.#draining = this.#drain();
  }

  /** Queues the filled part of the current block and starts a fresh one. */
  #seal(): void {
    if (this.#filled === 0) return;
    const block = this.#block;
    this.#budget?.charge(this.#filled);
    this.#pieces.push({ bytes: block.subarray(0, this.#filled), block, charge: this.#filled });
    this.#pending += this.#filled;
    this.#block = this.#pool.pop() ?? new Uint8Array(BLOCK_SIZE);
    this.#filled = 0;
  }

  async #drain(): Promise<void> {
    // Let the caller finish adding what it has before the first write.
    await Promise.resolve();
    try {
      while (true) {
        if (this.#pieces.length === 0) this.#seal();
        const piece = this.#pieces.shift();
        if (piece === undefined) break;
        const { bytes } = piece;
        let written = 0;
        this.#writing = true;
        const sync = this.#synchronous();
        while (written < bytes.length) {
          const part = written === 0 ? bytes : bytes.subarray(written);
          written += tookSome(sync ? sync.writeSync(part) : await this.#writer.write(part));
        }
        this.#writing = false;
        this.#pending -= bytes.length;
        if (piece.charge > 0) this.#budget?.release(piece.charge);
        if (piece.block && this.#pool.length < POOL_SIZE) this.#pool.push(piece.block);
        piece.done?.();
        this.#wake();
      }
    } catch (error) {
      this.#fail(error);
    } finally {
      this.#writing = false;
      this.#draining = null;
    }
  }

  /** A write failed: drop everything queued, and say so once. */
  #fail(error: unknown): void {
    this.#failed = true;
    this.#error = error;
    for (const piece of this.#pieces) {
      if (piece.charge > 0) this.#budget?.release(piece.charge);
      piece.done?.();
    }
    this.#pieces = [];
    this.#pending = 0;
    this.#filled = 0;
    for (const waiter of this.#waiters) waiter.resolve();
    this.#waiters = [];
    this.#onError?.(error);
  }

  #wake(): void {
    if (this.#waiters.length === 0) return;
    const pending = this.pending;
    this.#waiters = this.#waiters.filter((waiter) => {
      if (pending > waiter.bytes) return true;
      waiter.resolve();
      return false;
    });
  }
}

/** A write's count, or an error for a writer that took nothing (which would spin). */
function tookSome(n: number): number {
  if (!(n > 0)) throw new Deno.errors.WriteZero(`the output took no bytes (its write gave ${n})`);
  return n;
}
