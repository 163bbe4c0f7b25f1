/**
 * Timers made with `AbortSignal.timeout`, for a process that must start
 * fast: in Deno 2.9.6 the first `setTimeout` or `setInterval` of a process
 * loads Node's timers module, 6 to 15 ms (measured as a receiver's time to
 * its first message: 33 ms with `setInterval`, 24 ms without). Like
 * `setTimeout`, a timer keeps the process alive until it fires or is
 * cancelled.
 *
 * @module
 */

/** A timer that can be stopped before it fires (again). */
export interface Timer {
  /** Stops the timer; its callback is not called after this. */
  cancel(): void;
}

/**
 * Calls `callback` once, after `ms` milliseconds, unless cancelled first.
 *
 * @example
 * ```ts
 * import { after } from "./timer.ts";
 * import assert from "node:assert/strict";
 *
 * const fired = await new Promise((resolve) => after(10, () => resolve(true)));
 * assert.equal(fired, true);
 * ```
 */
export function after(ms: number, callback: () => void): Timer {
  const signal = AbortSignal.timeout(ms);
  signal.addEventListener("abort", callback, { once: true });
  return { cancel: () => signal.removeEventListener("abort", callback) };
}

/**
 * Calls `callback` every `ms` milliseconds until cancelled.
 *
 * @example
 * ```ts
 * import { every } from "./timer.ts";
 * import assert from "node:assert/strict";
 *
 * let ticks = 0;
 * await new Promise<void>((resolve) => {
 *   const timer = every(5, () => {
 *     if (++ticks === 3) timer.cancel(), resolve();
 *   });
 * });
 * assert.equal(ticks, 3);
 * ```
 */
export function every(ms: number, callback: () => void): Timer {
  let next: Timer;
  const tick = () => {
    next = after(ms, tick);
    callback();
  };
  next = after(ms, tick);
  return { cancel: () => next.cancel() };
}
