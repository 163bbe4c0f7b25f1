/**
 * Ethernet II and IEEE 802.3 (802.1Q and 802.1ad tags), LLC and SNAP, what
 * an EtherType carries, and the padding and trailer after the payload.
 *
 * @module
 */

import { ETHER_TYPES, hexText, macAt, nameField, type PacketContext, u16, u8 } from "./context.ts";
import { dissectIp } from "./ip.ts";

const SAPS: Record<number, string> = {
  0x00: "null",
  0x06: "IP",
  0x42: "Spanning Tree (BPDU)",
  0x98: "ARP",
  0xaa: "SNAP",
  0xe0: "IPX",
  0xf0: "NetBIOS",
  0xfe: "ISO network layer",
  0xff: "global",
};

/**
 * Dissects an Ethernet II or IEEE 802.3 frame and what it carries; returns
 * where the frame's payload ends.
 *
 * @example
 * ```ts
 * import { PacketContext } from "./context.ts";
 * import { dissectEthernet } from "./ethernet.ts";
 * import assert from "node:assert/strict";
 *
 * const frame = new Uint8Array(60);
 * frame.set([0x08, 0x06], 12); // ARP
 * const ctx = new PacketContext(frame);
 * dissectEthernet(ctx);
 * assert.equal(ctx.packet.layers[0].etherTypeName, "ARP");
 * assert.match(ctx.packet.notes[0], /ARP: not IP/);
 * ```
 */
export function dissectEthernet(ctx: PacketContext): number {
  const { data, view } = ctx;
  const layer = ctx.header("ethernet", {
    start: 0,
    size: 14,
    fields: [
      ["dst", 0, 5, macAt],
      ["src", 6, 11, macAt],
      ["etherType", 12, 13, u16],
    ],
    what: "Ethernet",
  });
  if (data.length < 14) return data.length;
  delete layer.etherType;
  delete layer.fieldRanges!.etherType;
  const vlans = [];
  let at = 12;
  let type = view.getUint16(at);
  while ((type === 0x8100 || type === 0x88a8) && at + 6 <= data.length) {
    const tci = view.getUint16(at + 2);
    vlans.push({ id: tci & 0x0fff, priority: tci >> 13 });
    at += 4;
    type = view.getUint16(at);
  }
  layer.end = at + 1;
  if (vlans.length > 0) {
    layer.vlans = vlans;
    layer.fieldRanges!.vlans = [12, at - 1];
  }
  if (type <= 1500) {
    // IEEE 802.3: a length, then LLC.
    layer.kind = "IEEE 802.3";
    layer.length = type;
    layer.fieldRanges!.length = [at, at + 1];
    const end = Math.min(at + 2 + type, ctx.wire);
    dissectLlc(ctx, { start: at + 2, end });
    return end;
  }
  layer.kind = "Ethernet II";
  layer.etherType = type;
  layer.etherTypeName = ETHER_TYPES[type] ?? "unknown";
  layer.fieldRanges!.etherType = [at, at + 1];
  return dissectEtherType(ctx, { at: at + 2, type });
}

/** Bytes `start` to `end` (exclusive), for {@linkcode dissectLlc}. */
export interface ByteRange {
  start: number;
  end: number;
}

/**
 * Dissects LLC, and SNAP after it, in bytes `start` to `end` (exclusive).
 *
 * @example
 * ```ts
 * import { PacketContext } from "./context.ts";
 * import { dissectLlc } from "./ethernet.ts";
 * import assert from "node:assert/strict";
 *
 * const ctx = new PacketContext(new Uint8Array([0x42, 0x42, 0x03, 0, 0, 0]));
 * dissectLlc(ctx, { start: 0, end: 6 });
 * assert.equal(ctx.packet.layers[0].dsapName, "Spanning Tree (BPDU)");
 * ```
 */
