/**
 * Which connections a receiver closes for taking too long, and why: pure
 * decisions on what each connection has waited on its peer, made by the
 * receiver's sweep. Only time spent waiting on the peer counts; a
 * connection that is not being read waits on the receiver.
 *
 * @example
 * ```ts
 * import { overdue } from "./timeouts.ts";
 * import assert from "node:assert/strict";
 *
 * const quiet = { readingSince: 1000, frameWaited: 0, frames: 2, partial: false };
 * const policy = { idle: 500, idleAlways: true, frame: 0 };
 * assert.equal(overdue(quiet, { now: 1600, full: false, policy })?.code, "IDLE_TIMEOUT");
 * assert.equal(overdue(quiet, { now: 1400, full: false, policy }), undefined);
 * ```
 *
 * @module
 */

/** What a decision needs to know of a connection. */
export interface Timed {
  /** When the read under way began, or 0 when it is not being read. */
  readingSince: number;
  /** Milliseconds its partial frame has waited on the peer before this read. */
  frameWaited: number;
  /** Messages taken from it. */
  frames: number;
  /** Whether bytes of a frame not yet complete have arrived. */
  partial: boolean;
}

/** The receiver's timeouts, in milliseconds (0: never). */
export interface TimeoutPolicy {
  /** A peer silent this long is closed: always, or only to make room (see `idleAlways`). */
  idle: number;
  /** Close idle peers always; otherwise only between frames while the receiver is full. */
  idleAlways: boolean;
  /** A frame not complete after this much waiting on its peer is closed. */
  frame: number;
}

/** Options for {@linkcode overdue}. */
export interface OverdueOptions {
  /** `Date.now()`. */
  now: number;
  /** Whether the receiver is at its `maxConns`. */
  full: boolean;
  /** The timeouts. */
  policy: TimeoutPolicy;
}

/** A connection to close, and why. */
export interface Overdue {
  /** The code its peer is told. */
  code: "IDLE_TIMEOUT" | "FRAME_TIMEOUT";
  /** Why, in words. */
  reason: string;
}

/**
 * Whether `connection` is past a timeout, and which; `undefined` if not.
 *
 * @example
 * ```ts
 * import { overdue } from "./timeouts.ts";
 * import assert from "node:assert/strict";
 *
 * // Waiting on the receiver (not being read): never overdue.
 * const held = { readingSince: 0, frameWaited: 0, frames: 0, partial: true };
 * const policy = { idle: 1, idleAlways: true, frame: 1 };
 * assert.equal(overdue(held, { now: 1e12, full: true, policy }), undefined);
 * ```
 */
export function overdue(connection: Timed, options: OverdueOptions): Overdue | undefined {
  const { now, full, policy } = options;
  if (connection.readingSince === 0) return undefined;
  const waiting = now - connection.readingSince;
  const { idle, frame } = policy;
  if (connection.partial && frame > 0 && connection.frameWaited + waiting >= frame) {
    return {
      code: "FRAME_TIMEOUT",
      reason: `frame ${connection.frames + 1} not complete ${
        frame / 1000
      } s after it began (frame timeout)`,
    };
  }
  if (idle > 0 && waiting >= idle && (policy.idleAlways || (full && !connection.partial))) {
    return { code: "IDLE_TIMEOUT", reason: `no data for ${idle / 1000} s (idle timeout)` };
  }
  return undefined;
}

/**
 * During shutdown: whether `connection` has been quiet `quiet` ms since the
 * later of its read's start and the stop (`stoppedAt`).
 *
 * @example
 * ```ts
 * import { quietSince } from "./timeouts.ts";
 * import assert from "node:assert/strict";
 *
 * const c = { readingSince: 100, frameWaited: 0, frames: 0, partial: false };
 * assert.equal(quietSince(c, { now: 400, stoppedAt: 200, quiet: 250 }), false);
 * assert.equal(quietSince(c, { now: 450, stoppedAt: 200, quiet: 250 }), true);
 * ```
 */
export function quietSince(
  connection: Timed,
  options: { now: number; stoppedAt: number; quiet: number },
): boolean {
  if (connection.readingSince === 0) return false;
  return options.now - Math.max(connection.readingSince, options.stoppedAt) >= options.quiet;
}

/**
 * The period of the sweep for `timeouts`: a quarter of the shortest (at
 * most a second), so that a connection is closed between its timeout and a
 * quarter more.
 *
 * @example
 * ```ts
 * import { sweepPeriod } from "./timeouts.ts";
 * import assert from "node:assert/strict";
 *
 * assert.equal(sweepPeriod([30_000, 60_000]), 1000);
 * assert.equal(sweepPeriod([1000, 0]), 250);
 * ```
 */
export function sweepPeriod(timeouts: number[]): number {
  return Math.min(...timeouts.filter((t) => t > 0).map((t) => t / 4), 1000);
}
