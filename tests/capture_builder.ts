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

/** The ones' complement of the ones' complement sum of `parts`, as IP checksums are. */
export function internetChecksum(...parts: Uint8Array[]): number {
  let sum = 0;
  for (const part of parts) {
    for (let i = 0; i < part.length; i += 2) sum += (part[i] << 8) | (part[i + 1] ?? 0);
  }
  while (sum > 0xffff) sum = (sum & 0xffff) + (sum >>> 16);
  return ~sum & 0xffff;
}

/** Sets an IPv4 packet's header checksum, and its TCP or UDP checksum for `destination`. */
export function fixIpv4Checksums(ip: Uint8Array, destination?: Uint8Array): Uint8Array {
  const v = new DataView(ip.buffer, ip.byteOffset, ip.byteLength);
  const ihl = (ip[0] & 15) * 4;
  v.setUint16(10, 0);
  v.setUint16(10, internetChecksum(ip.subarray(0, ihl)));
  const segment = ip.subarray(ihl, v.getUint16(2));
  const at = ip[9] === 6 ? 16 : 6;
  segment[at] = segment[at + 1] = 0;
  const pseudo = new Uint8Array(12);
  pseudo.set(ip.subarray(12, 16));
  pseudo.set(destination ?? ip.subarray(16, 20), 4);
  pseudo[9] = ip[9];
  new DataView(pseudo.buffer).setUint16(10, segment.length);
  new DataView(segment.buffer, segment.byteOffset).setUint16(at, internetChecksum(pseudo, segment));
  return ip;
}

/** Options for {@linkcode ipv6}. */
export interface Ipv6Options {
  /** The next header of the fixed header. */
  next: number;
  /** Extension headers and the upper layer, as they follow the fixed header. */
  payload: Uint8Array;
  /** Last byte of the source address fd00::x; the destination is fd00::(x+1). */
  host?: number;
}

/** An IPv6 packet. */
export function ipv6(options: Ipv6Options): Uint8Array {
  const packet = new Uint8Array(40 + options.payload.length);
  const v = new DataView(packet.buffer);
  v.setUint32(0, 0x60000000);
  v.setUint16(4, options.payload.length);
  packet[6] = options.next;
  packet[7] = 64;
  const host = options.host ?? 1;
  packet.set([0xfd, 0], 8);
  packet[23] = host;
  packet.set([0xfd, 0], 24);
  packet[39] = host + 1;
  packet.set(options.payload, 40);
  return packet;
}

/** The TCP or UDP checksum of `segment` (its checksum field zero) over IPv6 addresses. */
export function ipv6Checksum(
  src: Uint8Array,
  dst: Uint8Array,
  protocol: number,
  segment: Uint8Array,
): number {
  const pseudo = new Uint8Array(40);
  pseudo.set(src);
  pseudo.set(dst, 16);
  new DataView(pseudo.buffer).setUint32(32, segment.length);
  pseudo[39] = protocol;
  return internetChecksum(pseudo, segment);
}

/** Options for {@linkcode pcapng}. */
export interface PcapngOptions {
  linkType?: number;
  /** if_tsresol of the interface (its raw byte), if any. */
  tsresol?: number;
  /** if_tsoffset of the interface, in seconds, if any. */
  tsoffset?: number;
}

/** A pcapng block of `type` with `body` (padded to 4 bytes). */
export function pcapngBlock(type: number, body: Uint8Array): Uint8Array {
  const padded = Math.ceil(body.length / 4) * 4;
  const block = new Uint8Array(12 + padded);
  const v = new DataView(block.buffer);
  v.setUint32(0, type, true);
  v.setUint32(4, block.length, true);
  block.set(body, 8);
  v.setUint32(block.length - 4, block.length, true);
  return block;
}

/** A little-endian section header and one interface description. */
export function pcapngHead(options: PcapngOptions = {}): Uint8Array {
  const shb = new Uint8Array(16);
  const sv = new DataView(shb.buffer);
  sv.setUint32(0, 0x1a2b3c4d, true);
  sv.setUint16(4, 1, true);
  sv.setBigInt64(8, -1n, true);
  const options_: number[] = [];
  if (options.tsresol !== undefined) options_.push(9, 0, 1, 0, options.tsresol, 0, 0, 0);
  if (options.tsoffset !== undefined) {
    const o = new Uint8Array(12);
    const ov = new DataView(o.buffer);
    ov.setUint16(0, 14, true);
    ov.setUint16(2, 8, true);
    ov.setBigInt64(4, BigInt(options.tsoffset), true);
    options_.push(...o);
  }
  if (options_.length > 0) options_.push(0, 0, 0, 0);
  const idb = new Uint8Array(8 + options_.length);
  const iv = new DataView(idb.buffer);
  iv.setUint16(0, options.linkType ?? 1, true);
  iv.setUint32(4, 65535, true);
  idb.set(options_, 8);
  return concatBytes([pcapngBlock(0x0a0d0d0a, shb), pcapngBlock(1, idb)]);
}

