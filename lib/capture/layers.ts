/**
 * Dissects one captured packet into its layers, each with the inclusive
 * byte range it occupies and its decoded fields: the seed's reading of its
 * Wireshark capture, done exactly. Link layers: Ethernet (with 802.1Q tags),
 * BSD loopback, raw IP, Linux cooked capture v1 and v2; then IPv4 or IPv6
 * (with extension headers), TCP, and the payload.
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
 * ```
 *
 * @module
 */

/** One layer of a packet: its name, its inclusive byte range, and its fields. */
export interface Layer {
  layer: "ethernet" | "sll" | "loopback" | "ipv4" | "ipv6" | "tcp" | "payload";
  /** First byte of the layer in the packet. */
  start: number;
  /** Last byte of the layer in the packet (inclusive). */
  end: number;
  /** The inclusive byte range of each field, as the seed's table gives them. */
  fieldRanges?: Record<string, [number, number]>;
  [field: string]: unknown;
}

/** Ranges of fields at offsets from `base`: `{ name: [from, to] }` becomes packet offsets. */
function ranges(
  base: number,
  fields: Record<string, [number, number]>,
): Record<string, [number, number]> {
  return Object.fromEntries(
    Object.entries(fields).map(([name, [from, to]]) => [name, [base + from, base + to]]),
  );
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
  /** The payload's bytes. */
  payload: Uint8Array;
}

/** A dissected packet. */
export interface DissectedPacket {
  layers: Layer[];
  /** Plain notes: what is not dissected, and what is wrong with the packet. */
  notes: string[];
  tcp?: TcpInfo;
}

const TCP_FLAGS = ["FIN", "SYN", "RST", "PSH", "ACK", "URG", "ECE", "CWR"];

/**
 * Dissects a packet captured on a link of type `linkType`. Never throws:
 * what cannot be dissected is said in `notes`.
 *
 * @example
 * ```ts
 * import { dissectPacket } from "./layers.ts";
 * import assert from "node:assert/strict";
 *
 * const { layers, notes } = dissectPacket(new Uint8Array(20), 147);
 * assert.deepEqual(layers, []);
 * assert.match(notes[0], /link type 147 is not supported/);
 * ```
 */
export function dissectPacket(data: Uint8Array, linkType: number): DissectedPacket {
  const packet: DissectedPacket = { layers: [], notes: [] };
  const view = new DataView(data.buffer, data.byteOffset, data.byteLength);
  const need = (bytes: number, at: number, what: string) => {
    if (at + bytes <= data.length) return true;
    packet.notes.push(`${what} is cut short: it needs ${bytes} bytes from byte ${at}`);
    return false;
  };
  let at = 0;
  let etherType: number | undefined;
  let ipVersion: number | undefined;
  switch (linkType) {
    case 1: {
      if (!need(14, 0, "the Ethernet header")) return packet;
      const vlans = [];
      at = 12;
      etherType = view.getUint16(at);
      while ((etherType === 0x8100 || etherType === 0x88a8) && need(4, at + 2, "a VLAN tag")) {
        const tci = view.getUint16(at + 2);
        vlans.push({ id: tci & 0x0fff, priority: tci >> 13 });
        at += 4;
        etherType = view.getUint16(at);
      }
      at += 2;
      packet.layers.push({
        layer: "ethernet",
        start: 0,
        end: at - 1,
        dst: mac(data, 0),
        src: mac(data, 6),
        etherType,
        ...(vlans.length > 0 ? { vlans } : {}),
        fieldRanges: ranges(0, {
          dst: [0, 5],
          src: [6, 11],
          ...(vlans.length > 0 ? { vlans: [12, at - 3] as [number, number] } : {}),
          etherType: [at - 2, at - 1],
        }),
      });
      break;
    }
    case 0: {
      if (!need(4, 0, "the loopback header")) return packet;
      // The family is in the capturing machine's byte order.
      let family = view.getUint32(0, true);
      if (family > 0xffff) family = view.getUint32(0, false);
      packet.layers.push({
        layer: "loopback",
        start: 0,
        end: 3,
        family,
        fieldRanges: { family: [0, 3] },
      });
      ipVersion = family === 2 ? 4 : [10, 24, 28, 30].includes(family) ? 6 : undefined;
      at = 4;
      break;
    }
    case 101:
    case 228:
    case 229:
      ipVersion = data.length > 0 ? data[0] >> 4 : undefined;
      break;
    case 113: {
      if (!need(16, 0, "the Linux cooked header")) return packet;
      const length = view.getUint16(4);
      etherType = view.getUint16(14);
      packet.layers.push({
        layer: "sll",
        start: 0,
        end: 15,
        version: 1,
        packetType: view.getUint16(0),
        addressType: view.getUint16(2),
        address: mac(data, 6, Math.min(length, 8)),
        protocol: etherType,
      });
      at = 16;
      break;
    }
    case 276: {
      if (!need(20, 0, "the Linux cooked v2 header")) return packet;
      etherType = view.getUint16(0);
      packet.layers.push({
        layer: "sll",
        start: 0,
        end: 19,
        version: 2,
        protocol: etherType,
        interfaceIndex: view.getUint32(4),
        addressType: view.getUint16(8),
        packetType: data[10],
        address: mac(data, 12, Math.min(data[11], 8)),
      });
      at = 20;
      break;
    }
    default:
      packet.notes.push(`link type ${linkType} is not supported: the packet is not dissected`);
      return packet;
  }
  if (etherType !== undefined) {
    ipVersion = etherType === 0x0800 ? 4 : etherType === 0x86dd ? 6 : undefined;
    if (ipVersion === undefined) {
      const name = etherType === 0x0806 ? "ARP" : `EtherType 0x${hex(etherType, 4)}`;
      packet.notes.push(`${name}: not IP, not dissected further`);
      return packet;
    }
  }
  if (ipVersion === 4) dissectIpv4(data, view, at, packet);
  else if (ipVersion === 6) dissectIpv6(data, view, at, packet);
  else packet.notes.push("not IPv4 or IPv6: not dissected further");
  return packet;
}

