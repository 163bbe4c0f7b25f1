/**
 * Address ranges in CIDR notation (`10.0.0.0/8`, `2001:db8::/32`), for
 * letting in only the peers a receiver should serve.
 *
 * @example
 * ```ts
 * import { CidrSet } from "./cidr.ts";
 * import assert from "node:assert/strict";
 *
 * const allowed = new CidrSet(["127.0.0.0/8", "::1"]);
 * assert.equal(allowed.has("127.0.0.1"), true);
 * assert.equal(allowed.has("::ffff:127.0.0.1"), true);
 * assert.equal(allowed.has("192.168.1.90"), false);
 * ```
 *
 * @module
 */

const V4_MAPPED = 0xffffn << 32n;

/** One range: the first address as a 128-bit number, and the prefix length. */
interface Range {
  base: bigint;
  bits: number;
}

/**
 * A set of address ranges. IPv4 ranges also match IPv4-mapped IPv6
 * addresses (`::ffff:1.2.3.4`), as a dual-stack listener reports them.
 *
 * @example
 * ```ts
 * import { CidrSet } from "./cidr.ts";
 * import assert from "node:assert/strict";
 *
 * assert.throws(() => new CidrSet(["10.0.0.0/33"]), SyntaxError);
 * assert.equal(new CidrSet(["2001:db8::/32"]).has("2001:db8:1::5"), true);
 * ```
 */
export class CidrSet {
  #ranges: Range[];

  /**
   * Parses each range: an address with an optional `/prefix` (a bare
   * address is one host). Throws `SyntaxError` naming a range it cannot read.
   */
  constructor(ranges: Iterable<string>) {
    this.#ranges = [...ranges].map(parseRange);
  }

  /** Whether `address` (IPv4 or IPv6, without port) is in one of the ranges. */
  has(address: string): boolean {
    const value = parseAddress(address);
    if (value === undefined) return false;
    return this.#ranges.some(({ base, bits }) => (value >> BigInt(128 - bits)) === base);
  }
}

function parseRange(text: string): Range {
  const [address, prefix, extra] = text.split("/");
  const value = parseAddress(address);
  const v4 = address.includes(".") && !address.includes(":");
  const max = v4 ? 32 : 128;
  const length = prefix === undefined ? max : Number(prefix);
  if (
    value === undefined || extra !== undefined ||
    (prefix !== undefined && !/^\d{1,3}$/.test(prefix)) || length > max
  ) {
    throw new SyntaxError(
      `"${text}" is not an address range: use 192.168.1.0/24, 10.0.0.1, 2001:db8::/32 or ::1`,
    );
  }
  const bits = v4 ? 96 + length : length;
  return { base: value >> BigInt(128 - bits), bits };
}

/** An IPv4 or IPv6 address as a 128-bit number (IPv4 mapped into IPv6). */
function parseAddress(text: string): bigint | undefined {
  const address = text.replace(/^\[|\]$/g, "").replace(/%.*$/, "");
  if (!address.includes(":")) {
    const v4 = parseV4(address);
    return v4 === undefined ? undefined : V4_MAPPED | v4;
  }
  let groups: string[];
  const halves = address.split("::");
  if (halves.length > 2) return undefined;
  const head = halves[0] === "" ? [] : halves[0].split(":");
  const tail = halves.length === 2 && halves[1] !== "" ? halves[1].split(":") : [];
  // A trailing IPv4 address stands for the last two groups.
  const last = (halves.length === 2 ? tail : head).at(-1);
  let v4Tail: bigint | undefined;
  if (last?.includes(".")) {
    v4Tail = parseV4(last);
    if (v4Tail === undefined) return undefined;
    (halves.length === 2 ? tail : head).pop();
  }
  const width = v4Tail === undefined ? 8 : 6;
  if (halves.length === 2) {
    const missing = width - head.length - tail.length;
    if (missing < 1) return undefined;
    groups = [...head, ...new Array(missing).fill("0"), ...tail];
  } else {
    groups = head;
  }
  if (groups.length !== width) return undefined;
  let value = 0n;
  for (const group of groups) {
    if (!/^[0-9a-fA-F]{1,4}$/.test(group)) return undefined;
    value = (value << 16n) | BigInt(parseInt(group, 16));
  }
  return v4Tail === undefined ? value : (value << 32n) | v4Tail;
}

function parseV4(text: string): bigint | undefined {
  const parts = text.split(".");
  if (parts.length !== 4) return undefined;
  let value = 0n;
  for (const part of parts) {
    if (!/^\d{1,3}$/.test(part) || Number(part) > 255) return undefined;
    value = (value << 8n) | BigInt(part);
  }
  return value;
}