/** An enhanced packet block of interface 0 at `ticks` (units of its resolution). */
export function enhancedPacket(data: Uint8Array, ticks: bigint): Uint8Array {
  const body = new Uint8Array(20 + data.length);
  const v = new DataView(body.buffer);
  v.setUint32(4, Number(ticks >> 32n), true);
  v.setUint32(8, Number(ticks & 0xffffffffn), true);
  v.setUint32(12, data.length, true);
  v.setUint32(16, data.length, true);
  body.set(data, 20);
  return pcapngBlock(6, body);
}

/** The bytes of `parts`, one after the other. */
export function concatBytes(parts: Uint8Array[]): Uint8Array {
  const bytes = new Uint8Array(parts.reduce((n, p) => n + p.length, 0));
  let at = 0;
  for (const part of parts) {
    bytes.set(part, at);
    at += part.length;
  }
  return bytes;
}

const FD00_1 = new Uint8Array([0xfd, ...new Array(14).fill(0), 1]);
const FD00_2 = new Uint8Array([0xfd, ...new Array(14).fill(0), 2]);

/** An Ethernet II frame of an IPv6 packet. */
export function ethernet6(ip: Uint8Array): Uint8Array {
  const frame = ethernet(ip);
  frame[12] = 0x86;
  frame[13] = 0xdd;
  return frame;
}

/** An IPv6 fragment header (next header TCP) and `data`, as an IPv6 packet. */
function ipv6Fragment(offset: number, more: boolean, data: Uint8Array): Uint8Array {
  const header = new Uint8Array(8);
  header[0] = 6;
  new DataView(header.buffer).setUint16(2, offset | (more ? 1 : 0));
  new DataView(header.buffer).setUint32(4, 0x1234);
  return ipv6({ next: 44, payload: concatBytes([header, data]) });
}

/**
 * An IPv6 TCP segment to port 80 in two fragments, the second's data shaped
 * like a TCP header to port 1234 carrying `14\n"Hello World!"`: no
 * connection carried that message.
 */
export function ipv6Fragments(): Uint8Array[] {
  const real = ipv4Tcp({ seq: 1, srcPort: 40404, dstPort: 80, payload: "x".repeat(12) })
    .slice(20);
  const fake = ipv4Tcp({ seq: 1, srcPort: 40404, dstPort: 1234, payload: '14\n"Hello World!"' })
    .slice(20);
  const whole = concatBytes([real, fake]);
  new DataView(whole.buffer).setUint16(16, ipv6Checksum(FD00_1, FD00_2, 6, whole));
  return [
    ipv6Fragment(0, true, whole.subarray(0, 32)),
    ipv6Fragment(32, false, whole.subarray(32)),
  ];
}

/** A TCP segment over IPv6 with a routing header (type 0, one segment left, to fd00::99). */
export function ipv6Routed(): Uint8Array {
  const final = new Uint8Array(16);
  final[0] = 0xfd;
  final[15] = 0x99;
  const segment = ipv4Tcp({ seq: 1, payload: "2\n{}" }).slice(20);
  new DataView(segment.buffer).setUint16(16, ipv6Checksum(FD00_1, final, 6, segment));
  const routing = new Uint8Array(24);
  routing.set([6, 2, 0, 1]);
  routing.set(final, 8);
  return ipv6({ next: 43, payload: concatBytes([routing, segment]) });
}

/** A TCP segment over IPv4 with a loose source route option to 10.9.9.9, checksums right. */
export function ipv4SourceRouted(): Uint8Array {
  const plain = ipv4Tcp({ seq: 1, payload: "2\n{}" });
  const ip = new Uint8Array(plain.length + 8);
  ip.set(plain.subarray(0, 20));
  ip.set([131, 7, 4, 10, 9, 9, 9, 1], 20); // LSRR: length 7, pointer 4, one address; NOP
  ip.set(plain.subarray(20), 28);
  ip[0] = 0x47;
  new DataView(ip.buffer).setUint16(2, ip.length);
  return fixIpv4Checksums(ip, new Uint8Array([10, 9, 9, 9]));
}

