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
 * Any delay is waited in full, beyond the 2^31 - 1 ms of the runtime's
 * timers; `Infinity` never fires.
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
  if (ms === Infinity) return { cancel: () => {} };
  if (ms > MAX_DELAY) {
    // The runtime's timers take at most 2^31 - 1 ms, and fire at once past
    // that: a longer wait is a chain of waits.
    let next = after(MAX_DELAY, () => next = after(ms - MAX_DELAY, callback));
    return { cancel: () => next.cancel() };
  }
  const signal = AbortSignal.timeout(Math.max(0, ms));
  signal.addEventListener("abort", callback, { once: true });
  return { cancel: () => signal.removeEventListener("abort", callback) };
}

/** The longest delay one runtime timer takes: 2^31 - 1 ms, about 24.8 days. */
const MAX_DELAY = 2 ** 31 - 1;

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
