/**
 * One connection's loop: read, take every complete frame in the buffer,
 * check each payload, hand it to the destination, acknowledge it; read a
 * frame too large for the buffer in pieces; wait while the destination or
 * the memory budget is full (TCP back-pressure reaches the sender).
 *
 * @module
 */

import { JsonChecker } from "../json_check.ts";
import type { MemoryBudget } from "../memory_budget.ts";
import {
  PREFIX_BAD,
  PREFIX_PARTIAL,
  prefixProblem,
  type PrefixScan,
  scanPrefix,
} from "../framing/prefix.ts";
import type { ChunkPool } from "./chunk_pool.ts";
import type { Connection } from "./connection.ts";
import type { Destination } from "./destination.ts";
import type { SmallRun } from "./small_lines.ts";

/** What a connection's loop needs of its receiver. */
export interface ServeContext {
  /** Where checked payloads go. */
  readonly destination: Destination;
  /** Memory for frames in flight and output not yet written. */
  readonly budget: MemoryBudget;
  /** Pieces to read large payloads into. */
  readonly chunks: ChunkPool;
  /** The checker for payloads that lie whole in a buffer, shared. */
  readonly checker: JsonChecker;
  /** The largest payload a frame may declare. */
  readonly maxBytes: number;
  /** Acknowledge each message handed over. */
  readonly ack: boolean;
  /** Whether `deliver` has a callback to give messages to (else it need not be called). */
  readonly delivers: boolean;
  /** How large a read buffer may grow now. */
  maxBuffer(): number;
  /**
   * Whether many connections are open: a read buffer then grows only as
   * far as the frame in it needs, not ahead of a fast sender.
   */
  crowded(): boolean;
  /** Whether another message may be taken (the count is not reached). */
  wants(): boolean;
  /** How many more messages may be taken (Infinity without a count). */
  left(): number;
  /**
   * Gives a checked payload to `onMessage`, if there is one; throws what it
   * throws, and the message is refused.
   */
  deliver(c: Connection, pieces: Uint8Array[], length: number): void;
  /** Counts a message `c` handed over (the receiver stops at its count). */
  took(c: Connection): void;
  /** Closes `c` for the receiver's stop (its count), if it is stopping. */
  closeIfStopped(c: Connection): void;
}

/**
 * Serves `c` until its peer ends it, a frame is refused, or it is closed;
 * resolves to what ended it badly (a refused frame, a network error), or
 * `undefined`.
 */
export async function serve(c: Connection, context: ServeContext): Promise<unknown> {
  const { destination, budget } = context;
  try {
    while (true) {
      // Another connection's line is being written a piece at a time.
      while (destination.busy) await destination.busy;
      const before = c.frames;
      let large = -1;
      try {
        large = takeFrames(c, context);
      } finally {
        // Every message handed over is acknowledged, also when a later
        // frame of the same read is refused.
        if (context.ack && c.frames > before) await c.ack(before + 1, c.frames - before);
      }
      context.closeIfStopped(c);
      if (c.closedFor !== undefined) break;
      if (large >= 0) {
        await readLarge(c, large, context);
        continue;
      }
      const full = destination.ready(c);
      if (full !== null || budget.used >= budget.limit) {
        await full;
        await budget.below(c.signal);
        if (c.closedFor !== undefined) break;
      }
      const maxBuffer = context.maxBuffer();
      const fit = context.crowded();
      if (!c.filled(await c.conn.read(c.toFill(maxBuffer, fit)), maxBuffer, fit)) break;
    }
    return undefined;
  } catch (error) {
    c.readingSince = 0;
    return c.closedFor === undefined ? error : undefined;
  }
}

/** The prefix being scanned: one for every connection, as a scan never waits. */
const prefix: PrefixScan = { start: 0, end: 0, maxBytes: 0, length: 0, payloadStart: 0 };

/** The fewest bytes read that are handed to the destination as a run of small frames. */
const RUN_BYTES = 256;

/** The run of small frames handed to the destination: one for every connection, as it never waits. */
const run: SmallRun = {
  buf: new Uint8Array(0),
  start: 0,
  end: 0,
  most: 0,
  maxBytes: 0,
  fresh: true,
};

/**
 * Takes every complete frame in the buffer. Returns the declared length of
 * a frame too large for the buffer whose prefix has arrived (to be read by
 * {@linkcode readLarge}), or -1.
 */