/** A UDP datagram over IPv4 whose length field says `length` in 20 bytes, its checksum over that length. */
export function udpWithLength(length: number): Uint8Array {
  const ip = ipv4Tcp({ seq: 0 });
  ip[9] = 17;
  fixIpv4Checksums(ip);
  const v = new DataView(ip.buffer);
  v.setUint16(20, 5000);
  v.setUint16(22, 1234);
  v.setUint16(24, length);
  ip.set(new TextEncoder().encode("ABCDEFGHIJKL"), 28);
  v.setUint16(26, 0);
  const pseudo = new Uint8Array(12);
  pseudo.set(ip.subarray(12, 20));
  pseudo[9] = 17;
  new DataView(pseudo.buffer).setUint16(10, length);
  v.setUint16(26, internetChecksum(pseudo, ip.subarray(20, 20 + Math.min(length, 20))) || 0xffff);
  return ip;
}

/** A Linux cooked capture (v1) header: address length, its type, 8 address bytes, protocol. */
export function sll(halen: number, hatype: number, protocol: number, rest: Uint8Array): Uint8Array {
  const header = new Uint8Array(16);
  const v = new DataView(header.buffer);
  v.setUint16(2, hatype);
  v.setUint16(4, halen);
  header.set([10, 1, 0, 1, 0xaa, 0xbb, 0xcc, 0xdd], 6);
  v.setUint16(14, protocol);
  return concatBytes([header, rest]);
}

/** Crafted captures of the cases issue 21 lists, by file name, for the tests and tshark's check. */
export function edgeCaptures(): Record<string, Uint8Array> {
  const ip = fixIpv4Checksums(ipv4Tcp({ seq: 1, payload: "2\n{}" }));
  const version5 = ipv4Tcp({ seq: 1, payload: "2\n{}" });
  version5[0] = 0x55;
  const custom = (type: number) =>
    pcapngBlock(type, new Uint8Array([0xfe, 0x7f, 0, 0, 1, 2, 3, 4]));
  const obsolete = new Uint8Array(20 + ip.length + 14);
  const ov = new DataView(obsolete.buffer);
  const micros = 1_700_000_000_000_003;
  ov.setUint32(4, Math.floor(micros / 2 ** 32), true);
  ov.setUint32(8, micros % 2 ** 32, true);
  ov.setUint32(12, ip.length + 14, true);
  ov.setUint32(16, ip.length + 14, true);
  obsolete.set(ethernet(ip), 20);
  const modified = pcap(1, [ethernet(ip)]);
  new DataView(modified.buffer).setUint32(0, 0xa1b2cd34, true);
  const record = new Uint8Array(modified.length + 8);
  record.set(modified.subarray(0, 40));
  record.set([2, 0, 0, 0, 0, 8, 0, 0], 40); // ifindex 2, protocol 0x0800, type 0
  record.set(modified.subarray(40), 48);
  return {
    "ipv6_fragments.pcap": pcap(1, ipv6Fragments().map(ethernet6)),
    "routed.pcap": pcap(1, [ethernet6(ipv6Routed()), ethernet(ipv4SourceRouted())]),
    "udp_lengths.pcap": pcap(1, [10, 100, 20, 4].map((n) => ethernet(udpWithLength(n)))),
    "bogus_version.pcap": pcap(1, [ethernet(version5)]),
    "loop.pcap": pcap(108, [concatBytes([new Uint8Array([0, 0, 0, 2]), ip])]),
    "sll_addresses.pcap": pcap(113, [
      sll(4, 778, 0x0800, ip),
      sll(6, 1, 0x0004, new Uint8Array([0x42, 0x42, 0x03, 0, 0, 0, 0, 0, 1, 2, 3, 4])),
      sll(6, 1, 0x0800, ip),
    ]),
    "numbered_blocks.pcapng": concatBytes([
      pcapngHead(),
      enhancedPacket(ethernet(ip), 1_700_000_000_000_000n),
      custom(0x0bad),
      enhancedPacket(ethernet(ip), 1_700_000_000_000_001n),
      custom(0x40000bad),
      pcapngBlock(2, obsolete),
      enhancedPacket(ethernet(ip), 1_700_000_000_000_002n),
    ]),
    "nanoseconds.pcapng": concatBytes([
      pcapngHead({ tsresol: 9, tsoffset: 1000 }),
      enhancedPacket(ethernet(ip), 1_700_000_000_818_270_123n),
    ]),
    "modified.pcap": record,
  };
}

/**
 * Writes to `path` an Ethernet capture of `connections` one-packet TCP
 * connections (a SYN each, every one from another address and port, 1 ms
 * apart), without holding it. Returns the file's size.
 */
