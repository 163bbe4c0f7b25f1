/**
 * What every protocol's dissector shares: the packet being dissected
 * ({@linkcode PacketContext}: its bytes, its layers and notes, and how a
 * header, cut bytes and undissected bytes are recorded), field readers, the
 * names of numbers, and the byte arithmetic (checksums, addresses, hex).
 *
 * @module
 */

import type { DissectedPacket, Layer, LayerName } from "../layers.ts";

/** Reads a field's value at byte `at`. */
export type Read = (view: DataView, at: number, data: Uint8Array) => unknown;
/** A header field: name, first and last byte from the header's start, reader, bits. */
export type Field = [string, number, number, Read, [number, number]?];

/** A header to record, for {@linkcode PacketContext.header}. */
export interface HeaderSpec {
  /** Its first byte in the packet. */
  start: number;
  /** Its length in bytes, fixed fields and options. */
  size: number;
  fields: Field[];
  /** Its name in notes ("IPv4"). Defaults to the layer's name. */
  what?: string;
  /** The name of its variable part after the fixed fields ("options"), noted when cut. */
  extra?: string;
}

/** Bytes that must be captured, for {@linkcode PacketContext.whole}. */
export interface WholeSpec {
  size: number;
  /** What they are, in the note when they are not all there. */
  what: string;
}

/** Undissected bytes, for {@linkcode PacketContext.undissected}. */
export interface UndissectedSpec {
  /** Why framecat does not dissect them. */
  reason: string;
  /** Where they end (exclusive, on the wire). Defaults to the packet's end. */
  end?: number;
}

/** Options for {@linkcode PacketContext}. */
export interface PacketContextOptions {
  /** The packet's length on the wire, when the snap length may have cut it. */
  originalLength?: number;
}

/**
 * One packet's dissection under way: its bytes, the layers and notes found
 * so far, and what the link layer said (outgoing, a first IP fragment).
 *
 * @example
 * ```ts
 * import { PacketContext, u16 } from "./context.ts";
 * import assert from "node:assert/strict";
 *
 * const ctx = new PacketContext(new Uint8Array([0x12, 0x34, 0x56]), {});
 * const layer = ctx.header("udp", {
 *   start: 0, size: 4, fields: [["srcPort", 0, 1, u16], ["dstPort", 2, 3, u16]], what: "UDP",
 * });
 * assert.equal(layer.srcPort, 0x1234);
 * assert.deepEqual(layer.missing, ["dstPort"]);
 * assert.match(ctx.packet.notes[0], /the UDP header is cut short: 3 of its 4 bytes/);
 * ```
 */
export class PacketContext {
  readonly data: Uint8Array;
  readonly view: DataView;
  readonly packet: DissectedPacket = { layers: [], notes: [] };
  /** The packet's length on the wire. */
  readonly wire: number;
  /** Linux cooked capture's "sent by us". */
  outgoing = false;
  /** The IP packet is the first fragment of a datagram: its transport layer is not whole. */
  fragment = false;

  /** The dissection of `data`, nothing found yet. */
  constructor(data: Uint8Array, options: PacketContextOptions = {}) {
    this.data = data;
    this.view = new DataView(data.buffer, data.byteOffset, data.byteLength);
    this.wire = Math.max(options.originalLength ?? data.length, data.length);
  }

  /**
   * Records a header with each field that was captured; the fields past the
   * capture's end are listed in `missing` and noted. Returns the layer.
   */
  header(name: LayerName, spec: HeaderSpec): Layer {
    const { start, size, fields, extra } = spec;
    const what = spec.what ?? name;
    const { data, view } = this;
    const layer: Layer = {
      layer: name,
      start,
      end: Math.min(start + size, data.length) - 1,
      fieldRanges: {},
    };
    const ranges = layer.fieldRanges!;
    let bits: Record<string, [number, number]> | undefined;
    let missing: string[] | undefined;
    for (const [field, from, to, read, fieldBits] of fields) {
      if (start + to >= data.length) {
        (missing ??= []).push(field);
        continue;
      }
      layer[field] = read(view, start + from, data);
      ranges[field] = [start + from, start + to];
      if (fieldBits) (bits ??= {})[field] = fieldBits;
    }
    if (bits) layer.fieldBits = bits;
    // The variable part after the fixed fields (options), when there is one and it was cut.
    const fixed = fields[fields.length - 1][2] + 1;
    if (extra && size > fixed && start + size > data.length) (missing ??= []).push(extra);
    if (missing) {
      layer.missing = missing;
      const captured = Math.max(0, data.length - start);
      this.packet.notes.push(
        `the ${what} header is cut ${
          this.wire > data.length ? "by the snap length" : "short"
        }: ${captured} of its ${size} bytes captured (${missing.join(", ")} missing)`,
      );
    }
    // A header of which nothing was captured has no bytes to show.
    if (layer.end >= start) this.packet.layers.push(layer);
    return layer;
  }

