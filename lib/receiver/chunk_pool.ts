/**
 * The pieces a receiver reads large payloads into, 1 MiB each, allocated as
 * bytes arrive and reused once written: reading into memory already
 * touched is faster than into new memory.
 *
 * @module
 */

/** A large payload is read in pieces of at most this size. */
export const CHUNK = 1024 * 1024;

/** Whole pieces kept for reuse. */
const KEEP = 16;

/** Pieces of {@linkcode CHUNK} bytes, reused. */
export class ChunkPool {
  #kept: Uint8Array[] = [];

  /** A piece for `left` more payload bytes: a reused one where it is whole. */
  take(left: number): Uint8Array {
    if (left >= CHUNK && this.#kept.length > 0) return this.#kept.pop()!;
    return new Uint8Array(Math.min(left, CHUNK));
  }

  /** Takes back a piece once its bytes are written; only whole pieces are kept. */
  give(piece: Uint8Array): void {
    if (piece.length === CHUNK && this.#kept.length < KEEP) this.#kept.push(piece);
  }
}
