/**
 * Host and port as people write them: `127.0.0.1:1234`, `[::1]:1234`.
 *
 * @example
 * ```ts
 * import { formatAddress } from "./address.ts";
 * import assert from "node:assert/strict";
 *
 * assert.equal(formatAddress({ hostname: "::1", port: 1234 }), "[::1]:1234");
 * ```
 *
 * @module
 */

/** A host and a port, like `Deno.NetAddr`. */
export interface HostPort {
  /** A name, an IPv4 address or an IPv6 address (with or without brackets). */
  hostname: string;
  /** The TCP port. */
  port: number;
}

/**
 * Formats a host and port as `host:port`, with IPv6 addresses in brackets and
 * IPv4 addresses mapped into IPv6 (`::ffff:1.2.3.4`) shown as plain IPv4.
 *
 * @example
 * ```ts
 * import { formatAddress } from "./address.ts";
 * import assert from "node:assert/strict";
 *
 * assert.equal(formatAddress({ hostname: "::ffff:10.0.0.1", port: 80 }), "10.0.0.1:80");
 * assert.equal(formatAddress({ hostname: "example.com", port: 1234 }), "example.com:1234");
 * ```
 */
export function formatAddress(address: HostPort): string {
  let host = unbracket(address.hostname);
  const mapped = /^::ffff:(\d+\.\d+\.\d+\.\d+)$/i.exec(host);
  if (mapped) host = mapped[1];
  return host.includes(":") ? `[${host}]:${address.port}` : `${host}:${address.port}`;
}

/**
 * Removes the brackets around an IPv6 address written as `[::1]`.
 *
 * @example
 * ```ts
 * import { unbracket } from "./address.ts";
 * import assert from "node:assert/strict";
 *
 * assert.equal(unbracket("[::1]"), "::1");
 * assert.equal(unbracket("localhost"), "localhost");
 * ```
 */
export function unbracket(hostname: string): string {
  return hostname.startsWith("[") && hostname.endsWith("]") ? hostname.slice(1, -1) : hostname;
}