export async function writeOnePacketConnections(
  path: string,
  connections: number,
): Promise<number> {
  const file = await Deno.open(path, { write: true, create: true, truncate: true });
  const template = ethernet(ipv4Tcp({ seq: 1000, flags: 0x02, ack: 0 }));
  const record = new Uint8Array(16 + template.length);
  const v = new DataView(record.buffer);
  v.setUint32(8, template.length, true);
  v.setUint32(12, template.length, true);
  record.set(template, 16);
  const batch = new Uint8Array(record.length * 4096);
  let size = 0;
  try {
    const header = pcapHeader(1, {});
    await file.write(header);
    size += header.length;
    let n = 0;
    for (let i = 0; i < connections; i++) {
      const micros = i * 1000;
      v.setUint32(0, 1_700_000_000 + Math.floor(micros / 1e6), true);
      v.setUint32(4, micros % 1e6, true);
      // Source 10.x.y.z, port from 1024: a new connection each time.
      record.set([10, (i >> 16) & 0xff, (i >> 8) & 0xff, i & 0xff], 16 + 14 + 12);
      v.setUint16(16 + 34, 1024 + (i % 60000));
      batch.set(record, n * record.length);
      if (++n === 4096 || i === connections - 1) {
        const bytes = batch.subarray(0, n * record.length);
        for (let done = 0; done < bytes.length;) done += await file.write(bytes.subarray(done));
        size += bytes.length;
        n = 0;
      }
    }
  } finally {
    file.close();
  }
  return size;
}

/**
 * An Ethernet capture of one connection to port 1234 carrying `messages`
 * framecat messages, its stream cut into segments of 1 to 60 bytes, some
 * neighbours swapped (reordered) and some sent twice (retransmitted), as
 * a lossy network delivers them; with the handshake and the server's ACKs.
 * `seed` makes another such capture.
 */
export function lossyExchange(messages: number, seed = 7): Uint8Array {
  const random = (n: number) => (seed = (seed * 1103515245 + 12345) % 2 ** 31) % n;
  const stream = encoder.encode(
    Array.from({ length: messages }, (_, i) => {
      const json = JSON.stringify({ i, s: "x".repeat(random(40)) });
      return `${json.length}\n${json}`;
    }).join(""),
  );
  const segments: [number, Uint8Array][] = [];
  for (let at = 0; at < stream.length;) {
    const size = 1 + random(60);
    segments.push([at, stream.subarray(at, at + size)]);
    at += size;
  }
  for (let i = 0; i + 1 < segments.length; i++) {
    if (random(5) === 0) [segments[i], segments[i + 1]] = [segments[i + 1], segments[i]];
  }
  const client = { srcPort: 40000, dstPort: 1234, host: 1 };
  const server = { srcPort: 1234, dstPort: 40000, host: 1 };
  const serverIp = (ip: Uint8Array) => {
    // The server's segments go from 10.0.0.2 back to 10.0.0.1.
    ip.set([10, 0, 0, 2], 12);
    ip.set([10, 0, 0, 1], 16);
    return fixIpv4Checksums(ip);
  };
  const packets = [
    fixIpv4Checksums(ipv4Tcp({ ...client, seq: 999, ack: 0, flags: 0x02 })),
    serverIp(ipv4Tcp({ ...server, seq: 4999, ack: 1000, flags: 0x12 })),
    fixIpv4Checksums(ipv4Tcp({ ...client, seq: 1000, ack: 5000, flags: 0x10 })),
  ];
  let acked = 0;
  for (const [at, payload] of segments.flatMap((s) => random(6) === 0 ? [s, s] : [s])) {
    packets.push(fixIpv4Checksums(ipv4Tcp({ ...client, seq: 1000 + at, ack: 5000, payload })));
    acked = Math.max(acked, at + payload.length);
    if (random(3) === 0) {
      packets.push(serverIp(ipv4Tcp({ ...server, seq: 5000, ack: 1000 + acked, flags: 0x10 })));
    }
  }
  return pcap(1, packets.map((ip) => ethernet(ip)));
}

/** An Ethernet capture of one connection to port 1234 whose one data packet carries `count` messages `{"i":N}`. */
export function manyInOnePacket(count: number): Uint8Array {
  let text = "";
  for (let i = 0; i < count; i++) {
    const json = JSON.stringify({ i });
    text += `${json.length}\n${json}`;
  }
  return pcap(1, [
    ethernet(fixIpv4Checksums(ipv4Tcp({ seq: 999, ack: 0, flags: 0x02 }))),
    ethernet(fixIpv4Checksums(ipv4Tcp({ seq: 1000, ack: 1, payload: text }))),
  ]);
}
