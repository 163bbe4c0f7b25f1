/**
 * IP, by its version: IPv4 or IPv6, or a note that it is neither.
 *
 * @module
 */

import type { PacketContext } from "./context.ts";
import { dissectIpv4 } from "./ipv4.ts";
import { dissectIpv6 } from "./ipv6.ts";

/** An IP packet to dissect, for {@linkcode dissectIp}. */
export interface IpSpec {
  /** Its first byte. */
  start: number;
  /** 4 or 6; another version is noted and not dissected. */
  version: number;
}

/**
 * Dissects an IP packet of `version` at `start`; returns where it ends.
 *
 * @example
 * ```ts
 * import { PacketContext } from "./context.ts";
 * import { dissectIp } from "./ip.ts";
 * import assert from "node:assert/strict";
 *
 * const ctx = new PacketContext(new Uint8Array([0x70, 0, 0, 0]));
 * assert.equal(dissectIp(ctx, { start: 0, version: 7 }), 4);
 * assert.match(ctx.packet.notes[0], /not IPv4 or IPv6/);
 * ```
 */
export function dissectIp(ctx: PacketContext, spec: IpSpec): number {
  const { start, version } = spec;
  if (version === 4) return dissectIpv4(ctx, start);
  if (version === 6) return dissectIpv6(ctx, start);
  ctx.packet.notes.push("not IPv4 or IPv6: not dissected further");
  return ctx.undissected(start, { reason: `IP version ${version} is neither 4 nor 6` });
}
