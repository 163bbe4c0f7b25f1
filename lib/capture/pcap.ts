/**
 * Reads packet captures as tcpdump, tshark and Wireshark write them: classic
 * pcap (either byte order, microsecond or nanosecond timestamps) and pcapng
 * (section headers, interface descriptions, enhanced and simple packet
 * blocks; other blocks are skipped).
 *
 * @example
 * ```ts
 * import { readCapture } from "./pcap.ts";
 * import assert from "node:assert/strict";
 *
 * // A classic pcap header (little-endian, microseconds, Ethernet) and no packet.
 * const file = new Uint8Array(24);
 * new DataView(file.buffer).setUint32(0, 0xa1b2c3d4, true);
 * new DataView(file.buffer).setUint32(20, 1, true);
 * assert.deepEqual([...readCapture(file)], []);
 * ```
 *
 * @module
 */

/** One captured packet. */
export interface CapturedPacket {
  /** Its number in the file, from 1, as Wireshark counts. */
  number: number;
  /** Capture time in seconds since the epoch (with the file's resolution). */
  time: number;
  /** The link type of its interface (1 Ethernet, 0 BSD loopback, 101 raw IP, 113 and 276 Linux cooked). */
  linkType: number;
  /** The bytes captured, at most the snap length. */
  data: Uint8Array;
  /** The packet's length on the wire; more than `data.length` when the snap length cut it. */
  originalLength: number;
  /** Offset of its record in the file. */
  offset: number;
}

/**
 * Yields the packets of a capture file in file order. Throws `SyntaxError`,
 * with the byte offset (and the packet number, when in a packet), when the
 * file is not a capture or is broken; the packets before are yielded first.
 *
 * @example
 * ```ts
 * import { readCapture } from "./pcap.ts";
 * import assert from "node:assert/strict";
 *
 * assert.throws(() => [...readCapture(new TextEncoder().encode("not a capture"))], SyntaxError);
 * ```
 */
export function* readCapture(file: Uint8Array): Generator<CapturedPacket, void, undefined> {
  if (file.length < 4) throw broken(0, `the file has ${file.length} bytes, too few for a capture`);
  const view = new DataView(file.buffer, file.byteOffset, file.byteLength);
  const magic = view.getUint32(0, false);
  if (magic === 0x0a0d0d0a) {
    yield* readPcapng(file, view);
  } else if ([0xa1b2c3d4, 0xd4c3b2a1, 0xa1b23c4d, 0x4d3cb2a1].includes(magic)) {
    yield* readPcap(file, view, magic);
  } else {
    throw broken(0, "the file is neither pcap nor pcapng (unknown magic number)");
  }
}

function broken(offset: number, why: string, packet?: number): SyntaxError {
  const where = packet === undefined ? `byte ${offset}` : `packet ${packet} at byte ${offset}`;
  return new SyntaxError(`Cannot read capture: ${where}: ${why}`);
}

function* readPcap(
  file: Uint8Array,
  view: DataView,
  magic: number,
): Generator<CapturedPacket, void, undefined> {
  const little = magic === 0xd4c3b2a1 || magic === 0x4d3cb2a1;
  const nano = magic === 0xa1b23c4d || magic === 0x4d3cb2a1;
  if (file.length < 24) throw broken(0, "the pcap file header is cut short");
  const linkType = view.getUint32(20, little) & 0x0fffffff;
  let offset = 24;
  for (let number = 1; offset < file.length; number++) {
    if (offset + 16 > file.length) {
      throw broken(offset, "the file ends inside a packet header", number);
    }
    const seconds = view.getUint32(offset, little);
    const fraction = view.getUint32(offset + 4, little);
    const captured = view.getUint32(offset + 8, little);
    const original = view.getUint32(offset + 12, little);
    if (captured > 0x4000000) {
      throw broken(offset, `the header claims ${captured} captured bytes`, number);
    }
    if (offset + 16 + captured > file.length) {
      throw broken(
        offset,
        `the file ends after ${file.length - offset - 16} of the packet's ${captured} bytes`,
        number,
      );
    }
    yield {
      number,
      time: seconds + fraction / (nano ? 1e9 : 1e6),
      linkType,
      data: file.subarray(offset + 16, offset + 16 + captured),
      originalLength: Math.max(original, captured),
      offset,
    };
    offset += 16 + captured;
  }
}

interface Interface {
  linkType: number;
  /** Timestamp units per second. */
  resolution: number;
}

function* readPcapng(file: Uint8Array, view: DataView): Generator<CapturedPacket, void, undefined> {
  let little = true;
  let interfaces: Interface[] = [];
  let number = 1;
  let offset = 0;
  while (offset < file.length) {
    if (offset + 12 > file.length) throw broken(offset, "the file ends inside a block header");
    const type = view.getUint32(offset, little);
    if (type === 0x0a0d0d0a) {
      // A section header: its byte-order magic says how to read the section.
      const order = view.getUint32(offset + 8, true);
      if (order === 0x1a2b3c4d) little = true;
      else if (order === 0x4d3c2b1a) little = false;
      else throw broken(offset, "a section header with an unknown byte-order magic");
      interfaces = [];
    }
    const length = view.getUint32(offset + 4, little);
    if (length < 12 || length % 4 !== 0) {
      throw broken(offset, `a block claims a length of ${length} bytes`);
    }
    if (offset + length > file.length) {
      throw broken(offset, `a block of ${length} bytes goes past the end of the file`);
    }
    const body = offset + 8;
    const end = offset + length - 4;
    if (type === 1) {
      interfaces.push({
        linkType: view.getUint16(body, little),
        resolution: interfaceResolution(view, body + 8, end, little),
      });
    } else if (type === 6 || type === 3) {
      const enhanced = type === 6;
      const id = enhanced ? view.getUint32(body, little) : 0;
      const iface = interfaces[id];
      if (!iface) throw broken(offset, `a packet of an undescribed interface ${id}`, number);
      let time = 0;
      let captured: number;
      let original: number;
      let data: number;
      if (enhanced) {
        const ticks = view.getUint32(body + 4, little) * 2 ** 32 + view.getUint32(body + 8, little);
        time = ticks / iface.resolution;
        captured = view.getUint32(body + 12, little);
        original = view.getUint32(body + 16, little);
        data = body + 20;
      } else {
        original = view.getUint32(body, little);
        data = body + 4;
        captured = Math.min(original, end - data);
      }
      if (data + captured > end) {
        throw broken(
          offset,
          `the block claims ${captured} captured bytes, more than it holds`,
          number,
        );
      }
      yield {
        number: number++,
        time,
        linkType: iface.linkType,
        data: file.subarray(data, data + captured),
        originalLength: Math.max(original, captured),
        offset,
      };
    }
    offset += length;
  }
}

/** The if_tsresol option of an interface description: units per second (default microseconds). */
function interfaceResolution(view: DataView, start: number, end: number, little: boolean): number {
  for (let at = start; at + 4 <= end;) {
    const code = view.getUint16(at, little);
    const length = view.getUint16(at + 2, little);
    if (code === 0) break;
    if (code === 9 && length >= 1) {
      const value = view.getUint8(at + 4);
      return value & 0x80 ? 2 ** (value & 0x7f) : 10 ** value;
    }
    at += 4 + Math.ceil(length / 4) * 4;
  }
  return 1e6;
}
