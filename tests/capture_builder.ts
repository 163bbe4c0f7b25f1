/**
 * Captures built byte by byte, for the dissect tests and benchmark: IPv4 TCP
 * packets, Ethernet frames, classic pcap files, and a long framecat exchange
 * written to a file without holding it.
 *
 * @module
 */

const encoder = new TextEncoder();

/** What {@linkcode ipv4Tcp} builds. */
export interface SegmentOptions {
  seq: number;
  ack?: number;
  /** TCP flags byte; PSH, ACK by default. */
  flags?: number;
  payload?: string | Uint8Array;
  /** IPv4 header length in 32-bit words (the header is not filled past 20 bytes). */
  ihl?: number;
  srcPort?: number;
  dstPort?: number;
  /** Last byte of the source address 10.0.0.x; the destination is 10.0.0.(x+1). */
  host?: number;
}

/** An IPv4 packet (header checksum right) carrying one TCP segment. */
export function ipv4Tcp(options: SegmentOptions): Uint8Array {
  const payload = typeof options.payload === "string"
    ? encoder.encode(options.payload)
    : options.payload ?? new Uint8Array();
  const ihl = options.ihl ?? 5;
  const packet = new Uint8Array(40 + payload.length);
  const v = new DataView(packet.buffer);
  packet[0] = 0x40 | ihl;
  v.setUint16(2, packet.length);
  packet[8] = 64;
  packet[9] = 6;
  const host = options.host ?? 1;
  packet.set([10, 0, 0, host], 12);
  packet.set([10, 0, 0, host + 1], 16);
  let sum = 0;
  for (let i = 0; i < 20; i += 2) sum += v.getUint16(i);
  while (sum > 0xffff) sum = (sum & 0xffff) + (sum >>> 16);
  v.setUint16(10, ~sum & 0xffff);
  v.setUint16(20, options.srcPort ?? 50000);
  v.setUint16(22, options.dstPort ?? 1234);
  v.setUint32(24, options.seq >>> 0);
  v.setUint32(28, options.ack ?? 1);
  packet[32] = 5 << 4;
  packet[33] = options.flags ?? 0x18;
  v.setUint16(34, 512);
  packet.set(payload, 40);
  return packet;
}

/** An Ethernet II frame of an IPv4 packet, with an 802.1Q tag when `vlan` is given. */
export function ethernet(ip: Uint8Array, vlan?: number): Uint8Array {
  const head = vlan === undefined ? [] : [0x81, 0x00, vlan >> 8, vlan & 0xff];
  return new Uint8Array([
    ...[0x4c, 0x32, 0x75, 0x8d, 0x5f, 0x9b],
    ...[0x60, 0xf8, 0x1d, 0xc0, 0xfa, 0x3e],
    ...head,
    0x08,
    0x00,
    ...ip,
  ]);
}

/** Options for {@linkcode pcap}. */
export interface PcapOptions {
  bigEndian?: boolean;
  nano?: boolean;
  /** Cut each packet to this many bytes, as a snap length does. */
  snap?: number;
}

/** A classic pcap file of `packets` on a link of `linkType`. */
export function pcap(
  linkType: number,
  packets: Uint8Array[],
  options: PcapOptions = {},
): Uint8Array {
  const parts = [pcapHeader(linkType, options)];
  packets.forEach((packet, i) => parts.push(pcapRecord(packet, i, options)));
  const file = new Uint8Array(parts.reduce((n, p) => n + p.length, 0));
  let at = 0;
  for (const part of parts) {
    file.set(part, at);
    at += part.length;
  }
  return file;
}

function pcapHeader(linkType: number, options: PcapOptions): Uint8Array {
  const header = new Uint8Array(24);
  const v = new DataView(header.buffer);
  const little = !options.bigEndian;
  v.setUint32(0, options.nano ? 0xa1b23c4d : 0xa1b2c3d4, little);
  v.setUint32(4, 0x00040002, little);
  v.setUint32(16, 65535, little);
  v.setUint32(20, linkType, little);
  return header;
}

function pcapRecord(packet: Uint8Array, i: number, options: PcapOptions): Uint8Array {
  const captured = Math.min(packet.length, options.snap ?? Infinity);
  const record = new Uint8Array(16 + captured);
  const v = new DataView(record.buffer);
  const little = !options.bigEndian;
  v.setUint32(0, 1_700_000_000 + Math.floor(i / 1000), little);
  v.setUint32(4, options.nano ? 500_000_000 : 500_000, little);
  v.setUint32(8, captured, little);
  v.setUint32(12, packet.length, little);
  record.set(packet.subarray(0, captured), 16);
  return record;
}

/** Options for {@linkcode writeExchange}. */
export interface ExchangeOptions {
  /** Packets in the file. */
  packets: number;
  /** Bytes of JSON in each message. Defaults to 60. */
  messageBytes?: number;
  /** Every this many messages, one goes in two segments (as the seed sends). Defaults to 10. */
  splitEvery?: number;
}

/**
 * Writes to `path` an Ethernet capture of framecat traffic: connections of
 * 1000 packets to port 1234, each a handshake, then messages (some split in
 * two segments) each acknowledged. Returns how many messages it holds.
 */
export async function writeExchange(path: string, options: ExchangeOptions): Promise<number> {
  const file = await Deno.open(path, { write: true, create: true, truncate: true });
  const batch: Uint8Array[] = [];
  let size = 0;
  let written = 0;
  let messages = 0;
  const flush = async () => {
    const bytes = new Uint8Array(size);
    let at = 0;
    for (const part of batch) {
      bytes.set(part, at);
      at += part.length;
    }
    for (let done = 0; done < bytes.length;) done += await file.write(bytes.subarray(done));
    batch.length = 0;
    size = 0;
  };
  const add = async (ip: Uint8Array) => {
    const record = pcapRecord(ethernet(ip), written++, {});
    batch.push(record);
    size += record.length;
    if (size > 1 << 20) await flush();
  };
  try {
    batch.push(pcapHeader(1, {}));
    size = 24;
    const fill = "x".repeat(Math.max(0, (options.messageBytes ?? 60) - 20));
    for (let connection = 0; written < options.packets; connection++) {
      const srcPort = 10000 + (connection % 50000);
      const host = 1 + 2 * (connection % 100);
      const client = { srcPort, dstPort: 1234, host };
      const server = { srcPort: 1234, dstPort: srcPort, host: host + 1 };
      let seq = 1000;
      await add(ipv4Tcp({ ...client, seq: seq++, flags: 0x02, ack: 0 }));
      await add(ipv4Tcp({ ...server, seq: 5000, ack: seq, flags: 0x12 }));
      await add(ipv4Tcp({ ...client, seq, ack: 5001, flags: 0x10 }));
      for (let n = 0; n < 500 && written < options.packets; n++) {
        const json = JSON.stringify({ n: messages, text: fill });
        const frame = encoder.encode(`${encoder.encode(json).length}\n${json}`);
        messages++;
        const pieces = messages % (options.splitEvery ?? 10) === 0
          ? [frame.subarray(0, 3), frame.subarray(3)]
          : [frame];
        for (const piece of pieces) {
          await add(ipv4Tcp({ ...client, seq, ack: 5001, payload: piece }));
          seq += piece.length;
        }
        await add(ipv4Tcp({ ...server, seq: 5001, ack: seq, flags: 0x10 }));
      }
    }
    await flush();
  } finally {
    file.close();
  }
  return messages;
}
