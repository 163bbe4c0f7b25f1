/**
 * Checks that bytes are one JSON text in UTF-8, without decoding them into a
 * string or a value: one pass over the bytes, fed in pieces as they arrive,
 * in time linear in their length (nesting of any depth included) and memory
 * of one bit a level of nesting. It also notes what output would have to
 * rewrite: line breaks between tokens, and characters a terminal acts on.
 *
 * @example
 * ```ts
 * import { JsonChecker } from "./json_check.ts";
 * import assert from "node:assert/strict";
 *
 * const checker = new JsonChecker();
 * const bytes = new TextEncoder().encode('{"a": [1, 2.5e3, "é"]}');
 * checker.push(bytes.subarray(0, 7));
 * checker.push(bytes.subarray(7));
 * assert.equal(checker.end(), undefined);
 *
 * checker.reset();
 * checker.push(new TextEncoder().encode("[1,]"));
 * assert.match(checker.end()!, /unexpected "]" at byte 3/);
 * ```
 *
 * @module
 */

import { skipPlain } from "./plain_scan.ts";

// What the checker expects next.
const VALUE = 0; // a value: after ":", after "," in an array, or at the top
const VALUE_OR_CLOSE = 1; // after "[": a value or "]"
const KEY = 2; // after "," in an object: a string
const KEY_OR_CLOSE = 3; // after "{": a string or "}"
const COLON = 4;
const AFTER = 5; // after a value: "," or the container's close, or the end at the top
const STRING = 6;
const ESCAPE = 7; // after a backslash in a string
const HEX = 8; // in the four hex digits of \uXXXX
const UTF8 = 9; // in a multi-byte UTF-8 sequence in a string
const MINUS = 10; // after "-": a digit
const ZERO = 11; // after a leading 0
const INT = 12;
const DOT = 13; // after ".": a digit
const FRAC = 14;
const EXP_MARK = 15; // after "e": a sign or a digit
const EXP_SIGN = 16; // after the exponent's sign: a digit
const EXP = 17;
const LITERAL = 18; // in true, false or null

const EXPECTED = [
  "a value",
  'a value or "]"',
  "a string (an object key)",
  'a string (an object key) or "}"',
  '":"',
  '"," or the end of the container',
];

/** Whether `b` follows a backslash in a two-byte escape: `\"`, `\\`, `\/`, `\b`, ... */
function isShortEscape(b: number): boolean {
  return b === 0x22 || b === 0x5c || b === 0x2f || b === 0x62 || b === 0x66 || b === 0x6e ||
    b === 0x72 || b === 0x74;
}

/** The characters a terminal acts on: what output shows escaped. */
export function isUnsafeCodePoint(cp: number): boolean {
  return cp < 0x20 || (cp >= 0x7f && cp <= 0x9f) || cp === 0x2028 || cp === 0x2029 ||
    (cp >= 0x202a && cp <= 0x202e) || (cp >= 0x2066 && cp <= 0x2069) || cp === 0x200e ||
    cp === 0x200f || cp === 0x061c;
}

/** A whole text up to this long that is one plain string is checked in one tight loop. */
const SHORT_STRING = 256;

/**
 * An incremental check of one JSON text: `push` its bytes in any pieces, then
 * `end` says whether they were one valid JSON text in UTF-8, and if not why,
 * in words, naming the byte. After an error it ignores further bytes until
 * `reset`.
 *
 * @example
 * ```ts
 * import { JsonChecker } from "./json_check.ts";
 * import assert from "node:assert/strict";
 *
 * const checker = new JsonChecker();
 * checker.push(new TextEncoder().encode('"caf\xc3'));
 * assert.match(checker.end()!, /ends inside a string/);
 * ```
 */