function dissectIpv4(
  data: Uint8Array,
  view: DataView,
  start: number,
  packet: DissectedPacket,
): void {
  if (start + 20 > data.length) {
    packet.notes.push(`the IPv4 header is cut short: it needs 20 bytes from byte ${start}`);
    return;
  }
  const headerLength = (data[start] & 0x0f) * 4;
  const totalLength = view.getUint16(start + 2);
  if (headerLength < 20 || start + headerLength > data.length) {
    packet.notes.push(`the IPv4 header claims ${headerLength} bytes, which it cannot hold`);
    return;
  }
  const flagsFragment = view.getUint16(start + 6);
  const checksum = view.getUint16(start + 10);
  const protocol = data[start + 9];
  const layer: Layer = {
    layer: "ipv4",
    start,
    end: start + headerLength - 1,
    version: data[start] >> 4,
    headerLength,
    dscp: data[start + 1] >> 2,
    ecn: data[start + 1] & 3,
    totalLength,
    identification: view.getUint16(start + 4),
    flags: [...(flagsFragment & 0x4000 ? ["DF"] : []), ...(flagsFragment & 0x2000 ? ["MF"] : [])],
    fragmentOffset: (flagsFragment & 0x1fff) * 8,
    ttl: data[start + 8],
    protocol,
    checksum,
    checksumStatus: ipChecksum(data.subarray(start, start + headerLength)) === 0
      ? "correct"
      : "incorrect",
    src: data.subarray(start + 12, start + 16).join("."),
    dst: data.subarray(start + 16, start + 20).join("."),
    fieldRanges: ranges(start, {
      version: [0, 0],
      headerLength: [0, 0],
      dscp: [1, 1],
      ecn: [1, 1],
      totalLength: [2, 3],
      identification: [4, 5],
      flags: [6, 6],
      fragmentOffset: [6, 7],
      ttl: [8, 8],
      protocol: [9, 9],
      checksum: [10, 11],
      src: [12, 15],
      dst: [16, 19],
      ...(headerLength > 20 ? { options: [20, headerLength - 1] as [number, number] } : {}),
    }),
  };
  if (headerLength > 20) layer.options = hex(data.subarray(start + 20, start + headerLength));
  packet.layers.push(layer);
  let end = start + totalLength;
  if (totalLength < headerLength || end > data.length) {
    packet.notes.push(
      `the IPv4 total length ${totalLength} does not fit the ${
        data.length - start
      } bytes captured from byte ${start}`,
    );
    end = data.length;
  }
  if (flagsFragment & 0x3fff) {
    packet.notes.push("an IPv4 fragment: not reassembled, not dissected further");
    return;
  }
  nextProtocol(data, view, protocol, start + headerLength, end, layer, packet);
}

