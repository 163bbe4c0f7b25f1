/**
 * A JSON payload shown as it arrived: its own text, never re-serialised (so
 * `12345678901234567890`, `1e400` and `-0` survive), on one line, with the
 * characters that a terminal would act on escaped visibly; as
 * `framecat receive --json` shows a message (see `lib/safe_text.ts`).
 *
 * @example
 * ```ts
 * import { showJson } from "./json_text.ts";
 * import assert from "node:assert/strict";
 *
 * assert.equal(showJson('{"id": 1e400,\n "x": "\u2028"}'), '{"id": 1e400,  "x": "\\u2028"}');
 * ```
 *
 * @module
 */

/**
 * Line breaks and tabs, which valid JSON has only between tokens, and the
 * characters a terminal acts on, which it has only in strings: the other C0
 * controls, DEL, C1 controls, the line and paragraph separators, and the
 * marks and overrides that reorder text.
 */
// deno-lint-ignore no-control-regex
const REWRITTEN = new RegExp(
  "[\\u0000-\\u001f\\u007f-\\u009f\\u061c\\u200e\\u200f\\u2028\\u2029\\u202a-\\u202e\\u2066-\\u2069]",
  "g",
);

/**
 * Valid JSON text on one line, the same value: each line break or tab
 * between tokens becomes a space, each dangerous character in a string its
 * `\uXXXX` escape. Everything else is kept as it is.
 *
 * @example
 * ```ts
 * import { showJson } from "./json_text.ts";
 * import assert from "node:assert/strict";
 *
 * assert.equal(showJson("[-0,\r\n\t12345678901234567890]"), "[-0,   12345678901234567890]");
 * assert.equal(showJson('"a\u202eb\u0085"'), '"a\\u202eb\\u0085"');
 * ```
 */
export function showJson(text: string): string {
  return text.replace(REWRITTEN, rewrite);
}

function rewrite(char: string): string {
  if (char === "\n" || char === "\r" || char === "\t") return " ";
  return "\\u" + char.charCodeAt(0).toString(16).padStart(4, "0");
}