export class JsonChecker {
  #mode = VALUE;
  #depth = 0;
  /** One byte a level: 1 for an object, 0 for an array. */
  #stack = new Uint8Array(64);
  /** Whether the string being read is an object key. */
  #key = false;
  /** Bytes still to come in the current \uXXXX, UTF-8 sequence or literal. */
  #left = 0;
  /** The code point being read, in \uXXXX or a UTF-8 sequence. */
  #cp = 0;
  /** Bounds of the next UTF-8 continuation byte. */
  #lo = 0x80;
  #hi = 0xbf;
  /** The literal being read. */
  #literal: Uint8Array = TRUE;
  /** Bytes pushed before the current piece. */
  #offset = 0;
  #error: string | undefined;
  #empty = true;
  /** Whether the text is one string (its first byte, after whitespace, is `"`). */
  topString = false;
  /** Whether a tab, CR or LF stands between tokens. */
  lineBreaks = false;
  /** Whether a string holds a raw character that a terminal acts on (DEL, C1, U+2028, ...). */
  unsafe = false;
  /** Whether a string holds an escape sequence (`\n`, `\u001b`, `\"`, ...). */
  escapes = false;

  /** Starts over, for a new text. */
  reset(): void {
    this.#mode = VALUE;
    this.#depth = 0;
    this.#key = false;
    this.#left = 0;
    this.#offset = 0;
    this.#error = undefined;
    this.#empty = true;
    this.topString =
      this.lineBreaks =
      this.unsafe =
      this.escapes =
        false;
  }

  /** The reason the text is not valid, once known. */
  get error(): string | undefined {
    return this.#error;
  }