function dissectIpv6(
  data: Uint8Array,
  view: DataView,
  start: number,
  packet: DissectedPacket,
): void {
  if (start + 40 > data.length) {
    packet.notes.push(`the IPv6 header is cut short: it needs 40 bytes from byte ${start}`);
    return;
  }
  const first = view.getUint32(start);
  const payloadLength = view.getUint16(start + 4);
  let next = data[start + 6];
  let at = start + 40;
  const extensionHeaders = [];
  // Extension headers, as far as the transport header.
  while ([0, 43, 44, 51, 60].includes(next) && at + 8 <= data.length) {
    const length = next === 44 ? 8 : next === 51 ? (data[at + 1] + 2) * 4 : (data[at + 1] + 1) * 8;
    extensionHeaders.push({ type: next, start: at, end: at + length - 1 });
    next = data[at];
    at += length;
  }
  const layer: Layer = {
    layer: "ipv6",
    start,
    end: at - 1,
    version: first >>> 28,
    trafficClass: (first >>> 20) & 0xff,
    flowLabel: first & 0xfffff,
    payloadLength,
    nextHeader: data[start + 6],
    hopLimit: data[start + 7],
    src: ipv6(data.subarray(start + 8, start + 24)),
    dst: ipv6(data.subarray(start + 24, start + 40)),
    fieldRanges: ranges(start, {
      version: [0, 0],
      trafficClass: [0, 1],
      flowLabel: [1, 3],
      payloadLength: [4, 5],
      nextHeader: [6, 6],
      hopLimit: [7, 7],
      src: [8, 23],
      dst: [24, 39],
    }),
  };
  if (extensionHeaders.length > 0) layer.extensionHeaders = extensionHeaders;
  packet.layers.push(layer);
  let end = start + 40 + payloadLength;
  if (end > data.length) {
    packet.notes.push(
      `the IPv6 payload length ${payloadLength} does not fit the ${
        data.length - start - 40
      } bytes captured`,
    );
    end = data.length;
  }
  nextProtocol(data, view, next, at, end, layer, packet);
}

function nextProtocol(
  data: Uint8Array,
  view: DataView,
  protocol: number,
  start: number,
  end: number,
  ip: Layer,
  packet: DissectedPacket,
): void {
  if (protocol !== 6) {
    const name = { 1: "ICMP", 17: "UDP", 58: "ICMPv6" }[protocol] ?? `IP protocol ${protocol}`;
    packet.notes.push(`${name}: not TCP, not dissected further`);
    return;
  }
  if (start + 20 > end) {
    packet.notes.push(`the TCP header is cut short: it needs 20 bytes from byte ${start}`);
    return;
  }
  const headerLength = (data[start + 12] >> 4) * 4;
  if (headerLength < 20 || start + headerLength > end) {
    packet.notes.push(`the TCP header claims ${headerLength} bytes, which the segment cannot hold`);
    return;
  }
  const bits = view.getUint16(start + 12) & 0x01ff;
  const flags = TCP_FLAGS.filter((_, i) => bits & (1 << i));
  const options = tcpOptions(data, view, start + 20, start + headerLength);
  const layer: Layer = {
    layer: "tcp",
    start,
    end: start + headerLength - 1,
    srcPort: view.getUint16(start),
    dstPort: view.getUint16(start + 2),
    seq: view.getUint32(start + 4),
    ack: view.getUint32(start + 8),
    headerLength,
    flags,
    window: view.getUint16(start + 14),
    checksum: view.getUint16(start + 16),
    urgentPointer: view.getUint16(start + 18),
    payloadLength: end - start - headerLength,
    fieldRanges: ranges(start, {
      srcPort: [0, 1],
      dstPort: [2, 3],
      seq: [4, 7],
      ack: [8, 11],
      headerLength: [12, 12],
      flags: [12, 13],
      window: [14, 15],
      checksum: [16, 17],
      urgentPointer: [18, 19],
      ...(headerLength > 20 ? { options: [20, headerLength - 1] as [number, number] } : {}),
    }),
  };
  if (options.length > 0) layer.options = options;
  packet.layers.push(layer);
  if (end > start + headerLength) {
    packet.layers.push({ layer: "payload", start: start + headerLength, end: end - 1 });
  }
  packet.tcp = {
    src: ip.src as string,
    dst: ip.dst as string,
    srcPort: layer.srcPort as number,
    dstPort: layer.dstPort as number,
    seq: layer.seq as number,
    ack: layer.ack as number,
    flags,
    window: layer.window as number,
    windowScale: options.find((o) => o.kind === "WS")?.value as number | undefined,
    payload: data.subarray(start + headerLength, end),
  };
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

/** The ones' complement sum of a header; 0 when its checksum is right. */
function ipChecksum(header: Uint8Array): number {
  let sum = 0;
  for (let i = 0; i + 1 < header.length; i += 2) sum += (header[i] << 8) | header[i + 1];
  while (sum > 0xffff) sum = (sum & 0xffff) + (sum >>> 16);
  return ~sum & 0xffff;
}

function mac(data: Uint8Array, at: number, length = 6): string {
  return [...data.subarray(at, at + length)].map((b) => hex(b, 2)).join(":");
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

function hex(value: number | Uint8Array, width = 2): string {
  if (typeof value === "number") return value.toString(16).padStart(width, "0");
  return [...value].map((b) => hex(b)).join("");
}
