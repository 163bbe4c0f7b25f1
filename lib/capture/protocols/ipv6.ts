/**
 * IPv6: its header and extension headers, fragments (a later fragment's
 * data is never read as a transport header), and a routing header's final
 * destination for the pseudo header.
 *
 * @module
 */

import {
  DSCP,
  ECN,
  type Field,
  fold,
  hexText,
  IP_PROTOCOLS,
  ipv6At,
  ipv6Text,
  nameField,
  type PacketContext,
  sum16,
  u16,
  u8,
} from "./context.ts";
import { dissectTransport } from "./transport.ts";

const IPV6_FIELDS: Field[] = [
  ["version", 0, 0, (v, a) => v.getUint8(a) >> 4, [7, 4]],
  // As Wireshark shows them: bits of the first 32-bit word.
  ["trafficClass", 0, 3, (v, a) => (v.getUint16(a) >> 4) & 0xff, [27, 20]],
  ["dscp", 0, 3, (v, a) => (v.getUint16(a) >> 6) & 0x3f, [27, 22]],
  ["ecn", 0, 3, (v, a) => (v.getUint16(a) >> 4) & 3, [21, 20]],
  ["flowLabel", 1, 3, (v, a) => v.getUint32(a - 1) & 0xfffff, [19, 0]],
  ["payloadLength", 4, 5, u16],
  ["nextHeader", 6, 6, u8],
  ["hopLimit", 7, 7, u8],
  ["src", 8, 23, ipv6At],
  ["dst", 24, 39, ipv6At],
];

/**
 * Dissects an IPv6 packet at `start` and what it carries; returns where it
 * ends (its payload length says).
 *
 * @example
 * ```ts
 * import { PacketContext } from "./context.ts";
 * import { dissectIpv6 } from "./ipv6.ts";
 * import assert from "node:assert/strict";
 *
 * // ::1 to ::1, next header 59 (none), no payload.
 * const ip = new Uint8Array(40);
 * ip.set([0x60, 0, 0, 0, 0, 0, 59, 64]);
 * ip[23] = ip[39] = 1;
 * const ctx = new PacketContext(ip);
 * assert.equal(dissectIpv6(ctx, 0), 40);
 * assert.equal(ctx.packet.layers[0].src, "::1");
 * ```
 */
export function dissectIpv6(ctx: PacketContext, start: number): number {
  const { data, packet } = ctx;
  const layer = ctx.header("ipv6", { start, size: 40, fields: IPV6_FIELDS, what: "IPv6" });
  nameField(layer, { field: "dscp", names: DSCP });
  nameField(layer, { field: "ecn", names: ECN });
  if (layer.dst === undefined) return Math.max(data.length, ctx.wire);
  let next = data[start + 6];
  let at = start + 40;
  const extensionHeaders = [];
  let fragment: { offset: number; more: boolean; id: number } | undefined;
  /** Where the pseudo header's destination is: a routing header's final one (RFC 8200 8.1). */
  let destination = start + 24;
  // Extension headers, as far as the transport header.
  while ([0, 43, 44, 51, 60].includes(next) && at + 8 <= data.length) {
    const length = next === 44 ? 8 : next === 51 ? (data[at + 1] + 2) * 4 : (data[at + 1] + 1) * 8;
    extensionHeaders.push({ type: next, start: at, end: at + length - 1 });
    if (next === 44) {
      const word = ctx.view.getUint16(at + 2);
      fragment = { offset: word & 0xfff8, more: (word & 1) === 1, id: ctx.view.getUint32(at + 4) };
      Object.assign(layer.fieldRanges!, {
        fragmentOffset: [at + 2, at + 3],
        moreFragments: [at + 2, at + 3],
        fragmentId: [at + 4, at + 7],
      });
      layer.fieldBits = { ...layer.fieldBits, fragmentOffset: [15, 3], moreFragments: [0, 0] };
    } else if (next === 43 && data[at + 3] > 0 && at + length <= data.length) {
      // Segments left: the final destination is in the header, not in the IPv6 one.
      const type = data[at + 2];
      const addresses = Math.floor((length - 8) / 16);
      if ((type === 0 || type === 2) && addresses > 0) destination = at + 8 + 16 * (addresses - 1);
      else if (type === 4 && addresses > 0) destination = at + 8;
    }
    next = data[at];
    at += length;
  }
  layer.end = Math.min(at, data.length) - 1;
  nameField(layer, { field: "nextHeader", names: IP_PROTOCOLS });
  if (extensionHeaders.length > 0) layer.extensionHeaders = extensionHeaders;
  if (fragment) {
    layer.fragmentOffset = fragment.offset;
    layer.moreFragments = fragment.more;
    layer.fragmentId = fragment.id;
  }
  const payloadLength = layer.payloadLength as number;
  let end = start + 40 + payloadLength;
  if (end > ctx.wire) {
    packet.notes.push(
      `the IPv6 payload length ${payloadLength} does not fit the ${
        data.length - start - 40
      } bytes captured`,
    );
    end = Math.max(ctx.wire, data.length);
  }
  if (at > end) return end;
  if (fragment?.offset === 0 && fragment.more) ctx.firstFragment("IPv6");
  else if (fragment && fragment.offset !== 0) {
    // A later fragment's data is not a transport header.
    packet.notes.push(
      `an IPv6 fragment (offset ${fragment.offset}${
        fragment.more ? ", more follow" : ", the last"
      }, id 0x${hexText(fragment.id, 8)}): not reassembled, not dissected further`,
    );
    ctx.undissected(at, { reason: "an IPv6 fragment, not reassembled", end });
    return end;
  }
  if (destination !== start + 24) {
    layer.finalDestination = ipv6Text(data.subarray(destination, destination + 16));
    layer.fieldRanges!.finalDestination = [destination, destination + 15];
  }
  const pseudo = fold(
    sum16(data, { start: start + 8, end: start + 24, initial: next }) +
      sum16(data, { start: destination, end: destination + 16, initial: 0 }),
  );
  dissectTransport(ctx, { ip: layer, protocol: next, start: at, end, pseudo });
  return end;
}
