/**
 * The loopback header of BSD's DLT_NULL (link type 0, the family in the
 * capturing machine's byte order) and OpenBSD's DLT_LOOP (108, big-endian),
 * and the IP packet after it.
 *
 * @module
 */

import type { PacketContext } from "./context.ts";
import { dissectIp } from "./ip.ts";

const FAMILIES: Record<number, string> = {
  2: "IPv4",
  10: "IPv6",
  24: "IPv6",
  28: "IPv6",
  30: "IPv6",
};

/** Which loopback header, for {@linkcode dissectLoopback}. */
export interface LoopbackSpec {
  /** 0 (DLT_NULL) or 108 (DLT_LOOP). */
  linkType: number;
}

/**
 * Dissects a loopback header and the packet of its address family; returns
 * where the packet ends.
 *
 * @example
 * ```ts
 * import { PacketContext } from "./context.ts";
 * import { dissectLoopback } from "./loopback.ts";
 * import assert from "node:assert/strict";
 *
 * const ctx = new PacketContext(new Uint8Array([0, 0, 0, 7, 1, 2]));
 * dissectLoopback(ctx, { linkType: 108 });
 * assert.deepEqual([ctx.packet.layers[0].family, ctx.packet.layers[1].layer], [7, "undissected"]);
 * ```
 */
export function dissectLoopback(ctx: PacketContext, spec: LoopbackSpec): number {
  const { linkType } = spec;
  if (!ctx.whole(0, { size: 4, what: "the loopback header" })) return ctx.data.length;
  // DLT_NULL's family is in the capturing machine's byte order; DLT_LOOP's is big-endian.
  let family = ctx.view.getUint32(0, linkType === 0);
  if (family > 0xffff) family = ctx.view.getUint32(0, linkType !== 0);
  ctx.packet.layers.push({
    layer: "loopback",
    start: 0,
    end: 3,
    family,
    familyName: FAMILIES[family] ?? "unknown",
    ...(linkType === 108 ? { kind: "DLT_LOOP (OpenBSD loopback)" } : {}),
    fieldRanges: { family: [0, 3] },
  });
  const version = family === 2 ? 4 : FAMILIES[family] === "IPv6" ? 6 : undefined;
  return version === undefined
    ? ctx.undissected(4, { reason: `address family ${family} is not IP` })
    : dissectIp(ctx, { start: 4, version });
}