function takeFrames(c: Connection, context: ServeContext): number {
  const { checker, destination, maxBytes } = context;
  const buf = c.buf;
  const end = c.end;
  let pos = c.start;
  c.need = 0;
  // Runs of small plain frames go to the destination whole, where it can
  // take them (not when each message is also delivered, nor for a read of
  // a frame or two, as a one-message connection's: the call costs more).
  const runs = destination.takeSmall !== undefined && !context.delivers &&
    end - pos >= RUN_BYTES;
  run.buf = buf;
  run.end = end;
  run.maxBytes = maxBytes;
  run.fresh = true;
  let skip = 0;
  let wait = 1;
  try {
    prefix.end = end;
    prefix.maxBytes = maxBytes;
    while (pos < end && c.closedFor === undefined) {
      if (runs && --skip < 0) {
        run.start = pos;
        run.most = context.left();
        const taken = destination.takeSmall!(c, run);
        if (taken > 0) {
          pos = run.start;
          for (let k = 0; k < taken; k++) context.took(c);
        }
        // Where it takes few frames, most are of the kind it leaves
        // (objects, escapes, ...): it is asked again after one of those,
        // then after two, four, ... up to 64.
        if (taken >= 8) skip = 0, wait = 1;
        else skip = wait, wait = Math.min(wait * 2, 64);
        if (taken > 0) continue;
      }
      prefix.start = pos;
      const status = scanPrefix(buf, prefix);
      if (status === PREFIX_BAD) {
        const problem = prefixProblem(buf.subarray(pos, end), { maxBytes })!;
        throw c.frameError(problem.code, c.base + pos, problem.reason);
      }
      if (status === PREFIX_PARTIAL) return -1;
      const payloadStart = prefix.payloadStart;
      const length = prefix.length;
      const payloadEnd = payloadStart + length;
      if (payloadEnd > end) {
        if (payloadEnd - pos > Math.max(context.maxBuffer(), buf.length)) return length;
        c.need = payloadEnd - pos;
        return -1;
      }
      if (!context.wants()) return -1;
      const error = checker.check(buf, payloadStart, payloadEnd);
      if (error !== undefined) {
        throw c.payloadError(c.base + pos, [buf.subarray(payloadStart, payloadEnd)], error);
      }
      if (context.delivers) context.deliver(c, [buf.subarray(payloadStart, payloadEnd)], length);
      destination.small(c, buf, payloadStart, payloadEnd, checker);
      context.took(c);
      pos = payloadEnd;
    }
    return -1;
  } finally {
    // A frame that began with the last read waited nothing yet.
    if (pos !== c.start) c.frameWaited = 0;
    c.start = pos;
    if (pos === end) c.start = c.end = 0, c.base += end;
  }
}

/**
 * Reads a payload too large for the buffer: its declared length is
 * reserved in the memory budget first, then it is read in pieces allocated
 * as its bytes arrive, and checked as they do. Resolves to whether it was
 * handed over.
 */
async function readLarge(c: Connection, length: number, context: ServeContext): Promise<boolean> {
  const { budget, chunks, destination } = context;
  const frameStart = c.base + c.start;
  const prefixLength = c.buf.indexOf(0x0a, c.start) + 1 - c.start;
  c.largeLength = length;
  c.largeGot = 0;
  c.largeStart = frameStart;
  await budget.reserve(length, c.signal);
  let reserved = length;
  const pieces: Uint8Array[] = [];
  try {
    // A checker of its own, dropped with the frame: checking deep nesting
    // grows its stack (a byte a level), which a connection must not keep.
    const checker = new JsonChecker();
    let piece = chunks.take(length);
    let filled = c.end - c.start - prefixLength;
    piece.set(c.buf.subarray(c.start + prefixLength, c.end));
    checker.push(piece, 0, filled);
    c.base = frameStart + prefixLength;
    c.start = c.end = 0;
    let got = filled;
    c.largeGot = got;
    while (got < length) {
      if (filled === piece.length) {
        pieces.push(piece);
        piece = chunks.take(length - got);
        filled = 0;
      }
      const n = await c.read(piece.subarray(filled));
      if (n === null) throw c.truncated();
      checker.push(piece, filled, filled + n);
      filled += n;
      got += n;
      c.largeGot = got;
    }
    pieces.push(piece);
    c.base += length;
    c.largeLength = -1;
    c.frameWaited = 0;
    const error = checker.end();
    if (error !== undefined) throw c.payloadError(frameStart, pieces, error);
    if (!context.wants() || c.closedFor !== undefined) return false;
    while (destination.busy) await destination.busy;
    // Closed meanwhile: its peer was told it was not taken.
    if (c.closedFor !== undefined) return false;
    if (context.delivers) context.deliver(c, pieces, length);
    // The destination gives the reservation back itself.
    reserved = 0;
    let acked: Promise<void> | undefined;
    const handing = destination.large(c, pieces, length, checker).then(() => {
      context.took(c);
      // Chained before a close notice that waits for this hand-over.
      if (context.ack) acked = c.ack(c.frames, 1);
    });
    c.handing = handing;
    try {
      await handing;
    } finally {
      c.handing = null;
    }
    await acked;
    return true;
  } finally {
    if (reserved > 0) budget.release(reserved);
  }
}
