/**
 * Sizes and durations as people type them: `1K`, `64M`, `1GiB`; `500ms`,
 * `2s`, `1m`, `1.5` (seconds). One parser for every flag of `send` and
 * `receive`, so that a value that works for one works for all.
 *
 * @example
 * ```ts
 * import { parseDuration, parseSize } from "./units.ts";
 * import assert from "node:assert/strict";
 *
 * assert.equal(parseSize("64M"), 64 * 1024 * 1024);
 * assert.equal(parseDuration("500ms"), 500);
 * ```
 *
 * @module
 */

/** Bytes in each size unit: powers of 1024, as `--max-memory 512M` always meant. */
const SIZE_UNITS: Record<string, number> = {
  "": 1,
  B: 1,
  K: 1024,
  M: 1024 ** 2,
  G: 1024 ** 3,
  T: 1024 ** 4,
};

/** Milliseconds in each duration unit; a plain number is seconds. */
const DURATION_UNITS: Record<string, number> = {
  "": 1000,
  MS: 1,
  S: 1000,
  M: 60_000,
  MIN: 60_000,
  H: 3_600_000,
};

/**
 * Parses a size in bytes: a whole number, optionally followed by `K`, `M`,
 * `G` or `T` (powers of 1024; `KB`, `KiB`, `k` mean the same) or `B`. Throws
 * `SyntaxError` for anything else.
 *
 * @example
 * ```ts
 * import { parseSize } from "./units.ts";
 * import assert from "node:assert/strict";
 *
 * assert.equal(parseSize("1000"), 1000);
 * assert.equal(parseSize("1K"), 1024);
 * assert.equal(parseSize("1GiB"), 1024 ** 3);
 * assert.throws(() => parseSize("1.5K"), SyntaxError);
 * ```
 */
export function parseSize(text: string): number {
  const match = /^(\d+)\s*(?:([KMGT])(?:i?B)?|(B))?$/i.exec(text.trim());
  if (!match) throw new SyntaxError(`not a size: "${text}" (such as 1000, 64K, 1M or 1GiB)`);
  const unit = (match[2] ?? match[3] ?? "").toUpperCase();
  return Number(match[1]) * SIZE_UNITS[unit];
}

/**
 * Parses a duration into milliseconds: a number (decimals allowed) of
 * seconds, or followed by `ms`, `s`, `m` (or `min`) or `h`. Throws
 * `SyntaxError` for anything else, a negative number included.
 *
 * @example
 * ```ts
 * import { parseDuration } from "./units.ts";
 * import assert from "node:assert/strict";
 *
 * assert.equal(parseDuration("2"), 2000);
 * assert.equal(parseDuration("0.5"), 500);
 * assert.equal(parseDuration("250ms"), 250);
 * assert.equal(parseDuration("1m"), 60_000);
 * assert.throws(() => parseDuration("-1"), SyntaxError);
 * ```
 */
export function parseDuration(text: string): number {
  const match = /^(\d+(?:\.\d+)?|\.\d+)\s*(ms|s|min|m|h)?$/i.exec(text.trim());
  if (!match) {
    throw new SyntaxError(`not a duration: "${text}" (such as 5, 0.5, 500ms, 2s or 1m)`);
  }
  return Math.round(Number(match[1]) * DURATION_UNITS[(match[2] ?? "").toUpperCase()]);
}

/**
 * Formats milliseconds as the shortest of `500 ms`, `2 s`, `1.5 s`, for
 * messages.
 *
 * @example
 * ```ts
 * import { formatDuration } from "./units.ts";
 * import assert from "node:assert/strict";
 *
 * assert.equal(formatDuration(500), "0.5 s");
 * assert.equal(formatDuration(3000), "3 s");
 * ```
 */
export function formatDuration(ms: number): string {
  return `${Number((ms / 1000).toFixed(3))} s`;
}