export function dissectLlc(ctx: PacketContext, range: ByteRange): void {
  const { start, end } = range;
  const { data } = ctx;
  const control = data[start + 2];
  const size = control === undefined || (control & 3) === 3 ? 3 : 4;
  const layer = ctx.header("llc", {
    start,
    size,
    fields: [
      ["dsap", 0, 0, u8],
      ["ssap", 1, 1, u8],
      ["control", 2, size - 1, size === 3 ? u8 : u16],
    ],
    what: "LLC",
  });
  nameField(layer, { field: "dsap", names: SAPS });
  nameField(layer, { field: "ssap", names: SAPS });
  if (layer.control === 3) layer.controlName = "UI (unnumbered information)";
  if (layer.missing) return;
  if (layer.dsap === 0xaa && layer.ssap === 0xaa && layer.control === 3) {
    const snap = ctx.header("snap", {
      start: start + 3,
      size: 5,
      fields: [
        ["oui", 0, 2, (v, a) => v.getUint32(a - 1) & 0xffffff],
        ["pid", 3, 4, u16],
      ],
      what: "SNAP",
    });
    if (snap.missing) return;
    if (snap.oui === 0) {
      snap.pidName = ETHER_TYPES[snap.pid as number] ?? "unknown";
      dissectEtherType(ctx, { at: start + 8, type: snap.pid as number });
      return;
    }
    ctx.undissected(start + 8, {
      reason: `SNAP protocol ${hexText(snap.pid as number, 4)} of OUI ${
        hexText(snap.oui as number, 6)
      } is not dissected by framecat`,
      end,
    });
    return;
  }
  ctx.undissected(start + size, {
    reason: `LLC payload for DSAP ${hexText(layer.dsap as number, 2)} (${layer.dsapName}) ` +
      "is not dissected by framecat",
    end,
  });
}

/** What an EtherType announces at `at`, for {@linkcode dissectEtherType}. */
export interface EtherTypeSpec {
  at: number;
  type: number;
}

/**
 * Dissects the payload of an EtherType (IPv4, IPv6; others named); returns
 * where it ends. An IP version other than the EtherType's is noted.
 *
 * @example
 * ```ts
 * import { PacketContext } from "./context.ts";
 * import { dissectEtherType } from "./ethernet.ts";
 * import assert from "node:assert/strict";
 *
 * const ctx = new PacketContext(new Uint8Array([0x55, 0, 0, 0]));
 * dissectEtherType(ctx, { at: 0, type: 0x0800 });
 * assert.match(ctx.packet.notes[0], /bogus IP version 5 under EtherType 0x0800/);
 * ```
 */
export function dissectEtherType(ctx: PacketContext, spec: EtherTypeSpec): number {
  const { at, type } = spec;
  if (type === 0x0800 || type === 0x86dd) {
    const expected = type === 0x0800 ? 4 : 6;
    const version = at < ctx.data.length ? ctx.data[at] >> 4 : expected;
    if (version !== expected) {
      ctx.packet.notes.push(
        `bogus IP version ${version} under EtherType 0x${hexText(type, 4)} (IPv${expected}): ` +
          "not dissected further",
      );
      // As Wireshark: the version field alone, then the bytes it does not read.
      ctx.packet.layers.push({
        layer: expected === 4 ? "ipv4" : "ipv6",
        start: at,
        end: at,
        version,
        fieldRanges: { version: [at, at] },
        fieldBits: { version: [7, 4] },
      });
      return ctx.undissected(at + 1, {
        reason: `a packet of bogus IP version ${version} where IPv${expected} was announced`,
      });
    }
    return dissectIp(ctx, { start: at, version: expected });
  }
  const name = type === 0x0806 ? "ARP" : `EtherType 0x${hexText(type, 4)}`;
  ctx.packet.notes.push(`${name}: not IP, not dissected further`);
  return ctx.undissected(at, {
    reason: `${ETHER_TYPES[type] ?? "EtherType"} (0x${
      hexText(type, 4)
    }) is not dissected by framecat`,
  });
}

/**
 * Names Ethernet's bytes after its payload from `start`: padding up to the
 * 60-byte minimum, then a trailer.
 *
 * @example
 * ```ts
 * import { PacketContext } from "./context.ts";
 * import { dissectTrailer } from "./ethernet.ts";
 * import assert from "node:assert/strict";
 *
 * const ctx = new PacketContext(new Uint8Array(64));
 * dissectTrailer(ctx, 54);
 * assert.deepEqual(ctx.packet.layers.map((l) => [l.kind, l.start, l.end]), [["padding", 54, 59], ["trailer", 60, 63]]);
 * ```
 */
export function dissectTrailer(ctx: PacketContext, start: number): void {
  const { data, packet } = ctx;
  const padEnd = Math.min(Math.max(start, 60), data.length);
  if (padEnd > start) {
    packet.layers.push({
      layer: "trailer",
      start,
      end: padEnd - 1,
      kind: "padding",
      reason: "Ethernet padding: a frame has at least 60 bytes (64 with its FCS)",
    });
  }
  if (data.length > padEnd) {
    packet.layers.push({
      layer: "trailer",
      start: padEnd,
      end: data.length - 1,
      kind: "trailer",
      reason: "bytes after the Ethernet payload and its padding (a trailer, or the FCS)",
    });
  }
}
