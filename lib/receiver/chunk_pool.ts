/**
 * The pieces a receiver reads large payloads into, 1 MiB each, reused once
 * written: reading into memory already touched is faster than into new
 * memory (a 64 MiB payload read into new pieces costs a third more CPU).
 * The first 32 whole pieces alive are WebAssembly memory of their own (a
 * `ScanBuffer`), which the JSON checker scans where the bytes are, without
 * copying them into its scan window. A payload's last bytes, fewer than a
 * piece, get an array of their size, never kept: the budget counts them.
 *
 * How many are kept: 16 always; more while the memory budget has room for
 * them beside what it counts in use (a piece is taken from those kept
 * before one is made, so that keeping them never raises the peak), and
 * back to 16 once none has been taken for a sweep.
 *
 * @example
 * ```ts
 * import { CHUNK, ChunkPool } from "./chunk_pool.ts";
 * import assert from "node:assert/strict";
 *
 * const pool = new ChunkPool();
 * const piece = pool.take(5 * CHUNK);
 * assert.equal(piece.length, CHUNK);
 * pool.give(piece);
 * assert.equal(pool.take(CHUNK), piece);
 * assert.equal(pool.take(100).length, 100);
 * ```
 *
 * @module
 */

import type { MemoryBudget } from "../memory_budget.ts";
import { ScanBuffer } from "../plain_scan.ts";

/** A large payload is read in pieces of at most this size. */
export const CHUNK = 1024 * 1024;

/** Whole pieces kept for reuse whatever the budget. */
const KEEP = 16;

/**
 * Pieces in WebAssembly memory that may exist at once, collected or not;
 * past them, ordinary arrays. The garbage collector hurries for ordinary
 * arrays dropped, not for WebAssembly memory: with a piece each for every
 * payload in flight, 40 payloads of 60 MiB at once peaked at 690 MiB
 * instead of 470.
 */
const IN_PLACE = 32;

/** Options for {@linkcode ChunkPool}. */
export interface ChunkPoolOptions {
  /** Pieces past the first 16 are kept while they fit in its room. */
  budget?: MemoryBudget;
}

/**
 * Pieces of {@linkcode CHUNK} bytes, reused; see the module.
 *
 * @example
 * ```ts
 * import { CHUNK, ChunkPool } from "./chunk_pool.ts";
 * import { MemoryBudget } from "../memory_budget.ts";
 * import assert from "node:assert/strict";
 *
 * const pool = new ChunkPool({ budget: new MemoryBudget(64 * CHUNK) });
 * const pieces = Array.from({ length: 40 }, () => pool.take(CHUNK));
 * for (const piece of pieces) pool.give(piece);
 * assert.equal(pool.kept, 40);
 * pool.trim();
 * pool.trim();
 * assert.equal(pool.kept, 16);
 * ```
 */
export class ChunkPool {
  #kept: Uint8Array[] = [];
  #budget: MemoryBudget | undefined;
  /** Whether a piece was taken since the last `trim`. */
  #taken = false;
  /** Pieces in WebAssembly memory alive now: made, and not yet collected. */
  #inPlace = 0;
  /** False once WebAssembly memory could not be had: ordinary arrays from then on. */
  #wasm = true;
  #collected = new FinalizationRegistry<null>(() => this.#inPlace--);

  /** A pool; `budget` lets it keep more than 16 pieces while the budget has room. */
  constructor(options: ChunkPoolOptions = {}) {
    this.#budget = options.budget;
  }

  /** Whole pieces kept now. */
  get kept(): number {
    return this.#kept.length;
  }

  /**
   * A piece for `left` more payload bytes: a whole one (kept, else new) for
   * {@linkcode CHUNK} or more; for fewer, an array of exactly `left` bytes,
   * never kept (a whole piece would hold more memory than the budget counts).
   */
  take(left: number): Uint8Array {
    if (left < CHUNK) return new Uint8Array(left);
    this.#taken = true;
    return this.#kept.pop() ?? this.#make();
  }

  /**
   * Takes back a piece `take` gave, once its bytes are written (or
   * copied): nothing may read it after. A whole one is kept if there is
   * room (see the module); the rest are left to the garbage collector.
   */
  give(piece: Uint8Array): void {
    if (piece.length !== CHUNK || piece.buffer.byteLength !== CHUNK) return;
    const kept = this.#kept.length;
    const budget = this.#budget;
    if (kept < KEEP || budget !== undefined && budget.used + (kept + 1) * CHUNK <= budget.limit) {
      this.#kept.push(piece);
    }
  }

  /**
   * Called once a sweep: keeps only 16 pieces if none was taken since the
   * last call (the large payloads have stopped).
   */
  trim(): void {
    if (!this.#taken && this.#kept.length > KEEP) this.#kept.length = KEEP;
    this.#taken = false;
  }

  /** A new whole piece: WebAssembly memory of its own where it can be. */
  #make(): Uint8Array {
    if (this.#wasm && this.#inPlace < IN_PLACE) {
      try {
        const bytes = new ScanBuffer({ size: CHUNK }).bytes;
        if (bytes.length === CHUNK && bytes.buffer.byteLength === CHUNK) {
          this.#inPlace++;
          this.#collected.register(bytes.buffer, null);
          return bytes;
        }
      } catch {
        // Out of address space for WebAssembly memory (a ulimit).
      }
      this.#wasm = false;
    }
    return new Uint8Array(CHUNK);
  }
}
