/**
 * IPv4: its header and options, the header checksum, fragments (a later
 * fragment's data is never read as a transport header), and a source
 * route's final destination for the pseudo header.
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
  ipv4At,
  nameField,
  type PacketContext,
  sum16,
  u16,
  u8,
} from "./context.ts";
import { dissectTransport } from "./transport.ts";

const IPV4_FLAGS = ["MF", "DF", "RESERVED"];

const IPV4_FIELDS: Field[] = [
  ["version", 0, 0, (v, a) => v.getUint8(a) >> 4, [7, 4]],
  ["headerLength", 0, 0, (v, a) => (v.getUint8(a) & 15) * 4, [3, 0]],
  ["dscp", 1, 1, (v, a) => v.getUint8(a) >> 2, [7, 2]],
  ["ecn", 1, 1, (v, a) => v.getUint8(a) & 3, [1, 0]],
  ["totalLength", 2, 3, u16],
  ["identification", 4, 5, u16],
  ["flags", 6, 6, (v, a) => IPV4_FLAGS.filter((_, i) => v.getUint8(a) & (0x20 << i)).reverse(), [
    7,
    5,
  ]],
  ["fragmentOffset", 6, 7, (v, a) => (v.getUint16(a) & 0x1fff) * 8, [12, 0]],
  ["ttl", 8, 8, u8],
  ["protocol", 9, 9, u8],
  ["checksum", 10, 11, u16],
  ["src", 12, 15, ipv4At],
  ["dst", 16, 19, ipv4At],
];

/**
 * Dissects an IPv4 packet at `start` and what it carries; returns where it
 * ends (its total length says).
 *
 * @example
 * ```ts
 * import { PacketContext } from "./context.ts";
 * import { dissectIpv4 } from "./ipv4.ts";
 * import assert from "node:assert/strict";
 *
 * // A header of 20 bytes carrying protocol 1 (ICMP), 4 bytes of it.
 * const ip = new Uint8Array([0x45, 0, 0, 24, 0, 0, 0, 0, 64, 1, 0, 0, 10, 0, 0, 1, 10, 0, 0, 2, 8, 0, 0, 0]);
 * const ctx = new PacketContext(ip);
 * assert.equal(dissectIpv4(ctx, 0), 24);
 * assert.deepEqual(ctx.packet.layers.map((l) => l.layer), ["ipv4", "undissected"]);
 * assert.match(ctx.packet.notes[0], /ICMP: not TCP or UDP/);
 * ```
 */
export function dissectIpv4(ctx: PacketContext, start: number): number {
  const { data, packet } = ctx;
  const headerLength = start < data.length ? (data[start] & 0x0f) * 4 : 20;
  if (headerLength < 20) {
    packet.notes.push(`the IPv4 header claims ${headerLength} bytes, which it cannot hold`);
    return ctx.undissected(start, { reason: "an IPv4 header claiming fewer than 20 bytes" });
  }
  if (start + headerLength > data.length && start + headerLength > ctx.wire) {
    packet.notes.push(`the IPv4 header claims ${headerLength} bytes, which it cannot hold`);
    return ctx.undissected(start, { reason: `an IPv4 header claiming ${headerLength} bytes` });
  }
  const layer = ctx.header("ipv4", {
    start,
    size: headerLength,
    fields: IPV4_FIELDS,
    what: "IPv4",
    extra: "options",
  });
  if (headerLength > 20 && start + headerLength <= data.length) {
    layer.options = hexText(data.subarray(start + 20, start + headerLength));
    layer.fieldRanges!.options = [start + 20, start + headerLength - 1];
  }
  nameField(layer, { field: "dscp", names: DSCP });
  nameField(layer, { field: "ecn", names: ECN });
  nameField(layer, { field: "protocol", names: IP_PROTOCOLS });
  if (layer.flags !== undefined) layer.flagBits = data[start + 6] >> 5;
  if (layer.checksum !== undefined) {
    layer.checksumStatus = start + headerLength > data.length
      ? "unverified (not all captured)"
      : sum16(data, { start, end: start + headerLength, initial: 0 }) === 0xffff
      ? "correct"
      : "incorrect";
  }
  if (layer.totalLength === undefined) return data.length;
  const totalLength = layer.totalLength as number;
  let end = start + totalLength;
  if (totalLength < headerLength || end > ctx.wire) {
    packet.notes.push(
      `the IPv4 total length ${totalLength} does not fit the ${
        data.length - start
      } bytes captured from byte ${start}`,
    );
    end = Math.max(ctx.wire, data.length);
  }
  if (layer.fragmentOffset === undefined) return end;
  if (layer.fragmentOffset !== 0) {
    packet.notes.push(
      `an IPv4 fragment (offset ${layer.fragmentOffset}): its data is not a transport ` +
        "header; not reassembled, not dissected further",
    );
    ctx.undissected(start + headerLength, { reason: "an IPv4 fragment, not reassembled", end });
    return end;
  }
  if ((layer.flags as string[]).includes("MF")) ctx.firstFragment("IPv4");
  if (layer.src === undefined || layer.dst === undefined) return end;
  const destination = sourceRouteDestination(data, start + 20, start + headerLength) ?? start + 16;
  if (destination !== start + 16) {
    // Wireshark's ip.dst; the header's dst is the route's current hop (its ip.cur_rt).
    layer.finalDestination = ipv4At(ctx.view, destination, data);
    layer.fieldRanges!.finalDestination = [destination, destination + 3];
  }
  const pseudo = fold(
    sum16(data, { start: start + 12, end: start + 16, initial: layer.protocol as number }) +
      sum16(data, { start: destination, end: destination + 4, initial: 0 }),
  );
  dissectTransport(ctx, {
    ip: layer,
    protocol: layer.protocol as number,
    start: start + headerLength,
    end,
    pseudo,
  });
  return end;
}

/**
 * Where the final destination of a loose or strict source route option is,
 * when the route is not done: the pseudo header's destination (RFC 1122 3.2.1.8).
 */
function sourceRouteDestination(data: Uint8Array, start: number, end: number): number | undefined {
  for (let at = start; at < end && at < data.length;) {
    const type = data[at];
    if (type === 0) break;
    if (type === 1) {
      at++;
      continue;
    }
    const length = data[at + 1];
    if (at + 1 >= end || length < 2 || at + length > end) break;
    if ((type === 131 || type === 137) && length >= 7 && data[at + 2] <= length) {
      return at + length - 4 - ((length - 3) % 4);
    }
    at += length;
  }
  return undefined;
}
