/**
 * Linux cooked capture, v1 (link type 113) and v2 (276): its header, the
 * address as many bytes as its length says, and what its protocol carries
 * (an EtherType, or IEEE 802.2 LLC).
 *
 * @module
 */

import type { Layer } from "../layers.ts";
import {
  ETHER_TYPES,
  type Field,
  hexText,
  macText,
  nameField,
  type PacketContext,
  u16,
  u32,
  u8,
} from "./context.ts";
import { dissectEtherType, dissectLlc } from "./ethernet.ts";

const SLL_PACKET_TYPES = [
  "unicast to us",
  "broadcast",
  "multicast",
  "unicast to another host",
  "sent by us",
];
const ARPHRD: Record<number, string> = {
  1: "Ethernet",
  24: "IEEE 1394",
  512: "PPP",
  772: "loopback",
  776: "IPv6 in IPv4 (sit)",
  778: "GRE",
  801: "IEEE 802.11",
  65534: "none",
};

const SLL_FIELDS: Field[] = [
  ["packetType", 0, 1, u16],
  ["addressType", 2, 3, u16],
  ["addressLength", 4, 5, u16],
  ["address", 6, 13, (v, a, d) => macText(d, { at: a, length: Math.min(v.getUint16(a - 2), 8) })],
  ["protocol", 14, 15, u16],
];

const SLL2_FIELDS: Field[] = [
  ["protocol", 0, 1, u16],
  ["interfaceIndex", 4, 7, u32],
  ["addressType", 8, 9, u16],
  ["packetType", 10, 10, u8],
  ["addressLength", 11, 11, u8],
  ["address", 12, 19, (v, a, d) => macText(d, { at: a, length: Math.min(v.getUint8(a - 1), 8) })],
];

/** Which Linux cooked capture, for {@linkcode dissectSll}. */
export interface SllSpec {
  /** 1 (link type 113) or 2 (link type 276). */
  version: 1 | 2;
}

/**
 * Dissects a Linux cooked capture header and what it carries; returns where
 * the packet ends.
 *
 * @example
 * ```ts
 * import { PacketContext } from "./context.ts";
 * import { dissectSll } from "./sll.ts";
 * import assert from "node:assert/strict";
 *
 * // Sent by us, address length 4 (10.1.0.1), protocol 0x0806 (ARP).
 * const ctx = new PacketContext(new Uint8Array([0, 4, 3, 10, 0, 4, 10, 1, 0, 1, 0, 0, 0, 0, 8, 6]));
 * dissectSll(ctx, { version: 1 });
 * const [sll] = ctx.packet.layers;
 * assert.deepEqual([sll.address, sll.fieldRanges!.address, sll.addressUnused], ["10.1.0.1", [6, 9], "00000000"]);
 * ```
 */
export function dissectSll(ctx: PacketContext, spec: SllSpec): number {
  const v2 = spec.version === 2;
  const size = v2 ? 20 : 16;
  const layer = ctx.header("sll", {
    start: 0,
    size,
    fields: v2 ? SLL2_FIELDS : SLL_FIELDS,
    what: "Linux cooked",
  });
  layer.version = spec.version;
  nameField(layer, { field: "packetType", names: SLL_PACKET_TYPES });
  nameField(layer, { field: "addressType", names: ARPHRD });
  nameField(layer, { field: "protocol", names: ETHER_TYPES });
  ctx.outgoing = layer.packetType === 4;
  sllAddress(ctx, layer, v2 ? 12 : 6);
  const protocol = layer.protocol as number | undefined;
  if (protocol === undefined) return size;
  if (protocol === 4) {
    // Not an EtherType: the frame is IEEE 802.2 LLC (Linux's ETH_P_802_2).
    layer.protocolName = "IEEE 802.2 LLC";
    dissectLlc(ctx, { start: size, end: ctx.wire });
    return ctx.wire;
  }
  return dissectEtherType(ctx, { at: size, type: protocol });
}

/**
 * A Linux cooked capture's address: as many of its 8 bytes as the address
 * length says (a MAC for 6, an IPv4 address for 4), the rest unused.
 */
function sllAddress(ctx: PacketContext, layer: Layer, at: number): void {
  const { data } = ctx;
  if (layer.address === undefined || layer.addressLength === undefined) return;
  const halen = Math.min(layer.addressLength as number, 8);
  const ranges = layer.fieldRanges!;
  delete ranges.address;
  if (halen === 0) delete layer.address;
  else {
    layer.address = halen === 4
      ? `${data[at]}.${data[at + 1]}.${data[at + 2]}.${data[at + 3]}`
      : macText(data, { at, length: halen });
    ranges.address = [at, at + halen - 1];
  }
  if (halen < 8) {
    layer.addressUnused = hexText(data.subarray(at + halen, at + 8));
    ranges.addressUnused = [at + halen, at + 7];
  }
}
