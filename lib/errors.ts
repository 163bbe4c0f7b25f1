/**
 * Plain words for the errors the network and the runtime raise, so that a
 * user reads one clear line instead of an OS error number or a stack trace.
 *
 * @example
 * ```ts
 * import { describeError } from "./errors.ts";
 * import assert from "node:assert/strict";
 *
 * assert.equal(
 *   describeError(new Deno.errors.ConnectionRefused("Connection refused (os error 111)")),
 *   "connection refused",
 * );
 * ```
 *
 * @module
 */

const WORDS: [new (...args: never[]) => Error, string][] = [
  [Deno.errors.ConnectionRefused, "connection refused"],
  [Deno.errors.ConnectionReset, "connection reset by the peer"],
  [Deno.errors.ConnectionAborted, "connection aborted"],
  [Deno.errors.BrokenPipe, "the other end closed the connection"],
  [Deno.errors.AddrInUse, "address already in use"],
  [Deno.errors.AddrNotAvailable, "address not available on this machine"],
  [Deno.errors.TimedOut, "timed out"],
  [Deno.errors.NotConnected, "not connected"],
  [Deno.errors.PermissionDenied, "permission denied"],
  [Deno.errors.NotCapable, "permission denied"],
];

/**
 * Says what an error means in a few words, without a stack trace. Errors the
 * runtime raises for the network get fixed words; any other error's message
 * is returned as it is.
 *
 * @example
 * ```ts
 * import { describeError } from "./errors.ts";
 * import assert from "node:assert/strict";
 *
 * const lookup = new Error("failed to lookup address information: Name or service not known");
 * assert.equal(describeError(lookup), "host not found (Name or service not known)");
 * assert.equal(describeError(new RangeError("too big")), "too big");
 * ```
 */
export function describeError(error: unknown): string {
  if (!(error instanceof Error)) return String(error);
  for (const [kind, words] of WORDS) {
    if (error instanceof kind) return words;
  }
  const lookup = /^failed to lookup address information: (.*)$/.exec(error.message);
  if (lookup) return `host not found (${lookup[1]})`;
  const line = error.message.split("\n")[0];
  // "No space left on device (os error 28)": the words, without the number.
  const os = /^(.*?) \(os error \d+\)/.exec(line);
  return os ? os[1].charAt(0).toLowerCase() + os[1].slice(1) : line;
}

const BAD_INPUT = Symbol("framecat.badInput");

/**
 * Marks `error` as caused by bad input the user gave (a line on standard
 * input that is not JSON, a message over the limit): the command line
 * exits 2 for it, as for a usage error. Returns `error`.
 *
 * @example
 * ```ts
 * import { badInput, isBadInput } from "./errors.ts";
 * import assert from "node:assert/strict";
 *
 * assert.equal(isBadInput(badInput(new SyntaxError("not JSON"))), true);
 * assert.equal(isBadInput(new RangeError("a bug")), false);
 * ```
 */
export function badInput<E extends Error>(error: E): E {
  Object.defineProperty(error, BAD_INPUT, { value: true });
  return error;
}

/**
 * Whether `error` was marked by {@linkcode badInput}.
 *
 * @example
 * ```ts
 * import { isBadInput } from "./errors.ts";
 * import assert from "node:assert/strict";
 *
 * assert.equal(isBadInput("text"), false);
 * ```
 */
export function isBadInput(error: unknown): boolean {
  return error instanceof Error &&
    (error as unknown as Record<symbol, unknown>)[BAD_INPUT] === true;
}