  /** Whether `size` bytes from `at` were captured; if not, says so. */
  whole(at: number, spec: WholeSpec): boolean {
    if (at + spec.size <= this.data.length) return true;
    this.packet.notes.push(
      `${spec.what} is cut short: it needs ${spec.size} bytes from byte ${at}`,
    );
    this.undissected(at, { reason: `${spec.what} is cut short` });
    return false;
  }

  /**
   * Marks bytes from `start` (to `spec.end`, at most what was captured)
   * undissected; returns where they end on the wire.
   */
  undissected(start: number, spec: UndissectedSpec): number {
    const end = spec.end ?? Infinity;
    const last = Math.min(end, this.data.length) - 1;
    if (last >= start) {
      this.packet.layers.push({ layer: "undissected", start, end: last, reason: spec.reason });
    }
    return Math.max(start, Math.min(end, this.wire));
  }

  /** The IP packet is the first fragment of a datagram: its transport header is real, its segment not whole. */
  firstFragment(version: string): void {
    this.fragment = true;
    this.packet.notes.push(
      `the first ${version} fragment of a datagram: its transport header is dissected, but the ` +
        "rest is in fragments not reassembled, so its checksum is not verified and its stream " +
        "bytes are not followed",
    );
  }
}

/** Options for {@linkcode nameField}. */
export interface NameFieldOptions {
  field: string;
  names: Record<number, string> | string[];
}

/**
 * Adds `${field}Name` from a table, when the field was captured.
 *
 * @example
 * ```ts
 * import { ECN, nameField } from "./context.ts";
 * import assert from "node:assert/strict";
 *
 * const layer = { layer: "ipv4" as const, start: 0, end: 19, ecn: 3 };
 * nameField(layer, { field: "ecn", names: ECN });
 * assert.equal((layer as Record<string, unknown>).ecnName, "CE");
 * ```
 */
export function nameField(layer: Layer, options: NameFieldOptions): void {
  const value = layer[options.field];
  if (typeof value === "number") {
    layer[`${options.field}Name`] = (options.names as Record<number, string>)[value] ?? "unknown";
  }
}

/** Field readers: a byte. */
export const u8: Read = (v: DataView, a: number): number => v.getUint8(a);
/** 16 bits, big-endian. */
export const u16: Read = (v: DataView, a: number): number => v.getUint16(a);
/** 32 bits, big-endian. */
export const u32: Read = (v: DataView, a: number): number => v.getUint32(a);
/** A MAC address. */
export const macAt: Read = (_: DataView, a: number, d: Uint8Array): string => macText(d, { at: a });
/** An IPv4 address, dotted. */
export const ipv4At: Read = (_: DataView, a: number, d: Uint8Array): string =>
  `${d[a]}.${d[a + 1]}.${d[a + 2]}.${d[a + 3]}`;
/** An IPv6 address, shortest form. */
export const ipv6At: Read = (_: DataView, a: number, d: Uint8Array): string =>
  ipv6Text(d.subarray(a, a + 16));

/** EtherType names. */
export const ETHER_TYPES: Record<number, string> = {
  0x0800: "IPv4",
  0x0806: "ARP",
  0x0842: "Wake-on-LAN",
  0x22f0: "AVTP",
  0x8035: "RARP",
  0x809b: "AppleTalk",
  0x8100: "802.1Q VLAN",
  0x8137: "IPX",
  0x86dd: "IPv6",
  0x8808: "Ethernet flow control",
  0x8847: "MPLS",
  0x8848: "MPLS multicast",
  0x8863: "PPPoE discovery",
  0x8864: "PPPoE session",
  0x888e: "EAPOL (802.1X)",
  0x88a8: "802.1ad QinQ",
  0x88cc: "LLDP",
  0x88e5: "MACsec",
  0x88f7: "PTP",
  0x9000: "Loopback (configuration test)",
};

/** IP protocol numbers (IPv4 protocol, IPv6 next header). */
export const IP_PROTOCOLS: Record<number, string> = {
  0: "IPv6 hop-by-hop options",
  1: "ICMP",
  2: "IGMP",
  4: "IPv4 in IP",
  6: "TCP",
  17: "UDP",
  41: "IPv6 in IP",
  43: "IPv6 routing",
  44: "IPv6 fragment",
  47: "GRE",
  50: "ESP",
  51: "AH",
  58: "ICMPv6",
  59: "no next header",
  60: "IPv6 destination options",
  89: "OSPF",
  103: "PIM",
  112: "VRRP",
  132: "SCTP",
};

