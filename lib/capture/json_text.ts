/**
 * A JSON payload shown as it arrived: its own text, never re-serialised (so
 * `12345678901234567890`, `1e400` and `-0` survive), on one line, with the
 * characters that a terminal would act on escaped visibly.
 *
 * @example
 * ```ts
 * import { showJson } from "./json_text.ts";
 * import assert from "node:assert/strict";
 *
 * assert.equal(showJson('{ "id": 1e400,\n  "x": "\u001b[2J" }'), '{"id":1e400,"x":"\\u001b[2J"}');
 * ```
 *
 * @module
 */

/**
 * Terminal-dangerous characters: C0 controls, DEL, C1 controls, the line and
 * paragraph separators, and the marks and overrides that reorder text.
 */
const DANGEROUS = new RegExp(
  "[\\u0000-\\u001f\\u007f-\\u009f\\u061c\\u200e\\u200f\\u2028\\u2029\\u202a-\\u202e\\u2066-\\u2069]",
  "g",
);

/**
 * Valid JSON text on one line: whitespace between tokens dropped, each
 * dangerous character in a string written as its `\uXXXX` escape (the same
 * value). Everything else is kept byte for byte.
 *
 * @example
 * ```ts
 * import { showJson } from "./json_text.ts";
 * import assert from "node:assert/strict";
 *
 * assert.equal(showJson("[ -0 , 12345678901234567890 ]"), "[-0,12345678901234567890]");
 * assert.equal(showJson('"a\u202eb"'), '"a\\u202eb"');
 * ```
 */
export function showJson(text: string): string {
  return compact(text).replace(DANGEROUS, escape);
}

function escape(char: string): string {
  return "\\u" + char.charCodeAt(0).toString(16).padStart(4, "0");
}

/** Drops the whitespace outside strings. */
function compact(text: string): string {
  if (!/[ \t\n\r]/.test(text)) return text;
  let out = "";
  let from = 0;
  let inString = false;
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    if (inString) {
      if (c === 0x5c) i++;
      else if (c === 0x22) inString = false;
    } else if (c === 0x22) {
      inString = true;
    } else if (c === 0x20 || c === 0x09 || c === 0x0a || c === 0x0d) {
      out += text.slice(from, i);
      from = i + 1;
    }
  }
  return out + text.slice(from);
}
