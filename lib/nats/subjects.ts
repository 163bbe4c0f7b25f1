/**
 * NATS subjects: dot-separated tokens, where a filter may hold `*` (one
 * token) and `>` (the rest, last). Which subjects a stream's filters take.
 *
 * @example
 * ```ts
 * import { subjectCovered } from "./subjects.ts";
 * import assert from "node:assert/strict";
 *
 * assert.ok(subjectCovered("orders.new", ["orders.>"]));
 * ```
 *
 * @module
 */

/** Options for {@linkcode checkSubject}. */
export interface CheckSubjectOptions {
  /** Allow `*` and `>` tokens (a filter). */
  wildcards: boolean;
}

/**
 * Throws `SyntaxError` if `subject` is not a NATS subject: empty tokens,
 * white space, or (unless `wildcards`) a `*` or `>`; `>` only last.
 *
 * @example
 * ```ts
 * import { checkSubject } from "./subjects.ts";
 * import assert from "node:assert/strict";
 *
 * checkSubject("orders.new", { wildcards: false });
 * checkSubject("orders.>", { wildcards: true });
 * assert.throws(() => checkSubject("orders..new", { wildcards: false }), SyntaxError);
 * assert.throws(() => checkSubject("orders.>", { wildcards: false }), /wildcard/);
 * ```
 */
export function checkSubject(subject: string, options: CheckSubjectOptions): void {
  if (/\s/.test(subject)) throw new SyntaxError(`subject "${subject}" has white space`);
  const tokens = subject.split(".");
  tokens.forEach((token, i) => {
    if (token === "") throw new SyntaxError(`subject "${subject}" has an empty token`);
    if (token === "*" || token === ">") {
      if (!options.wildcards) {
        throw new SyntaxError(
          `subject "${subject}" has a wildcard (${token}): messages are published to one subject`,
        );
      }
      if (token === ">" && i !== tokens.length - 1) {
        throw new SyntaxError(`subject "${subject}": > may only be the last token`);
      }
    }
  });
}

/**
 * Whether the literal `subject` matches the filter `pattern`.
 *
 * @example
 * ```ts
 * import { subjectMatches } from "./subjects.ts";
 * import assert from "node:assert/strict";
 *
 * assert.ok(subjectMatches("orders.*.eu", "orders.new.eu"));
 * assert.ok(subjectMatches(">", "a.b.c"));
 * assert.ok(!subjectMatches("orders.*", "orders.new.eu"));
 * assert.ok(!subjectMatches("orders.>", "orders"));
 * ```
 */
export function subjectMatches(pattern: string, subject: string): boolean {
  const want = pattern.split(".");
  const have = subject.split(".");
  for (let i = 0; i < want.length; i++) {
    if (want[i] === ">") return have.length > i;
    if (i >= have.length) return false;
    if (want[i] !== "*" && want[i] !== have[i]) return false;
  }
  return want.length === have.length;
}

/**
 * Whether the subject (or filter) `subject` is taken whole by one of a
 * stream's `subjects`: every subject it matches is matched by that one.
 *
 * @example
 * ```ts
 * import { subjectCovered } from "./subjects.ts";
 * import assert from "node:assert/strict";
 *
 * assert.ok(subjectCovered("orders.new", ["audit", "orders.*"]));
 * assert.ok(subjectCovered("orders.*", ["orders.>"]));
 * assert.ok(!subjectCovered("orders.>", ["orders.*"]));
 * assert.ok(!subjectCovered("orders.new", ["audit"]));
 * ```
 */
export function subjectCovered(subject: string, subjects: readonly string[]): boolean {
  return subjects.some((pattern) => filterWithin(subject.split("."), pattern.split(".")));
}

/** Whether every subject the tokens `inner` match, the tokens `outer` match. */
function filterWithin(inner: string[], outer: string[]): boolean {
  for (let i = 0; i < outer.length; i++) {
    if (outer[i] === ">") return inner.length > i;
    if (i >= inner.length) return false;
    if (inner[i] === ">") return false;
    if (outer[i] === "*") continue;
    if (inner[i] !== outer[i]) return false;
  }
  return inner.length === outer.length;
}
