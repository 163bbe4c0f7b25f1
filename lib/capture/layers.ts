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
 * @module
 */

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

const TCP_FLAGS = ["FIN", "SYN", "RST", "PSH", "ACK", "URG", "ECE", "CWR", "AE"];
const IPV4_FLAGS = ["MF", "DF", "RESERVED"];

/** EtherType names. */
const ETHER_TYPES: Record<number, string> = {
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
const IP_PROTOCOLS: Record<number, string> = {
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

const DSCP: Record<number, string> = {
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
const ECN = ["Not-ECT", "ECT(1)", "ECT(0)", "CE"];
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
const FAMILIES: Record<number, string> = {
  2: "IPv4",
  10: "IPv6",
  24: "IPv6",
  28: "IPv6",
  30: "IPv6",
};

type Read = (view: DataView, at: number, data: Uint8Array) => unknown;
/** A header field: name, first and last byte from the header's start, reader, bits. */
type Field = [string, number, number, Read, [number, number]?];

const u8: Read = (v, a) => v.getUint8(a);
const u16: Read = (v, a) => v.getUint16(a);
const u32: Read = (v, a) => v.getUint32(a);
const macAt: Read = (_, a, d) => mac(d, a);
const ipv4At: Read = (_, a, d) => `${d[a]}.${d[a + 1]}.${d[a + 2]}.${d[a + 3]}`;
const ipv6At: Read = (_, a, d) => ipv6(d.subarray(a, a + 16));

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

const TCP_FIELDS: Field[] = [
  ["srcPort", 0, 1, u16],
  ["dstPort", 2, 3, u16],
  ["seq", 4, 7, u32],
  ["ack", 8, 11, u32],
  ["headerLength", 12, 12, (v, a) => (v.getUint8(a) >> 4) * 4, [7, 4]],
  ["flags", 12, 13, (v, a) => TCP_FLAGS.filter((_, i) => v.getUint16(a) & (1 << i)), [11, 0]],
  ["window", 14, 15, u16],
  ["checksum", 16, 17, u16],
  ["urgentPointer", 18, 19, u16],
];

const UDP_FIELDS: Field[] = [
  ["srcPort", 0, 1, u16],
  ["dstPort", 2, 3, u16],
  ["length", 4, 5, u16],
  ["checksum", 6, 7, u16],
];

const SLL_FIELDS: Field[] = [
  ["packetType", 0, 1, u16],
  ["addressType", 2, 3, u16],
  ["addressLength", 4, 5, u16],
  ["address", 6, 13, (v, a, d) => mac(d, a, Math.min(v.getUint16(a - 2), 8))],
  ["protocol", 14, 15, u16],
];

const SLL2_FIELDS: Field[] = [
  ["protocol", 0, 1, u16],
  ["interfaceIndex", 4, 7, u32],
  ["addressType", 8, 9, u16],
  ["packetType", 10, 10, u8],
  ["addressLength", 11, 11, u8],
  ["address", 12, 19, (v, a, d) => mac(d, a, Math.min(v.getUint8(a - 1), 8))],
];

/** The state of one packet's dissection. */
interface Context {
  data: Uint8Array;
  view: DataView;
  packet: DissectedPacket;
  /** The packet's length on the wire. */
  wire: number;
  /** Linux cooked capture's "sent by us". */
  outgoing: boolean;
  /** The IP packet is the first fragment of a datagram: its transport layer is not whole. */
  fragment?: boolean;
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
  const packet: DissectedPacket = { layers: [], notes: [] };
  const ctx: Context = {
    data,
    view: new DataView(data.buffer, data.byteOffset, data.byteLength),
    packet,
    wire: Math.max(options.originalLength ?? data.length, data.length),
    outgoing: false,
  };
  if (ctx.wire > data.length) {
    packet.notes.push(
      `cut by the snap length: ${data.length} of ${ctx.wire} bytes captured`,
    );
  }
  let end: number;
  switch (linkType) {
    case 1:
      end = ethernet(ctx);
      break;
    case 0:
    case 108: {
      if (!whole(ctx, 0, 4, "the loopback header")) return packet;
      // DLT_NULL's family is in the capturing machine's byte order; DLT_LOOP's is big-endian.
      let family = ctx.view.getUint32(0, linkType === 0);
      if (family > 0xffff) family = ctx.view.getUint32(0, linkType !== 0);
      packet.layers.push({
        layer: "loopback",
        start: 0,
        end: 3,
        family,
        familyName: FAMILIES[family] ?? "unknown",
        ...(linkType === 108 ? { kind: "DLT_LOOP (OpenBSD loopback)" } : {}),
        fieldRanges: { family: [0, 3] },
      });
      const version = family === 2 ? 4 : FAMILIES[family] === "IPv6" ? 6 : undefined;
      end = version === undefined
        ? undissected(ctx, 4, `address family ${family} is not IP`)
        : ip(ctx, 4, version);
      break;
    }
    case 101:
    case 228:
    case 229:
      end = ip(ctx, 0, data.length > 0 ? data[0] >> 4 : 0);
      break;
    case 113:
    case 276: {
      const v2 = linkType === 276;
      const size = v2 ? 20 : 16;
      const layer = header(ctx, "sll", 0, size, v2 ? SLL2_FIELDS : SLL_FIELDS, "Linux cooked");
      layer.version = v2 ? 2 : 1;
      name(layer, "packetType", SLL_PACKET_TYPES);
      name(layer, "addressType", ARPHRD);
      name(layer, "protocol", ETHER_TYPES);
      ctx.outgoing = layer.packetType === 4;
      sllAddress(ctx, layer, v2 ? 12 : 6);
      const protocol = layer.protocol as number | undefined;
      if (protocol === undefined) end = size;
      else if (protocol === 4) {
        // Not an EtherType: the frame is IEEE 802.2 LLC (Linux's ETH_P_802_2).
        layer.protocolName = "IEEE 802.2 LLC";
        end = ctx.wire;
        llc(ctx, size, end);
      } else end = etherPayload(ctx, size, protocol);
      break;
    }
    default:
      packet.notes.push(`link type ${linkType} is not supported: the packet is not dissected`);
      end = undissected(ctx, 0, `link type ${linkType} is not supported by framecat`);
  }
  // Bytes after the network packet's end.
  let covered = 0;
  for (const layer of packet.layers) covered = Math.max(covered, layer.end + 1);
  end = Math.max(end, covered);
  if (end < data.length) {
    if (linkType === 1) trailer(ctx, end);
    else undissected(ctx, end, "bytes after the end of the IP packet, as its length gives it");
  }
  return packet;
}

/**
 * A Linux cooked capture's address: as many of its 8 bytes as the address
 * length says (a MAC for 6, an IPv4 address for 4), the rest unused.
 */
function sllAddress(ctx: Context, layer: Layer, at: number): void {
  const { data } = ctx;
  if (layer.address === undefined || layer.addressLength === undefined) return;
  const halen = Math.min(layer.addressLength as number, 8);
  const ranges = layer.fieldRanges!;
  delete ranges.address;
  if (halen === 0) delete layer.address;
  else {
    layer.address = halen === 4
      ? `${data[at]}.${data[at + 1]}.${data[at + 2]}.${data[at + 3]}`
      : mac(data, at, halen);
    ranges.address = [at, at + halen - 1];
  }
  if (halen < 8) {
    layer.addressUnused = hex(data.subarray(at + halen, at + 8));
    ranges.addressUnused = [at + halen, at + 7];
  }
}

/** Ethernet II or IEEE 802.3; returns where the frame's payload ends. */
function ethernet(ctx: Context): number {
  const { data, view } = ctx;
  const layer = header(ctx, "ethernet", 0, 14, [
    ["dst", 0, 5, macAt],
    ["src", 6, 11, macAt],
    ["etherType", 12, 13, u16],
  ], "Ethernet");
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
    llc(ctx, at + 2, end);
    return end;
  }
  layer.kind = "Ethernet II";
  layer.etherType = type;
  layer.etherTypeName = ETHER_TYPES[type] ?? "unknown";
  layer.fieldRanges!.etherType = [at, at + 1];
  return etherPayload(ctx, at + 2, type);
}

/** LLC, and SNAP after it, in bytes `start` to `end` (exclusive). */
function llc(ctx: Context, start: number, end: number): void {
  const { data } = ctx;
  const control = data[start + 2];
  const size = control === undefined || (control & 3) === 3 ? 3 : 4;
  const layer = header(ctx, "llc", start, size, [
    ["dsap", 0, 0, u8],
    ["ssap", 1, 1, u8],
    ["control", 2, size - 1, size === 3 ? u8 : u16],
  ], "LLC");
  name(layer, "dsap", SAPS);
  name(layer, "ssap", SAPS);
  if (layer.control === 3) layer.controlName = "UI (unnumbered information)";
  if (layer.missing) return;
  if (layer.dsap === 0xaa && layer.ssap === 0xaa && layer.control === 3) {
    const snap = header(ctx, "snap", start + 3, 5, [
      ["oui", 0, 2, (v, a) => v.getUint32(a - 1) & 0xffffff],
      ["pid", 3, 4, u16],
    ], "SNAP");
    if (snap.missing) return;
    if (snap.oui === 0) {
      snap.pidName = ETHER_TYPES[snap.pid as number] ?? "unknown";
      etherPayload(ctx, start + 8, snap.pid as number);
      return;
    }
    undissected(
      ctx,
      start + 8,
      `SNAP protocol ${hex(snap.pid as number, 4)} of OUI ${
        hex(snap.oui as number, 6)
      } is not dissected by framecat`,
      end,
    );
    return;
  }
  undissected(
    ctx,
    start + size,
    `LLC payload for DSAP ${hex(layer.dsap as number, 2)} (${layer.dsapName}) ` +
      "is not dissected by framecat",
    end,
  );
}

/** The payload of an EtherType; returns where it ends. */
function etherPayload(ctx: Context, at: number, type: number): number {
  if (type === 0x0800 || type === 0x86dd) {
    const expected = type === 0x0800 ? 4 : 6;
    const version = at < ctx.data.length ? ctx.data[at] >> 4 : expected;
    if (version !== expected) {
      ctx.packet.notes.push(
        `bogus IP version ${version} under EtherType 0x${hex(type, 4)} (IPv${expected}): ` +
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
      return undissected(
        ctx,
        at + 1,
        `a packet of bogus IP version ${version} where IPv${expected} was announced`,
      );
    }
    return ip(ctx, at, expected);
  }
  const name = type === 0x0806 ? "ARP" : `EtherType 0x${hex(type, 4)}`;
  ctx.packet.notes.push(`${name}: not IP, not dissected further`);
  return undissected(
    ctx,
    at,
    `${ETHER_TYPES[type] ?? "EtherType"} (0x${hex(type, 4)}) is not dissected by framecat`,
  );
}

/** IPv4 or IPv6 at `start`; returns where the IP packet ends (its length says). */
function ip(ctx: Context, start: number, version: number): number {
  if (version === 4) return ipv4(ctx, start);
  if (version === 6) return ipv6Packet(ctx, start);
  ctx.packet.notes.push("not IPv4 or IPv6: not dissected further");
  return undissected(ctx, start, `IP version ${version} is neither 4 nor 6`);
}

function ipv4(ctx: Context, start: number): number {
  const { data, packet } = ctx;
  const headerLength = start < data.length ? (data[start] & 0x0f) * 4 : 20;
  if (headerLength < 20) {
    packet.notes.push(`the IPv4 header claims ${headerLength} bytes, which it cannot hold`);
    return undissected(ctx, start, "an IPv4 header claiming fewer than 20 bytes");
  }
  if (start + headerLength > data.length && start + headerLength > ctx.wire) {
    packet.notes.push(`the IPv4 header claims ${headerLength} bytes, which it cannot hold`);
    return undissected(ctx, start, `an IPv4 header claiming ${headerLength} bytes`);
  }
  const layer = header(ctx, "ipv4", start, headerLength, IPV4_FIELDS, "IPv4", "options");
  if (headerLength > 20 && start + headerLength <= data.length) {
    layer.options = hex(data.subarray(start + 20, start + headerLength));
    layer.fieldRanges!.options = [start + 20, start + headerLength - 1];
  }
  name(layer, "dscp", DSCP);
  name(layer, "ecn", ECN);
  name(layer, "protocol", IP_PROTOCOLS);
  if (layer.flags !== undefined) layer.flagBits = data[start + 6] >> 5;
  if (layer.checksum !== undefined) {
    layer.checksumStatus = start + headerLength > data.length
      ? "unverified (not all captured)"
      : sum16(data, start, start + headerLength, 0) === 0xffff
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
    undissected(ctx, start + headerLength, "an IPv4 fragment, not reassembled", end);
    return end;
  }
  if ((layer.flags as string[]).includes("MF")) firstFragment(ctx, "IPv4");
  if (layer.src === undefined || layer.dst === undefined) return end;
  const destination = sourceRouteDestination(data, start + 20, start + headerLength) ?? start + 16;
  if (destination !== start + 16) {
    // Wireshark's ip.dst; the header's dst is the route's current hop (its ip.cur_rt).
    layer.finalDestination = ipv4At(ctx.view, destination, data);
    layer.fieldRanges!.finalDestination = [destination, destination + 3];
  }
  const pseudo = fold(
    sum16(data, start + 12, start + 16, layer.protocol as number) +
      sum16(data, destination, destination + 4, 0),
  );
  transport(ctx, layer, layer.protocol as number, start + headerLength, end, pseudo);
  return end;
}

function ipv6Packet(ctx: Context, start: number): number {
  const { data, packet } = ctx;
  const layer = header(ctx, "ipv6", start, 40, IPV6_FIELDS, "IPv6");
  name(layer, "dscp", DSCP);
  name(layer, "ecn", ECN);
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
  name(layer, "nextHeader", IP_PROTOCOLS);
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
  if (fragment?.offset === 0 && fragment.more) firstFragment(ctx, "IPv6");
  else if (fragment && fragment.offset !== 0) {
    // A later fragment's data is not a transport header.
    packet.notes.push(
      `an IPv6 fragment (offset ${fragment.offset}${
        fragment.more ? ", more follow" : ", the last"
      }, id 0x${hex(fragment.id, 8)}): not reassembled, not dissected further`,
    );
    undissected(ctx, at, "an IPv6 fragment, not reassembled", end);
    return end;
  }
  if (destination !== start + 24) {
    layer.finalDestination = ipv6(data.subarray(destination, destination + 16));
    layer.fieldRanges!.finalDestination = [destination, destination + 15];
  }
  const pseudo = fold(
    sum16(data, start + 8, start + 24, next) + sum16(data, destination, destination + 16, 0),
  );
  transport(ctx, layer, next, at, end, pseudo);
  return end;
}

/** The first fragment of a datagram: its transport header is real, its segment not whole. */
function firstFragment(ctx: Context, version: string): void {
  ctx.fragment = true;
  ctx.packet.notes.push(
    `the first ${version} fragment of a datagram: its transport header is dissected, but the ` +
      "rest is in fragments not reassembled, so its checksum is not verified and its stream " +
      "bytes are not followed",
  );
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

/**
 * TCP, UDP or another protocol in bytes `start` to `end` (exclusive, on the
 * wire: the capture may hold fewer). `pseudo` is the sum of the pseudo
 * header without the length.
 */
function transport(
  ctx: Context,
  ip: Layer,
  protocol: number,
  start: number,
  end: number,
  pseudo: number,
): void {
  const { data, view, packet } = ctx;
  if (protocol !== 6 && protocol !== 17) {
    const name = IP_PROTOCOLS[protocol] ?? `IP protocol ${protocol}`;
    packet.notes.push(`${name}: not TCP or UDP, not dissected further`);
    undissected(ctx, start, `${name} (protocol ${protocol}) is not dissected by framecat`, end);
    return;
  }
  const udp = protocol === 17;
  const minimum = udp ? 8 : 20;
  if (start + minimum > end) {
    const what = udp ? "UDP" : "TCP";
    packet.notes.push(
      `the ${what} header is cut short: it needs ${minimum} bytes from byte ${start}`,
    );
    undissected(ctx, start, `a ${what} header shorter than ${minimum} bytes`, end);
    return;
  }
  let headerLength = minimum;
  if (!udp && start + 12 < data.length) {
    headerLength = (data[start + 12] >> 4) * 4;
    if (headerLength < 20 || start + headerLength > end) {
      packet.notes.push(
        `the TCP header claims ${headerLength} bytes, which the segment cannot hold`,
      );
      undissected(ctx, start, `a TCP header claiming ${headerLength} bytes`, end);
      return;
    }
  }
  const layer = header(
    ctx,
    udp ? "udp" : "tcp",
    start,
    headerLength,
    udp ? UDP_FIELDS : TCP_FIELDS,
    udp ? "UDP" : "TCP",
    "options",
  );
  if (!udp && layer.flags !== undefined) layer.flagBits = view.getUint16(start + 12) & 0x0fff;
  if (!udp && headerLength > 20) {
    const options = tcpOptions(data, view, start + 20, Math.min(start + headerLength, data.length));
    if (options.length > 0) layer.options = options;
    if (start + headerLength <= data.length) {
      layer.fieldRanges!.options = [start + 20, start + headerLength - 1];
    }
  }
  const ipEnd = end;
  let badLength = false;
  if (udp && layer.length !== undefined && !ctx.fragment) {
    // The datagram is as long as its header says, when the IP payload holds it (as tshark reads it).
    const length = layer.length as number;
    const available = end - start;
    if (length < 8) {
      packet.notes.push(`Bad length value ${length} < 8: the UDP length cannot hold its header`);
      badLength = true;
    } else if (length > available) {
      packet.notes.push(
        `Bad length value ${length} > IP payload length (${available} bytes): ` +
          "the UDP checksum is not verified",
      );
      badLength = true;
    } else if (length < available) {
      packet.notes.push(
        `the UDP length ${length} is less than the IP payload's ${available} bytes: ` +
          "the datagram and its checksum end where its length says",
      );
      end = start + length;
    }
  }
  const payloadLength = end - start - headerLength;
  // A first fragment's segment goes on in the fragments after it: its length is not known.
  if (ctx.fragment) layer.fragment = "the first fragment: the rest is not reassembled";
  else layer.payloadLength = payloadLength;
  if (layer.checksum !== undefined) {
    const length = end - start;
    let status: string;
    if (udp && layer.checksum === 0 && ip.layer === "ipv4") status = "not present";
    else if (ctx.fragment) status = "unverified (a fragment)";
    else if (badLength) status = "unverified (bad length)";
    else if (end > data.length) status = "unverified (not all captured)";
    else if (sum16(data, start, end, pseudo + length) === 0xffff) status = "correct";
    else if (ctx.outgoing || layer.checksum === fold(pseudo + length)) {
      // The pseudo header's sum alone: the network card was to finish it.
      status = "unverified (likely offloaded)";
    } else status = "incorrect";
    layer.checksumStatus = status;
    if (status === "incorrect" || status === "unverified (likely offloaded)") {
      const rest = sum16(data, start, end, pseudo + length) + 0xffff - (layer.checksum as number);
      layer.checksumCalculated = ~fold(rest) & 0xffff;
    }
  }
  const payloadStart = start + headerLength;
  const captured = Math.max(0, Math.min(end, data.length) - payloadStart);
  if (captured > 0) {
    const payload: Layer = {
      layer: "payload",
      start: payloadStart,
      end: payloadStart + captured - 1,
    };
    if (captured < payloadLength) {
      payload.length = payloadLength;
      payload.captured = captured;
    }
    packet.layers.push(payload);
  }
  if (ipEnd > end) {
    undissected(ctx, end, "bytes after the UDP datagram, as its length gives it", ipEnd);
  }
  if (udp || layer.flags === undefined) {
    if (!udp) packet.notes.push("the TCP flags were not captured: its stream is not followed");
    return;
  }
  packet.tcp = {
    src: ip.src as string,
    dst: ip.dst as string,
    srcPort: layer.srcPort as number,
    dstPort: layer.dstPort as number,
    seq: layer.seq as number,
    ack: layer.ack as number,
    flags: layer.flags as string[],
    window: (layer.window as number | undefined) ?? 0,
    windowScale: (layer.options as Record<string, unknown>[] | undefined)
      ?.find((o) => o.kind === "WS")?.value as number | undefined,
    // A first fragment's bytes are not followed: the segment is not whole.
    payload: ctx.fragment
      ? data.subarray(0, 0)
      : data.subarray(payloadStart, payloadStart + captured),
    payloadLength: ctx.fragment ? 0 : payloadLength,
  };
}

/**
 * A header of `size` bytes at `start`, with each field that was captured;
 * the fields past the capture's end are listed in `missing` and noted.
 */
function header(
  ctx: Context,
  name: LayerName,
  start: number,
  size: number,
  fields: Field[],
  what: string = name,
  extra?: string,
): Layer {
  const { data, view } = ctx;
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
    ctx.packet.notes.push(
      `the ${what} header is cut ${
        ctx.wire > data.length ? "by the snap length" : "short"
      }: ${captured} of its ${size} bytes captured (${missing.join(", ")} missing)`,
    );
  }
  // A header of which nothing was captured has no bytes to show.
  if (layer.end >= start) ctx.packet.layers.push(layer);
  return layer;
}

/** Whether `size` bytes from `at` were captured; if not, says so. */
function whole(ctx: Context, at: number, size: number, what: string): boolean {
  if (at + size <= ctx.data.length) return true;
  ctx.packet.notes.push(`${what} is cut short: it needs ${size} bytes from byte ${at}`);
  undissected(ctx, at, `${what} is cut short`);
  return false;
}

/** Adds `${field}Name` from a table, when the field was captured. */
function name(layer: Layer, field: string, names: Record<number, string> | string[]): void {
  const value = layer[field];
  if (typeof value === "number") {
    layer[`${field}Name`] = (names as Record<number, string>)[value] ?? "unknown";
  }
}

/** Marks bytes `start` to `end` (exclusive, at most what was captured) undissected. */
function undissected(ctx: Context, start: number, reason: string, end = Infinity): number {
  const last = Math.min(end, ctx.data.length) - 1;
  if (last >= start) ctx.packet.layers.push({ layer: "undissected", start, end: last, reason });
  return Math.max(start, Math.min(end, ctx.wire));
}

/** Ethernet's bytes after its payload: padding up to the 60-byte minimum, then a trailer. */
function trailer(ctx: Context, start: number): void {
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

function tcpOptions(
  data: Uint8Array,
  view: DataView,
  start: number,
  end: number,
): Record<string, unknown>[] {
  const options: Record<string, unknown>[] = [];
  for (let at = start; at < end;) {
    const kind = data[at];
    if (kind === 0) break;
    if (kind === 1) {
      at++;
      continue;
    }
    const length = data[at + 1];
    if (at + 1 >= end || length < 2 || at + length > end) {
      options.push({ kind: "malformed", at });
      break;
    }
    if (kind === 2 && length === 4) options.push({ kind: "MSS", value: view.getUint16(at + 2) });
    else if (kind === 3 && length === 3) options.push({ kind: "WS", value: data[at + 2] });
    else if (kind === 4) options.push({ kind: "SACK_PERM" });
    else if (kind === 5) {
      const blocks = [];
      for (let b = at + 2; b + 8 <= at + length; b += 8) {
        blocks.push([view.getUint32(b), view.getUint32(b + 4)]);
      }
      options.push({ kind: "SACK", blocks });
    } else if (kind === 8 && length === 10) {
      options.push({ kind: "TS", value: view.getUint32(at + 2), echo: view.getUint32(at + 6) });
    } else options.push({ kind, length });
    at += length;
  }
  return options;
}

/** The ones' complement sum of bytes `start` to `end` (exclusive) plus `initial`, folded. */
function sum16(data: Uint8Array, start: number, end: number, initial: number): number {
  let sum = initial;
  let i = start;
  for (; i + 1 < end; i += 2) sum += (data[i] << 8) | data[i + 1];
  if (i < end) sum += data[i] << 8;
  return fold(sum);
}

function fold(sum: number): number {
  while (sum > 0xffff) sum = (sum & 0xffff) + Math.floor(sum / 0x10000);
  return sum;
}

function mac(data: Uint8Array, at: number, length = 6): string {
  let text = "";
  for (let i = at; i < at + length && i < data.length; i++) {
    text += (i === at ? "" : ":") + HEX[data[i]];
  }
  return text;
}

/** An IPv6 address in its shortest form (RFC 5952). */
function ipv6(bytes: Uint8Array): string {
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

function hex(value: number | Uint8Array, width = 2): string {
  if (typeof value === "number") return value.toString(16).padStart(width, "0");
  let text = "";
  for (const b of value) text += HEX[b];
  return text;
}
