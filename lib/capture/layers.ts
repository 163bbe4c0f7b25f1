/**
 * Dissects one captured packet into its layers, each with the inclusive
 * byte range it occupies and its decoded fields: the seed's reading of its
 * Wireshark capture, done exactly. Link layers: Ethernet II and IEEE 802.3
 * with LLC and SNAP (802.1Q tags), BSD and OpenBSD loopback, raw IP, Linux
 * cooked capture v1 and v2; then IPv4 or IPv6 (with extension headers), TCP
 * or UDP, and the payload. A header cut by the snap length is dissected as
 * far as it was captured. IP fragments are not reassembled: a first
 * fragment's transport header is dissected (its checksum unverified, its
 * bytes not followed), a later fragment's data never is. Checksums use a
 * source route's or routing header's final destination. Bytes after the IP
 * packet are Ethernet padding or trailer; bytes framecat does not dissect
 * are an `undissected` layer that says why.
 *
 * @example
 * ```ts
 * import { dissectPacket } from "./layers.ts";
 * import assert from "node:assert/strict";
 *
 * // Raw IPv4 (link type 101): a TCP segment of 3 bytes, "14\n".
 * const hex = "450000 2b 0000 4000 4006 0000 7f000001 7f000001" +
 *   " f2e9 04d2 00000001 00000001 5018 ffff 0000 0000 31340a";
 * const bytes = new Uint8Array(hex.replaceAll(" ", "").match(/../g)!.map((h) => parseInt(h, 16)));
 * const { layers } = dissectPacket(bytes, 101);
 * assert.deepEqual(layers.map((l) => [l.layer, l.start, l.end]), [
 *   ["ipv4", 0, 19], ["tcp", 20, 39], ["payload", 40, 42],
 * ]);
 * assert.equal(layers[0].protocolName, "TCP");
 * assert.deepEqual(layers[0].fieldBits?.headerLength, [3, 0]); // the low nibble of byte 0
 * ```
 *
 * Each protocol has its module in `protocols/`: `ethernet.ts` (Ethernet,
 * 802.3, LLC, SNAP, trailers), `sll.ts`, `loopback.ts`, `ip.ts`, `ipv4.ts`,
 * `ipv6.ts`, `transport.ts` (TCP and UDP), and `context.ts`, what they share.
 *
 * @module
 */

import { PacketContext } from "./protocols/context.ts";
import { dissectEthernet, dissectTrailer } from "./protocols/ethernet.ts";
import { dissectIp } from "./protocols/ip.ts";
import { dissectLoopback } from "./protocols/loopback.ts";
import { dissectSll } from "./protocols/sll.ts";

/** The names a layer can have. */
export type LayerName =
  | "ethernet"
  | "llc"
  | "snap"
  | "sll"
  | "loopback"
  | "ipv4"
  | "ipv6"
  | "tcp"
  | "udp"
  | "payload"
  /** A framecat frame's bytes in the payload: added by the stream reassembly, not here. */
  | "framecat"
  | "trailer"
  | "undissected";

/** One layer of a packet: its name, its inclusive byte range, and its fields. */
export interface Layer {
  layer: LayerName;
  /** First byte of the layer in the packet. */
  start: number;
  /** Last byte of the layer in the packet (inclusive). */
  end: number;
  /** The inclusive byte range of each field, as the seed's table gives them. */
  fieldRanges?: Record<string, [number, number]>;
  /**
   * For a field that is only some bits of its bytes: the highest and lowest
   * of them, bit 0 being the least significant bit of the range's last byte.
   * The IPv4 version is `[7, 4]` of byte 14, its header length `[3, 0]`.
   */
  fieldBits?: Record<string, [number, number]>;
  /** Fields of the header that the snap length cut off. */
  missing?: string[];
  [field: string]: unknown;
}

/** What the TCP layer says, for following its connection. */
export interface TcpInfo {
  src: string;
  dst: string;
  srcPort: number;
  dstPort: number;
  seq: number;
  ack: number;
  flags: string[];
  window: number;
  /** The window scale option (SYN segments), if present. */
  windowScale?: number;
  /** The payload's captured bytes. */
  payload: Uint8Array;
  /** The payload's length on the wire: more than `payload.length` when the snap length cut it. */
  payloadLength?: number;
}

/** A dissected packet. */
export interface DissectedPacket {
  layers: Layer[];
  /** Plain notes: what is not dissected, and what is wrong with the packet. */
  notes: string[];
  tcp?: TcpInfo;
}

/** Options for {@linkcode dissectPacket}. */
export interface DissectPacketOptions {
  /** The packet's length on the wire, when the snap length may have cut it. */
  originalLength?: number;
}

/**
 * Dissects a packet captured on a link of type `linkType`. Never throws:
 * what cannot be dissected is said in `notes` and in an `undissected` layer.
 *
 * @example
 * ```ts
 * import { dissectPacket } from "./layers.ts";
 * import assert from "node:assert/strict";
 *
 * const { layers, notes } = dissectPacket(new Uint8Array(20), 147);
 * assert.deepEqual(layers.map((l) => [l.layer, l.start, l.end]), [["undissected", 0, 19]]);
 * assert.match(notes[0], /link type 147 is not supported/);
 * ```
 */
export function dissectPacket(
  data: Uint8Array,
  linkType: number,
  options: DissectPacketOptions = {},
): DissectedPacket {
  const ctx = new PacketContext(data, options);
  const { packet } = ctx;
  if (ctx.wire > data.length) {
    packet.notes.push(
      `cut by the snap length: ${data.length} of ${ctx.wire} bytes captured`,
    );
  }
  let end: number;
  switch (linkType) {
    case 1:
      end = dissectEthernet(ctx);
      break;
    case 0:
    case 108:
      end = dissectLoopback(ctx, { linkType });
      break;
    case 101:
    case 228:
    case 229:
      end = dissectIp(ctx, { start: 0, version: data.length > 0 ? data[0] >> 4 : 0 });
      break;
    case 113:
    case 276:
      end = dissectSll(ctx, { version: linkType === 276 ? 2 : 1 });
      break;
    default:
      packet.notes.push(`link type ${linkType} is not supported: the packet is not dissected`);
      end = ctx.undissected(0, { reason: `link type ${linkType} is not supported by framecat` });
  }
  // Bytes after the network packet's end.
  let covered = 0;
  for (const layer of packet.layers) covered = Math.max(covered, layer.end + 1);
  end = Math.max(end, covered);
  if (end < data.length) {
    if (linkType === 1) dissectTrailer(ctx, end);
    else {
      ctx.undissected(end, {
        reason: "bytes after the end of the IP packet, as its length gives it",
      });
    }
  }
  return packet;
}
