/**
 * Reading a host as netcat and browser users write it: `10.0.0.1`,
 * `10.0.0.1:1234`, `::1`, `[::1]`, `[::1]:1234`, `example.com:80`.
 *
 * @example
 * ```ts
 * import { parseHostPort } from "./host_port.ts";
 * import assert from "node:assert/strict";
 *
 * assert.deepEqual(parseHostPort("10.0.0.1:1234"), { hostname: "10.0.0.1", port: 1234 });
 * ```
 *
 * @module
 */

/** A host, and the port written with it if one was. */
export interface ParsedHost {
  /** The name or address, IPv6 without brackets. */
  hostname: string;
  /** The port after the host (`HOST:PORT`, `[V6]:PORT`), if one was given. */
  port?: number;
}

/**
 * Splits `HOST:PORT` and `[V6]:PORT`; a bare IPv6 address (two colons or
 * more, `::1`) is a host alone, as is anything without a colon. Throws
 * `SyntaxError` saying what is wrong with a port that is not 1 to 65535 or
 * brackets that do not close.
 *
 * @example
 * ```ts
 * import { parseHostPort } from "./host_port.ts";
 * import assert from "node:assert/strict";
 *
 * assert.deepEqual(parseHostPort("[fd77::1]:9000"), { hostname: "fd77::1", port: 9000 });
 * assert.deepEqual(parseHostPort("[::1]"), { hostname: "::1" });
 * assert.deepEqual(parseHostPort("fd77::1"), { hostname: "fd77::1" });
 * assert.deepEqual(parseHostPort("example.com"), { hostname: "example.com" });
 * assert.throws(() => parseHostPort("example.com:http"), SyntaxError);
 * ```
 */
export function parseHostPort(text: string): ParsedHost {
  if (text.startsWith("[")) {
    const close = text.indexOf("]");
    if (close < 0) throw new SyntaxError(`"${text}" opens a [ that does not close`);
    const hostname = text.slice(1, close);
    const rest = text.slice(close + 1);
    if (rest === "") return { hostname };
    if (!rest.startsWith(":")) {
      throw new SyntaxError(`"${text}": after [${hostname}] only :PORT may follow`);
    }
    return { hostname, port: port(rest.slice(1), text) };
  }
  const colons = text.split(":").length - 1;
  if (colons !== 1) return { hostname: text };
  const [hostname, after] = text.split(":");
  if (hostname === "") throw new SyntaxError(`"${text}" has a port but no host`);
  return { hostname, port: port(after, text) };
}

function port(text: string, whole: string): number {
  const value = Number(text);
  if (!/^\d+$/.test(text) || value < 1 || value > 65535) {
    throw new SyntaxError(`the port in "${whole}" must be a whole number from 1 to 65535`);
  }
  return value;
}

/**
 * Whether `word` is plainly a host, as netcat's `nc HOST PORT` takes one: an
 * IPv4 address, an IPv6 address (bracketed or not), `localhost`, or a
 * dotted name whose last label is letters (`example.com`, `db.lan`).
 *
 * @example
 * ```ts
 * import { looksLikeHost } from "./host_port.ts";
 * import assert from "node:assert/strict";
 *
 * assert.ok(looksLikeHost("10.77.0.1"));
 * assert.ok(looksLikeHost("fd77::1"));
 * assert.ok(looksLikeHost("example.com"));
 * assert.ok(!looksLikeHost("hello"));
 * assert.ok(!looksLikeHost("Hello World!"));
 * ```
 */
export function looksLikeHost(word: string): boolean {
  if (/^\d{1,3}(\.\d{1,3}){3}$/.test(word)) return true;
  const v6 = word.startsWith("[") && word.endsWith("]") ? word.slice(1, -1) : word;
  if (/^[0-9a-f:]*::?[0-9a-f:]*$/i.test(v6) && v6.split(":").length >= 3) return true;
  if (/^localhost$/i.test(word)) return true;
  return /^([a-z0-9]([a-z0-9-]*[a-z0-9])?\.)+[a-z]{2,63}\.?$/i.test(word);
}

/**
 * Whether `word` is a TCP port number, 1 to 65535.
 *
 * @example
 * ```ts
 * import { looksLikePort } from "./host_port.ts";
 * import assert from "node:assert/strict";
 *
 * assert.ok(looksLikePort("1234"));
 * assert.ok(!looksLikePort("70000"));
 * ```
 */
export function looksLikePort(word: string): boolean {
  return /^\d{1,5}$/.test(word) && Number(word) >= 1 && Number(word) <= 65535;
}
