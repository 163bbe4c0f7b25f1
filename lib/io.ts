/**
 * The byte interfaces framecat reads and writes through, with their
 * contracts written down (as `Deno.Conn`, `Deno.stdin` and `Deno.stdout`
 * keep them), and the two helpers everything shares: {@linkcode writeAll}
 * and {@linkcode concat}.
 *
 * @example
 * ```ts
 * import { concat, writeAll } from "./io.ts";
 * import assert from "node:assert/strict";
 *
 * const parts: number[] = [];
 * await writeAll({ write: (p) => Promise.resolve(parts.push(p.length) && 1) }, new Uint8Array(3));
 * assert.deepEqual(parts, [3, 2, 1]);
 * assert.deepEqual(concat([new Uint8Array([1]), new Uint8Array([2, 3])]), new Uint8Array([1, 2, 3]));
 * ```
 *
 * @module
 */

/**
 * Anything that reads bytes like `Deno.Conn` or `Deno.stdin` do.
 *
 * Contract: `read(p)` reads at most `p.length` bytes into the start of `p`
 * and resolves to how many, at least 1 when `p` is not empty; or to `null`
 * at the end of the stream, and again on every later call. It rejects on an
 * error. It never holds on to `p` once settled.
 */
export interface ByteReader {
  /** Reads up to `p.length` bytes into `p`; resolves to the count, or `null` at the end. */
  read(p: Uint8Array): Promise<number | null>;
}

/**
 * Anything that writes bytes like `Deno.stdout` or a `Deno.Conn` does.
 *
 * Contract: `write(p)` writes some of `p`, from its start, and resolves to
 * how many bytes, at least 1 when `p` is not empty (a writer that takes
 * nothing is an error to {@linkcode writeAll}, never a loop); it rejects on
 * an error. `p` must not change until the write settles.
 */
export interface ByteWriter {
  /** Writes some of `p`; resolves to how many bytes were written. */
  write(p: Uint8Array): Promise<number>;
}

/**
 * A {@linkcode ByteWriter} that can also write synchronously, like
 * `Deno.stdout`. `synchronous` says that its synchronous writes never block
 * for long (a file, `/dev/null`; never a pipe or a terminal, whose reader
 * may stall): a writer that batches output then writes with `writeSync`,
 * saving a round trip to a thread a write. It may change while in use.
 */
export interface SyncByteWriter extends ByteWriter {
  /** Writes some of `p` at once; returns how many bytes. */
  writeSync(p: Uint8Array): number;
  /** Whether `writeSync` never blocks for long. */
  synchronous?: boolean;
}

/**
 * Writes every byte of `data` to `writer`, however many writes it takes.
 * Throws `Deno.errors.WriteZero` for a writer that takes no byte.
 *
 * @example
 * ```ts
 * import { writeAll } from "./io.ts";
 * import assert from "node:assert/strict";
 *
 * await assert.rejects(writeAll({ write: () => Promise.resolve(0) }, new Uint8Array(1)));
 * ```
 */
export async function writeAll(writer: ByteWriter, data: Uint8Array): Promise<void> {
  let written = 0;
  while (written < data.length) {
    const n = await writer.write(written === 0 ? data : data.subarray(written));
    // A writer that takes nothing would have this loop spin for ever.
    if (!(n > 0)) throw new Deno.errors.WriteZero(`the writer took no bytes (its write gave ${n})`);
    written += n;
  }
}

/**
 * The writer, if it writes synchronously without blocking for long (its
 * `synchronous` is true and it has `writeSync`); otherwise `undefined`.
 *
 * @example
 * ```ts
 * import { synchronousWriter } from "./io.ts";
 * import assert from "node:assert/strict";
 *
 * assert.equal(synchronousWriter(Deno.stdout), undefined);
 * ```
 */
export function synchronousWriter(writer: ByteWriter): SyncByteWriter | undefined {
  const w = writer as Partial<SyncByteWriter>;
  return w.synchronous === true && typeof w.writeSync === "function"
    ? w as SyncByteWriter
    : undefined;
}

/**
 * Writes every byte of `data` to `writer` synchronously.
 *
 * @example
 * ```ts
 * import { writeAllSync } from "./io.ts";
 * import assert from "node:assert/strict";
 *
 * const parts: number[] = [];
 * writeAllSync({ write: () => Promise.resolve(0), writeSync: (p) => (parts.push(p.length), 1) }, new Uint8Array(2));
 * assert.deepEqual(parts, [2, 1]);
 * ```
 */
export function writeAllSync(writer: SyncByteWriter, data: Uint8Array): void {
  for (let written = 0; written < data.length;) {
    const n = writer.writeSync(written === 0 ? data : data.subarray(written));
    if (!(n > 0)) throw new Deno.errors.WriteZero(`the writer took no bytes (its write gave ${n})`);
    written += n;
  }
}

/**
 * The bytes of `parts`, one after another, in one new array (or the only
 * part itself).
 *
 * @example
 * ```ts
 * import { concat } from "./io.ts";
 * import assert from "node:assert/strict";
 *
 * assert.equal(concat([new Uint8Array([1, 2]), new Uint8Array([3])]).length, 3);
 * ```
 */
export function concat(parts: Uint8Array[]): Uint8Array {
  if (parts.length === 1) return parts[0];
  let length = 0;
  for (const part of parts) length += part.length;
  const bytes = new Uint8Array(length);
  let offset = 0;
  for (const part of parts) {
    bytes.set(part, offset);
    offset += part.length;
  }
  return bytes;
}