  /**
   * Says whether the bytes pushed were one whole JSON text: `undefined` if
   * so, else the reason in words. Checks a whole text at once with
   * `check(bytes)`, or the pieces pushed so far with `end()`.
   */
  end(): string | undefined {
    if (this.#error !== undefined) return this.#error;
    const mode = this.#mode;
    const at = `at byte ${this.#offset}`;
    if (this.#empty) {
      return this.#fail("the payload is empty or only whitespace, which is not JSON");
    }
    if (this.#depth > 0) {
      const open = this.#stack[this.#depth - 1] === 1 ? "an object" : "an array";
      return this.#fail(`the text ends inside ${open} (${at})`);
    }
    if (mode === AFTER || mode === ZERO || mode === INT || mode === FRAC || mode === EXP) {
      return undefined;
    }
    if (mode >= STRING && mode <= UTF8) return this.#fail(`the text ends inside a string (${at})`);
    if (mode === LITERAL) return this.#fail(`the text ends inside a literal (${at})`);
    return this.#fail(`the text ends inside a number (${at})`);
  }

  /**
   * Checks one whole text: `reset`, `push`, `end` in one call.
   *
   * @example
   * ```ts
   * import { JsonChecker } from "./json_check.ts";
   * import assert from "node:assert/strict";
   *
   * const checker = new JsonChecker();
   * assert.equal(checker.check(new TextEncoder().encode("12345678901234567890")), undefined);
   * assert.match(checker.check(new TextEncoder().encode("01"))!, /unexpected "1" at byte 1/);
   * ```
   */
  check(bytes: Uint8Array, start = 0, end: number = bytes.length): string | undefined {
    // The common small message, one short string of plain ASCII: one tight
    // loop, its outcome what the whole machine would find.
    const last = end - 1;
    if (
      last - start < SHORT_STRING && last > start && bytes[start] === 0x22 && bytes[last] === 0x22
    ) {
      let i = start + 1;
      while (i < last) {
        const b = bytes[i];
        if (b < 0x20 || b >= 0x7f || b === 0x22 || b === 0x5c) break;
        i++;
      }
      if (i === last) {
        this.reset();
        this.#empty = false;
        this.#mode = AFTER;
        this.#offset = end - start;
        this.topString = true;
        return undefined;
      }
    }
    this.reset();
    this.push(bytes, start, end);
    return this.end();
  }

  /**
   * Takes `bytes` from `start` to `end` as the next piece in one pass, if
   * the text is inside a string and they are all plain ASCII (printable,
   * neither `"` nor `\\`): then they hold no line break, and it returns
   * true. Otherwise it takes none of them and returns false, and the piece
   * is for `push`.
   *
   * @example
   * ```ts
   * import { JsonChecker } from "./json_check.ts";
   * import assert from "node:assert/strict";
   *
   * const checker = new JsonChecker();
   * const bytes = new TextEncoder().encode('"' + "x".repeat(100) + '"\n');
   * checker.push(bytes, 0, 50);
   * assert.equal(checker.pushPlain(bytes, 50, 101), true);
   * assert.equal(checker.pushPlain(bytes, 101, 103), false);
   * checker.push(bytes, 101, 102);
   * assert.equal(checker.end(), undefined);
   * ```
   */
  pushPlain(bytes: Uint8Array, start = 0, end: number = bytes.length): boolean {
    if (this.#error !== undefined || this.#mode !== STRING) return false;
    let i = skipPlain(bytes, start, end);
    while (i < end) {
      const b = bytes[i];
      if (b < 0x20 || b >= 0x7f || b === 0x22 || b === 0x5c) return false;
      i++;
    }
    this.#offset += end - start;
    return true;
  }

  /** Checks the next piece of the text: `bytes` from `start` to `end`. */
  push(bytes: Uint8Array, start = 0, end: number = bytes.length): void {
    if (this.#error !== undefined) return;
    let mode = this.#mode;
    let i = start;
    if (this.#empty) {
      while (i < end && isSpace(bytes[i])) {
        if (bytes[i] !== 0x20) this.lineBreaks = true;
        i++;
      }
      if (i === end) {
        this.#offset += end - start;
        return;
      }
      this.#empty = false;
      this.topString = bytes[i] === 0x22;
    }
    while (i < end) {
      let b = bytes[i];
      switch (mode) {
        case STRING: {
          // The hot loop: plain ASCII inside a string, four bytes at a time
          // where the string is long.
          if (end - i >= 64 && b >= 0x20 && b < 0x7f && b !== 0x22 && b !== 0x5c) {
            i = skipPlain(bytes, i, end);
            if (i === end) break;
            b = bytes[i];
          }
          // Plain bytes and whole two- and three-byte UTF-8 sequences, in
          // one loop: text in other scripts than Latin stays here too.
          while (true) {
            if (b >= 0x20 && b < 0x7f && b !== 0x22 && b !== 0x5c) {
              if (++i === end) break;
              b = bytes[i];
            } else if (b >= 0xc2 && b <= 0xdf && i + 1 < end) {
              const c = bytes[i + 1];
              if (c < 0x80 || c > 0xbf) break;
              // C1 controls (U+0080-U+009F) and U+061C.
              if (b === 0xc2 ? c <= 0x9f : b === 0xd8 && c === 0x9c) this.unsafe = true;
              i += 2;
              if (i === end) break;
              b = bytes[i];
            } else if (b >= 0xe1 && b <= 0xef && b !== 0xed && i + 2 < end) {
              const c = bytes[i + 1];
              const d = bytes[i + 2];
              if (c < 0x80 || c > 0xbf || d < 0x80 || d > 0xbf) break;
              // U+200E, U+200F, U+2028-U+202E and U+2066-U+2069.
              if (b === 0xe2 && (c === 0x80 || c === 0x81)) {
                if (isUnsafeCodePoint(0x2000 | (c & 0x3f) << 6 | (d & 0x3f))) this.unsafe = true;
              }
              i += 3;
              if (i === end) break;
              b = bytes[i];
            } else if (b === 0x5c && i + 1 < end && isShortEscape(bytes[i + 1])) {
              this.escapes = true;
              i += 2;
              if (i === end) break;
              b = bytes[i];
            } else {
              break;
            }
          }
          if (i === end) break;
          i++;
          if (b === 0x22) {
            mode = this.#key ? COLON : AFTER;
          } else if (b === 0x5c) {
            mode = ESCAPE;
            this.escapes = true;
          } else if (b < 0x20) {
            return this.#stop(
              `control character ${hex(b)} inside a string at byte ${this.#at(i - 1, start)} ` +
                "(it must be escaped)",
            );
          } else if (b === 0x7f) {
            this.unsafe = true;
          } else if (b >= 0xc2 && b <= 0xdf) {
            mode = UTF8, this.#left = 1, this.#cp = b & 0x1f, this.#lo = 0x80, this.#hi = 0xbf;
          } else if (b >= 0xe0 && b <= 0xef) {
            mode = UTF8, this.#left = 2, this.#cp = b & 0x0f;
            this.#lo = b === 0xe0 ? 0xa0 : 0x80;
            this.#hi = b === 0xed ? 0x9f : 0xbf;
          } else if (b >= 0xf0 && b <= 0xf4) {
            mode = UTF8, this.#left = 3, this.#cp = b & 0x07;
            this.#lo = b === 0xf0 ? 0x90 : 0x80;
            this.#hi = b === 0xf4 ? 0x8f : 0xbf;
          } else {
            return this.#stop(`invalid UTF-8 byte ${hex(b)} at byte ${this.#at(i - 1, start)}`);
          }
          break;
        }
        case UTF8: {
          if (b < this.#lo || b > this.#hi) {
            return this.#stop(
              `invalid UTF-8 sequence at byte ${this.#at(i, start)} (${hex(b)} cannot follow)`,
            );
          }
          this.#cp = (this.#cp << 6) | (b & 0x3f);
          this.#lo = 0x80, this.#hi = 0xbf;
          i++;
          if (--this.#left === 0) {
            mode = STRING;
            if (this.#cp < 0x3000 && isUnsafeCodePoint(this.#cp)) this.unsafe = true;
          }
          break;
        }
        case ESCAPE: {
          i++;
          if (b === 0x75) {
            mode = HEX, this.#left = 4;
          } else if (isShortEscape(b)) {
            mode = STRING;
          } else {
            return this.#stop(
              `invalid escape "\\${show(b)}" in a string at byte ${this.#at(i - 2, start)}`,
            );
          }
          break;
        }
        case HEX: {
          if (!isHex(b)) {
            return this.#stop(
              `invalid \\u escape: ${quote(b)} at byte ${this.#at(i, start)} is not a hex digit`,
            );
          }
          i++;
          if (--this.#left === 0) mode = STRING;
          break;
        }
        case VALUE:
        case VALUE_OR_CLOSE: {
          if (isSpace(b)) {
            if (b !== 0x20) this.lineBreaks = true;
            i++;
            break;
          }
          i++;
          if (b === 0x22) {
            mode = STRING, this.#key = false;
          } else if (b >= 0x31 && b <= 0x39) {
            mode = INT;
          } else if (b === 0x30) {
            mode = ZERO;
          } else if (b === 0x2d) {
            mode = MINUS;
          } else if (b === 0x7b) {
            this.#push(1);
            mode = KEY_OR_CLOSE;
          } else if (b === 0x5b) {
            this.#push(0);
            mode = VALUE_OR_CLOSE;
          } else if (b === 0x74 || b === 0x66 || b === 0x6e) {
            this.#literal = b === 0x74 ? TRUE : b === 0x66 ? FALSE : NULL;
            this.#left = this.#literal.length - 1;
            mode = LITERAL;
          } else if (b === 0x5d && mode === VALUE_OR_CLOSE) {
            this.#depth--;
            mode = AFTER;
          } else {
            return this.#unexpected(b, i - 1, start, mode);
          }
          break;
        }
        case KEY:
        case KEY_OR_CLOSE:
        case COLON:
        case AFTER: {
          if (isSpace(b)) {
            if (b !== 0x20) this.lineBreaks = true;
            i++;
            break;
          }
          i++;
          if (mode === COLON) {
            if (b !== 0x3a) return this.#unexpected(b, i - 1, start, mode);
            mode = VALUE;
          } else if (mode !== AFTER) {
            if (b === 0x22) {
              mode = STRING, this.#key = true;
            } else if (b === 0x7d && mode === KEY_OR_CLOSE) {
              this.#depth--;
              mode = AFTER;
            } else {
              return this.#unexpected(b, i - 1, start, mode);
            }
          } else {
            const depth = this.#depth;
            const inObject = depth > 0 && this.#stack[depth - 1] === 1;
            if (depth > 0 && b === 0x2c) {
              mode = inObject ? KEY : VALUE;
            } else if (b === (inObject ? 0x7d : 0x5d) && depth > 0) {
              this.#depth--;
            } else {
              return this.#unexpected(b, i - 1, start, mode);
            }
          }
          break;
        }
        case LITERAL: {
          const literal = this.#literal;
          if (b !== literal[literal.length - this.#left]) {
            return this.#stop(
              `unexpected ${quote(b)} at byte ${this.#at(i, start)} (in the literal "${
                String.fromCharCode(...literal)
              }")`,
            );
          }
          i++;
          if (--this.#left === 0) mode = AFTER;
          break;
        }
        default: {
          // A number: each state says what may follow.
          const digit = b >= 0x30 && b <= 0x39;
          if (mode === INT || mode === FRAC || mode === EXP) {
            if (digit) {
              i++;
              while (i < end && bytes[i] >= 0x30 && bytes[i] <= 0x39) i++;
              break;
            }
          } else if (mode === MINUS) {
            if (digit) {
              mode = b === 0x30 ? ZERO : INT;
              i++;
              break;
            }
            return this.#stop(`"-" at byte ${this.#at(i - 1, start)} is not followed by a digit`);
          } else if ((mode === DOT || mode === EXP_SIGN) && !digit) {
            return this.#stop(`unexpected ${quote(b)} at byte ${this.#at(i, start)} (a digit)`);
          } else if (mode === DOT || mode === EXP_SIGN) {
            mode = mode === DOT ? FRAC : EXP;
            i++;
            break;
          } else if (mode === EXP_MARK) {
            if (digit) mode = EXP;
            else if (b === 0x2b || b === 0x2d) mode = EXP_SIGN;
            else {
              return this.#stop(`unexpected ${quote(b)} at byte ${this.#at(i, start)} (a digit)`);
            }
            i++;
            break;
          }
          // ZERO, INT, FRAC, EXP: "." and "e" may follow some; anything else ends the number.
          if (b === 0x2e && (mode === ZERO || mode === INT)) {
            mode = DOT;
            i++;
          } else if ((b === 0x65 || b === 0x45) && mode !== EXP) {
            mode = EXP_MARK;
            i++;
          } else {
            mode = AFTER;
          }
        }
      }
    }
    this.#mode = mode;
    this.#offset += end - start;
  }

  #at(i: number, start: number): number {
    return this.#offset + i - start;
  }

  #push(kind: number): void {
    if (this.#depth === this.#stack.length) {
      const stack = new Uint8Array(this.#stack.length * 2);
      stack.set(this.#stack);
      this.#stack = stack;
    }
    this.#stack[this.#depth++] = kind;
  }

  #unexpected(b: number, i: number, start: number, mode: number): void {
    const what = this.#depth === 0 && mode === AFTER ? "the end of the text" : EXPECTED[mode];
    this.#stop(`unexpected ${quote(b)} at byte ${this.#at(i, start)} (expected ${what})`);
  }

  #stop(reason: string): void {
    this.#fail(reason);
  }

  #fail(reason: string): string {
    this.#error = reason;
    return reason;
  }
}

const TRUE = new Uint8Array([0x74, 0x72, 0x75, 0x65]);
const FALSE = new Uint8Array([0x66, 0x61, 0x6c, 0x73, 0x65]);
const NULL = new Uint8Array([0x6e, 0x75, 0x6c, 0x6c]);

function isSpace(b: number): boolean {
  return b === 0x20 || b === 0x0a || b === 0x0d || b === 0x09;
}

function isHex(b: number): boolean {
  return (b >= 0x30 && b <= 0x39) || (b >= 0x61 && b <= 0x66) || (b >= 0x41 && b <= 0x46);
}

function hex(b: number): string {
  return "0x" + b.toString(16).padStart(2, "0");
}

/** A byte as printable ASCII, or its hex: never raw control bytes. */
function show(b: number): string {
  return b > 0x20 && b < 0x7f ? String.fromCharCode(b) : hex(b);
}

function quote(b: number): string {
  return b > 0x20 && b < 0x7f && b !== 0x22 ? `"${String.fromCharCode(b)}"` : `byte ${hex(b)}`;
}