/** DSCP code point names. */
export const DSCP: Record<number, string> = {
  0: "Default",
  1: "LE",
  8: "CS1",
  10: "AF11",
  12: "AF12",
  14: "AF13",
  16: "CS2",
  18: "AF21",
  20: "AF22",
  22: "AF23",
  24: "CS3",
  26: "AF31",
  28: "AF32",
  30: "AF33",
  32: "CS4",
  34: "AF41",
  36: "AF42",
  38: "AF43",
  40: "CS5",
  44: "VOICE-ADMIT",
  46: "EF",
  48: "CS6",
  56: "CS7",
};

/** ECN code point names. */
export const ECN = ["Not-ECT", "ECT(1)", "ECT(0)", "CE"];

/** Bytes to sum, for {@linkcode sum16}. */
export interface SumRange {
  start: number;
  /** Exclusive. */
  end: number;
  /** Added to the sum. Defaults to 0. */
  initial?: number;
}

/**
 * The ones' complement sum of bytes `start` to `end` (exclusive) plus `initial`, folded.
 *
 * @example
 * ```ts
 * import { sum16 } from "./context.ts";
 * import assert from "node:assert/strict";
 *
 * assert.equal(sum16(new Uint8Array([0xff, 0xff, 0x00, 0x02]), { start: 0, end: 4 }), 0x0002);
 * ```
 */
export function sum16(data: Uint8Array, range: SumRange): number {
  let sum = range.initial ?? 0;
  let i = range.start;
  const end = range.end;
  for (; i + 1 < end; i += 2) sum += (data[i] << 8) | data[i + 1];
  if (i < end) sum += data[i] << 8;
  return fold(sum);
}

/**
 * A sum folded into 16 bits, its carries added back (ones' complement).
 *
 * @example
 * ```ts
 * import { fold } from "./context.ts";
 * import assert from "node:assert/strict";
 *
 * assert.equal(fold(0x1fffe), 0xffff);
 * ```
 */
export function fold(sum: number): number {
  while (sum > 0xffff) sum = (sum & 0xffff) + Math.floor(sum / 0x10000);
  return sum;
}

/** Where a MAC address is, for {@linkcode macText}. */
export interface MacSpec {
  at: number;
  /** Bytes. Defaults to 6. */
  length?: number;
}

/**
 * Bytes as a MAC address, `4c:32:75:8d:5f:9b`.
 *
 * @example
 * ```ts
 * import { macText } from "./context.ts";
 * import assert from "node:assert/strict";
 *
 * assert.equal(macText(new Uint8Array([0, 1, 2, 3, 4, 0xff]), { at: 0 }), "00:01:02:03:04:ff");
 * ```
 */
export function macText(data: Uint8Array, spec: MacSpec): string {
  const { at, length = 6 } = spec;
  let text = "";
  for (let i = at; i < at + length && i < data.length; i++) {
    text += (i === at ? "" : ":") + HEX[data[i]];
  }
  return text;
}

/**
 * An IPv6 address in its shortest form (RFC 5952).
 *
 * @example
 * ```ts
 * import { ipv6Text } from "./context.ts";
 * import assert from "node:assert/strict";
 *
 * const bytes = new Uint8Array(16);
 * bytes[0] = 0xfd;
 * bytes[15] = 1;
 * assert.equal(ipv6Text(bytes), "fd00::1");
 * ```
 */
export function ipv6Text(bytes: Uint8Array): string {
  const groups = [];
  for (let i = 0; i < 16; i += 2) groups.push(((bytes[i] << 8) | bytes[i + 1]).toString(16));
  let best = -1;
  let bestLength = 1;
  for (let i = 0; i < 8;) {
    let j = i;
    while (j < 8 && groups[j] === "0") j++;
    if (j - i > bestLength) [best, bestLength] = [i, j - i];
    i = j === i ? i + 1 : j;
  }
  if (best < 0) return groups.join(":");
  return `${groups.slice(0, best).join(":")}::${groups.slice(best + bestLength).join(":")}`;
}

const HEX = Array.from({ length: 256 }, (_, i) => i.toString(16).padStart(2, "0"));

/**
 * A number in hex, `width` digits at least; or bytes in hex.
 *
 * @example
 * ```ts
 * import { hexText } from "./context.ts";
 * import assert from "node:assert/strict";
 *
 * assert.equal(hexText(0x800, 4), "0800");
 * assert.equal(hexText(new Uint8Array([1, 0xab])), "01ab");
 * ```
 */
export function hexText(value: number | Uint8Array, width = 2): string {
  if (typeof value === "number") return value.toString(16).padStart(width, "0");
  let text = "";
  for (const b of value) text += HEX[b];
  return text;
}
