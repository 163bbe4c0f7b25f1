/**
 * Checks of the numbers a library caller passes in options: a value out of
 * range is a `RangeError` that names the option, at the call, rather than a
 * receiver that serves nothing or a timer that fires at once.
 *
 * @example
 * ```ts
 * import { checkDuration, checkWhole } from "./option_checks.ts";
 * import assert from "node:assert/strict";
 *
 * checkWhole("receive", { name: "count", value: 5, min: 1 });
 * assert.throws(
 *   () => checkWhole("receive", { name: "maxConns", value: 0, min: 1 }),
 *   /receive\(\): maxConns must be a whole number of 1 or more, got 0/,
 * );
 * assert.throws(() => checkDuration("send", { name: "connectTimeout", value: -1 }), RangeError);
 * ```
 *
 * @module
 */

/** An option's name and value, and the range it must be in. */
export interface CheckedOption {
  /** The option's name, as the caller wrote it: `maxBytes`. */
  name: string;
  /** Its value; `undefined` (not given) always passes. */
  value: number | undefined;
  /** The smallest value allowed; 0 if not given. */
  min?: number;
  /** The largest value allowed; `Number.MAX_SAFE_INTEGER` if not given. */
  max?: number;
}

/**
 * Throws `RangeError` unless `option.value` is absent or a whole number in
 * its range. `fn` names the function the option was given to.
 *
 * @example
 * ```ts
 * import { checkWhole } from "./option_checks.ts";
 * import assert from "node:assert/strict";
 *
 * assert.throws(() => checkWhole("receive", { name: "maxBytes", value: NaN, min: 1 }), RangeError);
 * ```
 */
export function checkWhole(fn: string, option: CheckedOption): void {
  const { name, value, min = 0, max = Number.MAX_SAFE_INTEGER } = option;
  if (value === undefined) return;
  if (!Number.isSafeInteger(value) || value < min || value > max) {
    const range = max === Number.MAX_SAFE_INTEGER ? `of ${min} or more` : `from ${min} to ${max}`;
    throw new RangeError(`${fn}(): ${name} must be a whole number ${range}, got ${value}`);
  }
}

/**
 * Throws `RangeError` unless `option.value` is absent or a number of
 * milliseconds, 0 or more (`Infinity` included).
 *
 * @example
 * ```ts
 * import { checkDuration } from "./option_checks.ts";
 *
 * checkDuration("send", { name: "ackTimeout", value: 2 ** 40 });
 * ```
 */
export function checkDuration(fn: string, option: CheckedOption): void {
  const { name, value } = option;
  if (value === undefined) return;
  if (typeof value !== "number" || Number.isNaN(value) || value < 0) {
    throw new RangeError(
      `${fn}(): ${name} must be a number of milliseconds, 0 or more, got ${value}`,
    );
  }
}
